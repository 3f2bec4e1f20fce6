"""Usage records table ↔ :class:`UsageRecord`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

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
