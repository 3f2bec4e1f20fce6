"""Guaranteed shares: what an organisation's (or a call's) jobs may hold at once, in H100e,
ahead of everyone else's — a Kueue nominal quota, a Run:ai deserved quota. Capacity a holder
leaves idle is lent to others and taken back by preemption when the holder's jobs return
(:mod:`aicenter.scheduler.rounds`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from aicenter.domain.errors import InputError

MAX_GUARANTEED_H100E = Decimal(10_000_000)


class ShareHolder(StrEnum):
    ORG = "org"
    CALL = "call"


@dataclass(frozen=True, slots=True)
class Share:
    holder_kind: ShareHolder
    holder_id: str
    guaranteed_h100e: Decimal
    set_at: datetime
    set_by: str


def check_guaranteed_h100e(value: Decimal) -> Decimal:
    """A finite, non-negative amount of H100e at ledger precision."""
    if not value.is_finite() or not Decimal(0) <= value <= MAX_GUARANTEED_H100E:
        raise InputError(f"'{value}' is not an amount of H100e from 0 to "
                         f"{MAX_GUARANTEED_H100E:,}", field="guaranteed_h100e")
    return value.quantize(Decimal("0.000001"))
