"""Grants: an h100e-hour budget given to one organisation for a period.

The balance is not stored here: it is the sum of the ledger postings to the grant's account.
A grant idle (no usage) for ``idle_days`` is given notice; ``notice_days`` after the notice, if
still idle, the rest of its budget is reclaimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class GrantStatus(StrEnum):
    ACTIVE = "active"
    RECLAIMED = "reclaimed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    call_id: str
    application_id: str | None
    org_id: str
    budget_h100e_h: Decimal
    chip_ids: frozenset[str]
    starts_at: datetime
    ends_at: datetime
    status: GrantStatus
    last_used_at: datetime
    reclaim_notice_at: datetime | None

    def covers(self, chip_id: str) -> bool:
        """True if the grant may pay for this chip type (an empty set means any chip)."""
        return not self.chip_ids or chip_id in self.chip_ids

    def active_at(self, now: datetime) -> bool:
        return self.status is GrantStatus.ACTIVE and self.starts_at <= now < self.ends_at


def reclaim_step(grant: Grant, now: datetime, idle_days: int, notice_days: int) -> str | None:
    """What the reclaim sweep does to a grant now: ``notice``, ``reclaim`` or nothing.

    Idle means no usage since ``last_used_at``. Usage after a notice clears it (the service
    resets ``reclaim_notice_at`` when it meters usage).
    """
    if grant.status is not GrantStatus.ACTIVE:
        return None
    idle = now - grant.last_used_at
    if grant.reclaim_notice_at is None:
        return "notice" if idle >= timedelta(days=idle_days) else None
    if now - grant.reclaim_notice_at >= timedelta(days=notice_days):
        return "reclaim"
    return None
