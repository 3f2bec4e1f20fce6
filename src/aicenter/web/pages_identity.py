"""OpenID Connect sign-ins waiting for the operator: each identity the institution's
provider vouched for (e-mail, name, the claims it sent, the organisation whose people share
the e-mail's domain as the suggestion), approved with an organisation and a role (the person
is created and linked: later sign-ins go straight in) or refused with a reason (later
sign-ins are refused). Each action calls the service its API route calls
(``GET /identities``, ``POST /identities/{id}/approve``, ``/identities/{id}/reject``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aicenter.domain.errors import AicenterError, InputError
from aicenter.domain.identity import IdentityStatus
from aicenter.domain.person import Role
from aicenter.services import identity as identity_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import N_, done, form_of, paginate, render, text
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

STATUS_WORDS = (N_("pending"), N_("approved"), N_("rejected"))
"""The identity states the page shows through ``_(status.value)``."""


def _page(request: Request, who: Caller, status: str, number: int | None, *,
          error: AicenterError | None = None, form: dict[str, list[str]] | None = None
          ) -> HTMLResponse:
    ctx = context_of(request)
    chosen = IdentityStatus(status) if status != "all" else None
    with page_errors(reading=False):  # the list, not one identity, is refused
        rows = identity_svc.list_identity_requests(ctx, who, chosen)
        orgs = sorted(org_svc.list_orgs(ctx, who), key=lambda o: o.name)
    rows = sorted(rows, key=lambda r: (r.status is not IdentityStatus.PENDING,
                                       r.requested_at))
    return render(request, "identities.html", who, error=error, status=status,
                  statuses=["pending", "approved", "rejected", "all"],
                  page=paginate(rows, number), orgs=orgs, names={o.id: o.name for o in orgs},
                  roles=list(Role), form=form or {})


@router.get("/identities")
def identities(request: Request,
               status: Annotated[str, Query(pattern="^(pending|approved|rejected|all)$")
                                 ] = "pending",
               page: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    return _page(request, page_caller(request), status, page)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InputError(f"role: {value!r} is not one of {', '.join(r.value for r in Role)}",
                         field="role") from None


@router.post("/identities/{request_id}/approve")
async def approve(request: Request, request_id: str) -> Response:
    """Create the person in the chosen organisation with the chosen role."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        identity_svc.approve_identity(context_of(request), who, request_id,
                                      text(form, "org_id"), _role(text(form, "role")))
    except AicenterError as exc:
        return _page(request, who, "pending", None, error=exc, form=form)
    return done("/identities", "identity-approved")


@router.post("/identities/{request_id}/reject")
async def reject(request: Request, request_id: str) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        identity_svc.reject_identity(context_of(request), who, request_id,
                                     text(form, "reason"))
    except AicenterError as exc:
        return _page(request, who, "pending", None, error=exc, form=form)
    return done("/identities", "identity-rejected")
