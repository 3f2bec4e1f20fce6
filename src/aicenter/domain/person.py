"""People and their roles. A person belongs to exactly one organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What a person may do; the rules themselves live in ``policy/`` as Cedar policies."""

    OPERATOR = "operator"
    ORG_ADMIN = "org-admin"
    MEMBER = "member"
    DATA_PROVIDER = "data-provider"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    org_id: str
    name: str
    email: str
    role: Role
    created_at: datetime
