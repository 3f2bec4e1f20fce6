"""Model versions (:mod:`aicenter.domain.model`): one row per version, its files and signed
card stored as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select

from aicenter.domain.model import ModelFile, ModelVersion
from aicenter.storage.tables import model_versions as t


def _row(x: Any) -> ModelVersion:
    files = tuple(ModelFile(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in x.files)
    return ModelVersion(x.id, x.org_id, x.job_id, x.name, int(x.version), files,
                        dict(x.envelope), x.registered_at)


class ModelRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, model: ModelVersion) -> None:
        self.conn.execute(insert(t).values(
            id=model.id, org_id=model.org_id, job_id=model.job_id, name=model.name,
            version=model.version,
            files=[{"path": f.path, "sha256": f.sha256, "size": f.size} for f in model.files],
            envelope=model.envelope, registered_at=model.registered_at))

    def next_version(self, org_id: str, name: str) -> int:
        """One more than the organisation's last version of ``name`` (1 for the first); the
        unique constraint refuses a second writer that raced to the same number."""
        last = self.conn.execute(select(func.max(t.c.version)).where(
            t.c.org_id == org_id, t.c.name == name)).scalar()
        return int(last or 0) + 1

    def get(self, model_id: str) -> ModelVersion | None:
        row = self.conn.execute(select(t).where(t.c.id == model_id)).first()
        return _row(row) if row is not None else None

    def of_job(self, job_id: str) -> ModelVersion | None:
        row = self.conn.execute(select(t).where(t.c.job_id == job_id)).first()
        return _row(row) if row is not None else None

    def list(self, *, org_id: str | None = None, name: str | None = None,
             limit: int = 1000) -> list[ModelVersion]:
        query = select(t).order_by(t.c.registered_at.desc(), t.c.id).limit(limit)
        if org_id is not None:
            query = query.where(t.c.org_id == org_id)
        if name is not None:
            query = query.where(t.c.name == name)
        return [_row(x) for x in self.conn.execute(query)]
