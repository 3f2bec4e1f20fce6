"""Training-run plans over the API and the pages: the planner core (:mod:`aicenter.planner`)
on the center's catalog, for a model preset, a token count and a chip type and count, with
its cost on both bases (rental price and owned hardware), its time and its energy; and the
same run compared across every trainable chip type.

Only packaged presets are accepted as the model (the CLI also reads a model YAML file on the
user's machine; a server never opens a path a request names). Planning reads nothing from the
database and changes nothing, so any signed-in caller may plan and nothing is logged."""

from __future__ import annotations

from dataclasses import dataclass

from aicenter.catalog.loader import nearest
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.planner.calibration import default_calibration
from aicenter.planner.compare import ChipOption, cheapest, compare_chips
from aicenter.planner.cost import BasisCosts, CostAssumptions, Ownership, basis_costs
from aicenter.planner.model import ModelSpec, presets
from aicenter.planner.plan import Plan, PlanOptions, plan_run, plan_warnings, stages_for
from aicenter.services.context import Caller, ServiceContext

MAX_TOKENS = 1e16
"""Above any published run (10^16 tokens); a larger figure is a typing mistake."""


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What to plan: a preset model, the main stage's tokens, and (for one plan) the chip
    type and count; for a comparison ``count`` is the count tried on every type and
    ``deadline_days`` asks for the smallest count meeting it instead."""

    model: str
    tokens: float
    count: int
    chip: str | None = None
    deadline_days: float | None = None


@dataclass(frozen=True, slots=True)
class PlanResult:
    """A plan with its cost on both bases and the caveats to show beside it."""

    plan: Plan
    costs: BasisCosts
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every trainable chip type's row, and the cheapest row on each basis (None when no row
    has a price on that basis)."""

    model: str
    rows: list[ChipOption]
    cheapest_rental: ChipOption | None
    cheapest_owned: ChipOption | None


def model_names(ctx: ServiceContext, caller: Caller) -> list[str]:
    """The presets a request may name (for a form's choice list)."""
    return list(presets())


def _model(name: str) -> ModelSpec:
    table = presets()
    if name in table:
        return table[name]
    hints = nearest(name, list(table))
    hint = f"; did you mean {', '.join(hints)}?" if hints else ""
    raise NotFoundError(f"unknown model '{name}'{hint} (presets: {', '.join(table)})")


def _tokens(tokens: float) -> float:
    if not 0 < tokens <= MAX_TOKENS:
        raise InputError(f"{tokens:g} must be a positive number of tokens up to {MAX_TOKENS:g}",
                         field="tokens")
    return tokens


def plan(ctx: ServiceContext, caller: Caller, request: PlanRequest) -> PlanResult:
    """Plan ``request`` on ``count`` chips of ``chip`` (maths in :mod:`aicenter.planner.plan`);
    a chip that cannot train is an :class:`InfeasibleError`, a model that does not fit is
    planned with ``fits = False`` and the reason."""
    if not request.chip:
        raise InputError("name the chip type to plan on", field="chip")
    spec = _model(request.model)
    stages, skipped = stages_for(spec, _tokens(request.tokens))
    chip = ctx.catalog.get(request.chip)
    assumptions = CostAssumptions()
    result = plan_run(spec, chip, request.count, stages, default_calibration(), ctx.catalog,
                      assumptions, PlanOptions(), skipped)
    costs = basis_costs(chip, result.chip_hours, assumptions, ctx.catalog)
    return PlanResult(result, costs, tuple(plan_warnings(result)))


def compare(ctx: ServiceContext, caller: Caller, request: PlanRequest) -> Comparison:
    """The run on every trainable chip type (:func:`aicenter.planner.compare.compare_chips`):
    at ``count`` chips raised to the memory minimum, or the smallest count meeting
    ``deadline_days``."""
    if request.count < 1:
        raise InputError(f"{request.count} must be at least 1 chip", field="count")
    spec = _model(request.model)
    stages, _ = stages_for(spec, _tokens(request.tokens))
    rows = compare_chips(spec, stages, request.count, default_calibration(), ctx.catalog,
                         CostAssumptions(), PlanOptions(), request.deadline_days)
    return Comparison(spec.name, rows, cheapest(rows, Ownership.RENTAL),
                      cheapest(rows, Ownership.OWNED))
