"""Organisations, people, tokens and priority entitlements in the browser: operators create
organisations and people, entitle an organisation to a priority class or take it back; a
token's secret shows once, on the page that created it (only its hash is kept), and a token
can be revoked. Each action calls the service its API route calls (``POST /orgs``,
``/orgs/{id}/people``, ``PUT|DELETE /orgs/{id}/priorities/{class}``,
``/people/{id}/tokens``, ``/tokens/{id}/revoke``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aicenter.domain.errors import AicenterError, InputError
from aicenter.domain.job import PriorityClass
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.services import org as org_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import (
    decimal,
    done,
    form_of,
    optional,
    paged,
    render,
    status_of,
    text,
    texts,
)
from aicenter.web.session import PageError, context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)


def _choice(enum: type[Role] | type[OrgClass] | type[PriorityClass], name: str, value: str
            ) -> Role | OrgClass | PriorityClass:
    try:
        return enum(value)
    except ValueError:
        raise InputError(f"{name}: {value!r} is not one of "
                         f"{', '.join(e.value for e in enum)}", field=name) from None


def _orgs_page(request: Request, who: Caller, number: int | None, *,
               error: AicenterError | None = None, form: dict[str, list[str]] | None = None
               ) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        page = paged(number, org_svc.count_orgs(ctx, who), lambda limit, offset:
                     org_svc.list_orgs(ctx, who, by_name=True, limit=limit, offset=offset))
    return render(request, "orgs.html", who, error=error, page=page,
                  classes=list(OrgClass), operator=who.person.role.value == "operator",
                  form=form or {})


@router.get("/orgs")
def orgs(request: Request, page: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    return _orgs_page(request, page_caller(request), page)


@router.post("/orgs")
async def create_org(request: Request) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        org = org_svc.create_org(
            context_of(request), who, text(form, "name"),
            OrgClass(_choice(OrgClass, "org_class", text(form, "org_class"))),
            bool(texts(form, "chase_team")), text(form, "region", required=False) or "capital")
    except AicenterError as exc:
        return _orgs_page(request, who, None, error=exc, form=form)
    return done(f"/orgs/{org.id}", "org-created")


def _org_page(request: Request, who: Caller, org_id: str, *,
              error: AicenterError | None = None, form: dict[str, list[str]] | None = None,
              secret: str | None = None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        org = org_svc.get_org(ctx, who, org_id)
        people = sorted(org_svc.list_people(ctx, who, org_id), key=lambda p: p.name)
    return render(request, "org.html", who, error=error, org=org, people=people,
                  roles=list(Role), priorities=list(PriorityClass),
                  operator=who.person.role.value == "operator", form=form or {},
                  secret=secret)


@router.get("/orgs/{org_id}")
def org_page(request: Request, org_id: str) -> HTMLResponse:
    return _org_page(request, page_caller(request), org_id)


@router.post("/orgs/{org_id}/people")
async def add_person(request: Request, org_id: str) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        org_svc.add_person(context_of(request), who, org_id, text(form, "name"),
                           text(form, "email"), Role(_choice(Role, "role", text(form, "role"))))
    except AicenterError as exc:
        return _org_page(request, who, org_id, error=exc, form=form)
    return done(f"/orgs/{org_id}", "person-added")


@router.post("/orgs/{org_id}/priorities")
async def priorities(request: Request, org_id: str) -> Response:
    """Entitle (``action=entitle``) or revoke (``action=revoke``) one priority class."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        cls = PriorityClass(_choice(PriorityClass, "priority", text(form, "priority")))
        if text(form, "action") == "revoke":
            org_svc.revoke_priority(context_of(request), who, org_id, cls)
            ok = "priority-revoked"
        else:
            org_svc.entitle(context_of(request), who, org_id, cls)
            ok = "entitled"
    except AicenterError as exc:
        return _org_page(request, who, org_id, error=exc)
    return done(f"/orgs/{org_id}", ok)


def _tokens_page(request: Request, who: Caller, person_id: str, *,
                 error: AicenterError | None = None, secret: str | None = None,
                 code: int = 200) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        tokens = org_svc.list_tokens(ctx, who, person_id)
    now = ctx.clock.now()
    return render(request, "tokens.html", who, code=code, error=error, person_id=person_id,
                  tokens=sorted(tokens, key=lambda t: t.created_at, reverse=True),
                  usable={t.id: t.usable_at(now) for t in tokens}, scopes=list(Scope),
                  secret=secret)


@router.get("/people/{person_id}/tokens")
def tokens(request: Request, person_id: str) -> HTMLResponse:
    return _tokens_page(request, page_caller(request), person_id)


@router.post("/people/{person_id}/tokens")
async def create_token(request: Request, person_id: str) -> Response:
    """The new token's secret is shown in this answer only (201), never again."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        scopes = frozenset(Scope(s) for s in texts(form, "scopes")
                           if s in Scope._value2member_map_)
        days = optional(form, "expires_in_days", decimal)
        _, secret = org_svc.create_token(context_of(request), who, person_id,
                                         text(form, "name"), scopes,
                                         float(days) if days is not None else None)
    except AicenterError as exc:
        return _tokens_page(request, who, person_id, error=exc)
    return _tokens_page(request, who, person_id, secret=secret, code=201)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: str) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    person_id = text(form, "person_id", required=False)
    try:
        token = org_svc.revoke_token(context_of(request), who, token_id)
    except AicenterError as exc:
        if not person_id:
            raise PageError(status_of(exc), str(exc)) from exc
        return _tokens_page(request, who, person_id, error=exc)
    return done(f"/people/{token.person_id}/tokens", "token-revoked")
