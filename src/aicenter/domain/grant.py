"""Grants: an h100e-hour budget given to one organisation for a period.

The balance is not stored here: it is the sum of the ledger postings to the grant's account.
A grant idle (no usage) for ``idle_days`` is given notice; ``notice_days`` after the notice, if
still idle, the rest of its budget is reclaimed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    chip_counts: Mapping[str, int] = field(default_factory=dict)
    """Chips of each type the grant may use at once: what the application asked for, capped
    by the call's per-project cap. A type missing here (grants from before counts were
    recorded) has no count limit."""
    review_waiver: str | None = None
    """Why the operator awarded it without a review (None: it was reviewed)."""

    def covers(self, chip_id: str) -> bool:
        """True if the grant may pay for this chip type (an empty set means any chip)."""
        return not self.chip_ids or chip_id in self.chip_ids

    def chip_limit(self, chip_id: str) -> int | None:
        """The most chips of this type the grant's jobs may hold at once (None: no limit)."""
        return self.chip_counts.get(chip_id)

    def allows(self, chip_id: str, count: int) -> bool:
        """True if one job may run on ``count`` chips of this type under the grant."""
        limit = self.chip_limit(chip_id)
        return self.covers(chip_id) and (limit is None or count <= limit)

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


def _hours(start: datetime, end: datetime) -> Decimal:
    return Decimal(max((end - start).total_seconds(), 0.0)) / Decimal(3600)


@dataclass(frozen=True, slots=True)
class PhysicalCapacity:
    """The pools' h100e-hours over a new grant's period and what other grants committed."""

    capacity_h100e_h: Decimal
    committed_h100e_h: Decimal

    @property
    def headroom_h100e_h(self) -> Decimal:
        return self.capacity_h100e_h - self.committed_h100e_h


def physical_capacity(chips: frozenset[str], starts_at: datetime, ends_at: datetime,
                      others: Sequence[Grant], pool_chips: Mapping[str, int],
                      ratio: Mapping[str, Decimal]) -> PhysicalCapacity:
    """What the center's pools can deliver to a grant on ``chips`` over [start, end).

    With N_c the pooled chips of type c, r_c the most h100e-hours one chip-hour of c can be
    worth (its best workload ratio) and rate(C) = Σ_{c∈C} N_c·r_c:

        capacity  = rate(C_g) × hours(s_g, e_g)
        committed = Σ_o B_o × overlap(o, g) / duration(o) × rate(C_o ∩ C_g) / rate(C_o)

    over the other active grants o (budget B_o, chip types C_o, all pooled types if empty)
    whose period overlaps g's: each other grant spends its budget evenly over its period
    and over its chip types in proportion to their rate. An award B_g is physically possible
    iff B_g ≤ capacity − committed.
    """
    def rate(types: frozenset[str]) -> Decimal:
        return sum((pool_chips.get(c, 0) * ratio.get(c, Decimal(0)) for c in types),
                   Decimal(0))

    capacity = rate(chips) * _hours(starts_at, ends_at)
    committed = Decimal(0)
    for o in others:
        if o.status is not GrantStatus.ACTIVE:
            continue
        overlap = _hours(max(o.starts_at, starts_at), min(o.ends_at, ends_at))
        duration = _hours(o.starts_at, o.ends_at)
        types = o.chip_ids or frozenset(pool_chips)
        whole = rate(types)
        if overlap <= 0 or duration <= 0 or whole <= 0:
            continue
        committed += o.budget_h100e_h * overlap / duration * rate(types & chips) / whole
    return PhysicalCapacity(capacity.quantize(Decimal("0.000001")),
                            committed.quantize(Decimal("0.000001")))
