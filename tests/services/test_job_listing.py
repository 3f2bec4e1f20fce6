"""Listing jobs: newest first keeps the latest under a limit; counts see only what the caller
may see (SQLite and PostgreSQL)."""

from __future__ import annotations

from aicenter.domain.job import parse_job_spec
from aicenter.services import job as job_svc
from aicenter.services.context import Caller, ServiceContext
from tests.services.fixtures import seed_center

SPEC = parse_job_spec("name: l\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                      "count: 1}]\nmax_duration: 60s\n")


def test_newest_first_and_counts(ctx: ServiceContext, operator: Caller) -> None:
    _, member, _ = seed_center(ctx, operator)
    _, other, _ = seed_center(ctx, operator)
    ids = []
    for _ in range(3):
        ids.append(job_svc.submit(ctx, member, SPEC)[0].id)
        ctx.clock.advance(1)  # type: ignore[attr-defined]
    job_svc.submit(ctx, other, SPEC)
    assert [j.id for j in job_svc.list_jobs(ctx, member, limit=2)] == ids[:2]
    newest = job_svc.list_jobs(ctx, member, limit=2, newest_first=True)
    assert [j.id for j in newest] == [ids[2], ids[1]]
    assert job_svc.count_jobs(ctx, member) == 3
    assert job_svc.count_jobs(ctx, other) == 1
    assert job_svc.count_jobs(ctx, operator) == 4
