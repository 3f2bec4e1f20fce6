"""Allocation calls and applications in the browser: an operator opens a call (caps, price
rule, budget), reads the ranking with each score's parts, reviews, awards, rejects and closes;
a tenant applies. Every action calls the service function its API route calls
(``POST /calls``, ``/calls/{id}/close``, ``/calls/{id}/applications``,
``/applications/{id}/reviews``, ``/grants``, ``/applications/{id}/reject``), so the same
policies decide and the service's own message shows when it refuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aicenter.domain.call import DEFAULT_PAYABLE_FRACTION
from aicenter.domain.errors import AicenterError, InputError
from aicenter.domain.org import OrgClass
from aicenter.policy import PermissionDeniedError
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import (
    PER_PAGE,
    Page,
    counts,
    decimal,
    done,
    form_of,
    integer,
    optional,
    paginate,
    render,
    text,
    texts,
)
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

PageNumber = Annotated[int | None, Query(ge=1)]


def _is_operator(who: Caller) -> bool:
    return who.person.role.value == "operator"


def _calls_page(request: Request, who: Caller, number: int | None, *,
                error: AicenterError | None = None, form: dict[str, list[str]] | None = None
                ) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        calls = sorted(call_svc.list_calls(ctx, who), key=lambda c: c.opened_at, reverse=True)
    return render(request, "calls.html", who, error=error, page=paginate(calls, number),
                  classes=list(OrgClass), defaults=DEFAULT_PAYABLE_FRACTION,
                  operator=_is_operator(who), form=form or {})


@router.get("/calls")
def calls(request: Request, page: PageNumber = None) -> HTMLResponse:
    return _calls_page(request, page_caller(request), page)


def _call_request(form: dict[str, list[str]]) -> call_svc.CallRequest:
    fractions: dict[OrgClass, Decimal] = {}
    for cls in OrgClass:
        value = optional(form, f"fraction_{cls.value}", decimal)
        if value is not None:
            fractions[cls] = value
    return call_svc.CallRequest(
        name=text(form, "name"),
        eligible_classes=frozenset(OrgClass(c) for c in texts(form, "eligible")
                                   if c in OrgClass._value2member_map_),
        max_chips_per_project=counts("max_chips_per_project",
                                     text(form, "max_chips_per_project")),
        max_months=optional(form, "max_months", integer) or 12,
        market_price_krw_per_h100e_h=optional(form, "market_price_krw_per_h100e_h", decimal),
        payable_fraction={**DEFAULT_PAYABLE_FRACTION, **fractions} if fractions else None,
        chase_team_priority=bool(texts(form, "chase_team_priority")),
        regional_bonus=float(optional(form, "regional_bonus", decimal) or 1),
        concentration_threshold=float(optional(form, "concentration_threshold", decimal)
                                      or Decimal("0.2")),
        concentration_penalty=float(optional(form, "concentration_penalty", decimal)
                                    or 2),
        budget_h100e_h=optional(form, "budget_h100e_h", decimal))


@router.post("/calls")
async def open_call(request: Request) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        call = call_svc.open_call(context_of(request), who, _call_request(form))
    except AicenterError as exc:
        return _calls_page(request, who, None, error=exc, form=form)
    return done(f"/calls/{call.id}", "call-opened")


def _call_page(request: Request, who: Caller, call_id: str, *,
               error: AicenterError | None = None, form: dict[str, list[str]] | None = None,
               number: int | None = None) -> HTMLResponse:
    """The call; for reviewers its ranking, for others their applications, a page at a
    time (the ranking is computed over every application, then cut)."""
    ctx = context_of(request)
    with page_errors():
        call = call_svc.get_call(ctx, who, call_id)
        shown: Page[Any]
        try:
            shown, ranked = paginate(call_svc.ranking(ctx, who, call_id), number), True
        except PermissionDeniedError:  # only reviewers see the ranking
            shown, ranked = paginate(call_svc.list_applications(ctx, who, call_id), number), False
        # the names on the page; operators apply for any organisation (the form's choice)
        orgs = {o.id: o for o in org_svc.list_orgs(ctx, who)} if _is_operator(who) else \
            {o.id: o for o in org_svc.list_orgs(ctx, who, ids={who.org_id})}
    return render(request, "call.html", who, error=error, call=call, page=shown,
                  ranked=ranked, base=f"/calls/{call.id}", start=(shown.number - 1) * PER_PAGE,
                  orgs=orgs, classes=list(OrgClass),
                  operator=_is_operator(who), form=form or {})


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: str, page: PageNumber = None) -> HTMLResponse:
    return _call_page(request, page_caller(request), call_id, number=page)


@router.post("/calls/{call_id}/close")
async def close_call(request: Request, call_id: str) -> Response:
    who = page_caller(request)
    await form_of(request)
    try:
        call_svc.close_call(context_of(request), who, call_id)
    except AicenterError as exc:
        return _call_page(request, who, call_id, error=exc)
    return done(f"/calls/{call_id}", "call-closed")


@router.post("/calls/{call_id}/apply")
async def apply(request: Request, call_id: str) -> Response:
    """Apply for the caller's organisation (an operator may name another)."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        app = call_svc.apply(
            context_of(request), who, call_id, text(form, "org_id", required=False) or who.org_id,
            text(form, "title"), counts("chips", text(form, "chips")),
            integer("months", text(form, "months")),
            decimal("requested_h100e_h", text(form, "requested_h100e_h")),
            {"summary": text(form, "plan", required=False)} if text(
                form, "plan", required=False) else None)
    except AicenterError as exc:
        return _call_page(request, who, call_id, error=exc, form=form)
    return done(f"/applications/{app.id}", "applied")


def _application_page(request: Request, who: Caller, application_id: str, *,
                      error: AicenterError | None = None,
                      form: dict[str, list[str]] | None = None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        app = call_svc.get_application(ctx, who, application_id)
        call = call_svc.get_call(ctx, who, app.call_id)
        orgs = {o.id: o for o in org_svc.list_orgs(ctx, who, ids={app.org_id})}
    try:
        ranked = next((r for r in call_svc.ranking(ctx, who, app.call_id)
                       if r.application.id == app.id), None)
    except PermissionDeniedError:
        ranked = None
    grants = [g for g in grant_svc.list_grants(ctx, who, app.org_id)
              if g.grant.application_id == app.id] if app.status.value == "granted" else []
    return render(request, "application.html", who, error=error, app=app, call=call,
                  org=orgs.get(app.org_id), ranked=ranked, grants=grants,
                  operator=_is_operator(who), form=form or {})


@router.get("/applications/{application_id}")
def application_page(request: Request, application_id: str) -> HTMLResponse:
    return _application_page(request, page_caller(request), application_id)


@router.post("/applications/{application_id}/review")
async def review(request: Request, application_id: str) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        call_svc.review(context_of(request), who, application_id,
                        float(decimal("impact", text(form, "impact"))),
                        float(decimal("readiness", text(form, "readiness"))),
                        float(decimal("ecosystem", text(form, "ecosystem"))))
    except AicenterError as exc:
        return _application_page(request, who, application_id, error=exc, form=form)
    return done(f"/applications/{application_id}", "reviewed")


@router.post("/applications/{application_id}/award")
async def award(request: Request, application_id: str) -> Response:
    """Award a budget; the chips default to all the application asked for."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        chips = texts(form, "chip_ids")
        view = grant_svc.award(
            context_of(request), who, application_id,
            decimal("budget_h100e_h", text(form, "budget_h100e_h")),
            optional(form, "months", integer), frozenset(chips) if chips else None,
            without_review=text(form, "without_review", required=False) or None)
    except AicenterError as exc:
        return _application_page(request, who, application_id, error=exc, form=form)
    return done(f"/grants/{view.grant.id}", "awarded")


@router.post("/applications/{application_id}/reject")
async def reject(request: Request, application_id: str) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        reason = text(form, "reason", required=False)
        if not reason:
            raise InputError("say why the application is rejected", field="reason")
        grant_svc.reject(context_of(request), who, application_id, reason)
    except AicenterError as exc:
        return _application_page(request, who, application_id, error=exc, form=form)
    return done(f"/applications/{application_id}", "rejected")
