"""Organisations: the tenants of the center, each of one class that sets its price rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class OrgClass(StrEnum):
    """Classes of organisation named by the Korean allocation calls (programs.md)."""

    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research-institute"
    STARTUP = "startup"
    YOUTH_STARTUP = "youth-startup"
    SME = "sme"
    ENTERPRISE = "enterprise"
    PUBLIC_AGENCY = "public-agency"
    OPERATOR = "operator"

    @property
    def is_academic(self) -> bool:
        return self in (OrgClass.UNIVERSITY, OrgClass.RESEARCH_INSTITUTE)


@dataclass(frozen=True, slots=True)
class Organisation:
    """A tenant. ``chase_team`` marks members of the priority chase team; ``region`` feeds the
    regional bonus of call reviews (``capital`` for the capital region)."""

    id: str
    name: str
    org_class: OrgClass
    chase_team: bool
    region: str
    created_at: datetime
