"""The built-in policies, registered by name (see :mod:`aicenter.scheduler.policy`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aicenter.scheduler.policies.fifo import FifoObjective
from aicenter.scheduler.policies.maxmin import MaxMinObjective
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
