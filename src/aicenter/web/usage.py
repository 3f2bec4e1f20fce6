"""Usage per organisation per day (UTC), for the usage page and its chart.

A usage record covers ``[start, end)``; its h100e-hours are split over the UTC days it
overlaps in proportion to the overlap:

    h(day) = h100e_seconds × |[start, end) ∩ day| / (end − start) / 3600
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from aicenter.domain.usage import UsageRecord


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def daily_h100e_h(records: Iterable[UsageRecord]) -> dict[tuple[date, str], Decimal]:
    """(UTC day, organisation id) -> h100e-hours used that day (see the module docstring)."""
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
            totals[key] = totals.get(key, Decimal(0)) + record.h100e_seconds * share / 3600
            day += timedelta(days=1)
    return totals
