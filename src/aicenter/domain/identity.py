"""An identity from the institution's OpenID Connect provider and the operator's decision
on it.

The first sign-in of an identity nobody has approved yet creates a pending request carrying
the provider's claims (e-mail, name, organisation claim) and, where the e-mail's domain is
that of people already in one organisation, that organisation as the suggestion. An operator
approves it with an organisation and a role (a person is created and linked: later sign-ins
go straight in) or rejects it (later sign-ins are refused)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class IdentityStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class IdentityRequest:
    """``(issuer, subject)`` names the identity; ``person_id`` is set once approved."""

    id: str
    issuer: str
    subject: str
    email: str
    name: str
    claims: dict[str, Any]
    status: IdentityStatus
    requested_at: datetime
    suggested_org_id: str | None = None
    person_id: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str = ""
