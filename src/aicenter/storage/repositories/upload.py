"""Uploads table: files waiting for (or going through) the background ingest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aicenter.domain.upload import Upload, UploadStatus
from aicenter.storage.tables import uploads as t


def _row(x: Any) -> Upload:
    return Upload(x.id, x.dataset_id, x.provider_org_id, x.person_id, x.source_path,
                  UploadStatus(x.status), x.created_at, dict(x.request), x.message,
                  x.version, x.finished_at)


class UploadRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, u: Upload) -> None:
        self.conn.execute(insert(t).values(
            id=u.id, dataset_id=u.dataset_id, provider_org_id=u.provider_org_id,
            person_id=u.person_id, request=u.request, source_path=u.source_path,
            status=u.status.value, message=u.message, version=u.version,
            created_at=u.created_at, finished_at=u.finished_at))

    def get(self, upload_id: str) -> Upload | None:
        row = self.conn.execute(select(t).where(t.c.id == upload_id)).first()
        return _row(row) if row else None

    def list(self, org_id: str | None = None, *,
             statuses: tuple[UploadStatus, ...] | None = None) -> list[Upload]:
        query = select(t).order_by(t.c.created_at, t.c.id)
        if org_id is not None:
            query = query.where(t.c.provider_org_id == org_id)
        if statuses is not None:
            query = query.where(t.c.status.in_([s.value for s in statuses]))
        return [_row(r) for r in self.conn.execute(query)]

    def move(self, upload_id: str, expect: tuple[UploadStatus, ...], status: UploadStatus,
             *, message: str = "", version: str | None = None,
             finished_at: datetime | None = None) -> bool:
        """Set the status if the upload is still in one of ``expect`` (a conditional update:
        two runners can never both claim or finish the same upload)."""
        result = self.conn.execute(
            update(t).where(t.c.id == upload_id, t.c.status.in_([s.value for s in expect]))
            .values(status=status.value, message=message, version=version,
                    finished_at=finished_at))
        return bool(result.rowcount)
