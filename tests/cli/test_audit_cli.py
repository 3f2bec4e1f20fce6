"""``aicenter audit`` against a real server (SQLite and PostgreSQL): checkpoints, proofs checked
by the client, filters, CSV export, and a tampered entry named with exit code 1."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text

from aicenter.services import audit as audit_svc
from aicenter.services.context import ServiceContext
from tests.services.fixtures import database_url_fixture  # noqa: F401


@pytest.fixture
def center(live_center, database_url: str) -> ServiceContext:  # type: ignore[no-untyped-def]
    ctx: ServiceContext = live_center(database_url=database_url).ctx
    return ctx


def append(ctx: ServiceContext, n: int, start: int = 0) -> list[int]:
    """Append ``n`` entries; their sequence numbers (the server's own entries — the first
    operator, the CLI's authorisation decisions — come between)."""
    with ctx.db.transaction() as tx:
        for i in range(start, start + n):
            audit_svc.record_change(tx, ctx.clock.now(), None, "job.submitted", "job",
                                    f"job_{i}", "org_a" if i % 2 == 0 else "org_b", {"i": i})
        return [entry.seq for entry in tx.audit.flush()]  # sealed now, numbered in order


def head(ctx: ServiceContext) -> int:
    with ctx.db.transaction(write=False) as tx:
        return tx.audit.head().seq


def test_audit_commands(center: ServiceContext, cli) -> None:  # type: ignore[no-untyped-def]
    seqs = append(center, 4)
    first = json.loads(cli("audit", "checkpoint", "--format", "json").out)
    size1 = first["size"]
    assert size1 == head(center) >= seqs[-1]
    seqs += append(center, 5, start=4)
    assert cli("audit", "checkpoint").code == 0
    size2 = head(center)
    assert "nothing appended" in cli("audit", "checkpoint").out
    assert [c["size"] for c in json.loads(cli("audit", "checkpoints", "--format",
                                               "json").out)] == [size1, size2]

    ok = cli("audit", "verify", "--format", "json")
    assert ok.code == 0, ok.err
    assert json.loads(ok.out) | {"root": ""} == {"check": "log", "ok": True,
                                                  "entries": size2, "checkpoints": 2,
                                                  "root": ""}
    inc = cli("audit", "verify", "--inclusion", "3", "--format", "json")
    assert inc.code == 0 and json.loads(inc.out)["ok"] is True, inc.err
    inc4 = cli("audit", "verify", "--inclusion", "3", "--size", str(size1), "--format", "json")
    assert inc4.code == 0 and json.loads(inc4.out)["size"] == size1
    con = cli("audit", "verify", "--consistency", str(size1), str(size2), "--format", "json")
    assert con.code == 0 and json.loads(con.out)["ok"] is True, con.err
    unsigned = cli("audit", "verify", "--consistency", "3", str(size2))
    assert unsigned.code == 1 and "no signed checkpoint of size 3" in unsigned.err

    shown = json.loads(cli("audit", "show", "--org", "org_a", "--format", "json").out)
    assert [e["object_id"] for e in shown] == ["job_0", "job_2", "job_4", "job_6", "job_8"]
    one = json.loads(cli("audit", "show", "--object", "job:job_5", "--format", "json").out)
    assert [e["seq"] for e in one] == [seqs[5]]
    assert "job.submitted" in cli("audit", "show", "--action", "job.submitted", "--limit",
                                  "3").out
    exported = cli("audit", "export", "--action", "job.submitted", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == 9 and json.loads(rows[2]["payload"]) == {"i": 2}
    assert len(json.loads(cli("audit", "export").out)) == head(center)
    keys = json.loads(cli("audit", "keys", "--format", "json").out)
    assert [k["current"] for k in keys] == [True]

    # Tamper with job_5's entry directly in the database: verify names it and exits 1.
    n = seqs[5]
    with center.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET body = :b WHERE seq = :n").bindparams(
            b=f'{{"v":1,"seq":{n}}}'.encode(), n=n))
    bad = cli("audit", "verify")
    assert bad.code == 1
    assert f"entry {n}: edited" in bad.err and "Traceback" not in bad.err
    bad_inc = cli("audit", "verify", "--inclusion", str(n))
    assert bad_inc.code == 1 and f"entry {n} is not in the signed tree" in bad_inc.err
    assert cli("audit", "verify", "--inclusion", "2").code == 0  # others still prove


def test_rotate_key_keeps_old_checkpoints(center: ServiceContext, cli) -> None:  # type: ignore[no-untyped-def]
    append(center, 2)
    assert cli("audit", "checkpoint").code == 0
    first = head(center)
    rotated = json.loads(cli("audit", "rotate-key", "--format", "json").out)
    append(center, 2, start=2)
    assert cli("audit", "checkpoint").code == 0
    second = head(center)
    keys = json.loads(cli("audit", "keys", "--format", "json").out)
    assert len(keys) == 2 and [k["key_id"] for k in keys if k["current"]] == [
        rotated["key_id"]]
    assert cli("audit", "verify").code == 0
    assert cli("audit", "verify", "--consistency", str(first), str(second)).code == 0
