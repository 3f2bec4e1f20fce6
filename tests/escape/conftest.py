"""The escape suite's center: a real service on SQLite or PostgreSQL with the local backend
containing every job, two tenant organisations, a live API on a loopback port, and the
center's secrets in its home (operator token, a dataset object), as an attacker would find
them on a real install.

Every test here runs real jobs that try to get out of their box and asserts that each try
fails. The suite only grows: every escape anyone finds later becomes a test here."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aicenter.api.app import create_app
from aicenter.backends.local.isolation import probe_contained
from aicenter.domain.job import Job, JobStatus, parse_job_spec
from aicenter.server.process import private_home
from aicenter.server.runtime import attach_backend
from aicenter.services import job as job_svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.services.scheduling import make_policy, run_round
from aicenter.settings import Settings
from aicenter.storage import Database
from tests.services.fixtures import database_fixture, seed_center  # noqa: F401
from tests.support.live_server import LiveServer, free_port

if os.geteuid() != 0 or probe_contained(200_000, 200_000) is not None:
    pytest.skip(f"jobs cannot be contained here: {probe_contained(200_000, 200_000)}",
                allow_module_level=True)

FINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


@dataclass
class Center:
    """What the attacker's tests need: the context, two tenants, where the secrets are."""

    ctx: ServiceContext
    tenant: Caller
    other: Caller
    api_port: int
    home: Path

    def submit(self, command: str, who: Caller | None = None, **spec: Any) -> Job:
        text = {"name": "attack", "command": command, "max_duration": "120s",
                "resources": [{"chip": "nvidia-h100-sxm", "count": 1}], **spec}
        import json

        job, _ = job_svc.submit(self.ctx, who or self.tenant, parse_job_spec(json.dumps(text)))
        return job

    def wait(self, job_id: str, statuses: set[JobStatus] = FINAL,
             timeout_s: float = 90.0) -> Job:
        policy = make_policy(self.ctx)
        deadline = time.monotonic() + timeout_s
        while True:
            run_round(self.ctx, policy)
            with self.ctx.db.transaction(write=False) as tx:
                job = tx.jobs.get(job_id)
            if job.status in statuses:
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job.status}"
            time.sleep(0.1)

    def run(self, code: str, *args: str, who: Caller | None = None, **spec: Any
            ) -> tuple[Job, str]:
        """Run ``python -c code args`` as a job of ``who`` to its end; the job and its log."""
        job = self.submit(python(code, *args), who, **spec)
        done = self.wait(job.id)
        return done, self.log(job.id, who)

    def log(self, job_id: str, who: Caller | None = None) -> str:
        return str(job_svc.logs(self.ctx, who or self.tenant, job_id).text)


def python(code: str, *args: str) -> str:
    return " ".join([sys.executable, "-c", shlex.quote(code), *map(shlex.quote, args)])


@pytest.fixture(name="center")
def center_fixture(database: Database, tmp_path: Path) -> Iterator[Center]:
    center = make_center(database, tmp_path)
    with LiveServer(create_app(center.ctx), center.api_port):
        yield center


def make_center(database: Database, tmp_path: Path, project_root: Path | None = None
                ) -> Center:
    """The center of the escape suite (see the module docstring); ``project_root`` turns
    organisations' project spaces on. Its API is not started (the fixture does that)."""
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=database.url, project_root=project_root)
    private_home(settings)
    (home / "operator-token").write_text("OPERATOR-SECRET\n")
    os.chmod(home / "operator-token", 0o600)
    (home / "datasets").mkdir(mode=0o700)
    (home / "datasets" / "part-0.parquet").write_text("LICENSED RECORDS")
    ctx = ServiceContext(db=database, settings=settings, clock=ManualClock())
    boot = bootstrap_operator(ctx)
    assert boot is not None
    operator = Caller(boot[0])
    _org, tenant, _grant = seed_center(ctx, operator, budget="1000")
    _org2, other, _grant2 = seed_center(ctx, operator, budget="1000", pools={})
    attach_backend(ctx)
    return Center(ctx, tenant, other, free_port(), home)
