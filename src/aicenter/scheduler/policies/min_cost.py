"""``min_cost``: meet deadlines at the least money.

The price of progress of job ``j`` on pool ``p`` is ``π[j,p] = price_p · k[j,p] / r[j,p]``
(money per unit of work; pools without a price count their H100e per chip-hour instead, so an
unpriced fleet still prefers the chip that does the most per unit of worth). Waiting jobs start
earliest deadline first (jobs without a deadline after, by arrival); each takes, among pools with
room, the cheapest one on which it would finish by its deadline running from now
(``clock + W_j / r[j,p] ≤ deadline``); if none would, the fastest pool with room (least late);
a job without a deadline takes the cheapest pool with room. Running jobs are not moved.
"""

from __future__ import annotations

from aicenter.scheduler.lp import FloatArray
from aicenter.scheduler.policies.greedy import allowed_pools, list_schedule
from aicenter.scheduler.problem import Problem


def price_per_work(problem: Problem, j: int, p: int) -> float:
    pool = problem.pools[p]
    per_chip_h = (
        float(pool.price_per_chip_hour.amount)
        if pool.price_per_chip_hour is not None
        else pool.h100e_per_chip
    )
    return per_chip_h * float(problem.chips[j, p]) / float(problem.rate[j, p])


class MinCostObjective:
    resolve_every_round = True
    # Whether a job can still meet its deadline depends on the clock and its remaining work.
    depends_on_time = True

    def fractions(self, problem: Problem) -> FloatArray:
        inf = float("inf")
        allowed = allowed_pools(problem)

        def urgency(j: int) -> tuple[float, float]:
            job = problem.jobs[j].job
            return (job.deadline_s if job.deadline_s is not None else inf, job.arrival_s)

        def prefer(j: int) -> list[int]:
            pools = sorted(allowed(j), key=lambda p: price_per_work(problem, j, p))
            jp = problem.jobs[j]
            deadline = jp.job.deadline_s
            if deadline is None:
                return pools
            on_time = [
                p for p in pools if problem.clock + jp.remaining_work / problem.rate[j, p]
                <= deadline
            ]
            late = sorted(
                (p for p in pools if p not in on_time), key=lambda p: -problem.rate[j, p]
            )
            return on_time + late

        order = sorted(range(len(problem.jobs)), key=urgency)
        return list_schedule(problem, order, prefer)
