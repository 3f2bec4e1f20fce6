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
import scipy.sparse as sp
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
    matrix: sp.csc_matrix,
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
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = -cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = col_upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = matrix.shape[0]
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise InfeasibleError(f"time-fraction LP not solved: {h.modelStatusToString(status)}")
    return np.asarray(h.getSolution().col_value, dtype=np.float64)


def _base_rows(lp: FractionLp, first_row: int) -> tuple[sp.coo_matrix, FloatArray]:
    """One-place rows then capacity rows for the allowed ``(g, p)``, and their upper bounds."""
    n_groups, n_pools = lp.a.shape
    g, p = np.nonzero(lp.a > 0)
    var = np.arange(len(g))
    rows = np.concatenate([first_row + g, first_row + n_groups + p])
    cols = np.concatenate([var, var])
    vals = np.concatenate([np.ones(len(g)), lp.members[g] * lp.chips[g, p]])
    shape = (first_row + n_groups + n_pools, len(g))
    uppers = np.concatenate([np.ones(n_groups), lp.capacity])
    return sp.coo_matrix((vals, (rows, cols)), shape=shape), uppers


def _fairness_rows(lp: FractionLp, n_rows: int) -> sp.coo_matrix:
    """Rows ``Σ_p a[g,p] x[g,p]``, one per group, starting at row 0."""
    g, p = np.nonzero(lp.a > 0)
    return sp.coo_matrix((lp.a[g, p], (g, np.arange(len(g)))), shape=(n_rows, len(g)))


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
    base, uppers = _base_rows(lp, first_row=n_groups)
    n_rows, n_vars = base.shape
    fair = _fairness_rows(lp, n_rows)
    minus_t = sp.coo_matrix(
        (-np.ones(n_groups), (np.arange(n_groups), np.zeros(n_groups, dtype=np.int64))),
        shape=(n_rows, 1),
    )
    matrix = sp.hstack([(fair + base).tocsc(), minus_t.tocsc()], format="csc")
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
    base, uppers = _base_rows(lp, first_row=n_groups)
    n_rows, n_vars = base.shape
    matrix = (_fairness_rows(lp, n_rows) + base).tocsc()
    row_lower = np.concatenate([np.full(n_groups, floor), np.full(len(uppers), -np.inf)])
    row_upper = np.concatenate([np.full(n_groups, np.inf), uppers])
    g, p = np.nonzero(lp.a > 0)
    cost = lp.members[g] * value[g] * lp.a[g, p]
    x = _solve(cost, matrix, row_lower, row_upper, np.ones(n_vars), interior=False)
    return _unflatten(lp, x)
