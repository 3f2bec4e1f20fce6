"""A job whose hold runs out while it runs, seen through the API and the CLI of a live server:
``GET /jobs/{id}`` and ``aicenter job show`` both say it was stopped, budget exhausted, and the
grant paid its hold and no more; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx

from aicenter.catalog.performance import PerformanceTable, Throughput
from aicenter.client import Client
from aicenter.domain.accelerator import WorkloadClass
from aicenter.ledger import H100E, accounts
from aicenter.services.metering import EXHAUSTED
from tests.services.fixtures import database_url_fixture  # noqa: F401

H100 = "nvidia-h100-sxm"


def test_a_job_whose_hold_runs_out_says_so_in_the_api_and_the_cli(  # type: ignore[no-untyped-def]
        live_center, database_url: str, cli) -> None:
    server = live_center(database_url=database_url, scheduler_interval_s=0.2,
                         metering_interval_s=0.5)
    with Client() as op:
        op.add_pool(H100, 2, "haenam", "KR", pool_id="h100")
        call = op.open_call("call", ["sme"], {H100: 64})
        org = op.create_org("SME", "sme")
        app = op.apply(call.id, "x", {H100: 2}, 1, 10, org_id=org.id)
        op.review(app.id, 7, 7, 7)
        grant = op.award_grant(app.id, 10)
        job = op.submit_job({"name": "long", "command": "sleep 60", "max_duration": "120s",
                             "resources": [{"chip": H100, "count": 1}]}, org_id=org.id)
        assert job.hold_h100e_h == "0.033334"  # 1 chip × 120 s, ratio 1, rounded up
        deadline = time.monotonic() + 60
        while op.get_job(job.id).started_at is None:  # the engine started it: metered now
            assert time.monotonic() < deadline, op.get_job(job.id)
            time.sleep(0.1)
        # the chip is re-measured: the job now costs 100 h100e a chip-second, its hold of
        # 2 minutes lasts 1.2 s (the center has no API for measurements: the server's table)
        server.ctx.perf = PerformanceTable(server.ctx.catalog, {
            (H100, WorkloadClass.DENSE_TRAINING): Throughput(100.0, "measured", "test")})
        done = op.wait_for_job(job.id, 60)
        url, token = op.url + "/api/v1", op.token
    assert done.status == "failed"
    assert done.message == f"{EXHAUSTED} (grant {grant.id} has no h100e-h left for this job)"
    assert done.finished_at is not None and done.started_at is not None
    assert (done.finished_at - done.started_at).total_seconds() < 30  # stopped, not slept out
    wire = httpx.get(f"{url}/jobs/{job.id}", headers={"Authorization": f"Bearer {token}"})
    assert wire.status_code == 200 and wire.json()["status"] == "failed"
    assert wire.json()["message"].startswith("stopped: budget exhausted")

    shown = cli("job", "show", job.id)
    assert shown.code == 0, shown.err
    assert "failed" in shown.out and "stopped: budget exhausted" in shown.out
    as_json = json.loads(cli("job", "show", job.id, "--format", "json").out)
    assert as_json["status"] == "failed" and as_json["message"] == done.message
    listed = cli("job", "list", "--status", "failed", "--wide")
    assert job.id in listed.out and "failed" in listed.out

    with server.ctx.db.transaction(write=False) as tx:  # its hold spent, not a cent more
        assert tx.ledger.balance(accounts.hold(grant.id, job.id), H100E) == 0
        used = -tx.ledger.flow(accounts.holds_of(grant.id), H100E, "usage")
        assert used == Decimal(done.hold_h100e_h)
        assert tx.ledger.balance(accounts.grant(grant.id), H100E) == 10 - used
