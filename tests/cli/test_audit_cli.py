"""``aicenter audit`` against a real server (SQLite and PostgreSQL): checkpoints, proofs checked
by the client, filters, CSV export, and a tampered entry named with exit code 1."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from aicenter.server.process import build_server
from aicenter.services import audit as audit_svc
from aicenter.services.context import ServiceContext
from aicenter.settings import Settings
from tests.services.fixtures import LiveServer, database_url_fixture, free_port  # noqa: F401


@pytest.fixture
def center(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[ServiceContext]:
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    built = build_server(settings)
    assert built.operator_token
    with LiveServer(built.app, free_port()) as live:
        monkeypatch.setenv("AICENTER_URL", live.url)
        monkeypatch.setenv("AICENTER_TOKEN", built.operator_token)
        yield built.ctx
    built.ctx.db.dispose()


def append(ctx: ServiceContext, n: int, start: int = 0) -> None:
    with ctx.db.transaction() as tx:
        for i in range(start, start + n):
            audit_svc.record_change(tx, ctx.clock.now(), None, "job.submitted", "job",
                                    f"job_{i}", "org_a" if i % 2 == 0 else "org_b", {"i": i})


def test_audit_commands(center: ServiceContext, cli) -> None:  # type: ignore[no-untyped-def]
    append(center, 4)
    first = json.loads(cli("audit", "checkpoint", "--format", "json").out)
    assert first["size"] == 4
    append(center, 5, start=4)
    assert cli("audit", "checkpoint").code == 0
    assert "nothing appended" in cli("audit", "checkpoint").out
    assert [c["size"] for c in json.loads(cli("audit", "checkpoints", "--format",
                                               "json").out)] == [4, 9]

    ok = cli("audit", "verify", "--format", "json")
    assert ok.code == 0, ok.err
    assert json.loads(ok.out) | {"root": ""} == {"check": "log", "ok": True, "entries": 9,
                                                  "checkpoints": 2, "root": ""}
    inc = cli("audit", "verify", "--inclusion", "3", "--format", "json")
    assert inc.code == 0 and json.loads(inc.out)["ok"] is True, inc.err
    inc4 = cli("audit", "verify", "--inclusion", "3", "--size", "4", "--format", "json")
    assert inc4.code == 0 and json.loads(inc4.out)["size"] == 4
    con = cli("audit", "verify", "--consistency", "4", "9", "--format", "json")
    assert con.code == 0 and json.loads(con.out)["ok"] is True, con.err
    unsigned = cli("audit", "verify", "--consistency", "3", "9")
    assert unsigned.code == 1 and "no signed checkpoint of size 3" in unsigned.err

    shown = json.loads(cli("audit", "show", "--org", "org_a", "--format", "json").out)
    assert [e["object_id"] for e in shown] == ["job_0", "job_2", "job_4", "job_6", "job_8"]
    one = json.loads(cli("audit", "show", "--object", "job:job_5", "--format", "json").out)
    assert [e["seq"] for e in one] == [6]
    assert "job.submitted" in cli("audit", "show", "--limit", "3").out
    exported = cli("audit", "export", "--action", "job.submitted", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == 9 and json.loads(rows[2]["payload"]) == {"i": 2}
    assert len(json.loads(cli("audit", "export").out)) == 9
    keys = json.loads(cli("audit", "keys", "--format", "json").out)
    assert [k["current"] for k in keys] == [True]

    # Tamper with entry 6 directly in the database: verify names it and exits 1.
    with center.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET body = :b WHERE seq = 6").bindparams(
            b=b'{"v":1,"seq":6}'))
    bad = cli("audit", "verify")
    assert bad.code == 1
    assert "entry 6: edited" in bad.err and "Traceback" not in bad.err
    bad_inc = cli("audit", "verify", "--inclusion", "6")
    assert bad_inc.code == 1 and "entry 6 is not in the signed tree" in bad_inc.err
    assert cli("audit", "verify", "--inclusion", "2").code == 0  # others still prove


def test_rotate_key_keeps_old_checkpoints(center: ServiceContext, cli) -> None:  # type: ignore[no-untyped-def]
    append(center, 2)
    assert cli("audit", "checkpoint").code == 0
    rotated = json.loads(cli("audit", "rotate-key", "--format", "json").out)
    append(center, 2, start=2)
    assert cli("audit", "checkpoint").code == 0
    keys = json.loads(cli("audit", "keys", "--format", "json").out)
    assert len(keys) == 2 and [k["key_id"] for k in keys if k["current"]] == [
        rotated["key_id"]]
    assert cli("audit", "verify").code == 0
    assert cli("audit", "verify", "--consistency", "2", "4").code == 0
