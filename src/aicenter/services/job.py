"""Jobs: admission (idempotent, never overspending a grant), listing, cancel and logs.

Admission holds the job's worst case on its grant (formula in :mod:`aicenter.domain.job`);
:mod:`aicenter.services.admission` does it for batches in one transaction that locks the
grants' rows first, so concurrent submissions can never overspend.
"""

from __future__ import annotations

from dataclasses import dataclass

from aicenter.backends import RunHandle
from aicenter.backends.base import Capabilities
from aicenter.backends.base import containment_notes as _notes_for
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.job import Job, JobSpec, JobStatus
from aicenter.policy import Resource
from aicenter.services import audit, output_release
from aicenter.services.admission import Submission, admit
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import ConflictError
from aicenter.services.lifecycle import finish, stop_run
from aicenter.storage import Tx


def submit(ctx: ServiceContext, caller: Caller, spec: JobSpec, *, org_id: str | None = None,
           grant_id: str | None = None, idempotency_key: str | None = None
           ) -> tuple[Job, bool]:
    """Admit a job: returns it and whether it was created (False: the idempotency key had
    already been used by this person, and the first job is returned). A batch of one of
    :func:`aicenter.services.admission.admit`."""
    outcome = admit(ctx, [Submission(spec, caller, org_id=org_id, grant_id=grant_id,
                                     idempotency_key=idempotency_key)])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome.job, outcome.created


def _job_or_404(tx: Tx, caller: Caller, ctx: ServiceContext, job_id: str, action: str,
                lock: bool = False) -> Job:
    job: Job | None = tx.jobs.get(job_id, lock=lock)
    caller.check(ctx, action, Resource("Job", job_id, job.org_id if job else None))
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    return job


def containment_notes(ctx: ServiceContext, job: Job) -> list[str]:
    """What the center's execution engine cannot guarantee for ``job`` (no kernel box, network
    not cut, limits not enforced by the center, datasets read in-process): empty where the
    engine makes every containment claim (the local backend in its box)."""
    if ctx.backend is None:  # a context without a backend (offline tools, some tests)
        return []
    caps: Capabilities = ctx.backend.capabilities
    return _notes_for(caps, reads_datasets=bool(job.spec.datasets))


def get_job(ctx: ServiceContext, caller: Caller, job_id: str) -> Job:
    with ctx.db.transaction(write=False) as tx:
        return _job_or_404(tx, caller, ctx, job_id, "job:read")


def _jobs_scope(ctx: ServiceContext, caller: Caller, org_id: str | None) -> str | None:
    """The organisation whose jobs a listing covers (None: every one, for operators and
    auditors who ask for no organisation), once the policies allow the caller to read them."""
    if not caller.sees_all:
        org_id = org_id or caller.org_id
    caller.check(ctx, "job:read", Resource("Job", "any", org_id) if org_id else
                 Resource("Job", "any"))
    return org_id


def list_jobs(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
              status: JobStatus | None = None, limit: int = 1000,
              newest_first: bool = False, offset: int = 0) -> list[Job]:
    """At most ``limit`` jobs in submission order (``newest_first``: the latest first),
    skipping the first ``offset`` (a page: :func:`count_jobs` is the total)."""
    org_id = _jobs_scope(ctx, caller, org_id)
    with ctx.db.transaction(write=False) as tx:
        jobs: list[Job] = tx.jobs.list(org_id=org_id, statuses=[status] if status else None,
                                       limit=limit, newest_first=newest_first, offset=offset)
    return jobs


def count_jobs(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
               status: JobStatus | None = None) -> int:
    """How many jobs :func:`list_jobs` would list without a limit."""
    org_id = _jobs_scope(ctx, caller, org_id)
    with ctx.db.transaction(write=False) as tx:
        return int(tx.jobs.count(status, org_id))


def cancel(ctx: ServiceContext, caller: Caller, job_id: str) -> Job:
    """Cancel: a queued job ends at once; a running one is stopped (SIGTERM, grace, SIGKILL)
    and ends when the backend reports it stopped."""
    with ctx.db.transaction() as tx:
        job = _job_or_404(tx, caller, ctx, job_id, "job:cancel", lock=True)
        if job.status.finished:
            raise ConflictError(f"job {job_id} already {job.status.value}")
        if job.status is JobStatus.QUEUED:
            finish(tx, job, JobStatus.CANCELLED, ctx, message="cancelled while queued",
                   caller=caller)
        else:
            tx.jobs.update(job.id, cancel_requested=True, message="cancel requested")
            audit.job_change(ctx, tx, caller, "job.cancel_requested", job)
        job_id = job.id
    if ctx.backend is not None and job.status is JobStatus.RUNNING and job.handle:
        stop_run(ctx, job, cancel=True)
    return get_job(ctx, caller, job_id)


@dataclass(frozen=True, slots=True)
class LogPart:
    text: str
    next_offset: int
    complete: bool


def logs(ctx: ServiceContext, caller: Caller, job_id: str, offset: int = 0) -> LogPart:
    """Log bytes of the job's current (or last) run from ``offset`` on.

    A job that read licensed datasets gets its log only once it has ended and the log was
    checked against the records it was served (:mod:`aicenter.services.output_release`):
    HTTP 409 while it runs, the log as it is or redacted after, or HTTP 403 with the reason
    when it is withheld."""
    if offset < 0:
        raise InputError("must not be negative", field="offset")
    job = get_job(ctx, caller, job_id)
    caller.check(ctx, "job:logs", Resource("Job", job.id, job.org_id))
    if job.spec.datasets:
        if not job.status.finished:
            raise ConflictError(
                f"job {job_id} reads licensed datasets: its log is released when it has ended "
                "and the log has been checked against the records it was served")
        release = output_release.release_of(ctx, job)
        redacted = output_release.released_log(ctx, job, release, offset)
        if redacted is not None:
            data, next_offset, at_end = redacted
            return LogPart(data.decode("utf-8", errors="replace"), next_offset, at_end)
    if not job.handle or ctx.backend is None:
        return LogPart("", offset, job.status.finished)
    chunk = ctx.backend.read_log(RunHandle.parse(job.handle), offset)
    text = chunk.data.decode("utf-8", errors="replace")
    return LogPart(text, chunk.next_offset, chunk.complete and job.status.finished)
