"""The built-in policies, registered by name (see :mod:`aicenter.scheduler.policy`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from aicenter.scheduler.policies.fair_share import FairShareObjective
from aicenter.scheduler.policies.fifo import FifoObjective
from aicenter.scheduler.policies.finish_time import (
    DEFAULT_FAIR_SHARE_OCTAVES,
    DEFAULT_FLOOR,
    FinishTimeFairObjective,
)
from aicenter.scheduler.policies.maxmin import MaxMinObjective
from aicenter.scheduler.policies.min_cost import MinCostObjective
from aicenter.scheduler.policy import Policy, SchedulerConfig, register
from aicenter.scheduler.rounds import FractionObjective, RoundScheduler
from aicenter.scheduler.throughput import ThroughputMatrix


@dataclass(frozen=True)
class RoundPolicyFactory:
    """A policy made of a fraction objective run through the round mechanism."""

    name: str
    description: str
    objective: Callable[[SchedulerConfig], FractionObjective]

    def build(self, throughputs: ThroughputMatrix, config: SchedulerConfig) -> Policy:
        return RoundScheduler(self.name, self.objective(config), throughputs, config)


register(
    RoundPolicyFactory(
        "fifo",
        "first in, first out: jobs start in arrival order, each on the first pool with room, "
        "agnostic of chip speed; a smaller later job may back-fill; never preempts",
        lambda c: FifoObjective(),
    )
)
register(
    RoundPolicyFactory(
        "max_min_agnostic",
        "Gavel's baseline: the max-min fairness LP with every chip alike, raising the worst-off "
        "job's share of the cluster; re-solved when jobs arrive or leave",
        lambda c: MaxMinObjective(aware=False),
    )
)
register(
    RoundPolicyFactory(
        "max_min_hetero",
        "Gavel's heterogeneity-aware max-min fairness LP: the same on each job's measured speed "
        "per chip type, so each job gets time on the chips that suit it",
        lambda c: MaxMinObjective(aware=True),
    )
)
register(
    RoundPolicyFactory(
        "fair_share",
        "Slurm-style weighted fair share: the tenant furthest below its share (usage decaying "
        "with a half-life) starts next, on the fastest free chip; never preempts",
        lambda c: FairShareObjective(c.fair_share_half_life_s),
    )
)
register(
    RoundPolicyFactory(
        "min_cost",
        "earliest deadline first, each job on the cheapest chip on which it still meets its "
        "deadline (the fastest if none does); never preempts",
        lambda c: MinCostObjective(),
    )
)


@dataclass(frozen=True)
class FinishTimeFairFactory:
    """``finish_time_fair`` re-solves when jobs arrive or leave, at most every two rounds."""

    name: str = "finish_time_fair"
    description: str = (
        "the default: heterogeneity-aware shortest-remaining-work first (an LP) with a max-min "
        "floor so no job starves, and fair share by decayed usage (a tenant over its share "
        "counts its jobs up to twice as long); re-solved when jobs arrive or leave"
    )

    def build(self, throughputs: ThroughputMatrix, config: SchedulerConfig) -> Policy:
        objective = FinishTimeFairObjective(
            config.extra.get("floor", DEFAULT_FLOOR),
            config.extra.get("fair_share_octaves", DEFAULT_FAIR_SHARE_OCTAVES))
        own = replace(config, resolve_min_interval_s=2 * config.round_s)
        return RoundScheduler(self.name, objective, throughputs, own)


register(FinishTimeFairFactory())
DEFAULT_POLICY = "finish_time_fair"
