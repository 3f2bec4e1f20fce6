"""`aicenter serve --backend slurm` end to end on the local cluster `.ci/slurm-up` starts: the
demo's jobs for the chips the cluster has (an 8-H100 gang over both nodes, an NPU job),
submitted through the API by two organisations, placed by aicenter's scheduler, run by Slurm
as the organisations' mapped user in their own Slurm accounts (created on first use) and in
the QOS of their priority class, their logs read back and their usage charged.

The server refuses the slurm backend without the operator's consent to weak isolation (its
Capabilities claim no containment: see the README's threat model)."""

from __future__ import annotations

import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from aicenter.cli.demo import JOBS
from aicenter.client import Client
from aicenter.domain.errors import InputError
from aicenter.server.process import build_server
from aicenter.settings import Settings
from tests.support.live_server import live_center

from .conftest import JOB_USER

CLUSTER_CHIPS = {"nvidia-h100-sxm": 8, "rebellions-atom": 8}
"""What the CI cluster has: 4 of each on node1 and node2."""


def _sacct(run_ids: list[str]) -> dict[str, tuple[str, str, str, int]]:
    """Run id (the Slurm job's name) -> (account, user, QOS, elapsed seconds) from the
    accounting database."""
    deadline = time.monotonic() + 30  # slurmdbd lags the controller by a moment
    while True:
        out = subprocess.run(["sacct", "-X", "-P", "-n", "-S", "now-1hour", "-E", "now",
                              f"--name={','.join(run_ids)}", "--state=COMPLETED",
                              "--format=JobName%60,Account,User,QOS,ElapsedRaw"],
                             capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin"}).stdout
        rows = [line.split("|") for line in out.splitlines() if line]
        found = {row[0]: (row[1], row[2], row[3], int(row[4])) for row in rows
                 if row[3] != "Unknown"}
        if set(run_ids) <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_serving_slurm_needs_the_operators_consent(slurm_env: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="slurm backend cannot contain jobs"):
        build_server(Settings(home=tmp_path / "home", backend="slurm"))


def test_the_demos_jobs_run_through_the_server_on_slurm(
        slurm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home=tmp_path / "home", backend="slurm", scheduler_interval_s=0.25,
                        metering_interval_s=1.0, unsafe_allow_weak_isolation=True)
    jobs = [j for j in JOBS if j[2] in CLUSTER_CHIPS]
    assert {j[2] for j in jobs} == set(CLUSTER_CHIPS)  # the gang and the NPU job are there
    with live_center(settings, monkeypatch), Client() as op:
        for chip, count in CLUSTER_CHIPS.items():
            op.add_pool(chip, count)
        call = op.open_call("call", ["university", "youth-startup"],
                            dict.fromkeys(CLUSTER_CHIPS, 64))
        members = {}
        for index, (name, cls, chase) in {0: ("Graph Lab", "university", True),
                                          3: ("Youth AI", "youth-startup", False)}.items():
            org = op.create_org(name, cls, chase_team=chase)
            person = op.add_person(org.id, f"{name} lead", f"lead{index}@t.kr", "org-admin")
            app = op.apply(call.id, "x", dict.fromkeys(CLUSTER_CHIPS, 8), 1, 100,
                           org_id=org.id)
            op.review(app.id, 7, 7, 7)
            op.award_grant(app.id, 100)
            members[index] = (org.id, op.create_token(person.id, "t").secret or "")
        submitted = []
        for org_index, name, chip, count, workload, command in jobs:
            org_id, secret = members[org_index]
            priority = "chase-team" if org_index == 0 else "normal"
            with Client(op.url, secret) as tenant:
                job = tenant.submit_job({"name": name, "command": command,
                                         "resources": [{"chip": chip, "count": count}],
                                         "workload": workload, "max_duration": "5m",
                                         "priority": priority})
            submitted.append((job.id, org_id, priority, chip, count))
        finished = {job_id: op.wait_for_job(job_id, timeout_s=120)
                    for job_id, *_ in submitted}
        logs = {job_id: op.job_logs(job_id).text for job_id in finished}
        usage = {job_id: op.list_usage(job_id=job_id) for job_id in finished}
    for job_id, _, _, chip, count in submitted:
        done = finished[job_id]
        assert done.status == "succeeded", (done.status, done.message, logs[job_id])
        assert (done.chip, done.chip_count) == (chip, count)
        assert done.attempts == 1
        # Slurm gives no kernel box: the job's API answer says so (containment_notes).
        assert any("no kernel box" in note for note in done.containment_notes), done
    gang = next(s for s in submitted if s[3] == "nvidia-h100-sxm")
    assert "training on 8 x nvidia-h100-sxm" in logs[gang[0]] and "step 3" in logs[gang[0]]
    npu = next(s for s in submitted if s[3] == "rebellions-atom")
    assert "serving on rebellions-atom" in logs[npu[0]] and "ok" in logs[npu[0]]
    records = _sacct([f"{job_id}-1-0" for job_id in finished])  # run id = Slurm job name
    for job_id, org_id, priority, _, count in submitted:
        account, user, qos, elapsed = records[f"{job_id}-1-0"]
        assert (account, user, qos) == (org_id, JOB_USER, priority)
        billed = sum(Decimal(u.chip_seconds) for u in usage[job_id])
        assert {u.org_id for u in usage[job_id]} == {org_id}
        # metered from Slurm's own start and end (whole seconds), to the second
        assert billed == elapsed * count, (billed, elapsed, count)
