"""Why a job waits, after a round: the first reason that holds, in this order (Slurm's
``Reason`` field, for the rules this scheduler has):

=================  =========================================================================
``Residency``      no pool in the job's country has enough chips of a type it asked for
``QuotaExhausted`` its tenant or programme has used up its H100e-hours
``ChipCapReached`` its grant already holds as many chips of every type it asked for as it
                   was awarded (the concurrent cap), so another gang would go past it
``Resources``      no pool that could run it has that many chips free this round
``Priority``       chips were free, but other jobs came first (fair share, guaranteed
                   shares, the chase team, shorter remaining work)
=================  =========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from aicenter.scheduler.caps import CapLedger
from aicenter.scheduler.problem import chips_on_pool, quota_keys, quota_left_h100e_h, resident
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
    free = {p.id: p.count for p in snapshot.pools}
    caps = CapLedger(snapshot)  # the round's own concurrent-cap bookkeeping, replayed
    job_of = {jp.id: jp.job for jp in queue}
    for p in allocation.placements:
        free[p.pool_id] -= p.count
        if p.job_id in job_of:
            caps.take(job_of[p.job_id], p.chip_type, p.count, 0.0)
    left = quota_left_h100e_h(snapshot)
    reasons: dict[str, PendingReason] = {}
    for jp in queue:
        if jp.id in placed:
            continue
        job = jp.job
        fits = [(pool, chips_on_pool(job, pool)) for pool in snapshot.pools]
        fits = [(pool, k) for pool, k in fits if k > 0]
        home = [(pool, k) for pool, k in fits if resident(job, pool)]
        if not home:
            reasons[job.id] = PendingReason.RESIDENCY
        elif left and any(left.get(k, 1.0) <= 0 for k in quota_keys(job, snapshot)):
            reasons[job.id] = PendingReason.QUOTA_EXHAUSTED
        elif not any(caps.fits(job, pool.chip_type, k) for pool, k in home):
            reasons[job.id] = PendingReason.CHIP_CAP_REACHED
        elif not any(k <= free[pool.id] and not pool.draining for pool, k in home):
            reasons[job.id] = PendingReason.RESOURCES
        else:
            reasons[job.id] = PendingReason.PRIORITY
    return reasons

