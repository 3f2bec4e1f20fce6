"""OpenID Connect identities: what the first sign-in of an unknown identity asks for, and
the operator's approval (an organisation and a role: the person is created and linked) or
rejection. The sign-in itself is :func:`aicenter.services.web_session.sign_in_identity`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.identity import IdentityRequest, IdentityStatus
from aicenter.domain.person import Role
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import ConflictError
from aicenter.services.org import add_person

APPROVER = Resource("Person", "new")
"""Deciding on identities is adding people: the policies' person:create decides."""


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def request_access(ctx: ServiceContext, issuer: str, subject: str,
                   claims: dict[str, Any]) -> IdentityRequest:
    """The request of ``(issuer, subject)``: created pending on its first sign-in (with the
    organisation whose people share the e-mail's domain as the suggestion), else as is."""
    with ctx.db.transaction() as tx:
        found = tx.identities.by_subject(issuer, subject)
        if found is not None:
            return found
        email = str(claims.get("email") or "").strip().lower()
        domain = email_domain(email) if "@" in email else ""
        orgs = {p.org_id for p in tx.people.list() if domain and email_domain(p.email) == domain}
        request = IdentityRequest(
            new_id("idr"), issuer, subject, email, str(claims.get("name") or email or subject),
            {k: v for k, v in claims.items() if isinstance(k, str)}, IdentityStatus.PENDING,
            ctx.clock.now(), orgs.pop() if len(orgs) == 1 else None)
        tx.identities.add(request)
        audit.changed(ctx, tx, None, "identity.requested", "identity", request.id, None,
                      issuer=issuer, subject=subject, email=email)
    return request


def list_identity_requests(ctx: ServiceContext, caller: Caller,
                           status: IdentityStatus | None = None) -> list[IdentityRequest]:
    caller.check(ctx, "person:create", APPROVER)
    with ctx.db.transaction(write=False) as tx:
        return tx.identities.list(status)


def _pending(ctx: ServiceContext, request_id: str) -> IdentityRequest:
    with ctx.db.transaction(write=False) as tx:
        found = tx.identities.get(request_id)
    if found is None:
        raise NotFoundError(f"identity request {request_id} not found")
    if found.status is not IdentityStatus.PENDING:
        raise ConflictError(f"identity request {request_id} is already {found.status.value}")
    return found


def approve_identity(ctx: ServiceContext, caller: Caller, request_id: str, org_id: str,
                     role: Role) -> IdentityRequest:
    """Create the person (``org_id``, ``role``; the policies decide as for adding anyone)
    and link the identity to them."""
    caller.check(ctx, "person:create", APPROVER)
    request = _pending(ctx, request_id)
    if "@" not in request.email:
        raise InputError("the provider sent no e-mail address for this identity",
                         field="email")
    person = add_person(ctx, caller, org_id, request.name, request.email, role)
    decided = replace(request, status=IdentityStatus.APPROVED, person_id=person.id,
                      decided_at=ctx.clock.now(), decided_by=caller.person.id)
    with ctx.db.transaction() as tx:
        tx.identities.decide(decided)
        audit.changed(ctx, tx, caller, "identity.approved", "identity", request.id, org_id,
                      person_id=person.id, role=role)
    return decided


def reject_identity(ctx: ServiceContext, caller: Caller, request_id: str,
                    reason: str) -> IdentityRequest:
    caller.check(ctx, "person:create", APPROVER)
    if not reason.strip():
        raise InputError("must not be empty", field="reason")
    request = _pending(ctx, request_id)
    decided = replace(request, status=IdentityStatus.REJECTED, decided_at=ctx.clock.now(),
                      decided_by=caller.person.id, reason=reason.strip())
    with ctx.db.transaction() as tx:
        tx.identities.decide(decided)
        audit.changed(ctx, tx, caller, "identity.rejected", "identity", request.id, None,
                      reason=decided.reason)
    return decided
