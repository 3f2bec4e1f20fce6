"""The simulator: a virtual clock that replays a trace through a policy, round by round.

Rules (Gavel's, so results compare with its published ones):

* the clock starts at the first arrival; a job joins the queue at the first round boundary at
  or after its arrival, and its completion time counts from its arrival;
* each round the policy places jobs; a placed job of rate ``r`` runs for
  ``min(round_s, remaining / r)`` seconds; the round ends when its longest job stops, so a round
  in which every job finishes early is short; when nothing runs, the clock jumps to the next
  arrival;
* a job that starts on a pool it did not hold in the previous round, after having run before
  (a preemption or a migration), first loses ``restart_cost_s`` seconds (0: Gavel's free
  preemption);
* a job's queueing delay is its first start (the round it is first placed) less its arrival;
* two runs place the same jobs on the same pools with the same chips in every round exactly
  when their ``schedule_digest`` (SHA-256 over every round's start and placements) is equal;
* tenants' usage (H100e-hours) grows with what their jobs ran, so quotas bind during a replay;
  each round's snapshot comes from the builder the live server uses
  (:func:`aicenter.scheduler.snapshot.build_snapshot`), decayed usage included.

Policy solve time is measured with the injected ``timer`` (the core never reads a clock).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aicenter.domain.units import H100eHours
from aicenter.scheduler.policy import Policy, SchedulerConfig
from aicenter.scheduler.snapshot import UsageDecay, UsageSample, build_snapshot
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import Job, JobProgress, Snapshot, Tenant
from aicenter.simulator.trace import Trace

Timer = Callable[[], float]
Progress = Callable[[float, int, int], None]


@dataclass
class JobRecord:
    """What happened to one job (``chip_seconds`` per pool id; ``first_start_s``: the start
    of the first round it was placed in, ``None`` if it never ran)."""

    job: Job
    completion_s: float | None = None
    first_start_s: float | None = None
    work_done: float = 0.0
    chip_seconds: dict[str, float] = field(default_factory=dict)
    h100e_s: float = 0.0
    preemptions: int = 0
    migrations: int = 0

    @property
    def jct_s(self) -> float | None:
        return None if self.completion_s is None else self.completion_s - self.job.arrival_s

    @property
    def queue_delay_s(self) -> float | None:
        """First start − arrival (``None`` if the job never started)."""
        return None if self.first_start_s is None else self.first_start_s - self.job.arrival_s


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """One round: when, how long, busy chips per chip type, policy time, whether it re-solved."""

    start_s: float
    length_s: float
    busy_chips: dict[str, int]
    solve_s: float
    resolved: bool
    queued: int


@dataclass
class SimulationResult:
    policy: str
    trace: str
    snapshot: Snapshot
    config: SchedulerConfig
    jobs: list[JobRecord]
    rounds: list[RoundRecord]
    schedule_digest: str = ""


def _zero_timer() -> float:
    return 0.0


def simulate(
    trace: Trace,
    snapshot: Snapshot,
    policy: Policy,
    throughputs: ThroughputMatrix,
    config: SchedulerConfig,
    timer: Timer = _zero_timer,
    progress: Progress | None = None,
) -> SimulationResult:
    """Replay ``trace`` on the cluster of ``snapshot`` with ``policy`` (module docstring)."""
    jobs = sorted(trace.jobs, key=lambda j: j.arrival_s)
    records = {j.id: JobRecord(j) for j in jobs}
    tenants: dict[str, Tenant] = dict(snapshot.tenants)
    for j in jobs:
        tenants.setdefault(j.tenant, Tenant(j.tenant))
    pools = {p.id: p for p in snapshot.pools}
    active: dict[str, JobProgress] = {}
    used_h100e_s: dict[str, float] = {}  # by tenant, since the snapshot was last updated
    decay = UsageDecay(config.fair_share_half_life_s)
    rounds: list[RoundRecord] = []
    next_arrival = 0
    clock = jobs[0].arrival_s if jobs else 0.0
    finished = 0
    digest = hashlib.sha256()
    while next_arrival < len(jobs) or active:
        while next_arrival < len(jobs) and jobs[next_arrival].arrival_s <= clock:
            j = jobs[next_arrival]
            active[j.id] = JobProgress(j, j.total_work, {}, None)
            next_arrival += 1
        if not active:
            clock = jobs[next_arrival].arrival_s
            continue
        for tid, seconds in used_h100e_s.items():
            t = tenants[tid]
            tenants[tid] = replace(t, used=t.used + H100eHours(seconds / 3600.0))
            decay.add(UsageSample(tid, clock, seconds / 3600.0, t.programme))
        used_h100e_s.clear()
        snap = build_snapshot(snapshot.pools, tenants.values(),
                              programmes=snapshot.programmes.values(),
                              decayed=decay.at(clock), chip_caps=snapshot.chip_caps,
                              chase_share=snapshot.chase_share)
        tenants.update(snap.tenants)  # so an unchanged tenant is the same object next round
        queue = list(active.values())
        started = timer()
        allocation = policy.schedule(snap, queue, clock)
        solve_s = timer() - started
        digest.update(f"{clock!r}".encode())
        for job_id, pool_id, count in sorted(
                (p.job_id, p.pool_id, p.count) for p in allocation.placements):
            digest.update(f"|{job_id}@{pool_id}x{count}".encode())
        digest.update(b";")
        longest = 0.0
        busy: dict[str, int] = {}
        running: dict[str, str] = {}
        for placement in allocation.placements:
            jp = active[placement.job_id]
            pool = pools[placement.pool_id]
            record = records[jp.id]
            if record.first_start_s is None:
                record.first_start_s = clock
            rate = throughputs.rate(jp.job.job_class, pool.chip_type, placement.count)
            restarted = jp.running_on != pool.id and record.work_done > 0
            lost = config.restart_cost_s if restarted else 0.0
            if restarted and jp.running_on is not None:
                record.migrations += 1
            useful = min(max(config.round_s - lost, 0.0), jp.remaining_work / rate)
            elapsed = lost + useful
            work = rate * useful
            longest = max(longest, elapsed)
            busy[pool.chip_type] = busy.get(pool.chip_type, 0) + placement.count
            attained = dict(jp.attained_s)
            attained[pool.id] = attained.get(pool.id, 0.0) + elapsed
            remaining = jp.remaining_work - work
            record.work_done += work
            chip_s = elapsed * placement.count
            record.chip_seconds[pool.id] = record.chip_seconds.get(pool.id, 0.0) + chip_s
            h100e_s = chip_s * pool.h100e_per_chip
            record.h100e_s += h100e_s
            used_h100e_s[jp.job.tenant] = used_h100e_s.get(jp.job.tenant, 0.0) + h100e_s
            if remaining <= max(1e-9 * jp.job.total_work, 1e-12):
                record.completion_s = clock + elapsed
                del active[jp.id]
                finished += 1
            else:
                active[jp.id] = JobProgress(jp.job, remaining, attained, pool.id)
                running[jp.id] = pool.id
        for jid in allocation.preempted:
            if jid in active and jid not in running:
                records[jid].preemptions += 1
                jp = active[jid]
                active[jid] = JobProgress(jp.job, jp.remaining_work, jp.attained_s, None)
        rounds.append(
            RoundRecord(clock, longest, busy, solve_s, allocation.resolved, len(queue))
        )
        if longest > 0:
            clock += longest
        elif next_arrival < len(jobs):
            clock = max(clock, jobs[next_arrival].arrival_s)
        else:
            break  # nothing can run and nothing will arrive (quotas exhausted, no fitting pool)
        if progress is not None:
            progress(clock, finished, len(jobs))
    return SimulationResult(
        policy.name, trace.name, snapshot, config, list(records.values()), rounds,
        digest.hexdigest(),
    )
