"""/api/v1/pools: the center's accelerator pools, operated (add, update, drain, remove); and
/api/v1/occupancy: the pools' busy chips and the queue at a glance (the overview page); and
/api/v1/capacity: the database's chips beside the engine's count (top level, like occupancy,
so that no pool id can be shadowed by it)."""

from __future__ import annotations

from fastapi import APIRouter

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    CapacityOut,
    ChipCapacityOut,
    OccupancyOut,
    PoolCapacityOut,
    PoolIn,
    PoolOut,
    PoolUpdate,
)
from aicenter.domain.pool import Pool
from aicenter.services import pool as svc

router = APIRouter(tags=["pools"])


def _out(pool: Pool, busy: int = 0) -> PoolOut:
    return PoolOut(id=pool.id, chip_id=pool.chip_id, chip_count=pool.chip_count,
                   site=pool.site, country=pool.country, state=pool.state.value,
                   chips_in_use=busy, created_at=pool.created_at)


def _current(ctx: Ctx, who: Who, pool_id: str) -> PoolOut:
    seen = svc.get_pool(ctx, who, pool_id)
    return _out(seen.pool, seen.busy)


@router.post("/pools", status_code=201)
def add_pool(body: PoolIn, ctx: Ctx, who: Who) -> PoolOut:
    """Register a pool of accelerators (operators)."""
    return _out(svc.add_pool(ctx, who, body.chip_id, body.chip_count, body.site, body.country,
                             body.id))


@router.get("/pools")
def list_pools(ctx: Ctx, who: Who, include_removed: bool = False) -> list[PoolOut]:
    """Every pool with its state and the chips running jobs hold on it."""
    return [_out(p.pool, p.busy)
            for p in svc.list_pools(ctx, who, include_removed=include_removed)]


@router.get("/occupancy")
def occupancy(ctx: Ctx, who: Who) -> OccupancyOut:
    """Every pool with the chips running jobs hold on it, and how many jobs queue and run:
    counts over every organisation, naming none of their jobs (what the overview page shows)."""
    seen = svc.occupancy(ctx, who)
    return OccupancyOut(pools=[_out(p.pool, p.busy) for p in seen.pools], queued=seen.queued,
                        running=seen.running)


@router.get("/capacity")
def capacity(ctx: Ctx, who: Who) -> CapacityOut:
    """Per chip type and pool: the chips in the database, the total and available chips the
    execution engine reports (null where it does not), and what the scheduler uses this round."""
    seen = svc.capacity(ctx, who)
    return CapacityOut(
        backend=seen.backend, reports_capacity=seen.reports_capacity,
        engine_error=seen.engine_error,
        chips=[ChipCapacityOut(
            chip_id=c.chip_id, database=c.database, chips_in_use=c.busy,
            engine_total=c.engine.total if c.engine else None,
            engine_available=c.engine.available if c.engine else None,
            engine_per_node=c.engine.per_node if c.engine else None, usable=c.usable,
            pools=[PoolCapacityOut(id=p.pool.id, chip_id=p.pool.chip_id,
                                   state=p.pool.state.value, chip_count=p.pool.chip_count,
                                   chips_in_use=p.busy, usable=p.usable) for p in c.pools])
            for c in seen.chips])


@router.get("/pools/{pool_id}")
def get_pool(pool_id: str, ctx: Ctx, who: Who) -> PoolOut:
    return _current(ctx, who, pool_id)


@router.patch("/pools/{pool_id}")
def update_pool(pool_id: str, body: PoolUpdate, ctx: Ctx, who: Who) -> PoolOut:
    """Resize or move a pool (operators); 409 if running jobs hold more chips than asked."""
    svc.update_pool(ctx, who, pool_id, chip_count=body.chip_count, site=body.site,
                    country=body.country)
    return _current(ctx, who, pool_id)


@router.post("/pools/{pool_id}/drain")
def drain_pool(pool_id: str, ctx: Ctx, who: Who) -> PoolOut:
    """No new jobs on the pool; the running ones finish (operators)."""
    svc.drain_pool(ctx, who, pool_id)
    return _current(ctx, who, pool_id)


@router.post("/pools/{pool_id}/undrain")
def undrain_pool(pool_id: str, ctx: Ctx, who: Who) -> PoolOut:
    """The pool takes jobs again (operators)."""
    svc.undrain_pool(ctx, who, pool_id)
    return _current(ctx, who, pool_id)


@router.delete("/pools/{pool_id}")
def remove_pool(pool_id: str, ctx: Ctx, who: Who) -> PoolOut:
    """Remove a pool nothing runs on (operators; 409 otherwise); its record stays."""
    return _out(svc.remove_pool(ctx, who, pool_id))
