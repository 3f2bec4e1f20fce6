"""First in, first out, agnostic of chip speed.

Jobs are taken in arrival order through :func:`~aicenter.scheduler.policies.greedy.list_schedule`:
running jobs keep their pool (FIFO never preempts) and each waiting job gets the first pool, in
snapshot order, with enough free chips. Later, smaller jobs may start while a large one waits.
"""

from __future__ import annotations

from aicenter.scheduler.lp import FloatArray
from aicenter.scheduler.policies.greedy import allowed_pools, list_schedule
from aicenter.scheduler.problem import Problem


class FifoObjective:
    resolve_every_round = True
    # Arrival order, the chips each job needs and the pool each running job holds: nothing
    # that changes with time alone, so the fractions are reused while those stay the same.
    depends_on_time = False

    def fractions(self, problem: Problem) -> FloatArray:
        order = sorted(range(len(problem.jobs)), key=lambda j: problem.jobs[j].job.arrival_s)
        return list_schedule(problem, order, allowed_pools(problem))
