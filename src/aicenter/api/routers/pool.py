"""/api/v1/pools: the center's accelerator pools."""

from __future__ import annotations

from fastapi import APIRouter

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import PoolIn, PoolOut
from aicenter.services import pool as svc

router = APIRouter(tags=["pools"])


@router.post("/pools", status_code=201)
def add_pool(body: PoolIn, ctx: Ctx, who: Who) -> PoolOut:
    """Register a pool of accelerators (operators)."""
    p = svc.add_pool(ctx, who, body.chip_id, body.chip_count, body.site, body.country)
    return PoolOut(id=p.id, chip_id=p.chip_id, chip_count=p.chip_count, site=p.site,
                   country=p.country)


@router.get("/pools")
def list_pools(ctx: Ctx, who: Who) -> list[PoolOut]:
    return [PoolOut(id=p.id, chip_id=p.chip_id, chip_count=p.chip_count, site=p.site,
                    country=p.country)
            for p in svc.list_pools(ctx, who)]
