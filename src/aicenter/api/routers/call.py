"""/api/v1/calls, applications and reviews."""

from __future__ import annotations

from fastapi import APIRouter

from aicenter.api.convert import application_out, call_out
from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    ApplicationIn,
    ApplicationOut,
    CallIn,
    CallOut,
    RankedOut,
    ReviewIn,
    ReviewOut,
)
from aicenter.services import call as svc

router = APIRouter(tags=["calls"])


@router.post("/calls", status_code=201)
def open_call(body: CallIn, ctx: Ctx, who: Who) -> CallOut:
    """Open an allocation call (operators)."""
    req = svc.CallRequest(
        name=body.name, eligible_classes=frozenset(body.eligible_classes),
        max_chips_per_project=body.max_chips_per_project, max_months=body.max_months,
        market_price_krw_per_h100e_h=body.market_price_krw_per_h100e_h,
        payable_fraction=body.payable_fraction, chase_team_priority=body.chase_team_priority,
        regional_bonus=body.regional_bonus,
        concentration_threshold=body.concentration_threshold,
        concentration_penalty=body.concentration_penalty, budget_h100e_h=body.budget_h100e_h)
    return call_out(svc.open_call(ctx, who, req))


@router.get("/calls")
def list_calls(ctx: Ctx, who: Who) -> list[CallOut]:
    return [call_out(c) for c in svc.list_calls(ctx, who)]


@router.get("/calls/{call_id}")
def get_call(call_id: str, ctx: Ctx, who: Who) -> CallOut:
    return call_out(svc.get_call(ctx, who, call_id))


@router.post("/calls/{call_id}/close")
def close_call(call_id: str, ctx: Ctx, who: Who) -> CallOut:
    return call_out(svc.close_call(ctx, who, call_id))


@router.post("/calls/{call_id}/applications", status_code=201)
def apply(call_id: str, body: ApplicationIn, ctx: Ctx, who: Who) -> ApplicationOut:
    """Apply to a call for an organisation (its members and admins)."""
    return application_out(svc.apply(ctx, who, call_id, body.org_id or who.org_id, body.title,
                                     body.chips, body.months, body.requested_h100e_h,
                                     body.plan))


@router.get("/calls/{call_id}/applications")
def list_applications(call_id: str, ctx: Ctx, who: Who) -> list[ApplicationOut]:
    return [application_out(a) for a in svc.list_applications(ctx, who, call_id)]


@router.get("/calls/{call_id}/ranking")
def ranking(call_id: str, ctx: Ctx, who: Who) -> list[RankedOut]:
    """Applications by review score, with the regional bonus and concentration penalty."""
    return [RankedOut(application=application_out(r.application), score=r.score,
                      reviews=r.reviews, org_share_of_call=r.org_share_of_call,
                      mean_review=r.parts.base, regional_bonus=r.parts.bonus,
                      concentration_penalty=r.parts.penalty)
            for r in svc.ranking(ctx, who, call_id)]


@router.get("/applications/{application_id}")
def get_application(application_id: str, ctx: Ctx, who: Who) -> ApplicationOut:
    return application_out(svc.get_application(ctx, who, application_id))


@router.post("/applications/{application_id}/reviews", status_code=201)
def review(application_id: str, body: ReviewIn, ctx: Ctx, who: Who) -> ReviewOut:
    """Score an application on impact, readiness and ecosystem contribution (0..10)."""
    r = svc.review(ctx, who, application_id, body.impact, body.readiness, body.ecosystem)
    return ReviewOut(application_id=r.application_id, reviewer_id=r.reviewer_id,
                     impact=r.impact, readiness=r.readiness, ecosystem=r.ecosystem)
