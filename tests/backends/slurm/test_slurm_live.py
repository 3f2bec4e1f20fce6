"""The slurm backend against the real local cluster `.ci/slurm-up` starts (two slurmd on this
host, 4 x gpu:h100 and 4 x npu:atom each, slurmdbd for sacct): the shared behaviour suite,
gangs across both nodes, capacity, and metering equal to sacct's records.

Skipped, with the reason, where Slurm is not up or the tests are not root; CI starts it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from aicenter.backends import Backend, LaunchRequest, RunState, read_whole_log, wait_until_finished
from aicenter.backends.base import RunHandle, StopReason
from aicenter.backends.slurm.backend import SlurmBackend
from aicenter.backends.slurm.config import SlurmConfig
from aicenter.domain.errors import InputError

from .. import behaviour
from ..behaviour import FINISH_S, BackendBehaviour
from .conftest import JOB_USER

JOB_PYTHON = "/usr/bin/python3"
"""The jobs' Python: the test venv's lives under /root, which the job's user cannot enter."""


@pytest.fixture(autouse=True)
def _job_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(behaviour, "PY", JOB_PYTHON)


class TestSlurmBehaviour(BackendBehaviour):
    @pytest.fixture
    def tmp_path(self, shared_tmp: Path) -> Path:
        """The job's user writes here (the suite's marker files), so: sticky, world-writable."""
        path = shared_tmp / "work"
        path.mkdir(mode=0o1777)
        path.chmod(0o1777)
        return path

    @pytest.fixture
    def backend(self, slurm_config: SlurmConfig) -> Backend:
        return SlurmBackend(slurm_config)

    @pytest.fixture
    def reopen(self, slurm_config: SlurmConfig) -> Callable[[], Backend]:
        return lambda: SlurmBackend(slurm_config)


def _sacct(job_id: str) -> dict[str, str]:
    """sacct's record of a job, once slurmdbd has its end and TRES (it lags the controller
    by a moment)."""
    deadline = time.monotonic() + 20
    while True:
        out = subprocess.run(["sacct", "-X", "-P", "-n", "-j", job_id,
                              "--format=Start,End,ElapsedRaw,Account,User,AllocTRES,QOS"],
                             capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin", "SLURM_TIME_FORMAT": "%s"}).stdout
        lines = out.strip().splitlines()
        if lines:
            start, end, elapsed, account, user, tres, qos = lines[-1].split("|")
            if tres and end.isdigit() and qos != "Unknown":  # slurmdbd fills QOS late
                return {"start": start, "end": end, "elapsed": elapsed, "account": account,
                        "user": user, "tres": tres, "qos": qos}
        assert time.monotonic() < deadline, f"sacct has no complete record of job {job_id}"
        time.sleep(0.2)


def test_a_gang_of_eight_h100_spans_both_nodes(slurm_config: SlurmConfig, unique: str) -> None:
    backend = SlurmBackend(slurm_config)
    code = ("import os; print(os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['NNODES'],"
            " os.environ['SLURMD_NODENAME'], os.environ['MASTER_ADDR'], os.environ['MASTER_PORT'],"
            " os.environ['CUDA_VISIBLE_DEVICES'], os.environ['AICENTER_CHIPS_PER_NODE'])")
    handle = backend.launch(LaunchRequest(unique, (JOB_PYTHON, "-c", code), "nvidia-h100-sxm", 8,
                                          account="org-a"))
    final = wait_until_finished(backend, handle, FINISH_S)
    assert final.state is RunState.SUCCEEDED, (final, read_whole_log(backend, handle))
    lines = sorted(read_whole_log(backend, handle).decode().split("\n")[:-1])
    assert len(lines) == 2
    ranks = [line.split() for line in lines]
    assert [r[0] for r in ranks] == ["0", "1"]
    assert {r[1] for r in ranks} == {"2"} and {r[2] for r in ranks} == {"2"}
    assert {r[3] for r in ranks} == {"node1", "node2"}
    assert len({(r[4], r[5]) for r in ranks}) == 1  # one rendezvous point for all
    assert {r[6] for r in ranks} == {"0,1,2,3"} and {r[7] for r in ranks} == {"4"}
    record = _sacct(handle.locator)
    assert "gres/gpu:h100=8" in record["tres"] and "node=2" in record["tres"]


def test_a_gang_that_does_not_split_evenly_is_refused(slurm_config: SlurmConfig,
                                                        unique: str) -> None:
    with pytest.raises(InputError, match="split evenly"):
        SlurmBackend(slurm_config).launch(
            LaunchRequest(unique, ("true",), "nvidia-h100-sxm", 7))


def test_metering_equals_sacct_and_runs_as_the_organisations_user(
        slurm_config: SlurmConfig, unique: str) -> None:
    backend = SlurmBackend(slurm_config)
    handles = [backend.launch(LaunchRequest(f"{unique}-{org}", (
        "/bin/sh", "-c", "id -un; sleep 2"), "nvidia-h100-sxm", 1, account=org))
        for org in ("org-a", "org-b")]
    for handle, org in zip(handles, ("org-a", "org-b"), strict=True):
        final = wait_until_finished(backend, handle, FINISH_S)
        assert final.state is RunState.SUCCEEDED
        assert read_whole_log(backend, handle) == b"aicenter-job\n"
        assert final.started_at is not None and final.ended_at is not None
        record = _sacct(handle.locator)
        assert (record["account"], record["user"]) == (org, "aicenter-job")
        assert int(final.started_at.timestamp()) == int(record["start"])
        assert int(final.ended_at.timestamp()) == int(record["end"])
        assert final.ended_at - final.started_at == timedelta(seconds=int(record["elapsed"]))


def test_a_job_never_runs_as_root_or_an_unmapped_organisation(
        slurm_config: SlurmConfig, unique: str) -> None:
    from dataclasses import replace

    strict = SlurmBackend(replace(slurm_config, default_user=None))
    with pytest.raises(InputError, match="no Unix user is mapped"):
        strict.launch(LaunchRequest(unique, ("true",), "nvidia-h100-sxm", 1, account="org-z"))
    rooted = SlurmBackend(replace(slurm_config, users={"org-a": "root"}))
    with pytest.raises(InputError, match="root or the server's own user"):
        rooted.launch(LaunchRequest(unique, ("true",), "nvidia-h100-sxm", 1, account="org-a"))


def test_capacity_reads_nodes_and_gres_and_drained_nodes_give_nothing(
        slurm_config: SlurmConfig, unique: str) -> None:
    backend = SlurmBackend(slurm_config)
    nodes = {n.name: n for n in backend.capacity()}
    assert set(nodes) == {"node1", "node2"}
    assert nodes["node1"].gres_total == {"gpu:h100": 4, "npu:atom": 4}
    subprocess.run(["scontrol", "update", "nodename=node2", "state=drain",
                    f"reason=aicenter test {unique}"], check=True)
    try:
        drained = {n.name: n for n in backend.capacity()}["node2"]
        assert not drained.available and drained.free("gpu:h100") == 0
        assert unique in drained.reason
    finally:
        subprocess.run(["scontrol", "update", "nodename=node2", "state=resume"], check=True)


def test_an_npu_job_gets_its_typed_gres(slurm_config: SlurmConfig, unique: str) -> None:
    backend = SlurmBackend(slurm_config)
    handle = backend.launch(LaunchRequest(unique, ("/bin/sh", "-c", "echo $AICENTER_CHIP_COUNT"),
                                          "rebellions-atom", 3))
    assert wait_until_finished(backend, handle, FINISH_S).state is RunState.SUCCEEDED
    assert read_whole_log(backend, handle) == b"3\n"
    assert "gres/npu:atom=3" in _sacct(handle.locator)["tres"]


def test_a_pending_job_is_cancelled_at_once(slurm_config: SlurmConfig, unique: str) -> None:
    backend = SlurmBackend(slurm_config)
    held = backend.launch(LaunchRequest(f"{unique}-held", ("sleep", "60"), "nvidia-h100-sxm", 8))
    waiting = backend.launch(LaunchRequest(f"{unique}-wait", ("true",), "nvidia-h100-sxm", 8))
    try:
        wait_for_log_or_running(backend, held)
        assert backend.status(waiting).state is RunState.PENDING
        backend.terminate(waiting, StopReason.CANCEL)
        final = wait_until_finished(backend, waiting, FINISH_S)
        assert final.state is RunState.CANCELLED and final.exit_code in (0, None)
    finally:
        backend.terminate(held, StopReason.CANCEL, grace_period_s=1)
        wait_until_finished(backend, held, FINISH_S)


def wait_for_log_or_running(backend: Backend, handle: object) -> None:
    """Wait until the run is RUNNING."""
    assert isinstance(handle, RunHandle)
    deadline = time.monotonic() + FINISH_S
    while backend.status(handle).state is not RunState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.1)



def test_priority_classes_run_under_their_qos_in_a_managed_account(
        slurm_config: SlurmConfig, unique: str) -> None:
    """The class maps to a QOS (.ci/slurm-up creates chase-team, normal, best-effort) and an
    organisation Slurm has never seen gets its account and association on its first run."""
    from dataclasses import replace

    account = f"aicenter-m-{unique[-8:]}"
    config = replace(slurm_config, manage_accounts=True, users={}, qos="normal",
                     qos_by_priority={"chase-team": "chase-team", "best-effort": "best-effort"})
    backend = SlurmBackend(config)
    try:
        runs = {cls: backend.launch(LaunchRequest(f"{unique}-{cls}", ("true",),
                                                  "nvidia-h100-sxm", 1, account=account,
                                                  priority_class=cls))
                for cls in ("chase-team", "normal", "best-effort")}
        for cls, handle in runs.items():
            assert wait_until_finished(backend, handle, FINISH_S).state is RunState.SUCCEEDED
            record = _sacct(handle.locator)
            assert (record["account"], record["qos"]) == (account, cls)
        again = SlurmBackend(config)  # a restarted server finds the association there
        handle = again.launch(LaunchRequest(f"{unique}-again", ("true",), "nvidia-h100-sxm", 1,
                                            account=account))
        assert wait_until_finished(again, handle, FINISH_S).state is RunState.SUCCEEDED
    finally:
        env = {"PATH": "/usr/bin:/bin"}
        subprocess.run(["sacctmgr", "-i", "-Q", "delete", "user", JOB_USER,
                        f"account={account}"], capture_output=True, env=env, check=False)
        subprocess.run(["sacctmgr", "-i", "-Q", "delete", "account", account],
                       capture_output=True, env=env, check=False)
