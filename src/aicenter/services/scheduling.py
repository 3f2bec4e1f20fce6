"""The scheduling loop: each round polls running jobs, meters them, builds a snapshot and a
queue, calls the scheduler's ``schedule()`` and carries out its placements on the backend.

Restart safety: everything is in the database or the backend. A run is launched before the
job row says so; if the server dies in between, :func:`recover` finds the run through the
backend's ``list_runs()`` (run ids are ``<job id>-<attempt>``) and adopts it. Jobs whose run is
LOST go back to the queue.

Launching never blocks the queue: a job whose launch can never succeed fails with the reason
and its hold is released; one whose backend is busy or unreachable stays queued; either way
the round goes on with the other placements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from aicenter.backends import LaunchRequest, RunHandle, RunState, RunStatus, StopReason
from aicenter.backends.cgroups import JobLimits
from aicenter.domain.errors import InputError
from aicenter.domain.job import Job, JobStatus, check_workdir
from aicenter.domain.job import PriorityClass as JobPriority
from aicenter.domain.pool import Pool as CenterPool
from aicenter.domain.pool import PoolState
from aicenter.ledger import H100E, accounts, top_up_transaction
from aicenter.scheduler import (
    ChipDemand,
    JobProgress,
    Policy,
    Pool,
    PriorityClass,
    SchedulerConfig,
    Snapshot,
    Tenant,
    ThroughputMatrix,
    build_policy,
)
from aicenter.scheduler import Job as SchedJob
from aicenter.services.admission import limit_policy
from aicenter.services.context import ServiceContext
from aicenter.services.job import finish
from aicenter.services.metering import exhausted_message, is_exhausted, meter_job
from aicenter.services.pool import sync_slots
from aicenter.storage import Tx

log = logging.getLogger("aicenter.scheduling")

NODE_SIZE = 8
_DOMESTIC = "KR"
"""The scheduler's residency for jobs reading domestic data: the domestic country (the
scheduler takes one country; :data:`aicenter.exchange.licence.DOMESTIC_COUNTRIES` has one)."""
_PRIORITY = {JobPriority.CHASE_TEAM: PriorityClass.CHASE, JobPriority.NORMAL:
             PriorityClass.STANDARD, JobPriority.BEST_EFFORT: PriorityClass.BEST_EFFORT}


@dataclass
class RoundReport:
    launched: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)
    metered: int = 0


def make_policy(ctx: ServiceContext) -> Policy:
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    config = SchedulerConfig(round_s=max(ctx.settings.scheduler_interval_s, 1.0),
                             resolve_min_interval_s=0.0)
    return build_policy(ctx.settings.scheduler_policy, matrix, config)


def run_id_of(job: Job, alternative: int) -> str:
    """``<job id>-<attempt>-<alternative index>``: enough to adopt a run after a crash."""
    return f"{job.id}-{job.attempts + 1}-{alternative}"


def parse_run_id(run_id: str) -> tuple[str, int, int] | None:
    """(job id, attempt, alternative index) of a run id, or None for a foreign run."""
    parts = run_id.split("-")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


def stop_run(ctx: ServiceContext, job: Job, *, cancel: bool) -> None:
    """SIGTERM now, SIGKILL after the grace period (asynchronous, survives the server)."""
    if job.handle:
        ctx.backend.terminate(RunHandle.parse(job.handle),
                              StopReason.CANCEL if cancel else StopReason.PREEMPT,
                              ctx.settings.preemption_grace_s)


def _settle(ctx: ServiceContext, job_id: str, status: RunStatus, report: RoundReport) -> None:
    """A run ended: meter to its end, then finish, retry or requeue the job.

    A requeue (retry, preemption, lost run) first tops the job's hold up to one attempt's
    worst case from its grant (:func:`_top_up`); if the grant cannot, the job ends FAILED
    ("budget exhausted: ...") instead and what is left of its hold goes back. A job whose
    hold ran out while it ran (metering capped a charge) ends FAILED with that reason, never
    requeued; one that succeeded meanwhile stays SUCCEEDED."""
    now = ctx.clock.now()
    with ctx.db.transaction() as tx:
        job: Job | None = tx.jobs.get(job_id, lock=True)
        if job is None or job.status is not JobStatus.RUNNING:
            return
        end = min(status.ended_at or now, now)
        if job.metered_until is not None and end < job.metered_until:
            end = job.metered_until
        metered = meter_job(tx, ctx, job, end)
        if metered is not None:
            report.metered += 1
        exhausted = is_exhausted(job) or (metered is not None and metered.exhausted)
        state = status.state
        retry = state is RunState.FAILED and job.attempts <= job.spec.max_retries
        lost = state is RunState.LOST
        if lost and job.lost_runs >= ctx.settings.max_lost_runs:
            status = RunStatus(RunState.FAILED, message=(
                f"run lost (runner or node died without an exit) {job.lost_runs + 1} times; "
                f"not requeued again (max_lost_runs {ctx.settings.max_lost_runs})"))
            state, lost = RunState.FAILED, False
        requeue = state is RunState.PREEMPTED or lost or retry
        if exhausted and state is not RunState.SUCCEEDED:
            requeue = False
            state, status = RunState.FAILED, replace(status, message=exhausted_message(
                job.grant_id))
        elif requeue and not job.cancel_requested:
            shortfall = _top_up(tx, job, now)
            if shortfall is not None:
                requeue = False
                state, status = RunState.FAILED, replace(status, message=shortfall)
        if job.spec.datasets:  # royalties are booked once, when the job ends for good
            from aicenter.services.royalty import record_reads

            record_reads(tx, ctx, job, final=not requeue or job.cancel_requested)
        if requeue:
            if job.cancel_requested:
                finish(tx, job, JobStatus.CANCELLED, ctx, exit_code=status.exit_code,
                       message="cancelled")
                report.finished.append(job.id)
                return
            tx.jobs.update(job.id, expect_status=JobStatus.RUNNING, status=JobStatus.QUEUED,
                           chip=None, chip_count=0, handle=None, started_at=None,
                           metered_until=None, lost_runs=job.lost_runs + int(lost),
                           message=f"requeued after {state.value} run {job.attempts}")
            report.requeued.append(job.id)
            return
        final = {RunState.SUCCEEDED: JobStatus.SUCCEEDED, RunState.CANCELLED:
                 JobStatus.CANCELLED}.get(state, JobStatus.FAILED)
        finish(tx, job, final, ctx, exit_code=status.exit_code, message=status.message)
        report.finished.append(job.id)


def poll_running(ctx: ServiceContext, report: RoundReport) -> None:
    """Check every running job on the backend; meter the live ones every metering interval."""
    with ctx.db.transaction(write=False) as tx:
        running: list[Job] = tx.jobs.list(statuses=[JobStatus.RUNNING])
    now = ctx.clock.now()
    for job in running:
        if not job.handle:
            continue
        handle = RunHandle.parse(job.handle)
        status = ctx.backend.status(handle)
        if job.started_at is None and status.state is not RunState.PENDING \
                and status.started_at is not None:
            job = _engine_started(ctx, job, min(status.started_at, now))
        if status.state is RunState.LOST:
            # what is left of the run (a command whose runner died) must not go on using
            # chips that are about to be given to the job's next attempt, unmetered
            ctx.backend.terminate(handle, StopReason.CANCEL, 0)
        if status.is_final:
            _settle(ctx, job.id, status, report)
            continue
        if job.cancel_requested or is_exhausted(job):  # again after a restart, if need be
            stop_run(ctx, job, cancel=True)
        since = job.metered_until or job.started_at or now
        if (now - since).total_seconds() >= ctx.settings.metering_interval_s:
            with ctx.db.transaction() as tx:
                fresh = tx.jobs.get(job.id, lock=True)
                metered = meter_job(tx, ctx, fresh, now) if fresh is not None else None
                if metered is not None:
                    report.metered += 1
                if fresh is not None and fresh.spec.datasets:
                    from aicenter.services.royalty import record_reads

                    record_reads(tx, ctx, fresh, final=False)
            if metered is not None and metered.exhausted:  # its hold is spent: stop it now
                stop_run(ctx, job, cancel=True)


def _engine_started(ctx: ServiceContext, job: Job, at: datetime) -> Job:
    """The first poll that sees the run started: usage counts from the engine's start, not
    from the launch (a run waiting in the engine's queue uses no chips)."""
    with ctx.db.transaction() as tx:
        tx.jobs.update(job.id, expect_status=JobStatus.RUNNING, started_at=at,
                       metered_until=at)
    return replace(job, started_at=at, metered_until=at)


def _snapshot(ctx: ServiceContext, jobs: list[Job]
              ) -> tuple[Snapshot, list[JobProgress], list[Job]]:
    """The scheduler's view: pools, tenants and the jobs' demands; and the queued jobs no pool
    may run. A job's demand holds only the alternatives its grant covers (admission held the
    budget for those alone). A job naming a dataset tagged domestic may only be placed on
    pools in a domestic country (its reader would get no grant anywhere else): its residency
    is that country and alternatives with no domestic pool are left out of its demand; if
    none is left, it is stranded. Only active pools are offered; a job running on a draining
    pool is left out of the queue, so it runs on to its end and nothing is moved there."""
    from aicenter.exchange.licence import DOMESTIC_COUNTRIES

    with ctx.db.transaction(write=False) as tx:
        pools = tx.pools.list()
        orgs = {o.id: o for o in tx.orgs.list()}
        grants = {g.id: g for g in tx.grants.list()}
        named = {d for job in jobs for d in job.spec.datasets}
        domestic_data = {d for d in named if (row := tx.datasets.get(d)) and row.domestic}
    pool_of_chip: dict[str, str] = {}
    domestic_chips: set[str] = set()
    closed = {p.id for p in pools if not p.takes_jobs}  # draining
    sched_pools = []
    for p in pools:
        if p.id in closed:
            continue
        if p.country in DOMESTIC_COUNTRIES:
            domestic_chips.add(p.chip_id)
        pool_of_chip.setdefault(p.chip_id, p.id)
        acc = ctx.catalog.get(p.chip_id)
        sched_pools.append(Pool(p.id, p.chip_id, p.chip_count, min(NODE_SIZE, p.chip_count),
                                country=p.country, memory_gib=acc.memory_gb,
                                h100e_per_chip=ctx.performance.best_ratio(p.chip_id)))
    tenants = {org_id: Tenant(org_id, weight=2.0 if org.chase_team else 1.0)
               for org_id, org in orgs.items()}
    queue = []
    stranded = []
    for job in jobs:
        if job.status is JobStatus.RUNNING and job.pool_id in closed:
            continue
        domestic_only = not domestic_data.isdisjoint(job.spec.datasets)
        grant = grants.get(job.grant_id)
        demand = tuple(ChipDemand(a.chip, a.count) for a in job.spec.resources
                       if a.chip in pool_of_chip
                       and (grant is None or grant.covers(a.chip))
                       and not (domestic_only and a.chip not in domestic_chips))
        if not demand:
            if domestic_only and job.status is JobStatus.QUEUED and \
                    any(a.chip in pool_of_chip for a in job.spec.resources):
                stranded.append(job)
            continue
        first = job.spec.resources[0]
        work = (job.spec.max_duration_s * first.count *
                ctx.performance.ratio(first.chip, job.spec.workload))
        sched_job = SchedJob(job.id, job.org_id, job.spec.workload.value, demand,
                             max(work, 1.0), job.submitted_at.timestamp(),
                             priority_class=_PRIORITY[job.spec.priority],
                             residency=_DOMESTIC if domestic_only else None)
        running_on = (job.pool_id or pool_of_chip.get(job.chip)) \
            if job.status is JobStatus.RUNNING and job.chip else None
        queue.append(JobProgress(sched_job, max(work, 1.0), running_on=running_on))
    snapshot = Snapshot(tuple(sched_pools), tenants, chase_share=ctx.settings.chase_share)
    return snapshot, queue, stranded


def _fail_stranded(ctx: ServiceContext, jobs: list[Job], report: RoundReport) -> None:
    """Queued jobs reading domestic data whose chips are only in foreign pools end now, with
    the reason, rather than wait for a pool that may never come."""
    for job in jobs:
        with ctx.db.transaction() as tx:
            fresh = tx.jobs.get(job.id, lock=True)
            if fresh is None or fresh.status is not JobStatus.QUEUED:
                continue
            chips = ", ".join(a.chip for a in job.spec.resources)
            finish(tx, fresh, JobStatus.FAILED, ctx, message=(
                "no data grant: the job reads a dataset tagged domestic and no pool in a "
                f"domestic country has its chips ({chips})"))
        report.finished.append(job.id)


_BUSY_FIELDS = frozenset({"chip_count", "device_ids", "run_id"})
"""Fields of a backend's InputError that are about this moment, not the request: no free
slots yet (a preempted run is still in its grace period) or a run id already used (a run
launched but not yet adopted, which :func:`recover` adopts). The job stays queued."""


def _fail_launch(ctx: ServiceContext, job: Job, message: str, report: RoundReport) -> None:
    """A launch that can never succeed: the job fails with the reason and its hold is
    released (:func:`aicenter.services.job.finish`), rather than wait in the queue for ever."""
    log.warning("job %s failed at launch: %s", job.id, message)
    with ctx.db.transaction() as tx:
        fresh = tx.jobs.get(job.id, lock=True)
        if fresh is None or fresh.status is not JobStatus.QUEUED:
            return
        finish(tx, fresh, JobStatus.FAILED, ctx, message=message)
    report.finished.append(job.id)


def _launch(ctx: ServiceContext, job: Job, pool_id: str, chip: str, count: int,
            report: RoundReport) -> None:
    """Start one placement on the pool the scheduler chose (its country is the job's, for
    data grants). A request the backend can never honour (a bad stored spec, a workdir
    outside the job's area, an InputError of the backend not about free slots) fails the
    job; a backend that is busy or unreachable, or a pool drained since the snapshot, leaves
    it queued for the next round."""
    with ctx.db.transaction(write=False) as tx:
        pool: CenterPool | None = tx.pools.get(pool_id)
    if pool is None or not pool.takes_jobs:
        _keep_queued(ctx, job, InputError(f"pool {pool_id} no longer takes jobs"))
        return
    spec = job.spec
    index = next(i for i, a in enumerate(spec.resources) if a.chip == chip)
    run_id = run_id_of(job, index)
    try:  # settings may have changed since admission, and old specs were checked less
        workdir = check_workdir(spec.workdir, job.org_id, ctx.settings.project_root,
                                reads_data=bool(spec.datasets))
        limits = limit_policy(ctx.settings).effective(spec.limits, count)
    except InputError as exc:
        _fail_launch(ctx, job, f"launch failed: {exc}", report)
        return
    env = {**spec.env, "AICENTER_JOB_ID": job.id, "AICENTER_JOB_NAME": spec.name}
    sidecar: tuple[str, ...] = ()
    sidecar_dir: Path | None = None
    if spec.datasets:
        from aicenter.exchange.licence import AccessDeniedError
        from aicenter.services.dataset import launch_data

        try:  # the server's reader variables win over the spec's env
            data = launch_data(ctx, job, pool.country, run_id,
                               gateway=getattr(ctx.backend, "runs_sidecars", False))
            env.update(data.env)
            sidecar, sidecar_dir = data.sidecar, data.sidecar_dir
        except AccessDeniedError as exc:  # e.g. a domestic dataset placed on a foreign pool
            _fail_launch(ctx, job, f"no data grant: {exc}", report)
            return
    from aicenter.services.dataset import no_network

    try:
        request = LaunchRequest(
            run_id=run_id, command=("/bin/sh", "-c", spec.command), chip_type=chip,
            chip_count=count, working_dir=Path(workdir) if workdir is not None else None,
            env=env, max_duration_s=spec.max_duration_s,
            grace_period_s=ctx.settings.preemption_grace_s, sidecar=sidecar,
            sidecar_dir=sidecar_dir, egress=_egress(ctx, job),
            no_network=no_network(ctx.settings.job_network, bool(spec.datasets)),
            account=job.org_id,
            limits=JobLimits(limits.memory_bytes, limits.cpu_millis, limits.pids))
    except (InputError, ValueError) as exc:
        _fail_launch(ctx, job, f"launch failed: {exc}", report)
        return
    try:
        handle = ctx.backend.launch(request)
    except InputError as exc:
        if exc.field not in _BUSY_FIELDS:
            _fail_launch(ctx, job, f"launch failed: {exc}", report)
            return
        _keep_queued(ctx, job, exc)
        return
    except Exception as exc:  # backend unavailable or busy: stays queued, next round retries
        _keep_queued(ctx, job, exc)
        return
    _adopt(ctx, job, handle, chip, count, report, pool)


def _egress(ctx: ServiceContext, job: Job) -> bool:
    """Whether the operator lets this job reach the outside network (``job_egress``); never
    a job that reads datasets."""
    from aicenter.backends.egress import egress_allowed

    settings = ctx.settings
    return egress_allowed(settings.job_egress, reads_data=bool(job.spec.datasets),
                          org_id=job.org_id, priority_class=job.spec.priority.value,
                          orgs=settings.job_egress_orgs,
                          priority_classes=settings.job_egress_priority_classes)


def _keep_queued(ctx: ServiceContext, job: Job, exc: Exception) -> None:
    with ctx.db.transaction() as tx:
        tx.jobs.update(job.id, message=f"launch failed: {exc}")
    log.warning("launch of %s failed, retried next round: %s", job.id, exc)


def _adopt(ctx: ServiceContext, job: Job, handle: RunHandle, chip: str, count: int,
           report: RoundReport, pool: CenterPool | None) -> None:
    """The job runs: its record gets the run and the pool, site and country it runs on. The
    pool's row is locked first, so a removal of the pool and this never interleave: a pool
    removed meanwhile gets no job (the run is stopped, the job stays queued). ``started_at``
    stays empty (nothing is metered) until a poll sees the engine start the run
    (:func:`poll_running`)."""
    with ctx.db.transaction() as tx:
        current = tx.pools.get(pool.id, lock=True) if pool is not None else None
        if pool is not None and (current is None or current.state is PoolState.REMOVED):
            moved = False
        else:
            moved = tx.jobs.update(
                job.id, expect_status=JobStatus.QUEUED, status=JobStatus.RUNNING,
                handle=str(handle), chip=chip, chip_count=count, backend=handle.backend,
                started_at=None, metered_until=None, attempts=job.attempts + 1, message="",
                pool_id=current.id if current else None, site=current.site if current else None,
                country=current.country if current else None)
    if moved:
        report.launched.append(job.id)
    else:  # cancelled, or its pool removed, meanwhile
        ctx.backend.terminate(handle, StopReason.CANCEL, 0)


def run_round(ctx: ServiceContext, policy: Policy) -> RoundReport:
    """One round: poll and meter, schedule, launch and preempt."""
    report = RoundReport()
    sync_slots(ctx)  # pools may have changed through any worker of the API
    poll_running(ctx, report)
    with ctx.db.transaction(write=False) as tx:
        jobs: list[Job] = tx.jobs.list(statuses=[JobStatus.QUEUED, JobStatus.RUNNING])
    if not any(j.status is JobStatus.QUEUED for j in jobs):
        return report
    snapshot, queue, stranded = _snapshot(ctx, jobs)
    _fail_stranded(ctx, stranded, report)
    if not snapshot.pools or not queue:
        return report
    allocation = policy.schedule(snapshot, queue, ctx.clock.now().timestamp())
    by_id = {j.id: j for j in jobs}
    for placement in allocation.placements:
        job = by_id.get(placement.job_id)
        if job is not None and job.status is JobStatus.QUEUED:
            try:
                _launch(ctx, job, placement.pool_id, placement.chip_type, placement.count,
                        report)
            except Exception:  # one job's unforeseen error must not stop everyone's round
                log.exception("launch of %s failed; retried next round", job.id)
    for job_id in allocation.preempted:
        job = by_id.get(job_id)
        if job is not None and job.status is JobStatus.RUNNING:
            stop_run(ctx, job, cancel=False)
            report.preempted.append(job_id)
    return report


def recover(ctx: ServiceContext) -> list[str]:
    """After a (re)start: adopt runs the backend holds for jobs the database still shows
    queued (the server died between launch and commit). Running jobs need nothing: the next
    poll re-attaches to them through their stored handle."""
    adopted = []
    for handle in ctx.backend.list_runs():
        parsed = parse_run_id(handle.run_id)
        if parsed is None:
            continue
        job_id, _attempt, index = parsed
        with ctx.db.transaction(write=False) as tx:
            job: Job | None = tx.jobs.get(job_id)
        if job is None or job.status is not JobStatus.QUEUED or \
                run_id_of(job, index) != handle.run_id or index >= len(job.spec.resources):
            continue
        status = ctx.backend.status(handle)
        report = RoundReport()
        alt = job.spec.resources[index]
        with ctx.db.transaction(write=False) as tx:  # the run id does not name the pool
            pools = sorted(tx.pools.list(), key=lambda p: not p.takes_jobs)
        pool = next((p for p in pools if p.chip_id == alt.chip), None)
        _adopt(ctx, job, handle, alt.chip, alt.count, report, pool)
        if report.launched:
            adopted.append(job.id)
            if status.started_at is not None:
                with ctx.db.transaction() as tx:
                    tx.jobs.update(job.id, started_at=status.started_at,
                                   metered_until=status.started_at)
    return adopted


def _top_up(tx: Tx, job: Job, now: datetime) -> str | None:
    """Top a requeued job's hold up to one attempt's worst case, ``h = job.hold_h100e_h``
    (:func:`aicenter.services.admission.hold_for`), in the requeue's transaction; None if
    done, else the reason the grant cannot (the job then fails).

        t = h − balance(hold:G:J)        booked only if t > 0 and balance(grant:G) ≥ t

    Why a top-up per requeue rather than a hold of (1 + max_retries) × h at admission:
    preemptions and lost runs are requeued too, and their number has no bound a hold could
    cover; a job that succeeds at once (the usual case) would keep budget its tenant could
    not use; and one rule covers every way back into the queue. The grant's row is locked
    first, as admission locks it (``tx.grants.lock_for``), so concurrent requeues and
    admissions see each other's holds and can never overspend it."""
    tx.grants.lock_for(set(), {job.grant_id})
    attempt = job.attempts + 1
    left = tx.ledger.balance(accounts.hold(job.grant_id, job.id), H100E)
    need_h100e_h = job.hold_h100e_h - left
    if need_h100e_h <= 0:
        return None
    available_h100e_h = tx.ledger.balance(accounts.grant(job.grant_id), H100E)
    if available_h100e_h < need_h100e_h:
        return (f"budget exhausted: grant {job.grant_id} has {available_h100e_h} h100e-h left; "
                f"attempt {attempt} may use up to {job.hold_h100e_h} h100e-h and the job's "
                f"hold has {left}, so it needs {need_h100e_h} more (not requeued)")
    if not tx.ledger.book(top_up_transaction(job.id, job.grant_id, attempt, need_h100e_h,
                                             now)):
        raise RuntimeError(f"hold of job {job.id} was already topped up for attempt "
                           f"{attempt}: attempts must grow with every launch")
    return None
