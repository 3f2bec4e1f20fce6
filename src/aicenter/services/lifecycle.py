"""A job's end, shared by the use cases that end jobs (cancel in :mod:`aicenter.services.job`)
and the scheduling loop (:mod:`aicenter.services.scheduling`): stopping its run on the backend
and moving it to a final status. Its own module so that neither of those imports the other."""

from __future__ import annotations

from aicenter.backends import RunHandle, StopReason
from aicenter.domain.job import Job, JobStatus
from aicenter.ledger import H100E, accounts, release_transaction
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.model import register
from aicenter.services.output_release import decide
from aicenter.storage import Tx


def finish(tx: Tx, job: Job, status: JobStatus, ctx: ServiceContext, *,
           exit_code: int | None = None, message: str = "", caller: Caller | None = None
           ) -> bool:
    """Move a job to a final status and give back the rest of its hold (one transaction).

    The release is the hold's balance, never negative: metering charges at most that balance
    (:mod:`aicenter.services.metering`) and every requeue tops the hold up from the grant or
    fails the job (:mod:`aicenter.services.scheduling`), so a negative hold is a bug and
    :func:`~aicenter.ledger.entry.release_transaction` refuses it (the job does not end)."""
    now = ctx.clock.now()
    moved = tx.jobs.update(job.id, expect_status=job.status, status=status, finished_at=now,
                           exit_code=exit_code, message=message)
    if moved:
        audit.job_change(ctx, tx, caller, "job.cancelled" if status is JobStatus.CANCELLED
                         else "job.finished", job, status=status, exit_code=exit_code,
                         message=message, was=job.status)
        remaining = tx.ledger.balance(accounts.hold(job.grant_id, job.id), H100E)
        tx.ledger.book(release_transaction(job.id, job.grant_id, remaining, now))
        release = None
        if job.spec.datasets and ctx.backend is not None:
            release = decide(tx, ctx, job)  # the output's release, decided once, as it ends
        if job.spec.outputs and ctx.backend is not None:
            register(tx, ctx, job, status, release)  # its outputs as a model version
    return bool(moved)


def stop_run(ctx: ServiceContext, job: Job, *, cancel: bool) -> None:
    """SIGTERM now, SIGKILL after the grace period (asynchronous, survives the server)."""
    if job.handle:
        ctx.backend.terminate(RunHandle.parse(job.handle),
                              StopReason.CANCEL if cancel else StopReason.PREEMPT,
                              ctx.settings.preemption_grace_s)
