"""Usage records table ↔ :class:`UsageRecord`."""

from __future__ import annotations

import builtins
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select

from aicenter.domain.usage import UsageRecord
from aicenter.storage.tables import usage_records as t


def _record(row: Any) -> UsageRecord:
    return UsageRecord(row.id, row.job_id, row.org_id, row.grant_id, row.chip_id, row.chip_count,
                       row.interval_start, row.interval_end, row.chip_seconds, row.h100e_seconds)


class UsageRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, rec: UsageRecord) -> None:
        self.conn.execute(insert(t).values(
            id=rec.id, job_id=rec.job_id, org_id=rec.org_id, grant_id=rec.grant_id,
            chip_id=rec.chip_id, chip_count=rec.chip_count, interval_start=rec.interval_start,
            interval_end=rec.interval_end, chip_seconds=rec.chip_seconds,
            h100e_seconds=rec.h100e_seconds))

    def list(self, *, org_id: str | None = None, job_id: str | None = None,
             start: datetime | None = None, end: datetime | None = None) -> list[UsageRecord]:
        query = select(t).order_by(t.c.interval_start, t.c.id)
        if org_id is not None:
            query = query.where(t.c.org_id == org_id)
        if job_id is not None:
            query = query.where(t.c.job_id == job_id)
        if start is not None:
            query = query.where(t.c.interval_start >= start)
        if end is not None:
            query = query.where(t.c.interval_start < end)
        return [_record(r) for r in self.conn.execute(query)]

    def _day(self, column: Any) -> ColumnElement[Any]:
        """The UTC calendar day of a stored datetime, in SQL."""
        if self.conn.dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS' in UTC
            return func.date(column)
        return func.date(func.timezone("UTC", column))

    def daily_sums(self, *, start: datetime, end: datetime, org_id: str | None = None
                   ) -> tuple[dict[tuple[date, str], Decimal], builtins.list[UsageRecord]]:
        """Records starting in ``[start, end)``: h100e-seconds summed in SQL per (UTC day,
        organisation) over the records that end on the day they start, and the few others
        (across midnight, or ending at it) as records, for the caller to split exactly."""
        start_day, end_day = self._day(t.c.interval_start), self._day(t.c.interval_end)
        within = [t.c.interval_start >= start, t.c.interval_start < end]
        if org_id is not None:
            within.append(t.c.org_id == org_id)
        query = (select(start_day, t.c.org_id, func.sum(t.c.h100e_seconds))
                 .where(*within, start_day == end_day).group_by(start_day, t.c.org_id))
        sums = {(date.fromisoformat(str(day)), org): Decimal(total)
                for day, org, total in self.conn.execute(query)}
        others = self.conn.execute(select(t).where(*within, start_day != end_day))
        return sums, [_record(r) for r in others]
