"""``max_retries`` through ``aicenter serve --backend slurm`` on the CI cluster: a job that
fails once and then succeeds runs as two Slurm jobs (two aicenter attempts), each billed once
from Slurm's own start and end, no interval twice; and ``pool capacity`` shows a drained
node's chips leaving the engine's column and the scheduler's."""

from __future__ import annotations

import subprocess
import time
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from aicenter.client import Client
from aicenter.settings import Settings
from tests.support.live_server import live_center

H100 = "nvidia-h100-sxm"


def _elapsed(names: list[str]) -> dict[str, tuple[str, int]]:
    """Slurm job name -> (state, elapsed seconds) from the accounting database."""
    deadline = time.monotonic() + 30  # slurmdbd lags the controller by a moment
    while True:
        out = subprocess.run(["sacct", "-X", "-D", "-P", "-n", "-S", "now-1hour", "-E", "now",
                              f"--name={','.join(names)}", "--format=JobName%60,State,ElapsedRaw"],
                             capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin"}).stdout
        found = {row[0]: (row[1], int(row[2])) for line in out.splitlines() if line
                 for row in [line.split("|")]}
        if set(names) <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def _center(op: Client) -> str:
    """Pools for the cluster's H100 and NPUs, an organisation with a grant; its token."""
    op.add_pool(H100, 8, pool_id="h100")
    op.add_pool("rebellions-atom", 8, pool_id="atom")
    call = op.open_call("call", ["university"], {H100: 64})
    org = op.create_org("Retry Lab", "university")
    person = op.add_person(org.id, "lead", "lead@retry.kr", "org-admin")
    app = op.apply(call.id, "x", {H100: 8}, 1, 100, org_id=org.id)
    op.review(app.id, 7, 7, 7)
    op.award_grant(app.id, 100)
    return op.create_token(person.id, "t").secret or ""


def test_a_retried_job_is_two_slurm_jobs_billed_once_each(
        slurm_env: Path, shared_tmp: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    marks = shared_tmp / "marks"
    marks.mkdir()
    marks.chmod(0o777)  # the job's mapped user leaves its mark here
    mark = marks / "first-attempt"
    command = (f"sleep 2; if [ -e {mark} ]; then echo second attempt; else touch {mark}; "
               "echo first attempt fails; exit 3; fi")
    settings = Settings(home=tmp_path / "home", backend="slurm", scheduler_interval_s=0.25,
                        metering_interval_s=1.0, unsafe_allow_weak_isolation=True)
    with live_center(settings, monkeypatch), Client() as op:
        secret = _center(op)
        with Client(op.url, secret) as tenant:
            job = tenant.submit_job({"name": "flaky", "command": command, "max_retries": 1,
                                     "resources": [{"chip": H100, "count": 2}],
                                     "max_duration": "5m"})
        done = op.wait_for_job(job.id, timeout_s=120)
        log = op.job_logs(job.id).text
        usage = op.list_usage(job_id=job.id)
    assert done.status == "succeeded", (done.status, done.message, log)
    assert done.attempts == 2 and "second attempt" in log
    names = [f"{job.id}-{attempt}-0" for attempt in (1, 2)]
    records = _elapsed(names)
    assert records[names[0]][0] == "FAILED" and records[names[1]][0] == "COMPLETED"
    billed = sum(Decimal(u.chip_seconds) for u in usage)
    assert billed == sum(elapsed for _, elapsed in records.values()) * 2, (billed, records)
    spans = sorted((u.interval_start, u.interval_end) for u in usage)
    assert all(a[1] <= b[0] for a, b in pairwise(spans))  # none twice


def test_pool_capacity_shows_a_drained_node(slurm_env: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home=tmp_path / "home", backend="slurm", scheduler_interval_s=0.25,
                        unsafe_allow_weak_isolation=True)
    with live_center(settings, monkeypatch), Client() as op:
        op.add_pool(H100, 8, pool_id="h100")
        op.add_pool(H100, 4, pool_id="h100-more")  # more than Slurm has
        whole = {c.chip_id: c for c in op.capacity().chips}[H100]
        assert whole.engine_total == 8 and whole.engine_available == 8
        assert (whole.database, whole.usable) == (12, 8)
        subprocess.run(["scontrol", "update", "nodename=node2", "state=drain",
                        "reason=aicenter capacity test"], check=True)
        try:
            seen = op.capacity()
        finally:
            subprocess.run(["scontrol", "update", "nodename=node2", "state=resume"],
                           check=True)
    assert seen.backend == "slurm" and seen.reports_capacity and seen.engine_error is None
    h100 = {c.chip_id: c for c in seen.chips}[H100]
    assert (h100.database, h100.engine_total, h100.engine_available, h100.usable) == \
        (12, 4, 4, 4)
    assert [(p.id, p.usable) for p in h100.pools] == [("h100", 4), ("h100-more", 0)]
