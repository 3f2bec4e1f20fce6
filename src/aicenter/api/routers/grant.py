"""/api/v1/grants: award, list, show, reject an application, reclaim idle grants and the
reclaim notices of idle grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aicenter.api.convert import application_out, grant_out
from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    ApplicationOut,
    CountOut,
    GrantIn,
    GrantOut,
    ReclaimOut,
    RejectIn,
)
from aicenter.client.grant_models import ReclaimNoticeOut
from aicenter.services import grant as svc

router = APIRouter(tags=["grants"])


@router.post("/grants", status_code=201)
def award(body: GrantIn, ctx: Ctx, who: Who) -> GrantOut:
    """Grant an application an h100e-hour budget (operators); booked in the ledger.

    422: more than the application asked for; 409: not reviewed (unless ``without_review``
    gives the reason), beyond the call's remaining budget or the pools' capacity."""
    chips = frozenset(body.chip_ids) if body.chip_ids is not None else None
    return grant_out(svc.award(ctx, who, body.application_id, body.budget_h100e_h,
                               body.months, chips, without_review=body.without_review))


@router.post("/applications/{application_id}/reject")
def reject(application_id: str, body: RejectIn, ctx: Ctx, who: Who) -> ApplicationOut:
    """Turn an application down with a reason (operators); it cannot be awarded after."""
    return application_out(svc.reject(ctx, who, application_id, body.reason))


Limit = Annotated[int | None, Query(ge=1, le=10000, description="At most this many")]
Offset = Annotated[int, Query(ge=0, le=2**62, description="Skip this many (a later page)")]


@router.get("/grants")
def list_grants(ctx: Ctx, who: Who, org_id: str | None = None, limit: Limit = None,
                offset: Offset = 0) -> list[GrantOut]:
    """Grants in start order (your organisation's; operators and auditors every one, or
    ``org_id``'s); ``limit`` and ``offset`` cut a page (``GET /grants/count``: the total)."""
    return [grant_out(v) for v in svc.list_grants(ctx, who, org_id, limit=limit,
                                                  offset=offset)]


@router.get("/grants/count")
def count_grants(ctx: Ctx, who: Who, org_id: str | None = None) -> CountOut:
    """How many grants ``GET /grants`` lists with the same filter and no limit."""
    return CountOut(count=svc.count_grants(ctx, who, org_id))


@router.get("/grants/{grant_id}")
def get_grant(grant_id: str, ctx: Ctx, who: Who) -> GrantOut:
    return grant_out(svc.get_grant(ctx, who, grant_id))


@router.post("/grants/reclaim")
def reclaim(ctx: Ctx, who: Who) -> ReclaimOut:
    """Run the idle-grant sweep now (notice, then reclaim after the notice period)."""
    r = svc.reclaim_idle(ctx, who)
    return ReclaimOut(noticed=r.noticed, reclaimed=r.reclaimed, expired=r.expired)


def notice_out(n: svc.ReclaimNotice) -> ReclaimNoticeOut:
    g = n.view.grant
    return ReclaimNoticeOut(grant_id=g.id, call_id=g.call_id, org_id=g.org_id,
                            status=g.status.value, last_used_at=g.last_used_at,
                            noticed_at=n.noticed_at, reclaim_at=n.reclaim_at,
                            available_h100e_h=str(n.view.available_h100e_h))


@router.get("/reclaim-notices")
def reclaim_notices(ctx: Ctx, who: Who, org_id: str | None = None, limit: Limit = None,
                    offset: Offset = 0) -> list[ReclaimNoticeOut]:
    """Grants noticed as idle, newest notice first: each is reclaimed at ``reclaim_at`` unless
    used before (your organisation's; operators and auditors every one, or ``org_id``'s);
    ``limit`` and ``offset`` cut a page (``GET /reclaim-notices/count``: the total)."""
    return [notice_out(n) for n in svc.reclaim_notices(ctx, who, org_id, limit=limit,
                                                       offset=offset)]


@router.get("/reclaim-notices/count")
def count_reclaim_notices(ctx: Ctx, who: Who, org_id: str | None = None) -> CountOut:
    """How many notices ``GET /reclaim-notices`` lists with the same filter and no limit."""
    return CountOut(count=svc.count_reclaim_notices(ctx, who, org_id))
