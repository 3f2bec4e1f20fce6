"""Usage records table ↔ :class:`UsageRecord`."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select

from aicenter.domain.usage import UsageRecord
from aicenter.storage.tables import usage_records as t

IDS_PER_QUERY = 5000
"""Job ids bound in one query (SQLite allows 32,766 parameters)."""


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

    def job_totals(self, job_ids: Collection[str]
                   ) -> dict[str, tuple[Decimal, dict[str, Decimal]]]:
        """Per job id of ``job_ids`` that has usage: its h100e-seconds and, per chip type, the
        wall seconds it ran there (Σ chip_seconds / chip_count), summed in SQL in one query
        (per :data:`IDS_PER_QUERY` ids), grouped by job, chip and gang size so each division
        is exact."""
        totals: dict[str, tuple[Decimal, dict[str, Decimal]]] = {}
        ids = sorted(set(job_ids))
        for at in range(0, len(ids), IDS_PER_QUERY):
            query = (select(t.c.job_id, t.c.chip_id, t.c.chip_count,
                            func.sum(t.c.h100e_seconds), func.sum(t.c.chip_seconds))
                     .where(t.c.job_id.in_(ids[at:at + IDS_PER_QUERY]))
                     .group_by(t.c.job_id, t.c.chip_id, t.c.chip_count))
            for job_id, chip, count, h100e_s, chip_s in self.conn.execute(query):
                h100e, wall = totals.get(job_id, (Decimal(0), {}))
                wall[chip] = wall.get(chip, Decimal(0)) + Decimal(chip_s) / max(count, 1)
                totals[job_id] = (h100e + Decimal(h100e_s), wall)
        return totals
