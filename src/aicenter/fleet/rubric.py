"""The rubric engine: a rubric is a list of criteria, each a registered type with parameters.

A criterion type is a class deriving from :class:`Criterion` with a ``type_name`` (the name a
rubric YAML file uses) and a pydantic ``Params`` model; :func:`register_criterion` adds it to
the registry. Scoring a proposal gives, per criterion, points in ``[0, max]`` and one line that
explains how the points came out; the total is their sum, so it never exceeds the rubric's max.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from aicenter.catalog import PerformanceTable
from aicenter.domain.fleet import Proposal
from aicenter.fleet.capacity import CapacityBasis, CapacityCalculator, FleetCapacity

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class CriterionResult:
    id: str
    type: str
    points: float
    max: float
    explanation: str


@dataclass(frozen=True, slots=True)
class RubricResult:
    rubric: str
    proposal: str
    total: float
    max: float
    criteria: tuple[CriterionResult, ...]

    def as_dict(self) -> dict[str, object]:
        """The JSON contract: ``{rubric, total, max, criteria: [{id, points, max, ...}]}``."""
        return {
            "rubric": self.rubric,
            "proposal": self.proposal,
            "total": self.total,
            "max": self.max,
            "criteria": [
                {
                    "id": c.id,
                    "type": c.type,
                    "points": c.points,
                    "max": c.max,
                    "explanation": c.explanation,
                }
                for c in self.criteria
            ],
        }


class ScoringContext:
    """What criteria may look at besides the proposal itself: capacities and the whole field.

    Capacities are cached per (proposal, basis); field-wide figures (the best price bid) are
    computed once per rubric run.
    """

    def __init__(self, perf: PerformanceTable, field: Sequence[Proposal]) -> None:
        self.calculator = CapacityCalculator(perf)
        self.field = field
        self._capacity: dict[tuple[int, CapacityBasis], FleetCapacity] = {}
        self._best_price: dict[tuple[CapacityBasis, float], float | None] = {}

    def capacity(self, proposal: Proposal, basis: CapacityBasis) -> FleetCapacity:
        key = (id(proposal), basis)
        cached = self._capacity.get(key)
        if cached is None:
            cached = self.calculator.capacity(proposal, basis)
            self._capacity[key] = cached
        return cached

    def best_price(self, basis: CapacityBasis, tariff_krw_per_kwh: float) -> float | None:
        """Lowest KRW per h100e-hour bid in the field (the L1 price), None if nobody priced."""
        key = (basis, tariff_krw_per_kwh)
        if key not in self._best_price:
            prices = [
                price
                for p in self.field
                if (price := self.capacity(p, basis).price_krw_per_h100e_h(tariff_krw_per_kwh))
                is not None
            ]
            self._best_price[key] = min(prices) if prices else None
        return self._best_price[key]


class Criterion(ABC, Generic[P]):
    """A scored criterion; subclasses set ``type_name`` and ``Params`` and implement ``score``."""

    type_name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    description: ClassVar[str]

    def __init__(self, criterion_id: str, max_points: float, params: P) -> None:
        self.id = criterion_id
        self.max_points = max_points
        self.params = params

    @abstractmethod
    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        """Return (fraction of max in [0, 1] or points, explanation) — see :meth:`score`."""

    def score(self, proposal: Proposal, ctx: ScoringContext) -> CriterionResult:
        points, explanation = self.evaluate(proposal, ctx)
        points = round(min(self.max_points, max(0.0, points)), 6)
        return CriterionResult(self.id, self.type_name, points, self.max_points, explanation)


AnyCriterion = Criterion[Any]

CRITERION_TYPES: dict[str, type[AnyCriterion]] = {}

C = TypeVar("C", bound=type[AnyCriterion])


def register_criterion(cls: C) -> C:
    """Class decorator: make a criterion type available to rubric files by its type_name."""
    if cls.type_name in CRITERION_TYPES:
        raise ValueError(f"criterion type '{cls.type_name}' registered twice")
    CRITERION_TYPES[cls.type_name] = cls
    return cls


@dataclass(frozen=True)
class Rubric:
    id: str
    name: str
    description: str
    criteria: tuple[AnyCriterion, ...]

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.criteria)

    def score(self, proposal: Proposal, ctx: ScoringContext) -> RubricResult:
        results = tuple(c.score(proposal, ctx) for c in self.criteria)
        return RubricResult(
            rubric=self.id,
            proposal=proposal.label,
            total=round(sum(r.points for r in results), 6),
            max=self.max_points,
            criteria=results,
        )

    def score_all(
        self, proposals: Sequence[Proposal], perf: PerformanceTable
    ) -> list[RubricResult]:
        """Score every proposal against the same field (relative criteria see all bids)."""
        ctx = ScoringContext(perf, proposals)
        return [self.score(p, ctx) for p in proposals]
