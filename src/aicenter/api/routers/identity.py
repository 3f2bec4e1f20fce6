"""/api/v1/identities: OpenID Connect identities awaiting the operator's approval."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aicenter.api.deps import Ctx, Who
from aicenter.domain.identity import IdentityRequest, IdentityStatus
from aicenter.domain.person import Role
from aicenter.services import identity as svc

router = APIRouter(tags=["identities"])


class IdentityOut(BaseModel):
    id: str
    issuer: str
    subject: str
    email: str
    name: str
    claims: dict[str, Any]
    status: IdentityStatus
    requested_at: datetime
    suggested_org_id: str | None
    person_id: str | None
    decided_at: datetime | None
    decided_by: str | None
    reason: str

    @classmethod
    def of(cls, r: IdentityRequest) -> IdentityOut:
        return cls(id=r.id, issuer=r.issuer, subject=r.subject, email=r.email, name=r.name,
                   claims=r.claims, status=r.status, requested_at=r.requested_at,
                   suggested_org_id=r.suggested_org_id, person_id=r.person_id,
                   decided_at=r.decided_at, decided_by=r.decided_by, reason=r.reason)


class ApproveIn(BaseModel):
    org_id: str = Field(description="The organisation the person joins.")
    role: Role = Field(description="Their role in it.")


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, description="Why (kept with the request).")


@router.get("/identities")
def list_identities(ctx: Ctx, who: Who, status: IdentityStatus | None = None
                    ) -> list[IdentityOut]:
    """Identities that signed in through the OpenID Connect provider (operators)."""
    return [IdentityOut.of(r) for r in svc.list_identity_requests(ctx, who, status)]


@router.post("/identities/{request_id}/approve")
def approve(request_id: str, body: ApproveIn, ctx: Ctx, who: Who) -> IdentityOut:
    """Create the person in ``org_id`` with ``role`` and link the identity to them."""
    return IdentityOut.of(svc.approve_identity(ctx, who, request_id, body.org_id, body.role))


@router.post("/identities/{request_id}/reject")
def reject(request_id: str, body: RejectIn, ctx: Ctx, who: Who) -> IdentityOut:
    return IdentityOut.of(svc.reject_identity(ctx, who, request_id, body.reason))
