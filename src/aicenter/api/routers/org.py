"""/api/v1/orgs, people and tokens."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    CountOut,
    OrgIn,
    OrgOut,
    PersonIn,
    PersonOut,
    TokenIn,
    TokenOut,
    WhoAmI,
)
from aicenter.domain.job import PriorityClass
from aicenter.services import org as svc

router = APIRouter(tags=["organisations"])

MAX_IDS = 500
"""Organisations one ``GET /orgs?id=...`` may name (a page's worth, with room)."""


@router.get("/whoami")
def whoami(who: Who) -> WhoAmI:
    """The person the token belongs to."""
    return WhoAmI(person=PersonOut.of(who.person), can_write=who.can_write)


@router.post("/orgs", status_code=201)
def create_org(body: OrgIn, ctx: Ctx, who: Who) -> OrgOut:
    """Register an organisation (operators)."""
    return OrgOut.of(svc.create_org(ctx, who, body.name, body.org_class, body.chase_team,
                                    body.region))


@router.get("/orgs")
def list_orgs(ctx: Ctx, who: Who,
              ids: Annotated[list[str] | None, Query(
                  alias="id", max_length=MAX_IDS,
                  description="Only these organisations (repeat: ?id=a&id=b)")] = None,
              sort: Literal["created", "name"] = "created",
              limit: Annotated[int | None, Query(ge=1, le=10000)] = None,
              offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> list[OrgOut]:
    """Organisations the caller may see (their own; all for operators and auditors), in the
    order they were registered or by name; ``limit`` and ``offset`` cut a page
    (``GET /orgs/count`` is the total)."""
    return [OrgOut.of(o) for o in svc.list_orgs(ctx, who, ids=ids, by_name=sort == "name",
                                                limit=limit, offset=offset)]


@router.get("/orgs/count")
def count_orgs(ctx: Ctx, who: Who) -> CountOut:
    """How many organisations ``GET /orgs`` lists without a limit."""
    return CountOut(count=svc.count_orgs(ctx, who))


@router.get("/orgs/{org_id}")
def get_org(org_id: str, ctx: Ctx, who: Who) -> OrgOut:
    return OrgOut.of(svc.get_org(ctx, who, org_id))


@router.put("/orgs/{org_id}/priorities/{priority_class}")
def entitle(org_id: str, priority_class: PriorityClass, ctx: Ctx, who: Who) -> OrgOut:
    """Entitle an organisation to a job priority class (operators)."""
    return OrgOut.of(svc.entitle(ctx, who, org_id, priority_class))


@router.delete("/orgs/{org_id}/priorities/{priority_class}")
def revoke_priority(org_id: str, priority_class: PriorityClass, ctx: Ctx, who: Who) -> OrgOut:
    """Take a job priority class back from an organisation (operators)."""
    return OrgOut.of(svc.revoke_priority(ctx, who, org_id, priority_class))


@router.post("/orgs/{org_id}/people", status_code=201)
def add_person(org_id: str, body: PersonIn, ctx: Ctx, who: Who) -> PersonOut:
    """Add a person with a role (operators; org admins for their organisation)."""
    return PersonOut.of(svc.add_person(ctx, who, org_id, body.name, body.email, body.role))


@router.get("/orgs/{org_id}/people")
def list_people(org_id: str, ctx: Ctx, who: Who) -> list[PersonOut]:
    return [PersonOut.of(p) for p in svc.list_people(ctx, who, org_id)]


@router.post("/people/{person_id}/tokens", status_code=201)
def create_token(person_id: str, body: TokenIn, ctx: Ctx, who: Who) -> TokenOut:
    """A new API token; its secret is in the response once and never again."""
    token, secret = svc.create_token(ctx, who, person_id, body.name, frozenset(body.scopes),
                                     body.expires_in_days)
    return TokenOut.of(token, secret)


@router.get("/people/{person_id}/tokens")
def list_tokens(person_id: str, ctx: Ctx, who: Who) -> list[TokenOut]:
    return [TokenOut.of(t) for t in svc.list_tokens(ctx, who, person_id)]


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: str, ctx: Ctx, who: Who) -> TokenOut:
    return TokenOut.of(svc.revoke_token(ctx, who, token_id))
