"""Kill -9 of the server while jobs run, then a restart: nothing lost, nothing counted twice,
running jobs re-attached (not restarted), queued jobs still run; and adoption of a run the
server launched but never recorded."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from aicenter.client import Client
from aicenter.ledger import H100E, accounts
from aicenter.services.metering import charged_h100e_h
from aicenter.storage import Database
from tests.services.fixtures import database_url_fixture  # noqa: F401
from tests.support.live_server import free_port

SLEEP_S = 3.0


def start_server(home: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AICENTER_HOME": str(home), "AICENTER_DATABASE_URL": url,
           "AICENTER_SCHEDULER_INTERVAL_S": "0.2", "AICENTER_METERING_INTERVAL_S": "0.5",
           "AICENTER_PREEMPTION_GRACE_S": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from aicenter.cli.main import run; run()", "serve", "--port",
         str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    Client(f"http://127.0.0.1:{port}", "x").wait_until_up(60)
    return proc


def test_kill_9_then_restart_loses_and_doubles_nothing(tmp_path: Path,
                                                      database_url: str) -> None:
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(home, database_url, port)
    try:
        token = (home / "operator-token").read_text().strip()
        with Client(url, token) as op:
            op.add_pool("nvidia-h100-sxm", 3)
            call = op.open_call("call", ["university"], {"nvidia-h100-sxm": 256})
            org = op.create_org("Uni", "university")
            app = op.apply(call.id, "x", {"nvidia-h100-sxm": 8}, 1, 50, org_id=org.id)
            op.review(app.id, 7, 7, 7)
            grant = op.award_grant(app.id, 50)
            command = f"echo start; sleep {SLEEP_S}; echo end"
            jobs = [op.submit_job({"name": f"j{i}", "command": command, "max_duration": "1m",
                                   "resources": [{"chip": "nvidia-h100-sxm", "count": 1}]},
                                  org_id=org.id).id for i in range(4)]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # three run (3 chips), one waits
                running = [j for j in jobs if op.get_job(j).status == "running"]
                metered = {u.job_id for u in op.list_usage(org_id=org.id)}
                if len(running) == 3 and set(running) <= metered:
                    break
                time.sleep(0.1)
            assert len(running) == 3 and set(running) <= metered
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        time.sleep(1.0)  # jobs go on running while no server watches
        server = start_server(home, database_url, port)
        with Client(url, token) as op:
            finished = [op.wait_for_job(j, 60) for j in jobs]
        assert [j.status for j in finished] == ["succeeded"] * 4
        assert [j.attempts for j in finished] == [1] * 4  # re-attached, never restarted
        for j in finished:
            log = Client(url, token).job_logs(j.id).text
            assert log.count("start") == 1 and log.count("end") == 1
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    db = Database(database_url)
    try:
        with db.transaction(write=False) as tx:
            charged = Decimal(0)
            for job_id in jobs:
                job = tx.jobs.get(job_id)
                records = tx.usage.list(job_id=job_id)
                # billed from the engine's own start, which may lag the recorded launch by
                # a moment on a loaded host (never before it)
                lag = records[0].interval_start - job.started_at
                assert timedelta(0) <= lag < timedelta(seconds=1), lag
                for before, after in itertools.pairwise(records):
                    assert after.interval_start == before.interval_end  # no gap, no overlap
                seconds = sum((r.chip_seconds for r in records), Decimal(0))
                assert Decimal(SLEEP_S) - Decimal("0.2") <= seconds <= Decimal(SLEEP_S) + 4
                charged += sum((charged_h100e_h(r) for r in records), Decimal(0))
                assert tx.ledger.balance(accounts.hold(grant.id, job_id), H100E) == 0
            assert tx.ledger.balance(accounts.grant(grant.id), H100E) == Decimal(50) - charged
            assert tx.ledger.unbalanced_transactions() == []
            assert tx.ledger.balance_drift() == []  # running balances = postings
    finally:
        db.dispose()
