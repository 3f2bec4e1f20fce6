"""The center's pools of accelerators (chip type × count at a site), operated: added, resized,
moved, drained, resumed and removed; a fleet file applied as a whole; and the capacity view
that sets the database's counts beside the execution engine's.

What running jobs hold is counted per pool from the job records (a job keeps the pool the
scheduler placed it on), so a resize or a removal that would take chips from under running
jobs is refused (409) with the reason rather than break them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from aicenter.backends.base import BackendUnavailableError, ChipCapacity
from aicenter.catalog.loader import unknown_chip_message
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.job import Job, JobStatus
from aicenter.domain.pool import (
    Pool,
    PoolState,
    check_chip_count,
    check_country,
    check_pool_id,
    check_site,
)
from aicenter.fleet.pool_file import PoolFileEntry
from aicenter.policy import Resource
from aicenter.scheduler.capacity import cap_pools
from aicenter.scheduler.center import CenterPool
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import ConflictError
from aicenter.storage import Tx


@dataclass(frozen=True, slots=True)
class PoolOccupancy:
    """A pool and how many of its chips running jobs hold now."""

    pool: Pool
    busy: int

    @property
    def free(self) -> int:
        return max(self.pool.chip_count - self.busy, 0)


@dataclass(frozen=True, slots=True)
class Occupancy:
    """The center at a glance: every pool's busy and free chips and the queue's length.
    Counts only, over every organisation: no job of another organisation is named."""

    pools: list[PoolOccupancy]
    queued: int
    running: int


@dataclass(frozen=True, slots=True)
class PoolCapacity:
    """A pool as the database counts it, the chips running jobs hold there, and the chips the
    scheduler will use there this round (the database's count capped by the engine's)."""

    pool: Pool
    busy: int
    usable: int


@dataclass(frozen=True, slots=True)
class ChipTypeCapacity:
    """One chip type: the database's chips over its pools that are not removed, the engine's
    count (``None`` where the engine does not report this type), and what the scheduler uses."""

    chip_id: str
    database: int
    busy: int
    engine: ChipCapacity | None
    usable: int
    pools: list[PoolCapacity]


@dataclass(frozen=True, slots=True)
class CenterCapacity:
    """What :func:`capacity` answers: the backend, whether its count caps the scheduler's pools
    (``reports_capacity``), why the engine could not be asked (``engine_error``; the
    database's counts then stand, as in the scheduling round) and every chip type in the
    pools' order."""

    backend: str
    reports_capacity: bool
    engine_error: str | None
    chips: list[ChipTypeCapacity]


def _checked(ctx: ServiceContext, chip_id: str, chip_count: int, site: str,
             country: str) -> None:
    if chip_id not in ctx.catalog:
        raise InputError(unknown_chip_message(chip_id, ctx.catalog.ids), field="chip_id")
    check_chip_count(chip_count)
    check_site(site)
    check_country(country)


def add_pool(ctx: ServiceContext, caller: Caller | None, chip_id: str, chip_count: int,
             site: str = "haenam", country: str = "KR", pool_id: str | None = None) -> Pool:
    """Register a pool; ``caller`` None is the server itself (demo set-up, pools file).
    ``pool_id``: an id of the operator's choosing, else a random one."""
    if caller is not None:
        caller.check(ctx, "pool:create", Resource("Pool", "new"))
    _checked(ctx, chip_id, chip_count, site, country)
    pool = Pool(check_pool_id(pool_id) if pool_id is not None else new_id("pool"), chip_id,
                chip_count, site, country, PoolState.ACTIVE, ctx.clock.now())
    with ctx.db.transaction() as tx:
        if pool_id is not None and tx.pools.get(pool_id) is not None:
            raise ConflictError(f"pool {pool_id} already exists")
        tx.pools.add(pool)
        audit.changed(ctx, tx, caller, "pool.added", "pool", pool.id, chip=chip_id,
                      chips=chip_count, site=pool.site, country=pool.country)
    sync_slots(ctx)
    return pool


def _occupancy(tx: Tx, pools: list[Pool]) -> list[PoolOccupancy]:
    """Busy chips per pool from the running jobs' records. A job placed before jobs kept
    their pool has none; it is counted against its chip type's pools in listing order, each
    up to its size: ``busy(pool_i) += min(free_i, unplaced(type) − Σ_{j<i} added_j)``."""
    by_pool: dict[str, int] = tx.jobs.chips_running_by_pool()
    unplaced: dict[str, int] = {}
    for job in tx.jobs.list(statuses=[JobStatus.RUNNING]):
        if job.pool_id is None and job.chip is not None:
            unplaced[job.chip] = unplaced.get(job.chip, 0) + job.chip_count
    out = []
    for pool in pools:
        busy = by_pool.get(pool.id, 0)
        extra = min(max(pool.chip_count - busy, 0), unplaced.get(pool.chip_id, 0))
        unplaced[pool.chip_id] = unplaced.get(pool.chip_id, 0) - extra
        out.append(PoolOccupancy(pool, busy + extra))
    return out


def list_pools(ctx: ServiceContext, caller: Caller, *, include_removed: bool = False
               ) -> list[PoolOccupancy]:
    """Every pool with the chips running jobs hold on it (removed pools on request)."""
    caller.check(ctx, "pool:read", Resource("Pool", "any"))
    with ctx.db.transaction(write=False) as tx:
        return _occupancy(tx, tx.pools.list(include_removed=include_removed))


def get_pool(ctx: ServiceContext, caller: Caller, pool_id: str) -> PoolOccupancy:
    caller.check(ctx, "pool:read", Resource("Pool", pool_id))
    with ctx.db.transaction(write=False) as tx:
        pool = tx.pools.get(pool_id)
        if pool is None:
            raise NotFoundError(f"pool {pool_id} not found")
        return _occupancy(tx, [pool])[0]


def occupancy(ctx: ServiceContext, caller: Caller) -> Occupancy:
    """The overview: busy chips per pool (see :func:`_occupancy`), queued and running jobs."""
    caller.check(ctx, "pool:read", Resource("Pool", "any"))
    with ctx.db.transaction(write=False) as tx:
        pools = _occupancy(tx, tx.pools.list())
        running = int(tx.jobs.count(JobStatus.RUNNING))
        queued = int(tx.jobs.count(JobStatus.QUEUED))
    return Occupancy(pools, queued, running)


def capacity(ctx: ServiceContext, caller: Caller) -> CenterCapacity:
    """Per chip type and pool: the database's chips, the engine's total and available
    (``backend.chip_capacity()``: Slurm's nodes, Ray's resources, the local backend's slots
    less its live runs; a type it leaves out, or a backend that keeps no count, is not
    reported) and what the scheduler will use this round. The cap is the round's own
    (:func:`aicenter.scheduler.capacity.cap_pools` over the pools that are not removed, in the
    database's order, keeping what running jobs hold), applied only where
    ``capabilities.reports_capacity`` as in ``scheduling.engine_capped``: the local backend's
    slots are the pools themselves. Counts only, like :func:`occupancy`."""
    caller.check(ctx, "pool:read", Resource("Pool", "any"))
    sync_slots(ctx)  # this worker's backend sees the pools as they are now
    with ctx.db.transaction(write=False) as tx:
        pools = [p for p in tx.pools.list() if p.state is not PoolState.REMOVED]
        seen = _occupancy(tx, pools)
        held: dict[str, int] = tx.jobs.chips_running_by_pool()
    backend = ctx.backend
    reports = backend is not None and backend.capabilities.reports_capacity
    counted: dict[str, ChipCapacity] = {}
    error = None
    if backend is not None:
        try:
            counted = backend.chip_capacity()
        except BackendUnavailableError as exc:
            error = str(exc)
    if reports:
        plain = [CenterPool(p.id, p.chip_id, p.chip_count, p.country, 1) for p in pools]
        capped = {p.id: p.chip_count for p in
                  cap_pools(plain, {c: n.available for c, n in counted.items()}, held)}
    else:
        capped = {p.id: p.chip_count for p in pools}
    by_chip: dict[str, list[PoolCapacity]] = {}
    for occ in seen:
        by_chip.setdefault(occ.pool.chip_id, []).append(
            PoolCapacity(occ.pool, occ.busy, capped[occ.pool.id]))
    chips = [ChipTypeCapacity(chip, sum(p.pool.chip_count for p in rows),
                              sum(p.busy for p in rows), counted.get(chip),
                              sum(p.usable for p in rows), rows)
             for chip, rows in by_chip.items()]
    return CenterCapacity(backend.name if backend is not None else "none", reports, error,
                          chips)


def _locked(tx: Tx, pool_id: str) -> Pool:
    pool: Pool | None = tx.pools.get(pool_id, lock=True)
    if pool is None or pool.state is PoolState.REMOVED:
        raise NotFoundError(f"pool {pool_id} not found"
                            + (" (it was removed)" if pool is not None else ""))
    return pool


def _running_on(tx: Tx, pool_id: str) -> list[Job]:
    return [j for j in tx.jobs.list(statuses=[JobStatus.RUNNING]) if j.pool_id == pool_id]


def _check_resize(tx: Tx, pool: Pool, chip_count: int) -> None:
    held = sum(j.chip_count for j in _running_on(tx, pool.id))
    if chip_count < held:
        raise ConflictError(f"pool {pool.id}: running jobs hold {held} chips there; "
                            f"{chip_count} is fewer (drain it, or wait for them to end)")


def update_pool(ctx: ServiceContext, caller: Caller | None, pool_id: str, *,
                chip_count: int | None = None, site: str | None = None,
                country: str | None = None) -> Pool:
    """Resize or move a pool; running jobs keep the site and country they started with."""
    if caller is not None:
        caller.check(ctx, "pool:update", Resource("Pool", pool_id))
    with ctx.db.transaction() as tx:
        pool = _locked(tx, pool_id)
        new = replace(pool, chip_count=pool.chip_count if chip_count is None else chip_count,
                      site=pool.site if site is None else site,
                      country=pool.country if country is None else country)
        _checked(ctx, new.chip_id, new.chip_count, new.site, new.country)
        _check_resize(tx, pool, new.chip_count)
        tx.pools.update(pool_id, chip_count=new.chip_count, site=new.site,
                        country=new.country)
        audit.changed(ctx, tx, caller, "pool.updated", "pool", pool_id,
                      chips=new.chip_count, site=new.site, country=new.country,
                      was={"chips": pool.chip_count, "site": pool.site,
                           "country": pool.country})
    sync_slots(ctx)
    return new


def _set_state(ctx: ServiceContext, caller: Caller | None, pool_id: str, action: str,
               state: PoolState) -> Pool:
    if caller is not None:
        caller.check(ctx, action, Resource("Pool", pool_id))
    with ctx.db.transaction() as tx:
        pool = _locked(tx, pool_id)
        tx.pools.update(pool_id, state=state)
        audit.changed(ctx, tx, caller,
                      "pool.drained" if state is PoolState.DRAINING else "pool.undrained",
                      "pool", pool_id, was=pool.state)
    return replace(pool, state=state)


def drain_pool(ctx: ServiceContext, caller: Caller | None, pool_id: str) -> Pool:
    """Nothing new lands on the pool; the jobs running there run to their end."""
    return _set_state(ctx, caller, pool_id, "pool:drain", PoolState.DRAINING)


def undrain_pool(ctx: ServiceContext, caller: Caller | None, pool_id: str) -> Pool:
    """The pool takes jobs again."""
    return _set_state(ctx, caller, pool_id, "pool:drain", PoolState.ACTIVE)


def remove_pool(ctx: ServiceContext, caller: Caller | None, pool_id: str) -> Pool:
    """Take the pool out of the fleet; refused (409) while a job runs on it. The row stays,
    marked removed: job records and usage name it."""
    if caller is not None:
        caller.check(ctx, "pool:remove", Resource("Pool", pool_id))
    with ctx.db.transaction() as tx:
        pool = _locked(tx, pool_id)
        running = _running_on(tx, pool_id)
        if running:
            names = ", ".join(j.id for j in running[:5])
            raise ConflictError(f"pool {pool_id}: {len(running)} job(s) run there ({names}"
                                f"{', ...' if len(running) > 5 else ''}); drain it and "
                                "remove it once they end")
        tx.pools.update(pool_id, state=PoolState.REMOVED)
        audit.changed(ctx, tx, caller, "pool.removed", "pool", pool_id)
    sync_slots(ctx)
    return replace(pool, state=PoolState.REMOVED)


# -- a fleet applied as a whole (aicenter serve --pools FILE) ------------------------------
@dataclass(frozen=True, slots=True)
class FleetResult:
    added: list[str]
    updated: list[str]
    unchanged: list[str]


def _match(entry: PoolFileEntry, pools: Sequence[Pool], file: str | None) -> Pool | None:
    """The stored pool an entry means: the same id, else the same chip at the same site."""
    if entry.pool_id is not None:
        return next((p for p in pools if p.id == entry.pool_id), None)
    same = [p for p in pools if p.state is not PoolState.REMOVED and
            p.chip_id == entry.chip_id and p.site == entry.site]
    if len(same) > 1:
        raise InputError(f"{len(same)} pools of {entry.chip_id} at {entry.site} exist "
                         f"({', '.join(p.id for p in same)}); give the one meant with 'id'",
                         file=file, line=entry.line, field="id")
    return same[0] if same else None


def apply_fleet(ctx: ServiceContext, entries: Sequence[PoolFileEntry],
                file: str | None = None) -> FleetResult:
    """Add the pools not yet present, update the others (a removed pool named by id comes
    back active); pools the file does not name are left as they are. One transaction: a
    problem with any entry (an InputError or ConflictError naming ``file`` and its line)
    changes nothing."""
    result = FleetResult([], [], [])
    with ctx.db.transaction() as tx:
        pools: list[Pool] = tx.pools.list(include_removed=True)
        for entry in entries:
            try:
                _apply_one(ctx, tx, entry, pools, result, file)
            except InputError as exc:
                raise exc.located(file=file, line=exc.line or entry.line) from None
            except ConflictError as exc:
                where = f"{file}:{entry.line}: " if file and entry.line else ""
                raise ConflictError(f"{where}{exc}") from None
    sync_slots(ctx)
    return result


def _apply_one(ctx: ServiceContext, tx: Tx, entry: PoolFileEntry, pools: list[Pool],
               result: FleetResult, file: str | None) -> None:
    _checked(ctx, entry.chip_id, entry.chip_count, entry.site, entry.country)
    found = _match(entry, pools, file)
    if found is None:
        pool = Pool(check_pool_id(entry.pool_id) if entry.pool_id else new_id("pool"),
                    entry.chip_id, entry.chip_count, entry.site, entry.country,
                    PoolState.ACTIVE, ctx.clock.now())
        tx.pools.add(pool)
        audit.changed(ctx, tx, None, "pool.added", "pool", pool.id, chip=pool.chip_id,
                      chips=pool.chip_count, site=pool.site, country=pool.country, file=file)
        pools.append(pool)
        result.added.append(pool.id)
        return
    if found.chip_id != entry.chip_id:
        raise InputError(f"pool {found.id} has chip {found.chip_id}; a pool's chip type "
                         "does not change (add a new pool)", field="chip")
    state = PoolState.ACTIVE if found.state is PoolState.REMOVED else found.state
    new = replace(found, chip_count=entry.chip_count, site=entry.site,
                  country=entry.country, state=state)
    if new == found:
        result.unchanged.append(found.id)
        return
    _check_resize(tx, found, new.chip_count)
    tx.pools.update(found.id, chip_count=new.chip_count, site=new.site, country=new.country,
                    state=new.state)
    audit.changed(ctx, tx, None, "pool.updated", "pool", found.id, chips=new.chip_count,
                  site=new.site, country=new.country, state=new.state, file=file,
                  was={"chips": found.chip_count, "site": found.site,
                       "country": found.country, "state": found.state})
    pools[pools.index(found)] = new
    result.updated.append(found.id)


# -- the backend's accelerator slots --------------------------------------------------------
def slots_by_chip(pools: Sequence[Pool]) -> dict[str, int]:
    """Chips per type over the pools that are not removed (draining ones still run jobs)."""
    slots: dict[str, int] = {}
    for pool in pools:
        if pool.state is not PoolState.REMOVED:
            slots[pool.chip_id] = slots.get(pool.chip_id, 0) + pool.chip_count
    return slots


def sync_slots(ctx: ServiceContext) -> None:
    """Give the backend the slots of the pools as they are now. Called after every pool
    change in this process and by every scheduling round, so the process running the loop
    sees changes made through any worker of the API."""
    if ctx.backend is None or not ctx.backend.capabilities.owns_devices:
        return
    with ctx.db.transaction(write=False) as tx:
        pools: list[Pool] = tx.pools.list()
    ctx.backend.set_slots(slots_by_chip(pools))
