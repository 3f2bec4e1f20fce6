"""The policy interface and its registry.

Every policy is an object with ``schedule(snapshot, queue, clock) -> Allocation``. Policies may
keep state between calls (the last computed time fractions, when they were computed); the live
service keeps one instance per cluster and calls it every round, the simulator does the same.

Policies register a :class:`PolicyFactory` (name, description, and a ``build`` method); the CLI
lists :func:`policy_names` and builds by name through :func:`build_policy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aicenter.domain.errors import NotFoundError
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import Allocation, JobProgress, Snapshot


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Knobs shared by every policy.

    ``round_s``: length of a round. ``resolve_min_interval_s``: the time-fraction problem is
    re-solved when jobs arrive or leave, at most this often (Gavel: 1,920 s).
    ``restart_cost_s``: seconds of work a job loses each time it is (re)started on a pool it was
    not running on (0 reproduces Gavel's free preemption); the placement step weighs it when
    deciding whether to move a running job.
    """

    round_s: float = 360.0
    resolve_min_interval_s: float = 1920.0
    restart_cost_s: float = 0.0
    fair_share_half_life_s: float = 7 * 24 * 3600.0
    extra: dict[str, float] = field(default_factory=dict)


class Policy(Protocol):
    """A scheduling policy: one call per round."""

    @property
    def name(self) -> str: ...

    def schedule(
        self, snapshot: Snapshot, queue: Sequence[JobProgress], clock: float
    ) -> Allocation: ...


class PolicyFactory(Protocol):
    """Builds a policy; registered once per policy name."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def build(self, throughputs: ThroughputMatrix, config: SchedulerConfig) -> Policy: ...


_REGISTRY: dict[str, PolicyFactory] = {}


def register(factory: PolicyFactory) -> PolicyFactory:
    """Add a policy to the registry (a second factory with the same name is an error)."""
    if factory.name in _REGISTRY:
        raise ValueError(f"policy '{factory.name}' registered twice")
    _REGISTRY[factory.name] = factory
    return factory


def policy_factories() -> list[PolicyFactory]:
    return list(_REGISTRY.values())


def policy_names() -> list[str]:
    return list(_REGISTRY)


def build_policy(
    name: str, throughputs: ThroughputMatrix, config: SchedulerConfig | None = None
) -> Policy:
    """The policy called ``name``; an unknown name lists the known ones."""
    factory = _REGISTRY.get(name)
    if factory is None:
        raise NotFoundError(f"unknown policy '{name}'; known: {', '.join(sorted(_REGISTRY))}")
    return factory.build(throughputs, config or SchedulerConfig())
