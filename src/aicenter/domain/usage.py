"""Usage records: what one job used in one metering interval.

    chip_seconds  = chip_count × (interval_end − interval_start) in seconds
    h100e_seconds = chip_seconds × r(chip, workload class)        (catalog PerformanceTable)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
