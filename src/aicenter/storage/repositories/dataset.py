"""Datasets of the exchange (metadata only: the records stay in the content-addressed store)
and the metered reads of each job, per dataset."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aicenter.domain.dataset import Dataset, DatasetRead, Usage
from aicenter.storage.tables import dataset_reads as r
from aicenter.storage.tables import datasets as t


def _row(x: Any) -> Dataset:
    return Dataset(x.id, x.name, x.provider_org_id, x.version, x.manifest_sha256,
                   x.manifest_path, x.domestic, x.licence_text, x.description, x.created_at,
                   dict(x.croissant), dict(x.stats), dict(x.pii_report))


def _read(x: Any) -> DatasetRead:
    return DatasetRead(x.job_id, x.dataset_id, x.org_id, x.agreement_id,
                       Usage(int(x.records), int(x.bytes), int(x.tokens)), x.updated_at)


class DatasetRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, d: Dataset) -> None:
        self.conn.execute(insert(t).values(
            id=d.id, name=d.name, provider_org_id=d.provider_org_id, version=d.version,
            manifest_sha256=d.manifest_sha256, manifest_path=d.manifest_path,
            domestic=d.domestic, licence_text=d.licence_text, description=d.description,
            croissant=d.croissant, stats=d.stats, pii_report=d.pii_report,
            created_at=d.created_at))

    def replace_version(self, d: Dataset) -> None:
        """A re-upload of the same dataset: point at the new version and its metadata."""
        self.conn.execute(update(t).where(t.c.id == d.id).values(
            version=d.version, manifest_sha256=d.manifest_sha256,
            manifest_path=d.manifest_path, domestic=d.domestic, licence_text=d.licence_text,
            description=d.description, croissant=d.croissant, stats=d.stats,
            pii_report=d.pii_report))

    def get(self, dataset_id: str) -> Dataset | None:
        row = self.conn.execute(select(t).where(t.c.id == dataset_id)).first()
        return _row(row) if row is not None else None

    def list(self, provider_org_id: str | None = None) -> list[Dataset]:
        query = select(t).order_by(t.c.id)
        if provider_org_id is not None:
            query = query.where(t.c.provider_org_id == provider_org_id)
        return [_row(x) for x in self.conn.execute(query)]

    def record_read(self, read: DatasetRead) -> None:
        """Set the metered totals of (job, dataset) — totals, not increments, so recording the
        same meter log twice changes nothing."""
        key = (r.c.job_id == read.job_id) & (r.c.dataset_id == read.dataset_id)
        values = {"org_id": read.org_id, "agreement_id": read.agreement_id,
                  "records": read.usage.records, "bytes": read.usage.bytes,
                  "tokens": read.usage.tokens, "updated_at": read.updated_at}
        if self.conn.execute(update(r).where(key).values(**values)).rowcount == 0:
            self.conn.execute(insert(r).values(job_id=read.job_id, dataset_id=read.dataset_id,
                                               **values))

    def reads(self, *, org_id: str | None = None, dataset_ids: Sequence[str] | None = None,
              job_id: str | None = None) -> builtins.list[DatasetRead]:
        query = select(r).order_by(r.c.job_id, r.c.dataset_id)
        if org_id is not None:
            query = query.where(r.c.org_id == org_id)
        if dataset_ids is not None:
            query = query.where(r.c.dataset_id.in_(dataset_ids))
        if job_id is not None:
            query = query.where(r.c.job_id == job_id)
        return [_read(x) for x in self.conn.execute(query)]
