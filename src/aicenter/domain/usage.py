"""Usage records: what one job used in one metering interval.

    chip_seconds  = chip_count × (interval_end − interval_start) in seconds
    h100e_seconds = chip_seconds × r(chip, workload class)        (catalog PerformanceTable)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class UsageRecord:
    id: str
    job_id: str
    org_id: str
    grant_id: str
    chip_id: str
    chip_count: int
    interval_start: datetime
    interval_end: datetime
    chip_seconds: Decimal
    h100e_seconds: Decimal

    @property
    def h100e_hours(self) -> Decimal:
        return self.h100e_seconds / Decimal(3600)


def meter(
    chip_count: int, ratio: float, start: datetime, end: datetime
) -> tuple[Decimal, Decimal]:
    """(chip_seconds, h100e_seconds) for ``chip_count`` chips busy from ``start`` to ``end``."""
    seconds = Decimal(str(max((end - start).total_seconds(), 0.0)))
    chip_seconds = seconds * chip_count
    return chip_seconds, chip_seconds * Decimal(str(ratio))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def daily_h100e_seconds(records: Iterable[UsageRecord]) -> dict[tuple[date, str], Decimal]:
    """(UTC day, organisation id) -> h100e-seconds used that day. A record covering
    ``[start, end)`` is split over the days it overlaps in proportion to the overlap:

        h(day) = h100e_seconds × |[start, end) ∩ day| / (end − start)
    """
    totals: dict[tuple[date, str], Decimal] = {}
    for record in records:
        start, end = record.interval_start.astimezone(UTC), record.interval_end.astimezone(UTC)
        length = Decimal(str((end - start).total_seconds()))
        if length <= 0:
            continue
        day = start.date()
        while _day_start(day) < end:
            lo = max(start, _day_start(day))
            hi = min(end, _day_start(day + timedelta(days=1)))
            share = Decimal(str((hi - lo).total_seconds())) / length
            key = (day, record.org_id)
            totals[key] = totals.get(key, Decimal(0)) + record.h100e_seconds * share
            day += timedelta(days=1)
    return totals
