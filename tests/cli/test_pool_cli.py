"""``aicenter pool`` against a real server, and ``aicenter serve --pools FILE``; on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aicenter.client import Client
from tests.services.fixtures import database_url_fixture  # noqa: F401
from tests.support.live_server import free_port

H100 = "nvidia-h100-sxm"


@pytest.fixture
def server(live_center, database_url: str) -> str:  # type: ignore[no-untyped-def]
    return str(live_center(database_url=database_url, scheduler_interval_s=0.2).operator_token)


def test_pool_commands(server: str, cli) -> None:  # type: ignore[no-untyped-def]
    added = cli("pool", "add", H100, "8", "--site", "haenam", "--id", "h100-a", "--format",
                "json")
    assert added.code == 0, added.err
    assert json.loads(added.out)["state"] == "active"
    assert cli("pool", "add", H100, "4", "--site", "gwangju", "--id", "h100-b").code == 0
    bad = cli("pool", "add", H100, "4", "--country", "Korea")
    assert bad.code == 1 and "field 'country'" in bad.err and "Traceback" not in bad.err
    unknown = cli("pool", "add", "nvidia-h100", "4")
    assert unknown.code == 1 and "unknown chip id" in unknown.err

    table = cli("pool", "list").out
    for word in ("h100-a", "h100-b", "gwangju", "KR", "active", "chips_in_use"):
        assert word in table
    updated = json.loads(cli("pool", "update", "h100-a", "--count", "16", "--country", "US",
                             "--format", "json").out)
    assert (updated["chip_count"], updated["country"], updated["site"]) == (16, "US", "haenam")
    nothing = cli("pool", "update", "h100-a")
    assert nothing.code == 2 and "--count" in nothing.err
    drained = json.loads(cli("pool", "drain", "h100-a", "--format", "json").out)
    assert drained["state"] == "draining"
    assert json.loads(cli("pool", "show", "h100-a", "--format", "json").out)["state"] == \
        "draining"
    assert json.loads(cli("pool", "undrain", "h100-a", "--format", "json").out)["state"] == \
        "active"
    removed = cli("pool", "remove", "h100-b", "--format", "json")
    assert removed.code == 0 and json.loads(removed.out)["state"] == "removed"
    listed = json.loads(cli("pool", "list", "--format", "json").out)
    assert [p["id"] for p in listed] == ["h100-a"]
    everything = json.loads(cli("pool", "list", "--all", "--format", "json").out)
    assert {p["id"]: p["state"] for p in everything} == {"h100-a": "active",
                                                         "h100-b": "removed"}
    gone = cli("pool", "drain", "h100-b")
    assert gone.code == 1 and "removed" in gone.err and "404" in gone.err


def test_a_job_runs_where_placed_through_the_api(server: str, cli) -> None:  # type: ignore[no-untyped-def]
    with Client() as op:
        op.add_pool(H100, 2, "haenam", "KR", pool_id="a-haenam")
        op.add_pool(H100, 2, "gwangju", "KR", pool_id="b-gwangju")
        op.drain_pool("a-haenam")
        call = op.open_call("call", ["sme"], {H100: 64})
        org = op.create_org("SME", "sme")
        app = op.apply(call.id, "x", {H100: 2}, 1, 10, org_id=org.id)
        op.review(app.id, 7, 7, 7)
        op.award_grant(app.id, 10)
        job = op.submit_job({"name": "j", "command": "sleep 2", "max_duration": "60s",
                             "resources": [{"chip": H100, "count": 2}]}, org_id=org.id)
        deadline = time.monotonic() + 60
        while op.get_job(job.id).status == "queued" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert op.get_job(job.id).status == "running"  # sleeps 2 s: still running
        pools = {p.id: p for p in op.list_pools()}
        assert pools["b-gwangju"].chips_in_use == 2 and pools["a-haenam"].chips_in_use == 0
        refused = cli("pool", "remove", "b-gwangju")
        assert refused.code == 1 and "409" in refused.err and job.id in refused.err
        done = op.wait_for_job(job.id, 60)
    assert done.status == "succeeded", done.message
    shown = json.loads(cli("job", "show", job.id, "--format", "json").out)
    assert (shown["pool_id"], shown["site"], shown["country"]) == ("b-gwangju", "gwangju",
                                                                   "KR")


def test_serve_refuses_a_bad_pools_file_naming_file_line_and_field(tmp_path: Path,
                                                                   cli) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "pools.yaml"
    bad.write_text(f"pools:\n  - {{chip: {H100}, count: 8}}\n"
                   f"  - chip: {H100}\n    count: 4\n    country: korea\n")
    home = tmp_path / "home"
    result = cli("serve", "--pools", str(bad), "--home", str(home), "--port", str(free_port()))
    assert result.code == 2
    assert result.err.startswith(f"error: {bad}:5: field 'pools[1].country': ")
    assert not (home / "aicenter.db").exists()  # refused before the database: nothing loaded
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("pools:\n  - {chip: nvidia-h100, count: 8, colour: red}\n")
    result = cli("serve", "--pools", str(unknown), "--home", str(home))
    assert result.code == 2 and f"{unknown}:2: field 'pools[0].colour': unknown field" in \
        result.err


def test_serve_loads_a_fleet(tmp_path: Path, database_url: str) -> None:
    fleet = tmp_path / "pools.yaml"
    fleet.write_text(f"pools:\n  - {{id: h100-haenam, chip: {H100}, count: 8}}\n"
                     "  - {chip: rebellions-atom, count: 4, site: gwangju}\n"
                     "  - {chip: nvidia-h200, count: 2, site: virginia, country: US}\n")
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "AICENTER_HOME": str(home), "AICENTER_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-c", "from aicenter.cli.main import run; run()", "serve",
         "--port", str(port), "--pools", str(fleet)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        Client(url, "x").wait_until_up(60)
        token = (home / "operator-token").read_text().strip()
        with Client(url, token) as op:
            pools = {(p.chip_id, p.site, p.country): p for p in op.list_pools()}
        assert set(pools) == {(H100, "haenam", "KR"), ("rebellions-atom", "gwangju", "KR"),
                              ("nvidia-h200", "virginia", "US")}
        assert pools[(H100, "haenam", "KR")].id == "h100-haenam"
    finally:
        server.send_signal(signal.SIGTERM)
        out, _err = server.communicate(timeout=30)
    assert b"pools from " in out and b"3 added, 0 updated, 0 unchanged" in out


def test_pool_capacity(server: str, cli) -> None:  # type: ignore[no-untyped-def]
    """The local backend shows its slots (the pools, less the devices its runs hold) beside
    the database's chips; its count does not cap the pools."""
    assert cli("pool", "add", H100, "8", "--id", "h100-a").code == 0
    assert cli("pool", "add", H100, "4", "--site", "gwangju", "--id", "h100-b").code == 0
    assert cli("pool", "add", "rebellions-atom", "2", "--id", "atom-a").code == 0
    assert cli("pool", "drain", "h100-b").code == 0
    seen = json.loads(cli("pool", "capacity", "--format", "json").out)
    assert seen["backend"] == "local" and seen["reports_capacity"] is False
    chips = {c["chip_id"]: c for c in seen["chips"]}
    h100 = chips[H100]
    assert (h100["database"], h100["engine_total"], h100["engine_available"],
            h100["usable"]) == (12, 12, 12, 12)
    assert [(p["id"], p["state"], p["usable"]) for p in h100["pools"]] == [
        ("h100-a", "active", 8), ("h100-b", "draining", 4)]
    assert chips["rebellions-atom"]["engine_total"] == 2
    with Client() as client:  # the client's model is the same answer
        assert client.capacity().model_dump(mode="json") == seen
    table = cli("pool", "capacity", "--pools")
    assert table.code == 0, table.err
    for word in ("backend local", "engine_available", "usable", "per pool", "draining"):
        assert word in table.out
