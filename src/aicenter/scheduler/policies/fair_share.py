"""``fair_share``: Slurm-style weighted fair share with decaying usage.

Each tenant ``t`` has a normalised share ``S_t = w_t / Σ w`` (over the tenants in the snapshot
and those with queued jobs) and a decayed usage ``U_t``: every call,
``U_t ← U_t · 2^(−Δt / half_life) + ΔH_t`` where ``ΔH_t`` is the H100e-hours the tenant used
since the previous call (from ``Tenant.used``), unless the snapshot carries the decayed
usage itself (``Tenant.decayed_usage_h100e_h``, which the live server computes from its usage
records, so the history survives a restart). The fair-share factor is Slurm's classic

    F_t = 2^(−u_t / S_t),   u_t = U_t / Σ_s U_s   (F_t = 1 while nobody has used anything)

Waiting jobs start in order of ``F_t`` (highest first), then job weight, then arrival, each on
the fastest pool with room (so the order is fair and the placement heterogeneity-aware).
Running jobs are not preempted, as in Slurm, where priority orders the pending queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from aicenter.scheduler.lp import FloatArray
from aicenter.scheduler.policies.greedy import fastest_pools, list_schedule
from aicenter.scheduler.problem import Problem


def slurm_factors(problem: Problem, usage: Mapping[str, float]) -> dict[str, float]:
    """``F_t = 2^(−u_t / S_t)`` (module docstring) for every tenant of the snapshot and of
    the queue, from each one's decayed usage ``usage[t]`` (0 when absent)."""
    tenants = problem.snapshot.tenants
    ids = set(tenants) | {jp.job.tenant for jp in problem.jobs}
    weight = {t: (tenants[t].weight if t in tenants else 1.0) for t in ids}
    total_weight = sum(weight.values()) or 1.0
    total_usage = sum(usage.get(t, 0.0) for t in ids)
    factors: dict[str, float] = {}
    for t in ids:
        share = weight[t] / total_weight
        used = usage.get(t, 0.0) / total_usage if total_usage > 0 else 0.0
        factors[t] = 2.0 ** (-used / share) if share > 0 else 0.0
    return factors


class FairShareObjective:
    resolve_every_round = True
    # The tenants' decayed usage (and so the order) changes every round.
    depends_on_time = True

    def __init__(self, half_life_s: float) -> None:
        self.half_life_s = half_life_s
        self._usage: dict[str, float] = {}
        self._last_used: dict[str, float] = {}
        self._last_clock: float | None = None

    def factors(self, problem: Problem) -> dict[str, float]:
        """Update decayed usage with what tenants used since the last call; return ``F_t``."""
        tenants = problem.snapshot.tenants
        dt = 0.0 if self._last_clock is None else max(problem.clock - self._last_clock, 0.0)
        decay = 2.0 ** (-dt / self.half_life_s) if self.half_life_s > 0 else 0.0
        for tid, tenant in tenants.items():
            if tenant.decayed_usage_h100e_h is not None:  # the caller decayed it already
                self._usage[tid] = tenant.decayed_usage_h100e_h
                continue
            delta = tenant.used.value - self._last_used.get(tid, 0.0)
            self._usage[tid] = self._usage.get(tid, 0.0) * decay + max(delta, 0.0)
            self._last_used[tid] = tenant.used.value
        self._last_clock = problem.clock
        return slurm_factors(problem, self._usage)

    def fractions(self, problem: Problem) -> FloatArray:
        factor = self.factors(problem)
        order = sorted(
            range(len(problem.jobs)),
            key=lambda j: (
                -factor[problem.jobs[j].job.tenant],
                -problem.jobs[j].job.weight,
                problem.jobs[j].job.arrival_s,
            ),
        )
        return list_schedule(problem, order, fastest_pools(problem))
