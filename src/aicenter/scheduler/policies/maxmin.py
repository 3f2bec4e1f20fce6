"""Max-min fairness over time fractions, heterogeneity-aware or agnostic (Gavel §4.1).

The LP is stated in :mod:`aicenter.scheduler.lp`::

    maximise t  s.t.  Σ_p a[j,p]·x[j,p] ≥ t ∀j,   Σ_p x[j,p] ≤ 1 ∀j,   Σ_j k[j,p]·x[j,p] ≤ C_p ∀p
    a[j,p] = k[j,p]·r[j,p] / (w_j·R_j),   R_j = Σ_p r[j,p]·C_p / Σ_p C_p

``max_min_hetero`` uses the measured/estimated rates ``r``; ``max_min_agnostic`` sets every
allowed ``r`` to 1, as a scheduler that treats all accelerators alike would.
"""

from __future__ import annotations

import numpy as np

from aicenter.scheduler.lp import FloatArray, FractionLp, max_min
from aicenter.scheduler.problem import Problem


def normalised_coefficients(problem: Problem, aware: bool) -> FloatArray:
    """``a[j,p]`` of the module docstring (0 where the job cannot run)."""
    rate = problem.rate if aware else (problem.chips > 0).astype(np.float64)
    cap = problem.capacity
    proportional = rate @ cap / cap.sum()
    weights = problem.weights()
    with np.errstate(divide="ignore", invalid="ignore"):
        a = problem.chips * rate / (weights * proportional)[:, None]
    return np.asarray(np.nan_to_num(a, nan=0.0, posinf=0.0), dtype=np.float64)


def unique_rows(key: FloatArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the first occurrence of each distinct row, row → group, and group sizes.

    Rows are compared as raw bytes (one sort of a 1-D array), much faster than
    ``np.unique(axis=0)`` for ten thousand rows.
    """
    rows = np.ascontiguousarray(key)
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(
        as_bytes, return_index=True, return_inverse=True, return_counts=True
    )
    return first, inverse.reshape(-1), counts


def grouped_lp(problem: Problem, a: FloatArray) -> tuple[FractionLp, np.ndarray]:
    """Merge jobs with identical coefficient and chip rows; return the LP and job → group."""
    key = np.concatenate([np.round(a, 12), problem.chips.astype(np.float64)], axis=1)
    first, inverse, counts = unique_rows(key)
    lp = FractionLp(
        a=a[first],
        chips=problem.chips[first].astype(np.float64),
        members=counts.astype(np.float64),
        capacity=problem.capacity,
    )
    return lp, inverse


class MaxMinObjective:
    """Gavel's max-min fairness LP, aware (``aware=True``) or agnostic of chip speed."""

    resolve_every_round = False
    # A function of the jobs, their rates and the pools alone (re-solved when jobs arrive or
    # leave, at most every resolve_min_interval_s, as Gavel does).
    depends_on_time = False

    def __init__(self, aware: bool) -> None:
        self.aware = aware

    def fractions(self, problem: Problem) -> FloatArray:
        a = normalised_coefficients(problem, self.aware)
        lp, group_of = grouped_lp(problem, a)
        x, _ = max_min(lp)
        return np.asarray(x[group_of], dtype=np.float64)
