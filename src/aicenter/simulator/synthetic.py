"""A synthetic workload with a seed: Poisson arrivals, Philly-like durations, tenants.

Gavel's generator, restated:

* inter-arrival times are exponential with mean ``1 / jobs_per_hour`` (a Poisson process);
  ``jobs_per_hour = 0`` puts every job at t = 0;
* a job's duration on its reference chip is ``60 · 10^u`` seconds with ``u ~ U(1.5, 3)`` for
  80 % of jobs (0.5–16.7 h) and ``u ~ U(3, 4)`` for 20 % (16.7–167 h), as in Microsoft's Philly
  trace; work = duration × its rate on the reference chip;
* the gang size is drawn from ``gang_mix`` (default Gavel's multi-GPU mix 1/2/4/8 with
  p = .70/.10/.15/.05); the class uniformly among those with a rate at that size;
* the tenant is drawn with probability proportional to its weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from aicenter.domain.errors import InputError
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import ChipDemand, Job, Tenant
from aicenter.simulator.trace import Trace

GAVEL_GANG_MIX: Mapping[int, float] = {1: 0.70, 2: 0.10, 4: 0.15, 8: 0.05}


def generate(
    n_jobs: int,
    seed: int,
    matrix: ThroughputMatrix,
    job_classes: Sequence[str],
    chip_types: Sequence[str],
    reference_chip: str,
    jobs_per_hour: float = 1.0,
    gang_mix: Mapping[int, float] = GAVEL_GANG_MIX,
    tenants: Sequence[Tenant] = (Tenant("tenant-a"),),
) -> Trace:
    """``n_jobs`` jobs drawn with ``seed`` (module docstring)."""
    if n_jobs < 0 or jobs_per_hour < 0:
        raise InputError("job count and arrival rate must not be negative")
    if not job_classes or not chip_types or not tenants:
        raise InputError("need at least one job class, chip type and tenant")
    rng = np.random.default_rng(seed)
    sizes = list(gang_mix)
    p_size = np.array([gang_mix[s] for s in sizes], dtype=np.float64)
    p_size /= p_size.sum()
    weights = np.array([t.weight for t in tenants], dtype=np.float64)
    weights /= weights.sum()
    clock = 0.0
    jobs: list[Job] = []
    for i in range(n_jobs):
        if jobs_per_hour > 0 and i > 0:
            clock += float(rng.exponential(3600.0 / jobs_per_hour))
        size = int(sizes[rng.choice(len(sizes), p=p_size)])
        runnable = [c for c in job_classes if matrix.rate(c, reference_chip, size) > 0]
        if not runnable:
            raise InputError(f"no job class runs on {size} × {reference_chip}")
        job_class = runnable[int(rng.integers(len(runnable)))]
        u = rng.uniform(3.0, 4.0) if rng.random() < 0.2 else rng.uniform(1.5, 3.0)
        duration_s = 60.0 * 10.0**u
        tenant = tenants[int(rng.choice(len(tenants), p=weights))]
        jobs.append(
            Job(
                id=f"job{i}",
                tenant=tenant.id,
                job_class=job_class,
                demand=tuple(ChipDemand(c, size) for c in chip_types),
                total_work=duration_s * matrix.rate(job_class, reference_chip, size),
                arrival_s=clock,
            )
        )
    return Trace(f"synthetic-{n_jobs}-s{seed}", tuple(jobs), matrix, tuple(tenants))
