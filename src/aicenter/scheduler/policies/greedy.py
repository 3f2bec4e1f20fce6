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
    free = problem.capacity.tolist()
    chips = problem.chips.tolist()
    pool_index = {pool.id: p for p, pool in enumerate(problem.pools)}
    started = [False] * len(problem.jobs)
    for j in order:
        held = pool_index.get(problem.jobs[j].running_on or "", -1)
        if held >= 0 and 0 < chips[j][held] <= free[held]:
            x[j, held] = 1.0
            free[held] -= chips[j][held]
            started[j] = True
    for j in order:
        if started[j]:
            continue
        for p in prefer(j):
            if chips[j][p] and chips[j][p] <= free[p]:
                x[j, p] = 1.0
                free[p] -= chips[j][p]
                break
    return x


def allowed_pools(problem: Problem) -> PoolPreference:
    """Each job's allowed pools in snapshot order."""
    rows = [[p for p, c in enumerate(row) if c] for row in problem.chips.tolist()]
    return rows.__getitem__


def fastest_pools(problem: Problem) -> PoolPreference:
    """Each job's allowed pools, fastest first."""
    order = np.argsort(-problem.rate, axis=1, kind="stable").tolist()
    chips = problem.chips.tolist()
    rows = [[p for p in row if chips[j][p]] for j, row in enumerate(order)]
    return rows.__getitem__
