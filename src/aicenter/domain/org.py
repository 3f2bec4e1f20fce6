"""Organisations: the tenants of the center, each of one class that sets its price rule.

Priority classes are entitlements the operator grants to an organisation. Every organisation
starts with ``normal`` and ``best-effort``: normal is the class nobody should have to ask for,
and best-effort jobs are preemptible by anything, so they take nothing from anyone. Only a
chase-team organisation starts with ``chase-team`` (it preempts others). The operator may
grant or revoke any class later, ``normal`` included (an organisation limited to preemptible
work); the Cedar policies decide from the set which jobs it may submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aicenter.domain.job import PriorityClass

EVERYONE_PRIORITIES = frozenset({PriorityClass.NORMAL, PriorityClass.BEST_EFFORT})


def default_priority_classes(chase_team: bool) -> frozenset[PriorityClass]:
    """The classes a new organisation holds: normal and best-effort, and chase-team for a
    member of the chase team."""
    return EVERYONE_PRIORITIES | ({PriorityClass.CHASE_TEAM} if chase_team else set())


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
    regional bonus of call reviews (``capital`` for the capital region);
    ``priority_classes`` are the job priority classes the operator entitled it to."""

    id: str
    name: str
    org_class: OrgClass
    chase_team: bool
    region: str
    created_at: datetime
    priority_classes: frozenset[PriorityClass] = field(default=EVERYONE_PRIORITIES)
