"""The database's side of the compliance reports: the facts of
:mod:`aicenter.ledger.audit.compliance` joined from the tables (reads with their job, dataset
and agreement; usage intervals with the country their job ran in), one query each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text

from aicenter.ledger.audit.compliance import PiiRow, ReadRow, UsageFact, pii_row, pii_summary
from aicenter.storage.tables import agreements as a
from aicenter.storage.tables import dataset_reads as r
from aicenter.storage.tables import datasets as d
from aicenter.storage.tables import jobs as j
from aicenter.storage.tables import usage_records as u

BATCH = 5000
"""Rows fetched at a time: a report over 10^5 reads does not hold every row twice."""


class ComplianceRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def snapshot(self) -> None:
        """Make the rest of this transaction read one snapshot (call it first): both sides
        of a report must see the same commits. PostgreSQL's default isolation would let each
        statement see newer ones; SQLite in WAL mode already reads one snapshot from the
        transaction's first read."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))

    def reads(self, *, provider_org_id: str | None = None, dataset_id: str | None = None
              ) -> Iterator[ReadRow]:
        """Every (job, dataset) read with who submitted the job, where it ran (its last
        placement), the agreement's purpose and the dataset's provider and domestic flag."""
        query = (select(r.c.dataset_id, d.c.provider_org_id, r.c.org_id, j.c.person_id,
                        r.c.job_id, r.c.agreement_id, a.c.body, j.c.pool_id, j.c.site,
                        j.c.country, d.c.domestic, r.c.records, r.c.bytes, r.c.tokens,
                        r.c.updated_at)
                 .select_from(r.join(j, j.c.id == r.c.job_id)
                              .join(d, d.c.id == r.c.dataset_id)
                              .outerjoin(a, a.c.id == r.c.agreement_id))
                 .order_by(r.c.dataset_id, r.c.job_id))
        if provider_org_id is not None:
            query = query.where(d.c.provider_org_id == provider_org_id)
        if dataset_id is not None:
            query = query.where(r.c.dataset_id == dataset_id)
        for x in self._rows(query):
            body = x.body or {}
            yield ReadRow(x.dataset_id, x.provider_org_id, x.org_id, x.person_id, x.job_id,
                          x.agreement_id, body.get("purpose"), x.pool_id, x.site, x.country,
                          bool(x.domestic), int(x.records), int(x.bytes), int(x.tokens),
                          x.updated_at)

    def pii(self, *, provider_org_id: str | None = None, dataset_id: str | None = None
            ) -> list[PiiRow]:
        """Each dataset's current version with the PII handling its ingest recorded."""
        query = select(d.c.id, d.c.provider_org_id, d.c.version, d.c.pii_report,
                       d.c.stats).order_by(d.c.id)
        if provider_org_id is not None:
            query = query.where(d.c.provider_org_id == provider_org_id)
        if dataset_id is not None:
            query = query.where(d.c.id == dataset_id)
        return [pii_row(x.id, x.provider_org_id, x.version,
                        pii_summary(dict(x.pii_report or {}), dict(x.stats or {})))
                for x in self.conn.execute(query)]

    def usage(self, *, org_id: str | None = None, start: datetime | None = None,
              end: datetime | None = None) -> Iterator[UsageFact]:
        """Usage intervals (by their start, ``end`` exclusive) with the country their job ran
        in."""
        query = (select(u.c.org_id, u.c.chip_id, j.c.country, u.c.interval_start,
                        u.c.chip_seconds, u.c.h100e_seconds)
                 .select_from(u.join(j, j.c.id == u.c.job_id))
                 .order_by(u.c.interval_start, u.c.id))
        if org_id is not None:
            query = query.where(u.c.org_id == org_id)
        if start is not None:
            query = query.where(u.c.interval_start >= start)
        if end is not None:
            query = query.where(u.c.interval_start < end)
        for x in self._rows(query):
            yield UsageFact(x.org_id, x.chip_id, x.country, x.interval_start, x.chip_seconds,
                            x.h100e_seconds)

    def _rows(self, query: Any) -> Iterator[Any]:
        result = self.conn.execute(query)
        while batch := result.fetchmany(BATCH):
            yield from batch
