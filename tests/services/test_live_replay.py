"""The live server replays a trace on a manual clock and is compared with the simulator.

The live loop (``run_round`` on a real service, SQLite and PostgreSQL) runs jobs on the
virtual backend (:mod:`aicenter.backends.virtual`), whose runs progress on the service's
:class:`~aicenter.services.clock.ManualClock` exactly as the simulator's do (work / rate from
the same :class:`~aicenter.scheduler.throughput.ThroughputMatrix`). The driver moves the clock
the way :func:`aicenter.simulator.engine.simulate` moves its own:

* a job is submitted at its arrival (the clock is stopped there) and joins the queue at the
  next round;
* a round at ``t`` lasts ``min(round_s, e − t)`` where ``e`` is the latest end of the runs
  placed in it (the simulator's "a round ends when its longest job stops"); with nothing
  running the clock jumps to the next arrival;
* a job's completion is the engine's end of its last run (not the round that noticed it).

Each job's spec states its true duration on its first chip as ``estimated_duration`` (the
trace's works are whole seconds there), so the live center's remaining work (estimate − the
metered work − the unmetered part of the current run) and attained seconds per pool are the
simulator's; a placement that moves a running job is carried out (stop, relaunch on the new
pool in the same round), as the simulator migrates it. Both sides run with restart cost 0
(Gavel's free preemption: the virtual backend's runs resume exactly where they stopped).

JCT = engine end − submission. Tolerance: 1 ms per job. Both sides do the same arithmetic;
the only difference is that the live side holds times as datetimes, rounded to the
microsecond at every run start, end and stop (a few per job), while the simulator keeps float
seconds: the error is a few µs, so 1 ms is three orders of magnitude of room and still far
below anything a scheduling difference produces (a round is 360 s).

Also here: two organisations with equal guaranteed shares over a busy hour, the chase team's
start within one round, and metering from the engine's start (issue 12 item 7).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.backends import RunHandle, RunState
from aicenter.backends.virtual import VirtualBackend
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.job import Job as CenterJob
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.share import ShareHolder
from aicenter.scheduler import ChipDemand, Policy, Snapshot, ThroughputMatrix
from aicenter.scheduler import Job as SchedJob
from aicenter.server.runtime import attach_backend
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import scheduling
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.scheduling import make_policy, run_round
from aicenter.services.share import set_share
from aicenter.simulator.engine import simulate
from aicenter.simulator.synthetic import generate
from aicenter.simulator.trace import Trace

ROUND_S = 360.0
CHIPS = ("nvidia-h100-sxm", "amd-mi300x", "nvidia-a100-80gb")
"""Three speeds for dense training (1.0, 0.85, 0.34 H100e a chip): a heterogeneous cluster."""
CLASSES = ("dense-training", "moe-training")
JCT_TOLERANCE_S = 1e-3
WORK_SCALE = 0.05
"""Synthetic durations (Philly's 0.5–167 h) scaled down so a replay takes minutes of rounds."""


@dataclass(frozen=True, slots=True)
class TraceJob:
    """One job to replay: arrival (s after the start), class, gang size, work (H100e·s)."""

    arrival_s: float
    job_class: str
    count: int
    work: float


@dataclass
class Tenancy:
    org_id: str
    member: Caller


def make_pools(ctx: ServiceContext, operator: Caller, pools: dict[str, int]) -> None:
    for chip, count in pools.items():
        pool_svc.add_pool(ctx, operator, chip, count)


def make_tenant(ctx: ServiceContext, operator: Caller, chips: Sequence[str], *,
                chase_team: bool = False, budget: str = "10000") -> Tenancy:
    """An organisation with a member and a grant covering ``chips``, through its own call."""
    call = call_svc.open_call(ctx, operator, call_svc.CallRequest(
        f"call {secrets.token_hex(3)}", frozenset(OrgClass) - {OrgClass.OPERATOR},
        {chip: 512 for chip in chips}))
    org = org_svc.create_org(ctx, operator, f"Org {secrets.token_hex(3)}", OrgClass.SME,
                             chase_team=chase_team)
    member = Caller(org_svc.add_person(ctx, operator, org.id, "M",
                                       f"m{secrets.token_hex(3)}@x.kr", Role.MEMBER))
    app = call_svc.apply(ctx, member, call.id, org.id, "LLM", {c: 64 for c in chips}, 6,
                            Decimal(budget))
    grant_svc.award(ctx, operator, app.id, Decimal(budget), without_review="replay test")
    return Tenancy(org.id, member)


def virtual_center(ctx: ServiceContext, policy: str, round_s: float = ROUND_S,
                   metering_s: float = 1e9) -> VirtualBackend:
    """Point the service at the virtual backend and the policy; the backend it built."""
    assert isinstance(ctx.clock, ManualClock)
    ctx.settings.backend = "virtual"
    ctx.settings.scheduler_policy = policy
    ctx.settings.scheduler_interval_s = round_s
    ctx.settings.metering_interval_s = metering_s
    attach_backend(ctx)
    assert isinstance(ctx.backend, VirtualBackend)
    return ctx.backend


def submit(ctx: ServiceContext, who: Tenancy, tj: TraceJob, chips: Sequence[str],
           matrix: ThroughputMatrix, priority: str = "normal") -> str:
    """Submit ``tj`` as a job that may run on any of ``chips``, with its true duration on
    the first as its estimate (the center's remaining work is then the simulator's); its id."""
    slowest = min(r for c in chips if (r := matrix.rate(tj.job_class, c, tj.count)) > 0)
    max_duration = math.ceil(tj.work / slowest) + 1  # no run ever hits it
    estimated = estimated_duration_s(ctx, tj, chips[0])
    resources = ", ".join(f"{{chip: {c}, count: {tj.count}}}" for c in chips)
    spec = parse_job_spec(
        f"name: replay\ncommand: 'true'\nresources: [{resources}]\n"
        f"max_duration: {max_duration}s\nestimated_duration: {estimated}s\n"
        f"workload: {tj.job_class}\npriority: {priority}\n"
        f"env: {{SIM_WORK_H100_S: '{tj.work!r}', SIM_JOB_CLASS: {tj.job_class}}}\n")
    job, _ = job_svc.submit(ctx, who.member, spec)
    return job.id


def estimated_duration_s(ctx: ServiceContext, tj: TraceJob, chip: str) -> int:
    """``tj``'s duration on ``chip``, whole seconds as a spec gives it: the center's estimate
    ``d · count · r(chip)`` is then exactly ``tj.work`` (the trace's works are whole seconds
    on the first chip, :func:`whole_seconds`)."""
    ratio = ctx.performance.ratio(chip, WorkloadClass(tj.job_class))
    seconds = round(tj.work / (tj.count * ratio))
    assert seconds * tj.count * ratio == tj.work, (tj, chip, "work not whole seconds on it")
    return seconds


def whole_seconds(work: float, count: int, ratio: float) -> float:
    """``work`` rounded to whole seconds of ``count`` chips of H100e ratio ``ratio`` (at
    least one), computed as the center computes its estimate."""
    return max(round(work / (count * ratio)), 1) * count * ratio


def advance_to(clock: ManualClock, at: datetime) -> None:
    """Land exactly on ``at`` (a timedelta's seconds give back the same microseconds)."""
    delta = (at - clock.now()).total_seconds()
    assert delta >= 0, (at, clock.now())
    clock.advance(delta)


def drive(ctx: ServiceContext, arrivals: Sequence[tuple[datetime, Callable[[], str]]],
          round_s: float = ROUND_S) -> list[str]:
    """Submit at each arrival and run rounds as the simulator does (module docstring) until
    every job has ended; the job ids in submission order."""
    clock, backend = ctx.clock, ctx.backend
    assert isinstance(clock, ManualClock) and isinstance(backend, VirtualBackend)
    pending = sorted(arrivals, key=lambda a: a[0])
    policy = make_policy(ctx, restart_cost_s=0.0)  # the virtual backend's
    advance_to(clock, pending[0][0])
    ids: list[str] = []
    while True:
        while pending and pending[0][0] <= clock.now():
            ids.append(pending.pop(0)[1]())
        run_round(ctx, policy)
        if not pending and all_ended(ctx, ids):
            return ids
        ends = backend.live_ends()
        if ends:
            target = min(clock.now() + timedelta(seconds=round_s), max(ends))
        elif pending:
            target = pending[0][0]
        else:
            raise AssertionError("jobs are queued that no round will place")
        while pending and pending[0][0] < target:
            advance_to(clock, pending[0][0])
            ids.append(pending.pop(0)[1]())
        advance_to(clock, target)


def all_ended(ctx: ServiceContext, ids: Sequence[str]) -> bool:
    with ctx.db.transaction(write=False) as tx:
        return all(tx.jobs.get(i).status.finished for i in ids)


def live_jcts(ctx: ServiceContext, ids: Sequence[str]) -> dict[str, float]:
    """JCT of every job: the engine's end of its last run − its submission."""
    out = {}
    with ctx.db.transaction(write=False) as tx:
        jobs: list[CenterJob] = [tx.jobs.get(i) for i in ids]
    for job in jobs:
        assert job.status is JobStatus.SUCCEEDED, (job.id, job.status, job.message)
        assert job.handle is not None
        status = ctx.backend.status(RunHandle.parse(job.handle))
        assert status.state is RunState.SUCCEEDED and status.ended_at is not None
        out[job.id] = (status.ended_at - job.submitted_at).total_seconds()
    return out


def simulated_jcts(ctx: ServiceContext, ids: Sequence[str], works: dict[str, TraceJob],
                   chips: Sequence[str], matrix: ThroughputMatrix, policy: Policy,
                   snapshot: Snapshot) -> tuple[dict[str, float], int, int]:
    """The simulator on the same jobs (ids, arrivals = the live submissions, demand, work),
    the live cluster as the live builder saw it before the first job (``snapshot``: no usage
    yet, as at the live replay's start) and a fresh policy built as the live one; its JCTs,
    preemptions and migrations."""
    with ctx.db.transaction(write=False) as tx:
        jobs: list[CenterJob] = [tx.jobs.get(i) for i in ids]
    trace_jobs = tuple(
        SchedJob(j.id, j.org_id, works[j.id].job_class,
                 tuple(ChipDemand(c, works[j.id].count) for c in chips),
                 works[j.id].work, j.submitted_at.timestamp())
        for j in jobs)
    result = simulate(Trace("live", trace_jobs, matrix), snapshot, policy, matrix,
                      _config(policy))
    return ({r.job.id: r.jct_s for r in result.jobs if r.jct_s is not None},
            sum(r.preemptions for r in result.jobs), sum(r.migrations for r in result.jobs))


def live_cluster(ctx: ServiceContext) -> Snapshot:
    """The live builder's snapshot with no jobs: the simulator runs on exactly its pools.
    (``_view`` is the builder being landed; ``_snapshot`` the one it replaces.)"""
    view = getattr(scheduling, "_view", None)
    if view is not None:
        snapshot: Snapshot = view(ctx, []).snapshot
        return snapshot
    return scheduling._snapshot(ctx, [])[0]  # type: ignore[attr-defined,no-any-return]


def _config(policy: Policy):  # type: ignore[no-untyped-def]
    config = getattr(policy, "config", None)
    assert config is not None, "the policy keeps its SchedulerConfig"
    return config


def synthetic_jobs(n: int, seed: int, matrix: ThroughputMatrix,
                   jobs_per_hour: float) -> list[TraceJob]:
    """Gavel's generator (Poisson arrivals, Philly durations, 1/2/4/8 gangs) on our chips."""
    trace = generate(n, seed, matrix, CLASSES, CHIPS, CHIPS[0], jobs_per_hour=jobs_per_hour)
    count = [j.demand[0].count for j in trace.jobs]
    return [TraceJob(j.arrival_s, j.job_class, k,
                     whole_seconds(j.total_work * WORK_SCALE, k,
                                   matrix.rate(j.job_class, CHIPS[0], 1)))
            for j, k in zip(trace.jobs, count, strict=True)]


@dataclass(frozen=True, slots=True)
class Comparison:
    policy: str
    jobs: int
    mean_abs_s: float
    max_abs_s: float
    live_avg_jct_h: float
    sim_avg_jct_h: float
    rounds_s: float
    preemptions: int = 0
    migrations: int = 0

    def line(self) -> str:
        return (f"{self.policy}: {self.jobs} jobs, mean |ΔJCT| {self.mean_abs_s:.3g} s, "
                f"max {self.max_abs_s:.3g} s, avg JCT live {self.live_avg_jct_h:.4f} h "
                f"sim {self.sim_avg_jct_h:.4f} h ({self.preemptions} preemptions, "
                f"{self.migrations} migrations in the simulator)")


def replay_and_compare(ctx: ServiceContext, operator: Caller, policy: str,
                       jobs: Sequence[TraceJob], pools: dict[str, int]) -> Comparison:
    """Replay ``jobs`` through the live server and the simulator; the per-job JCT gaps."""
    make_pools(ctx, operator, pools)
    tenant = make_tenant(ctx, operator, list(pools))
    virtual_center(ctx, policy)
    cluster = live_cluster(ctx)
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    chips = list(pools)
    start = ctx.clock.now()
    works: dict[str, TraceJob] = {}

    def submitter(tj: TraceJob) -> Callable[[], str]:
        def go() -> str:
            job_id = submit(ctx, tenant, tj, chips, matrix)
            works[job_id] = tj
            return job_id
        return go

    arrivals = [(start + timedelta(seconds=tj.arrival_s), submitter(tj)) for tj in jobs]
    ids = drive(ctx, arrivals)
    live = live_jcts(ctx, ids)
    sim, preemptions, migrations = simulated_jcts(
        ctx, ids, works, chips, matrix, make_policy(ctx, restart_cost_s=0.0), cluster)
    assert set(sim) == set(live)
    gaps = [abs(live[i] - sim[i]) for i in ids]
    return Comparison(policy, len(ids), sum(gaps) / len(gaps), max(gaps),
                      sum(live.values()) / len(live) / 3600, sum(sim.values()) / len(sim) / 3600,
                      (ctx.clock.now() - start).total_seconds(), preemptions, migrations)


REPLAY_POOLS = {chip: 8 for chip in CHIPS}
"""One node of 8 a pool (the live builder's node size): no fragmentation, so agreement is
decided by the policy's inputs alone."""


@pytest.mark.parametrize("policy", ["fifo", "finish_time_fair"])
def test_live_replay_matches_the_simulator(ctx: ServiceContext, operator: Caller,
                                           policy: str) -> None:
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    jobs = synthetic_jobs(30, seed=7, matrix=matrix, jobs_per_hour=12.0)
    result = replay_and_compare(ctx, operator, policy, jobs, REPLAY_POOLS)
    print(result.line())
    assert result.max_abs_s <= JCT_TOLERANCE_S, result.line()


# --- shares and the chase team (need the lead's snapshot builder) ---------------------------

BUSY_ROUND_S = 60.0
SHARE_TOLERANCE = 0.05
"""Two orgs' h100e-hours over the hour may differ by 5 % of the pool's hour: with 2-chip jobs
on 8 chips and 60 s rounds the finest step is one job-round, 2 × 60 s = 0.4 % of it; the rest
is room for a policy that evens out over a longer window than one hour."""


def test_equal_shares_get_equal_h100e_over_a_busy_hour(ctx: ServiceContext, operator: Caller,
                                                       clock: ManualClock) -> None:
    chip = "nvidia-h100-sxm"
    make_pools(ctx, operator, {chip: 8})
    first, second = (make_tenant(ctx, operator, [chip]) for _ in range(2))
    # Equal guaranteed shares of half the pool each. Without them finish_time_fair's max-min
    # floor is per job, not per organisation (16 equal jobs, equal fractions), and with the
    # live restart cost running jobs keep their chips: the first org's earlier backlog would
    # hold the pool for the hour, and the second's get it the next.
    for who in (first, second):
        set_share(ctx, operator, ShareHolder.ORG, who.org_id, Decimal(4))
    backend = virtual_center(ctx, "finish_time_fair", BUSY_ROUND_S, metering_s=BUSY_ROUND_S)
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    backlog = TraceJob(0.0, "dense-training", 2, 2 * 1800.0)  # 30 min on 2 H100s
    for who in (first, second):  # the first's whole backlog is ahead of the second's
        for _ in range(8):
            submit(ctx, who, backlog, [chip], matrix)
            clock.advance(1.0)
    start = ctx.clock.now()
    policy = make_policy(ctx)
    hour = start + timedelta(hours=1)
    while ctx.clock.now() < hour:
        run_round(ctx, policy)
        advance_to(clock, min(ctx.clock.now() + timedelta(seconds=BUSY_ROUND_S), hour))
    run_round(ctx, policy)  # meters everything up to the hour
    used = {who.org_id: _h100e_h(ctx, who.org_id, start, hour) for who in (first, second)}
    print(f"h100e-h over the hour: {used}")
    assert sum(used.values()) == pytest.approx(8.0, rel=0.01)  # the pool was kept busy
    assert abs(used[first.org_id] - used[second.org_id]) <= SHARE_TOLERANCE * 8.0, used
    assert backend.live_ends()


def _h100e_h(ctx: ServiceContext, org_id: str, start: datetime, end: datetime) -> float:
    with ctx.db.transaction(write=False) as tx:
        records = tx.usage.list(org_id=org_id)
    return sum(float(r.h100e_seconds) for r in records
               if r.interval_start >= start and r.interval_end <= end) / 3600


def test_chase_job_starts_within_one_round_on_a_full_pool(
    ctx: ServiceContext, operator: Caller, clock: ManualClock
) -> None:
    chip = "nvidia-h100-sxm"
    make_pools(ctx, operator, {chip: 8})
    normal = make_tenant(ctx, operator, [chip])
    chase = make_tenant(ctx, operator, [chip], chase_team=True)
    virtual_center(ctx, "finish_time_fair")
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    long_job = TraceJob(0.0, "dense-training", 2, 2 * 10 * 3600.0)
    fillers = [submit(ctx, normal, long_job, [chip], matrix) for _ in range(4)]
    policy = make_policy(ctx)
    run_round(ctx, policy)
    assert _statuses(ctx, fillers) == {JobStatus.RUNNING}  # the pool is full
    clock.advance(100.0)
    submitted = ctx.clock.now()
    urgent = submit(ctx, chase, TraceJob(0.0, "dense-training", 4, 4 * 3600.0), [chip],
                    matrix, priority="chase-team")
    clock.advance(ROUND_S - 100.0)
    report = run_round(ctx, policy)  # the next round after its arrival
    assert urgent in report.launched
    assert len(report.preempted) == 2  # 4 chips within chase_share 0.5 of 8 freed
    clock.advance(ROUND_S)
    run_round(ctx, policy)
    with ctx.db.transaction(write=False) as tx:
        job = tx.jobs.get(urgent)
    assert job.status is JobStatus.RUNNING and job.started_at is not None
    assert (job.started_at - submitted).total_seconds() <= ROUND_S
    # two fillers hold runs: the ones still running (moving them would cost a restart)
    assert len(_live_runs(ctx, fillers)) == 2


def _statuses(ctx: ServiceContext, ids: Sequence[str]) -> set[JobStatus]:
    with ctx.db.transaction(write=False) as tx:
        return {tx.jobs.get(i).status for i in ids}


def _live_runs(ctx: ServiceContext, ids: Sequence[str]) -> list[str]:
    """The jobs of ``ids`` whose run the backend has not ended (a run stopped in this round
    has ended although its job is requeued only by the next round's poll)."""
    with ctx.db.transaction(write=False) as tx:
        handles = {i: tx.jobs.get(i).handle for i in ids}
    return [i for i, h in handles.items()
            if h and not ctx.backend.status(RunHandle.parse(h)).is_final]


# --- metering follows the engine (issue 12 item 7) ----------------------------------------

def test_usage_starts_at_the_engines_start_not_at_launch(
    ctx: ServiceContext, operator: Caller, clock: ManualClock
) -> None:
    chip = "nvidia-h100-sxm"
    make_pools(ctx, operator, {chip: 8})
    who = make_tenant(ctx, operator, [chip])
    backend = virtual_center(ctx, "fifo", metering_s=ROUND_S)
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    job_id = submit(ctx, who, TraceJob(0.0, "dense-training", 2, 2 * 1500.0), [chip], matrix)
    policy = make_policy(ctx)
    launched = ctx.clock.now()
    assert job_id in run_round(ctx, policy).launched
    with ctx.db.transaction(write=False) as tx:
        job = tx.jobs.get(job_id)
    assert job.status is JobStatus.RUNNING and job.started_at is None
    backend.pend(RunHandle.parse(job.handle or "").run_id, 900.0)  # queued in the engine
    for _ in range(2):  # two rounds while the engine holds it: nothing metered
        clock.advance(ROUND_S)
        run_round(ctx, policy)
        with ctx.db.transaction(write=False) as tx:
            assert tx.usage.list(job_id=job_id) == []
            assert tx.jobs.get(job_id).started_at is None
    while not all_ended(ctx, [job_id]):
        clock.advance(ROUND_S)
        run_round(ctx, policy)
    engine_start = launched + timedelta(seconds=900)
    with ctx.db.transaction(write=False) as tx:
        records = tx.usage.list(job_id=job_id)
        job = tx.jobs.get(job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert records[0].interval_start == engine_start
    assert records[-1].interval_end == engine_start + timedelta(seconds=1500)
    assert sum(r.chip_seconds for r in records) == Decimal(2 * 1500)
    with ctx.db.transaction(write=False) as tx:  # what the scheduler reads of its past
        totals = tx.usage.job_totals([job_id, "job_unknown"])
    assert totals == {job_id: (Decimal(2 * 1500), {chip: Decimal(1500)})}
