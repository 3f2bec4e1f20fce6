"""The service CLI is only an API client: it runs against a real server on a loopback port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.live_server import free_port


@pytest.fixture
def server(live_center) -> str:  # type: ignore[no-untyped-def]
    """A server on SQLite under a temporary AICENTER_HOME; returns the operator token."""
    return str(live_center(scheduler_interval_s=0.2).operator_token)


def test_org_commands(server: str, cli) -> None:  # type: ignore[no-untyped-def]
    created = cli("org", "create", "Busan Uni", "--class", "university", "--region", "busan",
                  "--format", "json")
    assert created.code == 0, created.err
    org_id = json.loads(created.out)["id"]
    listed = json.loads(cli("org", "list", "--format", "json").out)
    assert "Busan Uni" in [o["name"] for o in listed]
    table = cli("org", "list")
    assert "Busan Uni" in table.out and "university" in table.out
    person = json.loads(cli("org", "add-person", org_id, "Choi", "choi@bu.kr", "--format",
                            "json").out)
    assert person["role"] == "member"
    bad = cli("org", "create", "X", "--class", "pirate")
    assert bad.code == 1 and bad.err.startswith("error: ") and "org_class" in bad.err
    assert "Traceback" not in bad.err


def test_cli_without_server_says_how_to_start_it(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AICENTER_URL", f"http://127.0.0.1:{free_port()}")
    result = cli("org", "list")
    assert result.code == 1 and "aicenter serve" in result.err


def test_job_lifecycle_through_the_cli(server: str, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from aicenter.client import Client

    with Client() as op:  # set-up through the client: pools, call, org, grant
        op.add_pool("nvidia-h100-sxm", 8)
        call = op.open_call("call", ["sme"], {"nvidia-h100-sxm": 256})
        org = op.create_org("SME One", "sme")
        person = op.add_person(org.id, "Yoon", "yoon@sme.kr", "member")
        token = op.create_token(person.id, "cli").secret
        app = op.apply(call.id, "fine-tune", {"nvidia-h100-sxm": 8}, 3, 10, org_id=org.id)
        op.review(app.id, 7, 7, 7)
        grant = op.award_grant(app.id, 10)
    monkeypatch.setenv("AICENTER_TOKEN", token or "")
    spec = tmp_path / "job.yaml"
    spec.write_text("name: cli-job\ncommand: |\n  echo hello from $AICENTER_CHIP_TYPE\n"
                    "  sleep 1\n  echo bye\nresources:\n  - chip: nvidia-h100-sxm\n"
                    "    count: 1\nmax_duration: 2m\n")
    submitted = cli("job", "submit", str(spec), "--format", "json",
                    "--idempotency-key", "once")
    assert submitted.code == 0, submitted.err
    job_id = json.loads(submitted.out)["id"]
    again = json.loads(cli("job", "submit", str(spec), "--format", "json",
                           "--idempotency-key", "once").out)
    assert again["id"] == job_id
    followed = cli("job", "logs", job_id, "-f")
    assert followed.code == 0 and "hello from nvidia-h100-sxm" in followed.out
    assert "bye" in followed.out
    shown = json.loads(cli("job", "show", job_id, "--format", "json").out)
    assert shown["status"] == "succeeded"
    assert job_id in cli("job", "list", "--wide").out
    usage = json.loads(cli("usage", "list", "--job-id", job_id, "--format", "json").out)
    charged = sum(float(u["h100e_h"]) for u in usage)
    assert charged > 0
    grants = json.loads(cli("grant", "list", "--format", "json").out)
    assert [g["id"] for g in grants] == [grant.id]
    assert abs(float(grants[0]["available_h100e_h"]) - (10 - charged)) < 1e-6
    month = shown["submitted_at"][:7]
    statement = json.loads(cli("usage", "statement", org.id, month, "--format", "json").out)
    assert statement["lines"][0]["chip_id"] == "nvidia-h100-sxm"
    assert "TOTAL" in cli("usage", "statement", org.id, month).out
    csv_out = cli("usage", "statement", org.id, month, "--format", "csv").out
    assert csv_out.splitlines()[0] == "chip_id,chip_hours,h100e_h,market,payable,subsidy"
    long = tmp_path / "long.yaml"
    long.write_text("name: long\ncommand: sleep 60\nresources: [{chip: nvidia-h100-sxm, "
                    "count: 1}]\nmax_duration: 2m\n")
    long_id = json.loads(cli("job", "submit", str(long), "--format", "json").out)["id"]
    cancelled = cli("job", "cancel", long_id, "--format", "json")
    assert cancelled.code == 0
    with Client() as me:
        assert me.wait_for_job(long_id, 30).status == "cancelled"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncommand: x\nresources:\n  - chip: nvidia-h100-sxm\n"
                   "    count: 0\n")
    result = cli("job", "submit", str(bad))
    assert result.code == 2 and f"{bad}:3" in result.err and "count" in result.err


def test_demo_runs_jobs_to_the_end(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--port", str(free_port()), "--home", str(tmp_path / "demo"),
                 "--exit-when-done")
    assert result.code == 0, result.err
    assert result.out.count(": succeeded on") == 5
    assert "news-pretrain: succeeded" in result.out  # read the licensed dataset
    # ...and trained a "model" the center registered with a signed card
    assert "model news-pretrain version 1" in result.out and "license: other" in result.out
    assert "- demo-daily" in result.out and "What this card cannot prove" in result.out
    assert "signed card: DSSE envelope (application/vnd.in-toto+json)" in result.out
    assert "verify: ok, 2 files" in result.out
    assert "AICENTER_TOKEN=aic_" in result.out
