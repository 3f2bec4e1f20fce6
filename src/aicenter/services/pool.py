"""The center's pools of accelerators (chip type × count at a site)."""

from __future__ import annotations

from dataclasses import dataclass

from aicenter.domain.errors import InputError
from aicenter.domain.job import Job, JobStatus
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.storage.repositories.pool import PoolRow


def add_pool(ctx: ServiceContext, caller: Caller | None, chip_id: str, chip_count: int,
             site: str = "haenam", country: str = "KR") -> PoolRow:
    """Register a pool; ``caller`` None is the server itself (demo set-up, pools file)."""
    if caller is not None:
        caller.check(ctx, "pool:create", Resource("Pool", "new"))
    ctx.catalog.get(chip_id)
    if not 1 <= chip_count <= 1_000_000:
        raise InputError(f"{chip_count} is not a chip count from 1 to 1,000,000",
                         field="chip_count")
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise InputError(f"'{country}' is not an ISO 3166 alpha-2 code like KR",
                         field="country")
    pool = PoolRow(new_id("pool"), chip_id, chip_count, site, country)
    with ctx.db.transaction() as tx:
        tx.pools.add(pool)
    if ctx.backend is not None:
        from aicenter.services.runtime import attach_backend

        attach_backend(ctx)
    return pool


def list_pools(ctx: ServiceContext, caller: Caller) -> list[PoolRow]:
    caller.check(ctx, "pool:read", Resource("Pool", "any"))
    with ctx.db.transaction(write=False) as tx:
        return tx.pools.list()  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class PoolOccupancy:
    """A pool and how many of its chips running jobs hold now."""

    pool: PoolRow
    busy: int

    @property
    def free(self) -> int:
        return self.pool.chip_count - self.busy


@dataclass(frozen=True, slots=True)
class Occupancy:
    """The center at a glance: every pool's busy and free chips and the queue's length.
    Counts only, over every organisation: no job of another organisation is named."""

    pools: list[PoolOccupancy]
    queued: int
    running: int


def occupancy(ctx: ServiceContext, caller: Caller) -> Occupancy:
    """Busy chips per pool. Running jobs hold chips of a type, not of a pool; they are
    counted against that type's pools in listing order, each up to its size (the scheduler
    sees one pool per chip type too):

        busy(pool_i) = min(size_i, held(type) − Σ_{j<i} busy(pool_j))
    """
    caller.check(ctx, "pool:read", Resource("Pool", "any"))
    with ctx.db.transaction(write=False) as tx:
        pools: list[PoolRow] = tx.pools.list()
        running: list[Job] = tx.jobs.list(statuses=[JobStatus.RUNNING])
        queued = int(tx.jobs.count(JobStatus.QUEUED))
    held: dict[str, int] = {}
    for job in running:
        if job.chip is not None:
            held[job.chip] = held.get(job.chip, 0) + job.chip_count
    out = []
    for pool in pools:
        busy = min(pool.chip_count, held.get(pool.chip_id, 0))
        held[pool.chip_id] = held.get(pool.chip_id, 0) - busy
        out.append(PoolOccupancy(pool, busy))
    return Occupancy(out, queued, len(running))
