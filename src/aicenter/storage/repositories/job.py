"""Jobs table ↔ :class:`Job`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from aicenter.domain.job import Job, JobStatus, spec_from_stored
from aicenter.storage.tables import jobs as t


def _job(row: Any) -> Job:
    return Job(
        id=row.id, org_id=row.org_id, person_id=row.person_id, grant_id=row.grant_id,
        spec=spec_from_stored(row.spec), status=JobStatus(row.status),
        idempotency_key=row.idempotency_key, hold_h100e_h=row.hold_h100e_h,
        submitted_at=row.submitted_at, chip=row.chip, chip_count=row.chip_count,
        backend=row.backend, handle=row.handle, attempts=row.attempts,
        started_at=row.started_at, finished_at=row.finished_at, metered_until=row.metered_until,
        exit_code=row.exit_code, message=row.message,
        cancel_requested=bool(row.cancel_requested), lost_runs=row.lost_runs,
        pool_id=row.pool_id, site=row.site, country=row.country,
        pending_reason=row.pending_reason, launch_failures=row.launch_failures,
    )


def _row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "org_id": job.org_id, "person_id": job.person_id,
        "grant_id": job.grant_id, "name": job.spec.name, "spec": job.spec.to_dict(),
        "priority": job.spec.priority.value, "status": job.status.value,
        "idempotency_key": job.idempotency_key, "hold_h100e_h": job.hold_h100e_h,
        "submitted_at": job.submitted_at, "chip": job.chip, "chip_count": job.chip_count,
        "backend": job.backend, "handle": job.handle, "attempts": job.attempts,
        "started_at": job.started_at, "finished_at": job.finished_at,
        "metered_until": job.metered_until, "exit_code": job.exit_code,
        "message": job.message, "cancel_requested": job.cancel_requested,
        "lost_runs": job.lost_runs, "pool_id": job.pool_id, "site": job.site,
        "country": job.country, "pending_reason": job.pending_reason,
        "launch_failures": job.launch_failures,
    }


class JobRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, job: Job) -> None:
        self.add_many([job])

    def add_many(self, jobs: list[Job]) -> None:
        """Insert jobs with one (executemany) statement."""
        if jobs:
            self.conn.execute(insert(t), [_row(job) for job in jobs])

    def get(self, job_id: str, *, lock: bool = False) -> Job | None:
        query = select(t).where(t.c.id == job_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _job(row) if row else None

    def by_idempotency_key(self, person_id: str, key: str) -> Job | None:
        row = self.conn.execute(select(t).where(t.c.person_id == person_id,
                                                t.c.idempotency_key == key)).first()
        return _job(row) if row else None

    def by_idempotency_keys(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Job]:
        """Jobs by (person id, idempotency key), for many pairs in one query."""
        if not keys:
            return {}
        # Two IN lists, not a row-value IN: PostgreSQL searches the (person, key) unique index
        # with both lists, where a row-value IN made it scan every job of the table.
        rows = self.conn.execute(select(t).where(
            t.c.person_id.in_(sorted({p for p, _ in keys})),
            t.c.idempotency_key.in_(sorted({k for _, k in keys}))))
        return {key: _job(row) for row in rows
                if (key := (row.person_id, row.idempotency_key)) in keys}

    def list(self, *, org_id: str | None = None, statuses: Iterable[JobStatus] | None = None,
             limit: int | None = None, newest_first: bool = False, offset: int = 0
             ) -> list[Job]:
        """Jobs in submission order (``newest_first``: the latest first, so a limit keeps the
        newest), from the ``offset``-th on (a page of a list)."""
        query = select(t).order_by(t.c.submitted_at.desc(), t.c.id.desc()) if newest_first \
            else select(t).order_by(t.c.submitted_at, t.c.id)
        if org_id is not None:
            query = query.where(t.c.org_id == org_id)
        if statuses is not None:
            query = query.where(t.c.status.in_([s.value for s in statuses]))
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        return [_job(r) for r in self.conn.execute(query)]

    def count(self, status: JobStatus | None = None, org_id: str | None = None) -> int:
        query = select(func.count()).select_from(t)
        if status is not None:
            query = query.where(t.c.status == status.value)
        if org_id is not None:
            query = query.where(t.c.org_id == org_id)
        return int(self.conn.execute(query).scalar_one())

    def chips_running_by_pool(self) -> dict[str, int]:
        """Chips held by running jobs, per pool (jobs placed before pools were recorded have
        no pool and are left out)."""
        rows = self.conn.execute(
            select(t.c.pool_id, func.sum(t.c.chip_count))
            .where(t.c.status == JobStatus.RUNNING.value, t.c.pool_id.is_not(None))
            .group_by(t.c.pool_id))
        return {str(pool_id): int(chips) for pool_id, chips in rows}

    def set_pending_reasons(self, reasons: dict[str, str | None]) -> None:
        """Why each queued job waits, in one statement (a round may touch thousands)."""
        if not reasons:
            return
        query = (update(t).where(t.c.id == bindparam("job_id"),
                                 t.c.status == JobStatus.QUEUED.value)
                 .values(pending_reason=bindparam("reason")))
        self.conn.execute(query, [{"job_id": k, "reason": v} for k, v in reasons.items()])

    def update(self, job_id: str, *, expect_status: JobStatus | None = None, **values: Any
               ) -> bool:
        """Set fields; with ``expect_status`` only if the job is still in that status (a
        conditional update, so two rounds can never both move the same job)."""
        for key in ("status",):
            if key in values and isinstance(values[key], JobStatus):
                values[key] = values[key].value
        query = update(t).where(t.c.id == job_id)
        if expect_status is not None:
            query = query.where(t.c.status == expect_status.value)
        return bool(self.conn.execute(query.values(**values)).rowcount)
