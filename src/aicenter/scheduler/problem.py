"""One scheduling cycle's problem: which jobs may run where, how fast, on how many chips.

Built from a :class:`Snapshot` and the queue. A job may run on pool ``p`` when one of its demand
alternatives matches the pool's chip (``ChipDemand`` by type, ``AnyChipDemand`` by memory), its
residency (if any) equals the pool's country, and its rate there is positive. Jobs whose tenant
or programme has used up its grant, or whose own budget is spent, are left out entirely (quotas
are hard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import AnyChipDemand, ChipDemand, Job, JobProgress, Pool, Snapshot

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def chips_on_pool(job: Job, pool: Pool) -> int:
    """Chips the job needs on ``pool`` (its first matching alternative), 0 if none matches."""
    for alt in job.demand:
        if alt.count > pool.count:
            continue
        if isinstance(alt, ChipDemand) and alt.chip_type == pool.chip_type:
            return alt.count
        if isinstance(alt, AnyChipDemand) and pool.memory_gib >= alt.min_memory_gib:
            return alt.count
    return 0


def resident(job: Job, pool: Pool) -> bool:
    """The job may run in the pool's country: its residency (if any) and the countries the
    center's placement policy allows it (if restricted) both admit it."""
    return ((job.residency is None or job.residency == pool.country)
            and (job.countries is None or pool.country in job.countries))


def quota_left_h100e_h(snapshot: Snapshot) -> dict[str, float]:
    """Remaining grant of every tenant and programme with a quota (key ``programme:<id>``)."""
    left: dict[str, float] = {}
    for tenant in snapshot.tenants.values():
        if tenant.quota is not None:
            left[tenant.id] = tenant.quota.value - tenant.used.value
    for prog in snapshot.programmes.values():
        if prog.quota is not None:
            used = sum(t.used.value for t in snapshot.tenants.values() if t.programme == prog.id)
            left[f"programme:{prog.id}"] = prog.quota.value - used
    return left


def out_of_budget(jp: JobProgress, snapshot: Snapshot, left: dict[str, float]) -> bool:
    """Whether the job may not run: a quota it draws on (``left``:
    :func:`quota_left_h100e_h`) is spent, or it is waiting and its own budget (if it has
    one) is. A running job whose own budget is spent keeps its place: whoever keeps that
    budget stops it (the live center's metering, which then ends it with the reason)."""
    job = jp.job
    if job.budget_h100e_h is not None and job.budget_h100e_h <= 0 and jp.running_on is None:
        return True
    return bool(left) and any(left.get(k, 1.0) <= 0 for k in quota_keys(job, snapshot))


def quota_keys(job: Job, snapshot: Snapshot) -> tuple[str, ...]:
    """The quota accounts a job draws on: its tenant and its programme."""
    keys = [job.tenant]
    tenant = snapshot.tenants.get(job.tenant)
    programme = job.programme or (tenant.programme if tenant else None)
    if programme is not None:
        keys.append(f"programme:{programme}")
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class Problem:
    """Eligible jobs × pools with rates (work/s) and chips per job; zeros where not allowed."""

    snapshot: Snapshot
    jobs: tuple[JobProgress, ...]
    pools: tuple[Pool, ...]
    rate: FloatArray  # (J, P)
    chips: IntArray  # (J, P)
    clock: float

    @property
    def capacity(self) -> FloatArray:
        return np.array([p.count for p in self.pools], dtype=np.float64)

    def weights(self) -> FloatArray:
        """Job weight × tenant weight."""
        tenants = self.snapshot.tenants
        return np.array(
            [
                jp.job.weight * (tenants[jp.job.tenant].weight if jp.job.tenant in tenants else 1.0)
                for jp in self.jobs
            ],
            dtype=np.float64,
        )


RowCache = dict[tuple[object, ...], tuple[list[float], list[int]]]


def build_problem(
    snapshot: Snapshot,
    queue: Sequence[JobProgress],
    clock: float,
    throughputs: ThroughputMatrix,
    rows: RowCache | None = None,
) -> Problem:
    """The jobs that may run this cycle and where; see the module docstring for the rules.

    ``rows`` caches each (class, demand, residency) row across calls; the caller must drop it
    when the pools or the throughputs change.
    """
    left = quota_left_h100e_h(snapshot)
    pools = snapshot.pools
    jobs: list[JobProgress] = []
    rate_rows: list[list[float]] = []
    chip_rows: list[list[int]] = []
    # Jobs with the same class, demand and residency have the same row: compute it once.
    if rows is None:
        rows = {}
    for jp in queue:
        if jp.remaining_work <= 0 or jp.job.arrival_s > clock:
            continue
        if out_of_budget(jp, snapshot, left):
            continue
        key = (jp.job.job_class, jp.job.demand, jp.job.residency, jp.job.countries)
        row = rows.get(key)
        if row is None:
            rates: list[float] = []
            chips: list[int] = []
            for pool in pools:
                k = chips_on_pool(jp.job, pool) if resident(jp.job, pool) else 0
                r = throughputs.rate(jp.job.job_class, pool.chip_type, k) if k else 0.0
                rates.append(r)
                chips.append(k if r > 0 else 0)
            row = rows[key] = (rates, chips)
        if any(row[1]):
            jobs.append(jp)
            rate_rows.append(row[0])
            chip_rows.append(row[1])
    shape = (len(jobs), len(pools))
    rate = np.array(rate_rows, dtype=np.float64).reshape(shape)
    chips_arr = np.array(chip_rows, dtype=np.int64).reshape(shape)
    return Problem(snapshot, tuple(jobs), tuple(pools), rate, chips_arr, clock)
