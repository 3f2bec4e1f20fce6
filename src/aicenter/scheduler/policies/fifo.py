"""First in, first out, agnostic of chip speed.

Jobs are taken in arrival order. A running job keeps its pool (FIFO never preempts); each
waiting job gets the first pool, in snapshot order, with enough free chips: ``x[j,p] = 1``.
A job that does not fit waits, and so does everything behind it on that pool only when no pool
can take it (later, smaller jobs may still start: no pool sits idle while work waits).
"""

from __future__ import annotations

import numpy as np

from aicenter.scheduler.lp import FloatArray
from aicenter.scheduler.problem import Problem


class FifoObjective:
    resolve_every_round = True

    def fractions(self, problem: Problem) -> FloatArray:
        x = np.zeros_like(problem.rate)
        free = problem.capacity.copy()
        pool_index = {pool.id: p for p, pool in enumerate(problem.pools)}
        order = sorted(range(len(problem.jobs)), key=lambda j: problem.jobs[j].job.arrival_s)
        for j in order:
            held = pool_index.get(problem.jobs[j].running_on or "", -1)
            if held >= 0 and problem.chips[j, held] and problem.chips[j, held] <= free[held]:
                x[j, held] = 1.0
                free[held] -= problem.chips[j, held]
        for j in order:
            if x[j].any():
                continue
            for p in np.flatnonzero(problem.chips[j]):
                if problem.chips[j, p] <= free[p]:
                    x[j, p] = 1.0
                    free[p] -= problem.chips[j, p]
                    break
        return x
