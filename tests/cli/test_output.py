"""Output people can read (issue 13 item 5): tables fit 100 columns without wrapping ids,
``--wide`` shows everything, user text is never Rich markup, money is rounded to its currency,
``show`` prints no Python reprs, and exit codes say 1 for a refusal, 2 for a usage error.

The CLI talks to a fake server (an httpx mock transport), so no server is started."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aicenter.cli import client_factory
from aicenter.cli.output import format_money, format_quantity, print_record, print_rows
from aicenter.client import Client
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
ORG = "org_5e1f0c9a7b3d2e4f6a81"


def _job(n: int, name: str = "train") -> dict[str, Any]:
    return {
        "id": f"job_{n}adb5f38c0d19e7d4a2b{n}", "name": f"{name}-{n}", "org_id": ORG,
        "person_id": "per_0c9a7b3d2e4f6a815e1f", "grant_id": "grant_7b3d2e4f6a815e1f0c9a",
        "status": "queued", "priority": "normal", "chip": "nvidia-h100-sxm", "chip_count": 8,
        "attempts": 1, "hold_h100e_h": "191.99999999", "submitted_at":
        "2026-03-01T12:34:56.123456Z", "started_at": None, "finished_at": None,
        "exit_code": None, "message": "", "pending_reason": "Resources",
        "spec": {"name": name, "command": "python train.py",
                 "resources": [{"chip": "nvidia-h100-sxm", "count": 8}],
                 "env": {"EPOCHS": "3"}},
    }


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fake API: ``routes[(method, path)] = (status, body)``."""
    routes: dict[tuple[str, str], tuple[int, Any]] = {
        ("GET", "/api/v1/orgs"): (200, [{
            "id": ORG, "name": "Busan National University", "org_class": "university",
            "chase_team": False, "region": "busan", "created_at": "2026-01-01T00:00:00Z",
            "priority_classes": ["normal"]}]),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        status, body = routes.get((request.method, request.url.path),
                                  (404, {"detail": "not found"}))
        return httpx.Response(status, json=body)

    transport = httpx.MockTransport(handle)
    monkeypatch.setattr(client_factory, "Client",
                        lambda: Client("http://test", "t", transport=transport))
    monkeypatch.setenv("COLUMNS", "100")
    return {"routes": routes}


def test_long_ids_fit_100_columns_one_line_per_row(server: dict[str, Any], cli: Cli) -> None:
    jobs = [_job(n, name="pretrain-korean-news-corpus") for n in range(5)]
    server["routes"][("GET", "/api/v1/jobs")] = (200, jobs)
    result = cli("job", "list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert all(len(line) <= 100 for line in lines)
    for job in jobs:
        holding = [line for line in lines if job["id"][:12] + "…" in line]
        assert len(holding) == 1 and job["name"] in holding[0]  # the whole row on one line
        assert job["id"] not in result.out
    assert "hidden: org, pending_reason" in " ".join(result.out.split())

    wide = cli("job", "list", "--wide")
    assert all(job["id"] in wide.out for job in jobs)
    assert "Busan National University" in wide.out  # the org's name beside the job
    assert "192.00" in wide.out and "191.99999999" not in wide.out
    assert "exit_code" in wide.out and "hold_h100e_h" in wide.out

    as_json = cli("job", "list", "--format", "json")
    listed = json.loads(as_json.out)  # scripts get what the API sent, in full, and no more
    assert [{k: item[k] for k in job} for item, job in zip(listed, jobs, strict=True)] == jobs
    assert "org" not in listed[0]


def test_ids_are_shortened_to_twelve_characters_when_unambiguous(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    print_rows([{"id": "job_1adb5f38c0d19e7d4a2b"}, {"id": "job_99b5f38c0d19e7d4a2bc"}],
               "table")
    out = capsys.readouterr().out
    assert "job_1adb5f38…" in out and "job_99b5f38c…" in out and "ids shortened" in out
    print_rows([{"id": "job_1adb5f38c0d19e7d4a2b"}, {"id": "job_1adb5f38c1d19e7d4a2b"}],
               "table")
    out = capsys.readouterr().out  # the same first 12 characters: kept until they differ
    assert "job_1adb5f38c0…" in out and "job_1adb5f38c1…" in out


def test_markup_in_user_text_is_printed_literally(server: dict[str, Any], cli: Cli) -> None:
    job = _job(1, name="[red]x[/red]")
    job["name"] = "[red]x[/red]"
    job["spec"]["command"] = "echo [bold]hi[/bold]"
    server["routes"][("GET", "/api/v1/jobs")] = (200, [job])
    server["routes"][("GET", f"/api/v1/jobs/{job['id']}")] = (200, job)
    assert "[red]x[/red]" in cli("job", "list").out
    shown = cli("job", "show", job["id"]).out
    assert "[red]x[/red]" in shown and "echo [bold]hi[/bold]" in shown


def test_money_is_rounded_to_the_currency_unit(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert format_money("1234567.891234", "KRW") == "1,234,568"
    assert format_money("1234567.891234", "USD") == "1,234,567.89"
    assert format_money("0.5", "KRW") == "1"  # half up, as the ledger rounds
    assert format_quantity("191.99999999") == "192.00"
    monkeypatch.setenv("COLUMNS", "100")
    print_rows([{"agreement": "a", "price_krw": "1234567.891234"}], "table")
    assert "1,234,568" in capsys.readouterr().out
    print_rows([{"agreement": "a", "price_krw": "1234567.891234"}], "json")
    assert json.loads(capsys.readouterr().out)[0]["price_krw"] == "1234567.891234"


def test_show_is_key_value_without_reprs(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    dataset = {"id": "ds_0c9a7b3d2e4f6a815e1f", "name": "daily-news", "records": 1200,
               "stats": {"records_in": 1300, "by_field": {"text": 1200}},
               "pii_counts": {"phone": 3, "email": 1},
               "parts": [{"sha256": "ab" * 32, "records": 600}, ("x", 1)],
               "croissant": {"@context": {"@vocab": "https://schema.org/"},
                             "distribution": [{"name": f"part-{i}"} for i in range(100)]}}
    print_record(dataset, "table")
    out = capsys.readouterr().out
    assert "{'" not in out and "[(" not in out and "('" not in out
    assert "Croissant JSON-LD document" in out and "KB" in out and "part-99" not in out
    assert "by_field" in out and "records_in" in out
    print_record(dataset, "json")
    assert "part-99" in capsys.readouterr().out  # json keeps the whole document


def test_exit_codes_refusal_1_usage_2(server: dict[str, Any], cli: Cli, tmp_path: Path) -> None:
    missing = cli("job", "show", "job_nope")
    assert missing.code == 1 and missing.err == "error: not found (HTTP 404)\n"
    server["routes"][("DELETE", "/api/v1/pools/p1")] = (409, {"detail": "a job runs there"})
    conflict = cli("pool", "remove", "p1")
    assert conflict.code == 1 and "409" in conflict.err and "Traceback" not in conflict.err
    assert cli("job", "list", "--no-such-flag").code == 2
    bad = tmp_path / "job.yaml"
    bad.write_text("name: x\ncommand: [unclosed\n", encoding="utf-8")
    refused = cli("job", "submit", str(bad))
    assert refused.code == 2 and refused.err.startswith(f"error: {bad}")
    assert refused.err.count("\n") == 1
    assert cli("job", "submit", str(tmp_path / "absent.yaml")).code == 2
