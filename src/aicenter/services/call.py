"""Allocation calls, applications and reviews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from aicenter.domain.call import (
    Application,
    ApplicationStatus,
    Call,
    CallStatus,
    PriceRule,
    Review,
    ScoreParts,
    check_application,
    check_scores,
    score_parts,
)
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.org import OrgClass
from aicenter.domain.units import Currency, Money
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import ConflictError, guaranteed
from aicenter.storage import Tx


@dataclass(frozen=True, slots=True)
class CallRequest:
    """What an operator states when opening a call (defaults follow the Dec 2025 call)."""

    name: str
    eligible_classes: frozenset[OrgClass]
    max_chips_per_project: Mapping[str, int]
    max_months: int = 12
    market_price_krw_per_h100e_h: Decimal | None = None
    payable_fraction: Mapping[OrgClass, Decimal] | None = None
    chase_team_priority: bool = True
    regional_bonus: float = 1.0
    concentration_threshold: float = 0.2
    concentration_penalty: float = 2.0
    closes_at: datetime | None = None
    budget_h100e_h: Decimal | None = None
    """The call's total h100e-hours across all its awards (None: no total)."""


def _call_or_404(tx: Tx, call_id: str) -> Call:
    call: Call | None = tx.calls.get_call(call_id)
    if call is None:
        raise NotFoundError(f"call {call_id} not found")
    return call


def open_call(ctx: ServiceContext, caller: Caller, req: CallRequest) -> Call:
    caller.check(ctx, "call:open", Resource("Call", "new"))
    if not req.eligible_classes:
        raise InputError("name at least one eligible class", field="eligible_classes")
    if not req.max_chips_per_project:
        raise InputError("offer at least one chip type", field="max_chips_per_project")
    for chip, cap in req.max_chips_per_project.items():
        ctx.catalog.get(chip)
        if cap < 1:
            raise InputError("must be at least 1", field=f"max_chips_per_project.{chip}")
    if not 1 <= req.max_months <= 60:
        raise InputError("must be 1..60", field="max_months")
    default = PriceRule.default(req.market_price_krw_per_h100e_h or
                                ctx.settings.market_price_krw_per_h100e_h)
    fractions = dict(default.payable_fraction)
    for cls, value in (req.payable_fraction or {}).items():
        if not Decimal(0) <= value <= Decimal(1):
            raise InputError("must be between 0 and 1", field=f"payable_fraction.{cls.value}")
        fractions[cls] = value
    rule = PriceRule(Money(default.market_price_per_h100e_h.amount, Currency.KRW), fractions)
    if rule.market_price_per_h100e_h.amount < 0:
        raise InputError("must not be negative", field="market_price_krw_per_h100e_h")
    if not 0 < req.concentration_threshold <= 1:
        raise InputError("must be in (0, 1]", field="concentration_threshold")
    if req.budget_h100e_h is not None and req.budget_h100e_h <= 0:
        raise InputError("must be positive", field="budget_h100e_h")
    call = Call(new_id("call"), req.name, frozenset(req.eligible_classes),
                dict(req.max_chips_per_project), req.max_months, rule,
                req.chase_team_priority, req.regional_bonus, req.concentration_threshold,
                req.concentration_penalty, CallStatus.OPEN, ctx.clock.now(), req.closes_at,
                req.budget_h100e_h)
    with ctx.db.transaction() as tx:
        tx.calls.add_call(call)
        audit.changed(ctx, tx, caller, "call.opened", "call", call.id, None, name=call.name,
                      eligible=req.eligible_classes, chips=req.max_chips_per_project,
                      max_months=req.max_months, budget_h100e_h=req.budget_h100e_h,
                      closes_at=req.closes_at)
    return call


def close_call(ctx: ServiceContext, caller: Caller, call_id: str) -> Call:
    caller.check(ctx, "call:close", Resource("Call", call_id))
    with ctx.db.transaction() as tx:
        _call_or_404(tx, call_id)
        tx.calls.set_call_status(call_id, CallStatus.CLOSED)
        audit.changed(ctx, tx, caller, "call.closed", "call", call_id)
        return _call_or_404(tx, call_id)


def list_calls(ctx: ServiceContext, caller: Caller) -> list[Call]:
    caller.check(ctx, "call:read", Resource("Call", "any"))
    with ctx.db.transaction(write=False) as tx:
        return tx.calls.list_calls()


def get_call(ctx: ServiceContext, caller: Caller, call_id: str) -> Call:
    caller.check(ctx, "call:read", Resource("Call", call_id))
    with ctx.db.transaction(write=False) as tx:
        return _call_or_404(tx, call_id)


def apply(ctx: ServiceContext, caller: Caller, call_id: str, org_id: str, title: str,
          chips: Mapping[str, int], months: int, requested_h100e_h: Decimal,
          plan: Mapping[str, object] | None = None) -> Application:
    """An organisation applies to a call, optionally with the planner's estimate attached."""
    caller.check(ctx, "application:create", Resource("Application", "new", org_id))
    app = Application(new_id("app"), call_id, org_id, title, dict(chips), months,
                      requested_h100e_h, dict(plan or {}), ApplicationStatus.SUBMITTED,
                      ctx.clock.now())
    with ctx.db.transaction() as tx:
        call = _call_or_404(tx, call_id)
        org = tx.orgs.get(org_id)
        if org is None:
            raise NotFoundError(f"organisation {org_id} not found")
        check_application(call, org.org_class, app)
        tx.calls.add_application(app)
        audit.changed(ctx, tx, caller, "application.submitted", "application", app.id, org_id,
                      call=call_id, title=title, chips=app.chips, months=months,
                      requested_h100e_h=requested_h100e_h)
    return app


def _app_resource(app: Application | None, app_id: str) -> Resource:
    return Resource("Application", app_id, app.org_id if app else None)


def get_application(ctx: ServiceContext, caller: Caller, app_id: str) -> Application:
    with ctx.db.transaction(write=False) as tx:
        app: Application | None = tx.calls.get_application(app_id)
    caller.check(ctx, "application:read", _app_resource(app, app_id))
    if app is None:
        raise NotFoundError(f"application {app_id} not found")
    return app


def list_applications(ctx: ServiceContext, caller: Caller, call_id: str | None = None
                      ) -> list[Application]:
    """Applications (to one call), oldest first: the caller's organisation's, every one for
    operators and auditors; one decision for the listing, as for jobs."""
    org_filter = None if caller.sees_all else caller.org_id
    caller.check(ctx, "application:read", Resource("Application", "any", org_filter)
                 if org_filter else Resource("Application", "any"))
    with ctx.db.transaction(write=False) as tx:
        apps: list[Application] = tx.calls.list_applications(call_id, org_filter)
    return apps


def review(ctx: ServiceContext, caller: Caller, app_id: str, impact: float, readiness: float,
           ecosystem: float) -> Review:
    """A reviewer (an operator) scores an application on the three criteria, 0..10 each."""
    caller.check(ctx, "application:review", Resource("Application", app_id))
    check_scores(impact, readiness, ecosystem)
    rev = Review(app_id, caller.person.id, impact, readiness, ecosystem, ctx.clock.now())
    with ctx.db.transaction() as tx:
        if tx.calls.get_application(app_id) is None:
            raise NotFoundError(f"application {app_id} not found")
        if any(r.reviewer_id == caller.person.id for r in tx.calls.reviews_of(app_id)):
            raise ConflictError(f"you already reviewed application {app_id}")
        tx.calls.add_review(rev)
        app = guaranteed(tx.calls.get_application(app_id), f"application {app_id}")
        audit.changed(ctx, tx, caller, "application.reviewed", "application", app_id,
                      app.org_id, impact=impact, readiness=readiness, ecosystem=ecosystem)
    return rev


@dataclass(frozen=True, slots=True)
class RankedApplication:
    application: Application
    score: float
    reviews: int
    org_share_of_call: float
    parts: ScoreParts
    """Base, regional bonus and concentration penalty: ``score = base + bonus - penalty``."""


def ranking(ctx: ServiceContext, caller: Caller, call_id: str) -> list[RankedApplication]:
    """Applications of a call by score (best first); see ``application_score`` for the maths.

    The organisation's share is its granted h100e-hours over all granted h100e-hours of the
    call so far.
    """
    caller.check(ctx, "application:review", Resource("Call", call_id))
    with ctx.db.transaction(write=False) as tx:
        call = _call_or_404(tx, call_id)
        held = tx.grants.budgets_by_org(call_id)
        total = sum(held.values(), Decimal(0))
        apps = tx.calls.list_applications(call_id)
        regions = tx.orgs.regions_of({a.org_id for a in apps})
        reviewed = tx.calls.reviews_of_many([a.id for a in apps])
        result = []
        for app in apps:
            region = guaranteed(regions.get(app.org_id), f"organisation {app.org_id}")
            share = float(held.get(app.org_id, Decimal(0)) / total) if total else 0.0
            revs = reviewed.get(app.id, [])
            parts = score_parts(call, revs, region, share)
            result.append(RankedApplication(app, parts.score, len(revs), share, parts))
    return sorted(result, key=lambda r: (-r.score, r.application.created_at or 0))
