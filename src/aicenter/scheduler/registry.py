"""The built-in policies, registered by name (see :mod:`aicenter.scheduler.policy`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from aicenter.scheduler.policies.fair_share import FairShareObjective
from aicenter.scheduler.policies.fifo import FifoObjective
from aicenter.scheduler.policies.finish_time import DEFAULT_FLOOR, FinishTimeFairObjective
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
        "fifo", "first in, first out; agnostic of chip speed", lambda c: FifoObjective()
    )
)
register(
    RoundPolicyFactory(
        "max_min_agnostic",
        "max-min fairness treating every chip alike (Gavel's baseline)",
        lambda c: MaxMinObjective(aware=False),
    )
)
register(
    RoundPolicyFactory(
        "max_min_hetero",
        "Gavel's heterogeneity-aware max-min fairness LP",
        lambda c: MaxMinObjective(aware=True),
    )
)
register(
    RoundPolicyFactory(
        "fair_share",
        "Slurm-style weighted fair share with decaying usage; fastest free chip first",
        lambda c: FairShareObjective(c.fair_share_half_life_s),
    )
)
register(
    RoundPolicyFactory(
        "min_cost",
        "earliest deadline first, each job on the cheapest chip that meets its deadline",
        lambda c: MinCostObjective(),
    )
)


@dataclass(frozen=True)
class FinishTimeFairFactory:
    """``finish_time_fair`` re-solves when jobs arrive or leave, at most every two rounds."""

    name: str = "finish_time_fair"
    description: str = (
        "heterogeneity-aware shortest-remaining-work first with a max-min floor (default)"
    )

    def build(self, throughputs: ThroughputMatrix, config: SchedulerConfig) -> Policy:
        objective = FinishTimeFairObjective(config.extra.get("floor", DEFAULT_FLOOR))
        own = replace(config, resolve_min_interval_s=2 * config.round_s)
        return RoundScheduler(self.name, objective, throughputs, own)


register(FinishTimeFairFactory())
DEFAULT_POLICY = "finish_time_fair"
