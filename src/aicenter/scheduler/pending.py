"""Why a job waits, after a round: the first reason that holds, in this order (Slurm's
``Reason`` field, for the rules this scheduler has):

=================  =========================================================================
``Residency``      no pool in the job's country has enough chips of a type it asked for
``QuotaExhausted`` its tenant or programme has used up its H100e-hours, or the job its own
                   budget (live: its grant ended, so it may not start on it)
``ChipCapReached`` its grant already holds as many chips of every type it asked for as it
                   was awarded (the concurrent cap), so another gang would go past it
``Priority``       another waiting job that could use one of the same pools is ahead of it
``Resources``      it is first in line for its pools and waits for chips to come free
=================  =========================================================================

As in Slurm, ``Resources`` is the reason of the job at the head of the line (it starts when
chips free up) and ``Priority`` of those behind it. Among the waiting jobs left after the
first three reasons, ``i`` is ahead of ``j`` when they share a pool that could run both
(their country, enough chips, not draining) and ``i`` comes first by: a higher priority
class; then a larger share of time in the policy's solution (``Σ_p x[i,p]``: under
``finish_time_fair`` the shorter remaining work, fair share and guaranteed shares decide
it); then the earlier arrival; then the id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from aicenter.scheduler.caps import CapLedger
from aicenter.scheduler.problem import chips_on_pool, out_of_budget, quota_left_h100e_h, resident
from aicenter.scheduler.types import Allocation, JobProgress, Snapshot


class PendingReason(StrEnum):
    RESIDENCY = "Residency"
    QUOTA_EXHAUSTED = "QuotaExhausted"
    CHIP_CAP_REACHED = "ChipCapReached"
    RESOURCES = "Resources"
    PRIORITY = "Priority"


def pending_reasons(snapshot: Snapshot, queue: Sequence[JobProgress], allocation: Allocation
                    ) -> dict[str, PendingReason]:
    """The reason of every job of ``queue`` that the allocation did not place."""
    placed = {p.job_id for p in allocation.placements}
    caps = CapLedger(snapshot)  # the round's own concurrent-cap bookkeeping, replayed
    job_of = {jp.id: jp.job for jp in queue}
    for p in allocation.placements:
        if p.job_id in job_of:
            caps.take(job_of[p.job_id], p.chip_type, p.count, 0.0)
    left = quota_left_h100e_h(snapshot)
    reasons: dict[str, PendingReason] = {}
    waiting: list[tuple[tuple[float, float, float, str], frozenset[str], str]] = []
    for jp in queue:
        if jp.id in placed:
            continue
        job = jp.job
        fits = [(pool, chips_on_pool(job, pool)) for pool in snapshot.pools]
        home = [(pool, k) for pool, k in fits if k > 0 and resident(job, pool)]
        if not home:
            reasons[job.id] = PendingReason.RESIDENCY
        elif out_of_budget(jp, snapshot, left):
            reasons[job.id] = PendingReason.QUOTA_EXHAUSTED
        elif not any(caps.fits(job, pool.chip_type, k) for pool, k in home):
            reasons[job.id] = PendingReason.CHIP_CAP_REACHED
        else:
            share = sum(_fractions(allocation, job.id).values())
            order = (-float(job.priority_class), -share, job.arrival_s, job.id)
            pools = frozenset(pool.id for pool, _ in home if not pool.draining)
            waiting.append((order, pools, job.id))
    waiting.sort()
    claimed: set[str] = set()  # pools a waiting job ahead has a claim on
    for _order, pools, job_id in waiting:
        behind = not pools.isdisjoint(claimed)
        reasons[job_id] = PendingReason.PRIORITY if behind else PendingReason.RESOURCES
        claimed |= pools
    return reasons


def _fractions(allocation: Allocation, job_id: str) -> Mapping[str, float]:
    try:
        return allocation.fractions[job_id]
    except KeyError:
        return {}
