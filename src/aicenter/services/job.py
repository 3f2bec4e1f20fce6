"""Jobs: admission (idempotent, never overspending a grant), listing, cancel and logs.

Admission holds the job's worst case on its grant (formula in :mod:`aicenter.domain.job`)
inside one transaction that first locks the grant's row (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite); the check ``balance(grant) ≥ hold`` and the hold
posting therefore happen atomically, so concurrent submissions can never overspend.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from sqlalchemy.exc import IntegrityError

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.grant import Grant
from aicenter.domain.job import Job, JobSpec, JobStatus
from aicenter.ledger import H100E, accounts, hold_transaction, release_transaction
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import BudgetExceededError, ConflictError
from aicenter.storage import Tx


def hold_for(ctx: ServiceContext, spec: JobSpec, grant: Grant | None = None) -> Decimal:
    """The most the job can cost in h100e-hours, over the alternatives the grant covers."""
    worst = Decimal(0)
    for alt in spec.resources:
        if grant is not None and not grant.covers(alt.chip):
            continue
        ratio = Decimal(str(ctx.performance.ratio(alt.chip, spec.workload)))
        worst = max(worst, alt.count * ratio * spec.max_duration_s / Decimal(3600))
    return worst.quantize(Decimal("0.000001"), ROUND_CEILING)


def validate_spec(ctx: ServiceContext, spec: JobSpec, pool_chips: set[str]) -> None:
    """Every alternative names a known chip that this center runs and that can do the job."""
    for i, alt in enumerate(spec.resources):
        where = f"resources[{i}].chip"
        try:
            ctx.catalog.get(alt.chip)
        except Exception as exc:
            raise InputError(str(exc), field=where) from None
        if ctx.performance.ratio(alt.chip, spec.workload) <= 0:
            raise InputError(f"{alt.chip} cannot run {spec.workload.value} jobs", field=where)
        if pool_chips and alt.chip not in pool_chips:
            raise InputError(f"this center has no pool of {alt.chip} (pools: "
                             f"{', '.join(sorted(pool_chips))})", field=where)


def _choose_grant(tx: Tx, caller: Caller, org_id: str, spec: JobSpec, grant_id: str | None,
                  ctx: ServiceContext) -> Grant:
    now = ctx.clock.now()
    if grant_id is not None:
        grant: Grant | None = tx.grants.get(grant_id)
        if grant is None or grant.org_id != org_id:
            raise NotFoundError(f"grant {grant_id} not found for organisation {org_id}")
        return grant
    chips = {a.chip for a in spec.resources}
    for grant in tx.grants.list(org_id=org_id):
        if grant.active_at(now) and any(grant.covers(c) for c in chips):
            return grant
    raise ConflictError(f"organisation {org_id} has no active grant covering "
                        f"{', '.join(sorted(chips))}; apply to a call first")


def submit(ctx: ServiceContext, caller: Caller, spec: JobSpec, *, org_id: str | None = None,
           grant_id: str | None = None, idempotency_key: str | None = None
           ) -> tuple[Job, bool]:
    """Admit a job: returns it and whether it was created (False: the idempotency key had
    already been used by this person, and the first job is returned)."""
    org_id = org_id or caller.org_id
    caller.check(ctx, "job:submit", Resource("Job", "new", org_id))
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InputError("must be 1..200 characters", field="idempotency_key")
    now = ctx.clock.now()
    try:
        with ctx.db.transaction() as tx:
            if idempotency_key:
                existing: Job | None = tx.jobs.by_idempotency_key(caller.person.id,
                                                                  idempotency_key)
                if existing is not None:
                    return existing, False
            pools = tx.pools.list()
            validate_spec(ctx, spec, {p.chip_id for p in pools})
            if spec.datasets:
                from aicenter.services.dataset import admit_datasets

                chips = {a.chip for a in spec.resources}
                admit_datasets(tx, ctx, org_id, spec,
                               [p.country for p in pools if p.chip_id in chips])
            chosen = _choose_grant(tx, caller, org_id, spec, grant_id, ctx)
            grant: Grant = tx.grants.get(chosen.id, lock=True)  # serialises spending
            if not grant.active_at(now):
                raise ConflictError(f"grant {grant.id} is {grant.status.value} or outside "
                                    f"its period")
            hold = hold_for(ctx, spec, grant)
            if hold <= 0:
                raise InputError(f"grant {grant.id} covers none of the requested chips "
                                 f"({', '.join(sorted(grant.chip_ids))})", field="resources")
            balance = tx.ledger.balance(accounts.grant(grant.id), H100E)
            if balance < hold:
                raise BudgetExceededError(
                    f"grant {grant.id} has {balance} h100e-h left; this job may use up to "
                    f"{hold} h100e-h (chips × ratio × max_duration)")
            job = Job(new_id("job"), org_id, caller.person.id, grant.id, spec, JobStatus.QUEUED,
                      idempotency_key, hold, now)
            tx.jobs.add(job)
            tx.ledger.book(hold_transaction(job.id, grant.id, hold, now), fresh=True)
            return job, True
    except IntegrityError:
        if idempotency_key:  # a concurrent retry with the same key won the race
            with ctx.db.transaction(write=False) as tx:
                winner: Job | None = tx.jobs.by_idempotency_key(caller.person.id,
                                                                idempotency_key)
            if winner is not None:
                return winner, False
        raise


def _job_or_404(tx: Tx, caller: Caller, ctx: ServiceContext, job_id: str, action: str,
                lock: bool = False) -> Job:
    job: Job | None = tx.jobs.get(job_id, lock=lock)
    caller.check(ctx, action, Resource("Job", job_id, job.org_id if job else None))
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    return job


def get_job(ctx: ServiceContext, caller: Caller, job_id: str) -> Job:
    with ctx.db.transaction(write=False) as tx:
        return _job_or_404(tx, caller, ctx, job_id, "job:read")


def list_jobs(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
              status: JobStatus | None = None, limit: int = 1000) -> list[Job]:
    if not caller.sees_all:
        org_id = org_id or caller.org_id
    caller.check(ctx, "job:read", Resource("Job", "any", org_id) if org_id else
                 Resource("Job", "any"))
    with ctx.db.transaction(write=False) as tx:
        jobs: list[Job] = tx.jobs.list(org_id=org_id,
                                       statuses=[status] if status else None, limit=limit)
    return jobs


def finish(tx: Tx, job: Job, status: JobStatus, ctx: ServiceContext, *,
           exit_code: int | None = None, message: str = "") -> bool:
    """Move a job to a final status and give back the rest of its hold (one transaction)."""
    now = ctx.clock.now()
    moved = tx.jobs.update(job.id, expect_status=job.status, status=status, finished_at=now,
                           exit_code=exit_code, message=message)
    if moved:
        remaining = tx.ledger.balance(accounts.hold(job.grant_id, job.id), H100E)
        tx.ledger.book(release_transaction(job.id, job.grant_id, remaining, now))
    return bool(moved)


def cancel(ctx: ServiceContext, caller: Caller, job_id: str) -> Job:
    """Cancel: a queued job ends at once; a running one is stopped (SIGTERM, grace, SIGKILL)
    and ends when the backend reports it stopped."""
    with ctx.db.transaction() as tx:
        job = _job_or_404(tx, caller, ctx, job_id, "job:cancel", lock=True)
        if job.status.finished:
            raise ConflictError(f"job {job_id} already {job.status.value}")
        if job.status is JobStatus.QUEUED:
            finish(tx, job, JobStatus.CANCELLED, ctx, message="cancelled while queued")
        else:
            tx.jobs.update(job.id, cancel_requested=True, message="cancel requested")
        job_id = job.id
    if ctx.backend is not None and job.status is JobStatus.RUNNING and job.handle:
        from aicenter.services.scheduling import stop_run

        stop_run(ctx, job, cancel=True)
    return get_job(ctx, caller, job_id)


@dataclass(frozen=True, slots=True)
class LogPart:
    text: str
    next_offset: int
    complete: bool


def logs(ctx: ServiceContext, caller: Caller, job_id: str, offset: int = 0) -> LogPart:
    """Log bytes of the job's current (or last) run from ``offset`` on."""
    if offset < 0:
        raise InputError("must not be negative", field="offset")
    job = get_job(ctx, caller, job_id)
    caller.check(ctx, "job:logs", Resource("Job", job.id, job.org_id))
    if not job.handle or ctx.backend is None:
        return LogPart("", offset, job.status.finished)
    from aicenter.backends import RunHandle

    chunk = ctx.backend.read_log(RunHandle.parse(job.handle), offset)
    text = chunk.data.decode("utf-8", errors="replace")
    return LogPart(text, chunk.next_offset, chunk.complete and job.status.finished)
