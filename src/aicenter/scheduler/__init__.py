"""Heterogeneity-aware fair scheduling: ``schedule(snapshot, queue, clock) -> Allocation``.

Use::

    from aicenter.scheduler import (
        build_policy, ThroughputMatrix, SchedulerConfig, Snapshot, Pool, Tenant, Job,
        ChipDemand, JobProgress,
    )
    policy = build_policy("max_min_hetero", ThroughputMatrix.from_performance(perf))
    allocation = policy.schedule(snapshot, queue, clock=now_s)   # once per round
    for placement in allocation.placements: ...                  # start/keep these jobs

* :class:`Snapshot` — the pools (chip type, count, node size, country, price), the tenants
  (weight, quota and usage in H100e-hours), programmes, and the chase team's guaranteed share.
* ``queue`` — :class:`JobProgress` for every job waiting or running: the :class:`Job` as
  submitted (tenant, class, demand alternatives, total work, arrival, priority class, deadline,
  residency), the work left, the seconds it ran on each pool, and the pool it holds now.
* ``clock`` — float seconds on the caller's clock; the scheduler never reads a clock.
* :class:`Allocation` — long-run time fractions per job and pool, the placements for the coming
  round (pool, chips, node of each chip), and which jobs were preempted or migrated.

Built-in policies (``policy_names()``): ``fifo``; ``fair_share`` (Slurm-style, decaying usage);
``max_min_agnostic`` and ``max_min_hetero`` (Gavel's max-min fairness LP, blind to or aware of
chip speed); ``min_cost`` (deadlines met at the least money); ``finish_time_fair`` (the default,
:data:`DEFAULT_POLICY`: heterogeneity-aware shortest-remaining-work first with a max-min floor,
fair share by decayed usage within one octave of remaining work).
The chase team's lane (``Snapshot.chase_share``), quotas and residency apply to all of them.

A policy object keeps state between rounds (its last solution and when it was computed), so
build one per cluster and call it every round. Every policy honours capacity, node boundaries,
gang size, hard quotas and residency; see :mod:`aicenter.scheduler.rounds` for the mechanism
and each module in :mod:`aicenter.scheduler.policies` for its objective.
"""

from aicenter.scheduler.policy import (
    Policy,
    PolicyFactory,
    SchedulerConfig,
    build_policy,
    policy_factories,
    policy_names,
    register,
)
from aicenter.scheduler.registry import DEFAULT_POLICY  # also registers the built-ins
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import (
    Allocation,
    AnyChipDemand,
    ChipDemand,
    Demand,
    Job,
    JobProgress,
    Placement,
    Pool,
    PriorityClass,
    Programme,
    Snapshot,
    Tenant,
)

__all__ = [
    "DEFAULT_POLICY",
    "Allocation",
    "AnyChipDemand",
    "ChipDemand",
    "Demand",
    "Job",
    "JobProgress",
    "Placement",
    "Policy",
    "PolicyFactory",
    "Pool",
    "PriorityClass",
    "Programme",
    "SchedulerConfig",
    "Snapshot",
    "Tenant",
    "ThroughputMatrix",
    "build_policy",
    "policy_factories",
    "policy_names",
    "register",
]
