"""The scheduling loop: each round polls running jobs, meters them, builds a snapshot and a
queue, calls the scheduler's ``schedule()`` and carries out its placements on the backend.

Restart safety: everything is in the database or the backend. A run is launched before the
job row says so; if the server dies in between, :func:`recover` finds the run through the
backend's ``list_runs()`` (run ids are ``<job id>-<attempt>``) and adopts it. Jobs whose run is
LOST go back to the queue.

Launching never blocks the queue: a job whose launch can never succeed fails with the reason
and its hold is released; one whose backend is busy or unreachable stays queued; one whose
launch the backend failed with an unforeseen error is tried again in the next rounds, and
fails (its hold released) after ``launch_retries`` such failures in a row; either way the
round goes on with the other placements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from aicenter.backends import (
    BackendUnavailableError,
    JobLimits,
    LaunchRequest,
    PoolTarget,
    RunHandle,
    RunState,
    RunStatus,
    StopReason,
)
from aicenter.backends.base import pool_device_ranges
from aicenter.backends.local.egress import egress_allowed
from aicenter.domain.errors import InputError
from aicenter.domain.job import Job, JobStatus, check_workdir
from aicenter.domain.licence import DOMESTIC_COUNTRIES, AccessDeniedError, DatasetTerms
from aicenter.domain.pool import Pool as CenterPool
from aicenter.domain.pool import PoolState
from aicenter.domain.share import ShareHolder
from aicenter.ledger import H100E, accounts, top_up_transaction
from aicenter.policy import data as policy_data
from aicenter.policy.authorizer import Authorizer
from aicenter.scheduler import Allocation, Policy, SchedulerConfig, ThroughputMatrix, build_policy
from aicenter.scheduler.capacity import cap_pools
from aicenter.scheduler.center import CenterPool as LivePool
from aicenter.scheduler.center import (
    CenterView,
    JobUsage,
    center_view,
    daily_samples,
    usage_samples,
)
from aicenter.scheduler.pending import PendingReason, pending_reasons
from aicenter.services import audit
from aicenter.services.admission import limit_policy
from aicenter.services.context import ServiceContext
from aicenter.services.dataset import launch_data, no_network
from aicenter.services.lifecycle import finish, stop_run
from aicenter.services.metering import (
    engine_intervals,
    exhausted_message,
    is_exhausted,
    meter_intervals,
)
from aicenter.services.pool import sync_slots
from aicenter.services.royalty import record_reads
from aicenter.storage import Tx

log = logging.getLogger("aicenter.scheduling")

NODE_SIZE = 8
USAGE_WINDOW_HALF_LIVES = 10
"""Usage older than this many half-lives weighs under 0.1 % and is not read."""


@dataclass
class RoundReport:
    launched: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)
    metered: int = 0
    migrated: list[str] = field(default_factory=list)


def make_policy(ctx: ServiceContext, restart_cost_s: float | None = None) -> Policy:
    """The live policy; ``restart_cost_s`` (default: the ``scheduler_restart_cost_s``
    setting) is what the backend really loses per stop (0 for a replay on the virtual
    backend, whose runs resume exactly where they stopped)."""
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    cost = ctx.settings.scheduler_restart_cost_s if restart_cost_s is None else restart_cost_s
    config = SchedulerConfig(round_s=max(ctx.settings.scheduler_interval_s, 1.0),
                             resolve_min_interval_s=0.0,
                             fair_share_half_life_s=ctx.settings.fair_share_half_life_days
                             * 86400.0, restart_cost_s=cost)
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
        intervals = engine_intervals(job, status, now)  # to the engine's end, exactly
        if status.ended_at is not None and job.metered_until is not None \
                and status.ended_at < job.metered_until:
            log.warning("job %s was metered to %s, past its run's end %s on %s", job.id,
                        job.metered_until, status.ended_at, job.backend)
        metered = meter_intervals(tx, ctx, job, intervals)
        report.metered += len(metered)
        exhausted = is_exhausted(job) or any(m.exhausted for m in metered)
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
            record_reads(tx, ctx, job, final=not requeue or job.cancel_requested)
        if lost:
            audit.job_change(ctx, tx, None, "job.lost", job, run=job.handle,
                             lost_runs=job.lost_runs + 1, message=status.message)
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
            audit.job_change(ctx, tx, None, "job.requeued", job, after=state,
                             attempt=job.attempts)
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
        intervals = engine_intervals(job, status, now)  # what the engine vouches for so far
        reach = intervals[-1][1] if intervals else since
        due = (reach - since).total_seconds() >= ctx.settings.metering_interval_s or (
            status.state is RunState.PENDING and reach > since)  # a requeued attempt ended
        if due:
            with ctx.db.transaction() as tx:
                fresh = tx.jobs.get(job.id, lock=True)
                done = meter_intervals(tx, ctx, fresh, intervals) if fresh is not None and \
                    fresh.status is JobStatus.RUNNING else []
                report.metered += len(done)
                metered = done[-1] if done else None
                if fresh is not None and fresh.spec.datasets:
                    record_reads(tx, ctx, fresh, final=False)
            if metered is not None and metered.exhausted:  # its hold is spent: stop it now
                stop_run(ctx, job, cancel=True)


def _engine_started(ctx: ServiceContext, job: Job, at: datetime) -> Job:
    """The first poll that sees the run started: usage counts from the engine's start, not
    from the launch (a run waiting in the engine's queue uses no chips)."""
    with ctx.db.transaction() as tx:
        if tx.jobs.update(job.id, expect_status=JobStatus.RUNNING, started_at=at,
                          metered_until=at):
            audit.job_change(ctx, tx, None, "job.started", job, at=at)
    return replace(job, started_at=at, metered_until=at)


def _view(ctx: ServiceContext, jobs: list[Job]) -> CenterView:
    """The round's snapshot, queue and stranded jobs, from the database through the one
    builder (:func:`aicenter.scheduler.center.center_view`): active pools (draining ones keep
    their jobs only), organisations with their guaranteed shares, decayed usage and quotas
    (their usable grants' balances and their jobs' holds), the grants' chip caps, calls with
    their shares, and where each job reading data may be placed (:func:`placeable_countries`)."""
    now = ctx.clock.now()
    half_life_s = ctx.settings.fair_share_half_life_days * 86400.0
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = now - timedelta(seconds=USAGE_WINDOW_HALF_LIVES * half_life_s)
    with ctx.db.transaction(write=False) as tx:
        pools = tx.pools.list()
        orgs = tx.orgs.list()
        grants = tx.grants.list()
        sums, split = tx.usage.daily_sums(start=since, end=today)
        recent = tx.usage.list(start=today)
        shares = tx.shares.list()
        named = {d for job in jobs for d in job.spec.datasets}
        terms = {d: DatasetTerms(row.id, row.provider_org_id, row.domestic)
                 for d in sorted(named) if (row := tx.datasets.get(d)) is not None}
        totals = tx.usage.job_totals([j.id for j in jobs if j.attempts > 0])
        now_usable = {accounts.grant(g.id): g.id for g in grants if g.active_at(now)}
        balances = tx.ledger.balances_of(set(now_usable), H100E)
        hold_of = {accounts.hold(j.grant_id, j.id): j.id for j in jobs}
        held = tx.ledger.balances_of(set(hold_of), H100E)
    by_grant = {g.id: g for g in grants}
    usage = [*daily_samples(sums), *usage_samples([*split, *recent], by_grant)]
    center_pools = [LivePool(p.id, p.chip_id, p.chip_count, p.country, NODE_SIZE,
                             memory_gib=ctx.catalog.get(p.chip_id).memory_gb,
                             h100e_per_chip=ctx.performance.best_ratio(p.chip_id),
                             draining=p.state is PoolState.DRAINING)
                    for p in pools if p.state is not PoolState.REMOVED]
    center_pools = engine_capped(ctx, center_pools, jobs)
    guaranteed = {s.holder_id: float(s.guaranteed_h100e) for s in shares
                  if s.holder_kind is ShareHolder.ORG}
    programme_guaranteed = {s.holder_id: float(s.guaranteed_h100e) for s in shares
                            if s.holder_kind is ShareHolder.CALL}
    return center_view(
        pools=center_pools, orgs=orgs, grants=grants, usage=usage, jobs=jobs,
        countries=placeable_countries(ctx.authz, jobs, terms,
                                      {p.country for p in center_pools}),
        ratio=ctx.performance.ratio, now=now, half_life_s=half_life_s,
        chase_share=ctx.settings.chase_share, guaranteed_h100e=guaranteed,
        programme_guaranteed_h100e=programme_guaranteed,
        grant_balances={now_usable[a]: b for a, b in balances.items()},
        holds={hold_of[a]: b for a, b in held.items()},
        done={job_id: JobUsage(float(h100e_s), {c: float(w) for c, w in wall.items()})
              for job_id, (h100e_s, wall) in totals.items()})


def engine_capped(ctx: ServiceContext, pools: list[LivePool], jobs: list[Job]
                  ) -> list[LivePool]:
    """The pools capped by the engine's own count where the backend reports one
    (:func:`aicenter.scheduler.capacity.cap_pools`): the scheduler never places onto chips
    the engine says are unavailable (a drained Slurm node, a Ray node gone). An engine that
    cannot be asked this round leaves the database's counts (its launches wait anyway)."""
    if not ctx.backend.capabilities.reports_capacity:
        return pools
    try:
        counted = ctx.backend.chip_capacity()
    except BackendUnavailableError as exc:
        log.warning("engine capacity unknown this round: %s", exc)
        return pools
    held: dict[str, int] = {}
    for job in jobs:
        if job.status is JobStatus.RUNNING and job.pool_id is not None:
            held[job.pool_id] = held.get(job.pool_id, 0) + job.chip_count
    return cap_pools(pools, {chip: c.available for chip, c in counted.items()}, held)


def placeable_countries(authz: Authorizer, jobs: list[Job], datasets: dict[str, DatasetTerms],
                        pool_countries: set[str]) -> dict[str, frozenset[str]]:
    """The countries each job reading data may be placed in, where the policies restrict it
    (``job:place``): those allowed for every dataset it names, asked once per (dataset,
    country) a round and memoised by the authoriser across rounds, so a round costs one Cedar
    evaluation per new pair, a look-up per known pair and a set intersection per job. Jobs
    the policies do not restrict (and jobs naming no dataset) are absent: they may run
    anywhere."""
    everywhere = frozenset(pool_countries)
    def may_place(terms: DatasetTerms, country: str) -> bool:
        return policy_data.placement(authz, terms, DOMESTIC_COUNTRIES, country).allowed
    per_dataset = {d: frozenset(c for c in everywhere if may_place(terms, c))
                   for d, terms in datasets.items()}
    restricted: dict[str, frozenset[str]] = {}
    for job in jobs:
        allowed = everywhere
        for dataset_id in job.spec.datasets:
            allowed = allowed & per_dataset.get(dataset_id, everywhere)
        if allowed != everywhere:
            restricted[job.id] = allowed
    return restricted


def _record_pending(ctx: ServiceContext, view: CenterView, allocation: Allocation | None,
                    jobs: list[Job]) -> None:
    """Store why every queued job that was not placed waits (``Job.pending_reason``)."""
    if allocation is None:
        reasons: dict[str, str | None] = {jp.id: PendingReason.RESOURCES.value
                                          for jp in view.queue}
    else:
        reasons = {k: v.value for k, v in
                   pending_reasons(view.snapshot, view.queue, allocation).items()}
    queued = {j.id: j.pending_reason for j in jobs if j.status is JobStatus.QUEUED}
    orgs = {j.id: j.org_id for j in jobs}
    changed = {job_id: reason for job_id, reason in reasons.items()
               if job_id in queued and queued[job_id] != reason}
    if changed:
        with ctx.db.transaction() as tx:
            tx.jobs.set_pending_reasons(changed)
            audit.changed_all(tx, [
                audit.change(ctx, None, "job.pending_reason_changed", "job", job_id,
                             orgs.get(job_id), reason=reason)
                for job_id, reason in sorted(changed.items())])


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
        fleet: list[CenterPool] = tx.pools.list()
    if pool is None or not pool.takes_jobs:
        _keep_queued(ctx, job, InputError(f"pool {pool_id} no longer takes jobs"))
        return
    target = pool_targets(fleet).get(pool.id, PoolTarget(pool.id, pool.chip_count))
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
        try:  # the server's reader variables win over the spec's env
            data = launch_data(ctx, job, pool.country, run_id,
                               gateway=ctx.backend.capabilities.runs_sidecars)
            env.update(data.env)
            sidecar, sidecar_dir = data.sidecar, data.sidecar_dir
        except AccessDeniedError as exc:  # e.g. a domestic dataset placed on a foreign pool
            _fail_launch(ctx, job, f"no data grant: {exc}", report)
            return
    try:
        request = LaunchRequest(
            run_id=run_id, command=("/bin/sh", "-c", spec.command), chip_type=chip,
            chip_count=count, working_dir=Path(workdir) if workdir is not None else None,
            env=env, max_duration_s=spec.max_duration_s,
            grace_period_s=ctx.settings.preemption_grace_s, sidecar=sidecar,
            sidecar_dir=sidecar_dir, egress=_egress(ctx, job),
            no_network=no_network(ctx.settings.job_network, bool(spec.datasets)),
            account=job.org_id, priority_class=job.spec.priority.value,
            limits=JobLimits(limits.memory_bytes, limits.cpu_millis, limits.pids),
            pool=target)
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
    except BackendUnavailableError as exc:  # unreachable or no free uid: not the job's fault
        _keep_queued(ctx, job, exc)
        return
    except Exception as exc:  # unforeseen: tried again, a bounded number of times
        log.warning("launch of %s raised", job.id, exc_info=True)
        _launch_failed(ctx, job, exc, report)
        return
    _adopt(ctx, job, handle, chip, count, report, pool)


def _launch_failed(ctx: ServiceContext, job: Job, exc: Exception, report: RoundReport) -> None:
    """The backend failed this job's launch with an unforeseen error: counted on the job;
    the job stays queued for the next round until ``launch_retries`` retries have failed
    too, then it fails with the reason and its hold is released."""
    retries = ctx.settings.launch_retries
    reason = f"{type(exc).__name__}: {exc}"
    with ctx.db.transaction() as tx:
        fresh = tx.jobs.get(job.id, lock=True)
        if fresh is None or fresh.status is not JobStatus.QUEUED:
            return
        failures = fresh.launch_failures + 1
        if failures > retries:
            finish(tx, fresh, JobStatus.FAILED, ctx, message=(
                f"launch failed {failures} times in a row (launch_retries {retries}): "
                f"{reason}"))
        else:
            tx.jobs.update(job.id, launch_failures=failures, message=(
                f"launch failed ({failures} of {retries + 1} tries), tried again next "
                f"round: {reason}"))
            audit.job_change(ctx, tx, None, "job.launch_deferred", job, reason=reason,
                             failures=failures)
    if failures > retries:
        log.warning("job %s failed at launch after %d tries: %s", job.id, failures, reason)
        report.finished.append(job.id)


def pool_targets(pools: list[CenterPool]) -> dict[str, PoolTarget]:
    """Each pool that is not removed as a launch's :class:`PoolTarget`: its id, its chips and
    its range of device indices among its chip type's slots, in the order the backend's slots
    are summed (:func:`aicenter.services.pool.slots_by_chip`)."""
    return pool_device_ranges((p.id, p.chip_id, p.chip_count) for p in pools
                              if p.state is not PoolState.REMOVED)


def _egress(ctx: ServiceContext, job: Job) -> bool:
    """Whether the operator lets this job reach the outside network (``job_egress``); never
    a job that reads datasets."""
    settings = ctx.settings
    return egress_allowed(settings.job_egress, reads_data=bool(job.spec.datasets),
                          org_id=job.org_id, priority_class=job.spec.priority.value,
                          orgs=settings.job_egress_orgs,
                          priority_classes=settings.job_egress_priority_classes)


def _keep_queued(ctx: ServiceContext, job: Job, exc: Exception) -> None:
    with ctx.db.transaction() as tx:
        tx.jobs.update(job.id, message=f"launch failed: {exc}")
        audit.job_change(ctx, tx, None, "job.launch_deferred", job, reason=str(exc))
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
                pending_reason=None, launch_failures=0,
                pool_id=current.id if current else None, site=current.site if current else None,
                country=current.country if current else None)
            if moved:
                audit.job_change(ctx, tx, None, "job.launched", job, run=str(handle),
                                 pool=current.id if current else None, chip=chip, chips=count,
                                 site=current.site if current else None,
                                 country=current.country if current else None,
                                 attempt=job.attempts + 1)
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
    if not jobs:  # the policy's state follows every round anything runs, as in simulate()
        return report
    view = _view(ctx, jobs)
    _fail_stranded(ctx, view.stranded, report)
    if not view.snapshot.pools or not view.queue:
        _record_pending(ctx, view, None, jobs)
        return report
    allocation = policy.schedule(view.snapshot, view.queue, ctx.clock.now().timestamp())
    _record_pending(ctx, view, allocation, jobs)
    by_id = {j.id: j for j in jobs}
    held = {jp.id: jp.running_on for jp in view.queue}
    for placement in allocation.placements:
        job = by_id.get(placement.job_id)
        if job is None:
            continue
        moves = job.status is JobStatus.RUNNING and held.get(job.id) not in (
            None, placement.pool_id)
        try:
            if moves:
                _migrate(ctx, job, placement.pool_id, placement.chip_type, placement.count,
                         report)
            elif job.status is JobStatus.QUEUED:
                _launch(ctx, job, placement.pool_id, placement.chip_type, placement.count,
                        report)
        except Exception:  # one job's unforeseen error must not stop everyone's round
            log.exception("launch of %s failed; retried next round", job.id)
    for job_id in allocation.preempted:
        job = by_id.get(job_id)
        if job is not None and job.status is JobStatus.RUNNING:
            stop_run(ctx, job, cancel=False)
            _record_preempted(ctx, job, "the scheduler gave its chips to another job")
            report.preempted.append(job_id)
    return report


def _migrate(ctx: ServiceContext, job: Job, pool_id: str, chip: str, count: int,
             report: RoundReport) -> None:
    """Carry out a placement that moves a running job to another pool, as the simulator
    does: its run is stopped (preempted: it keeps the work of its last checkpoint, and the
    policy weighed that loss through ``SchedulerConfig.restart_cost_s``, which must then be
    the center's real restart cost) and the job launched on the new pool. A backend that
    stops a run at once (the virtual one) lets that happen in this round; one with a grace
    period ends the run later, and the poll that sees it end requeues the job, which the
    next round places again."""
    stop_run(ctx, job, cancel=False)
    _record_preempted(ctx, job, f"moved to pool {pool_id}")
    status = ctx.backend.status(RunHandle.parse(job.handle or ""))
    report.migrated.append(job.id)
    if not status.is_final:
        return
    _settle(ctx, job.id, status, report)
    with ctx.db.transaction(write=False) as tx:
        fresh: Job | None = tx.jobs.get(job.id)
    if fresh is not None and fresh.status is JobStatus.QUEUED:
        _launch(ctx, fresh, pool_id, chip, count, report)


def _record_preempted(ctx: ServiceContext, job: Job, reason: str) -> None:
    """The loop stopped a run to place others (the stop itself is the backend's)."""
    with ctx.db.transaction() as tx:
        audit.job_change(ctx, tx, None, "job.preempted", job, run=job.handle, pool=job.pool_id,
                         reason=reason)


def recover(ctx: ServiceContext) -> list[str]:
    """After a (re)start: adopt runs the backend holds for jobs the database still shows
    queued (the server died between launch and commit). Running jobs need nothing: the next
    poll re-attaches to them through their stored handle.

    The adopted job keeps the pool its run was launched on, as the engine recorded it with
    the run (``RunStatus.pool_id``, :func:`adopted_pool`): the run id does not name it and
    the queued job's row still holds its previous attempt's pool, if any."""
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
            pools = tx.pools.list()
        _adopt(ctx, job, handle, alt.chip, alt.count, report,
               adopted_pool(pools, alt.chip, status.pool_id, job.pool_id))
        if report.launched:
            adopted.append(job.id)
            if status.started_at is not None:
                with ctx.db.transaction() as tx:
                    tx.jobs.update(job.id, started_at=status.started_at,
                                   metered_until=status.started_at)
    return adopted


def adopted_pool(pools: list[CenterPool], chip: str, engine_pool: str | None,
                 recorded_pool: str | None) -> CenterPool | None:
    """The pool a run adopted after a restart runs on: the one the engine recorded with the
    run; else (an engine that names no pool) the one the job's row records, if it has the
    run's chip; else the first pool of the chip, one taking jobs first."""
    same_chip = [p for p in pools if p.chip_id == chip]
    for wanted in (engine_pool, recorded_pool):
        found = next((p for p in same_chip if p.id == wanted), None)
        if wanted is not None and found is not None:
            return found
    return next(iter(sorted(same_chip, key=lambda p: not p.takes_jobs)), None)


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
