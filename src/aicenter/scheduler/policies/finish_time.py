"""``finish_time_fair``: finish jobs fast on the chips that suit them, never starving anyone.

Heterogeneity-aware and shortest-remaining-first, with max-min fairness as a floor. Two LPs
(see :mod:`aicenter.scheduler.lp`):

1. ``t*`` = the optimum of Gavel's max-min fairness LP over normalised throughputs
   ``a[j,p] = k[j,p]·r[j,p] / (w_j·R_j)``;
2. maximise ``Σ_j Σ_p w_j · r[j,p] / W_j · x[j,p]`` — the fraction of its remaining work ``W_j``
   each job completes per second, weighted — subject to the base constraints and the floor
   ``Σ_p a[j,p]·x[j,p] ≥ β·t*`` for every job (default ``β = 0.25``).

The objective favours, at once, jobs near completion (small ``W_j``, as SRPT does, which is what
lowers the average completion time) and the chip each job runs fastest on relative to others
(the ``r[j,p]`` term, as in Gavel).

Fair share (Slurm's half-life) enters the objective within one octave of remaining work: with
``F_t = 2^(−u_t/S_t)`` the fair-share factor of tenant ``t`` from its decayed usage
(:func:`aicenter.scheduler.policies.fair_share.slurm_factors`, the ``fair_share`` policy's),
job ``j`` of tenant ``t`` is valued as if its remaining work were ``2^(d_j)`` times larger,

    d_j = min(log2(F_max / F_t), 1),   rounded to quarters,

where ``F_max`` is the best factor among the queued jobs' tenants. So between jobs of about
the same length the tenant further below its share goes first, while a job a quarter as long
as another still goes ahead of it whoever used more (SRPT keeps the average completion time
low; on Gavel's traces, where every job is its own tenant, averages move by under 0.5 %).
With one tenant in the queue, or no decayed usage in the snapshot, ``d_j = 0``. The floor
below uses the static weights only, so fair share never takes a job below it.

The floor guarantees every job, in every solution, at least ``β`` of the normalised
throughput max-min fairness would give the worst-off job of the same queue, so no job starves
however long it is. The problem is re-solved whenever jobs arrive
or leave (at most every two rounds), since remaining work is part of the objective.
To keep the LP small, jobs are grouped by their normalised row, gang size and remaining work
rounded to powers of two (so identical jobs share one variable per pool).
"""

from __future__ import annotations

import numpy as np

from aicenter.scheduler.lp import FloatArray, FractionLp, max_min, weighted_with_floor
from aicenter.scheduler.policies.fair_share import slurm_factors
from aicenter.scheduler.policies.maxmin import grouped_lp, normalised_coefficients, unique_rows
from aicenter.scheduler.problem import Problem

DEFAULT_FLOOR = 0.25
REMAINING_BUCKETS_PER_OCTAVE = 1
DEFAULT_FAIR_SHARE_OCTAVES = 1.0
FAIR_SHARE_STEPS_PER_OCTAVE = 4


def fair_share_steps(problem: Problem, octaves: float) -> FloatArray:
    """``d_j`` of the module docstring: how many octaves (in quarters, at most ``octaves``)
    job ``j``'s tenant's fair-share factor lies below the best factor among the queued
    jobs' tenants. 0 for every job when nobody has decayed usage in the snapshot."""
    n = len(problem.jobs)
    usage = {t.id: t.decayed_usage_h100e_h or 0.0 for t in problem.snapshot.tenants.values()}
    if n == 0 or octaves <= 0 or not any(u > 0 for u in usage.values()):
        return np.zeros(n)
    factors = slurm_factors(problem, usage)
    f = np.array([factors[jp.job.tenant] for jp in problem.jobs], dtype=np.float64)
    top = float(f.max())
    if top <= 0:
        return np.zeros(n)
    with np.errstate(divide="ignore"):
        gap = np.log2(top / f)
    gap = np.clip(np.nan_to_num(gap, nan=octaves, posinf=octaves), 0.0, octaves)
    return np.asarray(np.round(gap * FAIR_SHARE_STEPS_PER_OCTAVE) / FAIR_SHARE_STEPS_PER_OCTAVE,
                      dtype=np.float64)


class FinishTimeFairObjective:
    """Weighted remaining-work-rate LP with a max-min floor (module docstring)."""

    resolve_every_round = False
    # Remaining work is in the objective; the mechanism still re-solves only when jobs arrive
    # or leave (at most every two rounds), as Gavel does.
    depends_on_time = True

    def __init__(self, floor: float = DEFAULT_FLOOR,
                 fair_share_octaves: float = DEFAULT_FAIR_SHARE_OCTAVES) -> None:
        if not 0.0 <= floor < 1.0:
            raise ValueError("floor must be in [0, 1)")
        if not 0.0 <= fair_share_octaves <= 8.0:
            raise ValueError("fair_share_octaves must be in [0, 8]")
        self.floor = floor
        self.fair_share_octaves = fair_share_octaves

    def fractions(self, problem: Problem) -> FloatArray:
        a = normalised_coefficients(problem, aware=True)
        # t* does not depend on remaining work: solve it on the coarser grouping.
        _, t_star = max_min(grouped_lp(problem, a)[0], interior=False)
        remaining = np.array([max(jp.remaining_work, 1e-12) for jp in problem.jobs])
        bucket = np.round(np.log2(remaining) * REMAINING_BUCKETS_PER_OCTAVE)
        weights = problem.weights()
        # The objective coefficient of x[j,p] is w_j·r[j,p]/W_j = value_j · a[j,p] with
        # value_j = w_j²·R_j / (k_j·W_j), one number per job, so groups stay exact.
        proportional = problem.rate @ problem.capacity / problem.capacity.sum()
        gang = np.maximum(problem.chips.max(axis=1), 1)
        behind = fair_share_steps(problem, self.fair_share_octaves)
        value = weights**2 * proportional / (
            gang * 2.0 ** (bucket / REMAINING_BUCKETS_PER_OCTAVE + behind))
        key = np.concatenate(
            [np.round(a, 12), problem.chips.astype(np.float64), bucket[:, None],
             behind[:, None]], axis=1
        )
        first, inverse, counts = unique_rows(key)
        lp = FractionLp(
            a=a[first],
            chips=problem.chips[first].astype(np.float64),
            members=counts.astype(np.float64),
            capacity=problem.capacity,
        )
        x = weighted_with_floor(lp, value[first], self.floor * t_star * (1 - 1e-9))
        return np.asarray(x[inverse], dtype=np.float64)
