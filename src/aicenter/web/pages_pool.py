"""Pools in the browser: every pool with its busy and free chips, capacity and utilisation per
chip type, and the operator's actions (add a pool, drain it so running jobs finish and no new
one starts, take it back). Each action calls the service its API route calls
(``POST /pools``, ``/pools/{id}/drain``, ``/pools/{id}/undrain``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aicenter.domain.errors import AicenterError
from aicenter.services import pool as pool_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import done, form_of, integer, paginate, render, text
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class ChipCapacity:
    """One chip type over its pools that take jobs: chips, chips held by running jobs, and
    the share held (utilisation = busy / chips)."""

    chip_id: str
    pools: int
    chips: int
    busy: int
    draining: int

    @property
    def utilisation(self) -> float:
        return self.busy / self.chips if self.chips else 0.0


def by_chip(rows: list[pool_svc.PoolOccupancy]) -> list[ChipCapacity]:
    """Capacity per chip type: chips of active pools; a draining pool's chips are counted
    apart (they run what they hold but take nothing new)."""
    found: dict[str, ChipCapacity] = {}
    for row in rows:
        p = row.pool
        seen = found.get(p.chip_id, ChipCapacity(p.chip_id, 0, 0, 0, 0))
        active = p.takes_jobs
        found[p.chip_id] = ChipCapacity(
            p.chip_id, seen.pools + 1, seen.chips + (p.chip_count if active else 0),
            seen.busy + (row.busy if active else 0),
            seen.draining + (0 if active else p.chip_count))
    return [found[k] for k in sorted(found)]


def _pools_page(request: Request, who: Caller, number: int | None, *,
                error: AicenterError | None = None, form: dict[str, list[str]] | None = None
                ) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        center = pool_svc.occupancy(ctx, who)
    rows = sorted(center.pools, key=lambda r: (r.pool.chip_id, r.pool.site, r.pool.id))
    return render(request, "pools.html", who, error=error, page=paginate(rows, number),
                  chips=by_chip(center.pools), queued=center.queued, running=center.running,
                  catalog=sorted(ctx.catalog.ids), operator=who.person.role.value == "operator",
                  form=form or {})


@router.get("/pools")
def pools(request: Request, page: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    return _pools_page(request, page_caller(request), page)


@router.post("/pools")
async def add_pool(request: Request) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        pool_svc.add_pool(context_of(request), who, text(form, "chip_id"),
                          integer("chip_count", text(form, "chip_count")),
                          text(form, "site", required=False) or "haenam",
                          (text(form, "country", required=False) or "KR").upper())
    except AicenterError as exc:
        return _pools_page(request, who, None, error=exc, form=form)
    return done("/pools", "pool-added")


async def _state(request: Request, pool_id: str, drain: bool) -> Response:
    who = page_caller(request)
    await form_of(request)
    try:
        if drain:
            pool_svc.drain_pool(context_of(request), who, pool_id)
        else:
            pool_svc.undrain_pool(context_of(request), who, pool_id)
    except AicenterError as exc:
        return _pools_page(request, who, None, error=exc)
    return done("/pools", "pool-drained" if drain else "pool-undrained")


@router.post("/pools/{pool_id}/drain")
async def drain(request: Request, pool_id: str) -> Response:
    return await _state(request, pool_id, True)


@router.post("/pools/{pool_id}/undrain")
async def undrain(request: Request, pool_id: str) -> Response:
    return await _state(request, pool_id, False)
