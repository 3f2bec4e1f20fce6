"""Billing exact to Slurm's accounting, through `aicenter serve --backend slurm` on the CI
cluster: two organisations' jobs, one of them requeued by Slurm itself while it runs, and the
server stopped and a new one started on the same database while the jobs run. aicenter's
usage per job equals ``sacct -D``'s elapsed seconds of every attempt times the chips, to the
second, and the jobs keep their one aicenter attempt (Slurm's requeue is Slurm's)."""

from __future__ import annotations

import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from aicenter.client import Client
from aicenter.server.process import build_server
from aicenter.settings import Settings
from tests.support.live_server import LiveServer, live_center

ENV = {"PATH": "/usr/bin:/bin", "SLURM_TIME_FORMAT": "%s"}


def _slurm_job_id(name: str, timeout_s: float = 60) -> str:
    """The Slurm job id of the run named ``name`` once it runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-n", name, "-t", "RUNNING", "-o", "%i"],
                             capture_output=True, text=True, check=True, env=ENV).stdout.split()
        if out:
            return out[0]
        time.sleep(0.2)
    raise AssertionError(f"{name} did not start on Slurm")


def _release(job_id: str) -> None:
    """Let a job Slurm requeued start again now (Slurm holds it for two minutes: BeginTime);
    the hold is set once the requeue is through, so ask until the job waits for nothing."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        subprocess.run(["scontrol", "update", f"jobid={job_id}", "starttime=now"],
                       capture_output=True, env=ENV, check=False)
        reason = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T %r"],
                                capture_output=True, text=True, env=ENV, check=True).stdout
        if reason.startswith("RUNNING"):
            return
        time.sleep(0.3)
    raise AssertionError(f"requeued job {job_id} did not start again")


def _sacct_attempts(name: str) -> list[tuple[str, int]]:
    """(state, elapsed seconds) of every attempt of the run named ``name``, once slurmdbd has
    the last one's end."""
    deadline = time.monotonic() + 30
    while True:
        out = subprocess.run(["sacct", "-X", "-D", "-P", "-n", "-S", "now-1hour", "-E", "now",
                              f"--name={name}", "--format=State,End,ElapsedRaw"],
                             capture_output=True, text=True, check=True, env=ENV).stdout
        rows = [line.split("|") for line in out.splitlines() if line]
        if (rows and rows[-1][1].isdigit()) or time.monotonic() > deadline:
            return [(state, int(elapsed)) for state, _, elapsed in rows]
        time.sleep(0.3)


def test_usage_equals_sacct_across_a_slurm_requeue_and_a_server_restart(
        slurm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home=tmp_path / "home", backend="slurm", scheduler_interval_s=0.25,
                        metering_interval_s=1.0, unsafe_allow_weak_isolation=True)
    chips = {"nvidia-h100-sxm": 8, "rebellions-atom": 8}
    work = [  # (org index, chip, count, command): metered in several intervals each
        (0, "nvidia-h100-sxm", 1, "sleep 5"), (0, "rebellions-atom", 4, "sleep 4"),
        (1, "nvidia-h100-sxm", 2, "sleep 6"), (1, "rebellions-atom", 1, "sleep 3"),
        (1, "nvidia-h100-sxm", 1, "sleep 7"),  # requeued by Slurm
    ]
    submitted: list[tuple[str, str, int]] = []
    with live_center(settings, monkeypatch) as first, Client() as op:
        token = first.operator_token
        for chip, count in chips.items():
            op.add_pool(chip, count)
        call = op.open_call("call", ["university", "startup"], dict.fromkeys(chips, 64))
        orgs = []
        for index, cls in enumerate(("university", "startup")):
            org = op.create_org(f"Billing {index}", cls)
            person = op.add_person(org.id, f"lead {index}", f"bill{index}@t.kr", "org-admin")
            app = op.apply(call.id, "x", dict.fromkeys(chips, 8), 1, 100, org_id=org.id)
            op.review(app.id, 7, 7, 7)
            op.award_grant(app.id, 100)
            orgs.append((org.id, op.create_token(person.id, "t").secret or ""))
        for index, chip, count, command in work:
            with Client(op.url, orgs[index][1]) as tenant:
                job = tenant.submit_job({"name": f"bill-{len(submitted)}", "command": command,
                                         "resources": [{"chip": chip, "count": count}],
                                         "max_duration": "5m", "workload": (
                                             "inference" if chip == "rebellions-atom"
                                             else "dense-training")})
            submitted.append((job.id, orgs[index][0], count))
        requeued = _slurm_job_id(f"{submitted[-1][0]}-1-0")
        time.sleep(1.5)  # it has run a while: that attempt is billed too
        subprocess.run(["scontrol", "requeue", requeued], check=True, env=ENV)
        _release(requeued)
        for job_id, *_ in submitted[:-1]:  # launched on Slurm (it may have ended there)
            assert op.get_job(job_id).status in ("running", "succeeded")
    # the first server (its loop and service context) is gone; a new one, same database
    again = build_server(settings)
    try:
        with LiveServer(again.app) as live, Client(live.url, token) as op:
            finished = {job_id: op.wait_for_job(job_id, timeout_s=120)
                        for job_id, *_ in submitted}
            usage = {job_id: op.list_usage(job_id=job_id) for job_id in finished}
    finally:
        again.ctx.db.dispose()
    for job_id, org_id, count in submitted:
        done = finished[job_id]
        assert done.status == "succeeded" and done.attempts == 1, (done.status, done.message)
        attempts = _sacct_attempts(f"{job_id}-1-0")
        billed = sum(Decimal(u.chip_seconds) for u in usage[job_id])
        assert {u.org_id for u in usage[job_id]} == {org_id}
        assert billed == sum(e for _, e in attempts) * count, (job_id, billed, attempts)
        starts = [u.interval_start for u in usage[job_id]]
        assert len(starts) == len(set(starts))  # no interval billed twice
    assert [s for s, _ in _sacct_attempts(f"{submitted[-1][0]}-1-0")] == ["REQUEUED",
                                                                          "COMPLETED"]
