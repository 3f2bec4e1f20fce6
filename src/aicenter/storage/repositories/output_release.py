"""Output releases (:mod:`aicenter.domain.output_release`): the verdict on a data-reading
job's log and outputs, one row per job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from aicenter.domain.output_release import OutputRelease
from aicenter.storage.tables import output_releases as t


def _row(x: Any) -> OutputRelease:
    return OutputRelease(x.job_id, x.verdict, x.policy, x.reason, tuple(x.datasets),
                         tuple(x.provider_org_ids), tuple(x.findings), int(x.checked_bytes),
                         x.decided_at)


class OutputReleaseRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, release: OutputRelease) -> None:
        self.conn.execute(insert(t).values(
            job_id=release.job_id, verdict=release.verdict, policy=release.policy,
            reason=release.reason, datasets=list(release.datasets),
            provider_org_ids=list(release.provider_org_ids), findings=list(release.findings),
            checked_bytes=release.checked_bytes, decided_at=release.decided_at))

    def get(self, job_id: str) -> OutputRelease | None:
        row = self.conn.execute(select(t).where(t.c.job_id == job_id)).first()
        return _row(row) if row is not None else None

    def list(self, *, verdict: str | None = None, limit: int = 1000) -> list[OutputRelease]:
        query = select(t).order_by(t.c.decided_at.desc(), t.c.job_id).limit(limit)
        if verdict is not None:
            query = query.where(t.c.verdict == verdict)
        return [_row(x) for x in self.conn.execute(query)]
