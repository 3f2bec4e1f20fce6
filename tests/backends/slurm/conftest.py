"""Fixtures of the slurm tests: the local cluster `.ci/slurm-up` starts, and directories the
job's user can reach (pytest's own tmp_path is private to root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aicenter.backends.slurm.config import SlurmConfig

JOB_USER = os.environ.get("AICENTER_SLURM_JOB_USER", "aicenter-job")
TEST_GRES = {"nvidia-h100-sxm": "gpu:h100", "rebellions-atom": "npu:atom"}
"""What the CI cluster (.ci/slurm/gres.conf.in) calls the chips the tests use."""


def _slurm_problem() -> str | None:
    """Why the real-Slurm tests cannot run here, or ``None``."""
    if shutil.which("sbatch") is None:
        return "Slurm is not installed (run .ci/slurm-up)"
    if os.geteuid() != 0:
        return "the slurm backend submits as the job's user (sbatch --uid): tests need root"
    try:
        pwd.getpwnam(JOB_USER)
    except KeyError:
        return f"no Unix user {JOB_USER} for jobs (run .ci/slurm-up)"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=15,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"scontrol ping failed: {error}"
    if "UP" not in ping.stdout:
        return f"slurmctld is not up (run .ci/slurm-up): {ping.stdout.strip()}"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    problem = _slurm_problem()
    if problem is not None:
        pytest.skip(problem)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory under /tmp that root owns and everyone can enter (0755)."""
    path = Path(tempfile.mkdtemp(prefix="aicenter-slurm-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def slurm_config(slurm_cluster: None, shared_tmp: Path) -> SlurmConfig:
    return SlurmConfig(shared_tmp / "state", partition="aicenter", gres=TEST_GRES,
                       users={"org-a": JOB_USER, "org-b": JOB_USER}, default_user=JOB_USER,
                       use_accounts=True)


@pytest.fixture
def slurm_env(slurm_cluster: None, shared_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The operator's AICENTER_SLURM_* settings for the CI cluster; returns the run root."""
    import json

    root = shared_tmp / "runs"
    for name, value in {
        "ROOT": str(root), "PARTITION": "aicenter", "GRES": json.dumps(TEST_GRES),
        "DEFAULT_USER": JOB_USER, "MANAGE_ACCOUNTS": "true", "QOS": "normal",
        "QOS_BY_PRIORITY": json.dumps({"chase-team": "chase-team",
                                       "best-effort": "best-effort"}),
    }.items():
        monkeypatch.setenv(f"AICENTER_SLURM_{name}", value)
    return root
