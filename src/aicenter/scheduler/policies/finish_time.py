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
(the ``r[j,p]`` term, as in Gavel). The floor guarantees every job, in every solution, at
least ``β`` of the normalised throughput max-min fairness would give the worst-off job of the
same queue, so no job starves however long it is. The problem is re-solved whenever jobs arrive
or leave (at most every two rounds), since remaining work is part of the objective.
To keep the LP small, jobs are grouped by their normalised row, gang size and remaining work
rounded to powers of two (so identical jobs share one variable per pool).
"""

from __future__ import annotations

import numpy as np

from aicenter.scheduler.lp import FloatArray, FractionLp, max_min, weighted_with_floor
from aicenter.scheduler.policies.maxmin import grouped_lp, normalised_coefficients, unique_rows
from aicenter.scheduler.problem import Problem

DEFAULT_FLOOR = 0.25
REMAINING_BUCKETS_PER_OCTAVE = 1


class FinishTimeFairObjective:
    """Weighted remaining-work-rate LP with a max-min floor (module docstring)."""

    resolve_every_round = False
    # Remaining work is in the objective; the mechanism still re-solves only when jobs arrive
    # or leave (at most every two rounds), as Gavel does.
    depends_on_time = True

    def __init__(self, floor: float = DEFAULT_FLOOR) -> None:
        if not 0.0 <= floor < 1.0:
            raise ValueError("floor must be in [0, 1)")
        self.floor = floor

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
        value = weights**2 * proportional / (gang * 2.0 ** (bucket / REMAINING_BUCKETS_PER_OCTAVE))
        key = np.concatenate(
            [np.round(a, 12), problem.chips.astype(np.float64), bucket[:, None]], axis=1
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
