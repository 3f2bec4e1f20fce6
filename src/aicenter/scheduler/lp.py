"""Linear programs over time fractions, solved with HiGHS.

The scheduling problems here share one shape. There are job *groups* ``g`` (identical jobs are
merged: same class, gang size, weight and allowed pools, so the LP size depends on the variety
of jobs, not their number; by symmetry an optimum exists that gives every job of a group the
same fractions) with ``n_g`` members, and pools ``p`` with ``C_p`` chips. The variable
``x[g,p] ∈ [0, 1]`` is the fraction of time each job of ``g`` spends on ``p``.

Base constraints (every problem):

* ``Σ_p x[g,p] ≤ 1``                      a job is in one place at a time;
* ``Σ_g n_g · k[g,p] · x[g,p] ≤ C_p``      pool capacity, ``k`` = chips per job on ``p``;
* ``x[g,p] = 0`` where the job cannot run  (rate 0, wrong chip, residency).

Max-min fairness (Gavel, OSDI 2020, §4.1)::

    maximise t  subject to  Σ_p a[g,p] · x[g,p] ≥ t  for every g,  and the base constraints,
    a[g,p] = k_g · r[g,p] / (w_g · R_g),   R_g = Σ_p r[g,p] · C_p / Σ_p C_p

``r`` is the job's rate on ``p`` (work/s; all ones for the heterogeneity-*agnostic* variant),
``R_g`` the rate it would get from an equal, proportional share of every pool, ``w_g`` its
weight and ``k_g`` its gang size (a job on k chips should get 1/k the time of a one-chip job).

Weighted throughput with a fairness floor (the ``finish_time_fair`` policy)::

    maximise Σ_g n_g · v_g · Σ_p a[g,p] · x[g,p]
    subject to  Σ_p a[g,p] · x[g,p] ≥ β · t*  for every g,  and the base constraints

where ``t*`` is the max-min optimum, so every job keeps at least ``β`` of its max-min share.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray

from aicenter.domain.errors import InfeasibleError

FloatArray = NDArray[np.float64]

try:  # the bare solver object: highspy.Highs prints a banner on stdout when first built
    from highspy._core import _Highs as _SolverObject
except ImportError:  # pragma: no cover - older highspy layouts
    _SolverObject = highspy.Highs  # type: ignore[misc]


@dataclass(frozen=True, slots=True)
class FractionLp:
    """Inputs of a time-fraction LP over groups × pools (dense, ``a`` = 0 where not allowed)."""

    a: FloatArray  # (G, P) normalised throughput coefficient
    chips: FloatArray  # (G, P) chips a job of the group needs on each pool
    members: FloatArray  # (G,) jobs in the group
    capacity: FloatArray  # (P,) chips in each pool


def _solve(
    cost: FloatArray,
    matrix: _Csc,
    row_lower: FloatArray,
    row_upper: FloatArray,
    col_upper: FloatArray,
    interior: bool,
) -> FloatArray:
    """Maximise ``cost · x`` subject to ``row_lower ≤ A x ≤ row_upper``, ``0 ≤ x ≤ col_upper``."""
    h = _SolverObject()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    if interior:
        # The interior-point method without crossover returns a point near the centre of the
        # optimal face, like the ECOS solver Gavel uses; a simplex vertex would give the
        # non-binding jobs as little as possible.
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
        h.setOptionValue("presolve", "off")
    lp = highspy.HighsLp()
    n_col = len(cost)
    lp.num_col_ = n_col
    lp.num_row_ = matrix.n_rows
    lp.col_cost_ = -cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = col_upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.start
    lp.a_matrix_.index_ = matrix.index
    lp.a_matrix_.value_ = matrix.value
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = matrix.n_rows
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise InfeasibleError(f"time-fraction LP not solved: {h.modelStatusToString(status)}")
    return np.asarray(h.getSolution().col_value, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Csc:
    """A column-wise sparse matrix as HiGHS takes it."""

    start: NDArray[np.int64]
    index: NDArray[np.int64]
    value: FloatArray
    n_rows: int


def _rows(lp: FractionLp, with_t: bool) -> tuple[_Csc, FloatArray]:
    """Fairness rows ``Σ_p a x (− t)`` [0, G), one-place rows [G, 2G), capacity rows [2G, 2G+P).

    Each variable ``x[g,p]`` has exactly three entries, already in row order, so the matrix is
    built column-wise directly; with ``with_t`` a last column holds ``−1`` in every fairness row.
    Returns the matrix and the upper bounds of the one-place and capacity rows.
    """
    n_groups, n_pools = lp.a.shape
    g, p = np.nonzero(lp.a > 0)
    n_vars = len(g)
    index = np.stack([g, n_groups + g, 2 * n_groups + p], axis=1).reshape(-1)
    value = np.stack(
        [lp.a[g, p], np.ones(n_vars), lp.members[g] * lp.chips[g, p]], axis=1
    ).reshape(-1)
    start = np.arange(0, 3 * n_vars + 1, 3, dtype=np.int64)
    if with_t:
        index = np.concatenate([index, np.arange(n_groups)])
        value = np.concatenate([value, -np.ones(n_groups)])
        start = np.append(start, 3 * n_vars + n_groups)
    uppers = np.concatenate([np.ones(n_groups), lp.capacity])
    matrix = _Csc(start, index.astype(np.int64), value, 2 * n_groups + n_pools)
    return matrix, uppers


def _unflatten(lp: FractionLp, x: FloatArray) -> FloatArray:
    out = np.zeros_like(lp.a)
    g, p = np.nonzero(lp.a > 0)
    out[g, p] = np.clip(x[: len(g)], 0.0, 1.0)
    return out


def max_min(lp: FractionLp, interior: bool = True) -> tuple[FloatArray, float]:
    """Solve the max-min fairness LP; return fractions ``x[g,p]`` and the optimum ``t*``."""
    n_groups = lp.a.shape[0]
    if n_groups == 0:
        return np.zeros_like(lp.a), 0.0
    matrix, uppers = _rows(lp, with_t=True)
    n_vars = len(matrix.start) - 2
    row_lower = np.concatenate([np.zeros(n_groups), np.full(len(uppers), -np.inf)])
    row_upper = np.concatenate([np.full(n_groups, np.inf), uppers])
    cost = np.zeros(n_vars + 1)
    cost[n_vars] = 1.0
    col_upper = np.concatenate([np.ones(n_vars), [np.inf]])
    x = _solve(cost, matrix, row_lower, row_upper, col_upper, interior)
    return _unflatten(lp, x), float(x[n_vars])


def weighted_with_floor(lp: FractionLp, value: FloatArray, floor: float) -> FloatArray:
    """Maximise ``Σ n_g v_g Σ_p a x`` keeping every group's ``Σ_p a x ≥ floor``."""
    n_groups = lp.a.shape[0]
    if n_groups == 0:
        return np.zeros_like(lp.a)
    matrix, uppers = _rows(lp, with_t=False)
    n_vars = len(matrix.start) - 1
    row_lower = np.concatenate([np.full(n_groups, floor), np.full(len(uppers), -np.inf)])
    row_upper = np.concatenate([np.full(n_groups, np.inf), uppers])
    g, p = np.nonzero(lp.a > 0)
    cost = lp.members[g] * value[g] * lp.a[g, p]
    x = _solve(cost, matrix, row_lower, row_upper, np.ones(n_vars), interior=False)
    return _unflatten(lp, x)
