"""Non-preemptive list scheduling, shared by ``fifo``, ``fair_share`` and ``min_cost``.

A running job keeps its pool (these policies never preempt or migrate: like Slurm, priority
only orders who starts next). Waiting jobs are then taken in the policy's order; each gets
``x[j,p] = 1`` on the first pool of its own preference list that has enough free chips. A job
that fits nowhere waits without blocking smaller jobs behind it (back-filling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from aicenter.scheduler.lp import FloatArray
from aicenter.scheduler.problem import Problem

PoolPreference = Callable[[int], Sequence[int]]


def list_schedule(problem: Problem, order: Sequence[int], prefer: PoolPreference) -> FloatArray:
    """Fractions (0 or 1) from a job order and each job's pool preference (module docstring)."""
    x = np.zeros_like(problem.rate)
    free = problem.capacity.copy()
    pool_index = {pool.id: p for p, pool in enumerate(problem.pools)}
    for j in order:
        held = pool_index.get(problem.jobs[j].running_on or "", -1)
        if held >= 0 and 0 < problem.chips[j, held] <= free[held]:
            x[j, held] = 1.0
            free[held] -= problem.chips[j, held]
    for j in order:
        if x[j].any():
            continue
        for p in prefer(j):
            if problem.chips[j, p] and problem.chips[j, p] <= free[p]:
                x[j, p] = 1.0
                free[p] -= problem.chips[j, p]
                break
    return x


def allowed_pools(problem: Problem, j: int) -> list[int]:
    """Pools job ``j`` may use, in snapshot order."""
    return [int(p) for p in np.flatnonzero(problem.chips[j])]


def fastest_pools(problem: Problem, j: int) -> list[int]:
    """Pools job ``j`` may use, fastest first."""
    return sorted(allowed_pools(problem, j), key=lambda p: -problem.rate[j, p])
