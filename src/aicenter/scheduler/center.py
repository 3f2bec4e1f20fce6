"""The live center as the scheduler sees it: domain values in (pools, organisations, grants,
metered usage, jobs), the round's :class:`Snapshot` and queue out, through the same builder the
simulator uses (:func:`aicenter.scheduler.snapshot.build_snapshot`). Pure: the scheduling
service reads the database and calls :func:`center_view`; nothing here does I/O.

The rules:

* a pool is offered with its chips, node size, country and H100e per chip; a draining pool
  keeps what runs on it and takes nothing new;
* an organisation is a tenant of weight 2 if it is in the chase team (1 otherwise), with its
  guaranteed share in H100e (what its jobs may hold at once ahead of others) and its usage,
  decayed with the half-life, from its metered intervals (:func:`usage_samples`; older days
  as daily sums, :func:`daily_samples`);
* a call is a programme (with its guaranteed share, if the operator set one); a job's
  programme is the call of the grant it runs on (an organisation may hold grants of several
  calls: each job counts against its own call's share); an organisation's own programme, the
  fallback for jobs without a known grant, is its call only when all its grants are of one;
* an organisation's quota is what its usable grants (active, within their period) were
  awarded and its used amount what they have spent, both in the ledger's h100e-hours: what
  is left, ``quota − used``, is their spendable balance plus the holds of their jobs
  (:func:`tenant_budget`); an organisation with no usable grant has nothing left, so its
  queued jobs wait with ``QuotaExhausted``;
* a job's own budget is what is left of its hold (admission held one attempt's worst case,
  metering never charges past it): a round costs its organisation at most that. A queued
  job whose grant is no longer usable (expired, reclaimed) has none: it may not start on
  that grant and waits with ``QuotaExhausted``. A running job keeps its run even when its
  hold is spent: metering stops it then and it ends with that reason (not preempted and
  requeued, which would take a new hold);
* a grant with chip counts is a cap group: its jobs together hold at most that many chips of
  each type at once (``Snapshot.chip_caps``);
* a job's demand holds only the alternatives its grant covers (admission held the budget for
  those alone); a job the center's placement policy restricts to some countries (a job
  reading a dataset tagged domestic: the domestic country; decided by the caller, once per
  job and country, and given as ``countries``) runs only there (``Job.countries``), and one
  that has no pool there at all is *stranded*: the caller fails it rather than let it wait
  for a pool that may never come;
* a job's remaining work, for the policies that weigh it (:func:`remaining_work`), is its
  tenant's estimate less the work it has done, in H100e-seconds; its attained seconds per
  pool (the round mechanism's time received) come from its metered intervals
  (:class:`JobUsage`) plus the part of its current run not metered yet.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.grant import Grant
from aicenter.domain.job import Job, JobStatus
from aicenter.domain.job import PriorityClass as JobPriority
from aicenter.domain.org import Organisation
from aicenter.domain.units import H100eHours
from aicenter.domain.usage import UsageRecord
from aicenter.scheduler.snapshot import UsageSample, build_snapshot, decayed_usage
from aicenter.scheduler.types import (
    ChipDemand,
    JobProgress,
    Pool,
    PriorityClass,
    Programme,
    Snapshot,
    Tenant,
)
from aicenter.scheduler.types import Job as SchedJob

CHASE_WEIGHT = 2.0
PRIORITY = {JobPriority.CHASE_TEAM: PriorityClass.CHASE, JobPriority.NORMAL:
            PriorityClass.STANDARD, JobPriority.BEST_EFFORT: PriorityClass.BEST_EFFORT}


@dataclass(frozen=True, slots=True)
class CenterPool:
    """A pool as the center runs it (from its pool record and the catalog)."""

    id: str
    chip_id: str
    chip_count: int
    country: str
    node_size: int
    memory_gib: float = 0.0
    h100e_per_chip: float = 1.0
    draining: bool = False


@dataclass(frozen=True, slots=True)
class CenterView:
    """One round's input to ``schedule()``, and the queued jobs no pool may ever run."""

    snapshot: Snapshot
    queue: list[JobProgress]
    stranded: list[Job]


Ratio = Callable[[str, WorkloadClass], float]
MIN_REMAINING_H100E_S = 1e-6
"""Remaining work is kept above 0: a job with none left is not offered to the policies."""


@dataclass(frozen=True, slots=True)
class JobUsage:
    """What a job's metered intervals add up to: its H100e-seconds (work done, in the units of
    the throughput matrix: chip-seconds × r(chip, workload)) and, per chip type, the wall
    seconds it ran there (Σ chip_seconds / chip_count)."""

    h100e_s: float
    wall_s: Mapping[str, float]


NO_USAGE = JobUsage(0.0, {})


def usage_samples(usage: Sequence[UsageRecord], grants: Mapping[str, Grant]
                  ) -> list[UsageSample]:
    """Metered intervals as usage samples, counted at the end of their interval."""
    samples = []
    for record in usage:
        grant = grants.get(record.grant_id)
        samples.append(UsageSample(record.org_id, record.interval_end.timestamp(),
                                   float(record.h100e_hours),
                                   grant.call_id if grant is not None else None))
    return samples


def daily_samples(sums: Mapping[tuple[date, str], Decimal]) -> list[UsageSample]:
    """Per-(UTC day, organisation) sums of h100e-seconds as samples at the middle of their
    day: for usage older than a day, a weight off by at most a factor ``2^(±12 h / T½)``
    (±5 % for a week's half-life), for one row a day instead of one per interval."""
    return [UsageSample(org, datetime.combine(day, time(12), tzinfo=UTC).timestamp(),
                        float(h100e_s) / 3600.0) for (day, org), h100e_s in sums.items()]


def center_view(
    *,
    pools: Sequence[CenterPool],
    orgs: Sequence[Organisation],
    grants: Sequence[Grant],
    usage: Sequence[UsageSample],
    jobs: Sequence[Job],
    ratio: Ratio,
    now: datetime,
    half_life_s: float,
    chase_share: float,
    guaranteed_h100e: Mapping[str, float] | None = None,
    programme_guaranteed_h100e: Mapping[str, float] | None = None,
    done: Mapping[str, JobUsage] | None = None,
    countries: Mapping[str, frozenset[str]] | None = None,
    domestic_data: Collection[str] = (),
    domestic_country: str = "",
    grant_balances: Mapping[str, Decimal] | None = None,
    holds: Mapping[str, Decimal] | None = None,
) -> CenterView:
    """The snapshot and queue of one round (module docstring); ``done`` holds the metered
    totals of the jobs that have run (none for the others); ``countries`` the countries each
    restricted job may run in (absent: any). ``domestic_data`` and ``domestic_country`` are
    the same restriction stated as data: a job naming one of those datasets runs only in that
    country. ``grant_balances`` (spendable balance of each grant) and ``holds`` (what is left
    of each job's hold), in h100e-hours, give the organisations their quotas and the jobs
    their budgets; without them nobody has either (no quota binds)."""
    by_grant = {g.id: g for g in grants}
    guaranteed = guaranteed_h100e or {}
    calls: dict[str, set[str]] = {}
    for grant in grants:
        calls.setdefault(grant.org_id, set()).add(grant.call_id)
    budgets = (tenant_budget(grants, jobs, grant_balances, holds or {}, now)
               if grant_balances is not None else {})
    tenants = [Tenant(o.id, weight=CHASE_WEIGHT if o.chase_team else 1.0,
                      guaranteed_h100e=guaranteed.get(o.id, 0.0),
                      programme=_only(calls.get(o.id, set())),
                      quota=budgets[o.id][0] if o.id in budgets else (
                          H100eHours(0.0) if grant_balances is not None else None),
                      used=budgets[o.id][1] if o.id in budgets else H100eHours(0.0))
               for o in orgs]
    programmes = [Programme(call, guaranteed_h100e=h)
                  for call, h in (programme_guaranteed_h100e or {}).items()]
    caps = {g.id: dict(g.chip_counts) for g in grants if g.chip_counts}
    sched_pools = tuple(Pool(p.id, p.chip_id, p.chip_count, min(p.node_size, p.chip_count),
                             country=p.country, memory_gib=p.memory_gib,
                             h100e_per_chip=p.h100e_per_chip, draining=p.draining)
                        for p in pools)
    decayed = decayed_usage(usage, now.timestamp(), half_life_s)
    snapshot = build_snapshot(sched_pools, tenants, programmes=programmes, decayed=decayed,
                              chip_caps=caps, chase_share=chase_share)
    restricted = dict(countries or {})
    if domestic_data:
        home = frozenset({domestic_country})
        for job in jobs:
            if not set(domestic_data).isdisjoint(job.spec.datasets):
                restricted[job.id] = restricted.get(job.id, home) & home
    budget_of = (_job_budgets(jobs, by_grant, holds or {}, now)
                 if grant_balances is not None else {})
    queue, stranded = _queue(jobs, sched_pools, by_grant, restricted, ratio, done or {}, now,
                             budget_of)
    return CenterView(snapshot, queue, stranded)


def _only(calls: set[str]) -> str | None:
    return next(iter(calls)) if len(calls) == 1 else None


def tenant_budget(grants: Sequence[Grant], jobs: Sequence[Job],
                  balances: Mapping[str, Decimal], holds: Mapping[str, Decimal],
                  now: datetime) -> dict[str, tuple[H100eHours, H100eHours]]:
    """(quota, used) of every organisation with a usable grant (active, within its period),
    in h100e-hours. With ``B_g`` a usable grant's award, ``b_g`` its spendable balance
    (``grant:G``) and ``h_j`` what is left of the hold of each queued or running job on it,

        left  = Σ_g b_g + Σ_j h_j        (nothing else holds a usable grant's h100e-h)
        quota = Σ_g B_g,   used = quota − left   (what the grants' jobs were charged)

    so ``quota − used`` is exactly what the organisation's grants can still pay for. Should
    ``used`` come out negative (an award topped up outside the ledger's flows), it is 0 and
    the quota is ``left``."""
    usable = {g.id: g for g in grants if g.active_at(now)}
    left: dict[str, Decimal] = {}
    awarded: dict[str, Decimal] = {}
    for grant in usable.values():
        awarded[grant.org_id] = awarded.get(grant.org_id, Decimal(0)) + grant.budget_h100e_h
        left[grant.org_id] = left.get(grant.org_id, Decimal(0)) + balances.get(grant.id,
                                                                               Decimal(0))
    for job in jobs:
        if job.grant_id in usable and not job.status.finished:
            left[job.org_id] = left.get(job.org_id, Decimal(0)) + holds.get(job.id, Decimal(0))
    out: dict[str, tuple[H100eHours, H100eHours]] = {}
    for org_id, quota in awarded.items():
        used = max(quota - left[org_id], Decimal(0))
        out[org_id] = (H100eHours(float(left[org_id] + used)), H100eHours(float(used)))
    return out


def _job_budgets(jobs: Sequence[Job], grants: Mapping[str, Grant],
                 holds: Mapping[str, Decimal], now: datetime) -> dict[str, float]:
    """Each job's own budget (module docstring): what is left of its hold; 0 for a queued
    job whose grant is no longer usable."""
    budgets: dict[str, float] = {}
    for job in jobs:
        grant = grants.get(job.grant_id)
        if job.status is JobStatus.QUEUED and (grant is None or not grant.active_at(now)):
            budgets[job.id] = 0.0
        else:
            budgets[job.id] = float(holds.get(job.id, Decimal(0)))
    return budgets


def _queue(jobs: Sequence[Job], pools: Sequence[Pool], grants: Mapping[str, Grant],
           restricted: Mapping[str, frozenset[str]], ratio: Ratio,
           done: Mapping[str, JobUsage], now: datetime, budget_of: Mapping[str, float]
           ) -> tuple[list[JobProgress], list[Job]]:
    chips_here = {p.chip_type for p in pools}
    chips_in: dict[frozenset[str], set[str]] = {}
    queue: list[JobProgress] = []
    stranded: list[Job] = []
    for job in jobs:
        countries = restricted.get(job.id)
        grant = grants.get(job.grant_id)
        if countries is None:
            allowed = chips_here
        else:
            if countries not in chips_in:
                chips_in[countries] = {p.chip_type for p in pools if p.country in countries}
            allowed = chips_in[countries]
        demand = tuple(ChipDemand(a.chip, a.count) for a in job.spec.resources
                       if a.chip in allowed and (grant is None or grant.covers(a.chip)))
        if not demand:
            if countries is not None and job.status is JobStatus.QUEUED and \
                    any(a.chip in chips_here for a in job.spec.resources):
                stranded.append(job)
            continue
        running_on = _running_on(job, pools)
        usage = done.get(job.id, NO_USAGE)
        unmetered_s = _unmetered_s(job, now)
        work_done = usage.h100e_s
        if unmetered_s > 0 and job.chip:
            work_done += unmetered_s * job.chip_count * ratio(job.chip, job.spec.workload)
        estimate, remaining = remaining_work(job, ratio, work_done)
        sched_job = SchedJob(
            job.id, job.org_id, job.spec.workload.value, demand, estimate,
            job.submitted_at.timestamp(), priority_class=PRIORITY[job.spec.priority],
            # one country is a residency (as the simulator states it); several, a set
            residency=single(countries),
            countries=countries if single(countries) is None else None,
            cap_group=job.grant_id if grant is not None and grant.chip_counts else None,
            programme=grant.call_id if grant is not None else None,
            budget_h100e_h=budget_of.get(job.id))
        attained = _attained(job, usage, pools, running_on, unmetered_s)
        queue.append(JobProgress(sched_job, remaining, attained, running_on))
    return queue, stranded


def single(countries: frozenset[str] | None) -> str | None:
    """The one country of a restriction to exactly one, else None."""
    return next(iter(countries)) if countries is not None and len(countries) == 1 else None


def remaining_work(job: Job, ratio: Ratio, work_done: float) -> tuple[float, float]:
    """(estimated total, remaining) work of ``job`` in H100e-seconds, having done
    ``work_done``. With ``k`` chips of type ``c`` its first alternative, ``E`` its estimated
    duration (``max_duration`` when the tenant gave none) and ``M`` its max duration,

        W_est = E · k · r(c, workload),   W_max = M · k · r(c, workload),
        remaining = W_est − done     while positive, else  max(W_max − done, ε)

    so a job that outruns its estimate counts as long as its max duration allows rather than
    as nearly done: an estimate that is too low buys priority for its own length only."""
    first = job.spec.resources[0]
    seconds = job.spec.estimated_duration_s or job.spec.max_duration_s
    per_s = ratio(first.chip, job.spec.workload)
    estimate = seconds * first.count * per_s
    remaining = estimate - work_done
    if remaining <= 0:
        remaining = job.spec.max_duration_s * first.count * per_s - work_done
    remaining = max(remaining, MIN_REMAINING_H100E_S)
    return max(estimate, work_done + remaining), remaining


def _unmetered_s(job: Job, now: datetime) -> float:
    """Seconds the job's current run has used chips since it was last metered (0 unless
    the engine has started it)."""
    if job.status is not JobStatus.RUNNING or job.started_at is None:
        return 0.0
    since = job.metered_until or job.started_at
    return max((now - since).total_seconds(), 0.0)


def _attained(job: Job, usage: JobUsage, pools: Sequence[Pool], running_on: str | None,
              unmetered_s: float) -> dict[str, float]:
    """Wall seconds the job has run on each pool (the round mechanism's time received):
    its metered seconds per chip type on the pool it was last placed on if that pool has the
    chip, else on the first pool of the chip (records name the chip, not the pool), plus the
    unmetered part of its current run on the pool it holds."""
    chip_of = {p.id: p.chip_type for p in pools}
    attained: dict[str, float] = {}
    for chip, seconds in usage.wall_s.items():
        pool_id = job.pool_id if job.pool_id is not None and chip_of.get(job.pool_id) == chip \
            else next((p.id for p in pools if p.chip_type == chip), None)
        if pool_id is not None:
            attained[pool_id] = attained.get(pool_id, 0.0) + seconds
    if running_on is not None and unmetered_s > 0:
        attained[running_on] = attained.get(running_on, 0.0) + unmetered_s
    return attained


def _running_on(job: Job, pools: Sequence[Pool]) -> str | None:
    """The pool a running job holds: the one recorded at launch, else (jobs launched before
    pools were recorded) the first pool of its chip type."""
    if job.status is not JobStatus.RUNNING or not job.chip:
        return None
    if job.pool_id is not None:
        return job.pool_id
    return next((p.id for p in pools if p.chip_type == job.chip), None)
