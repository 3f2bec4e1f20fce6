"""Honest cost: the final-run headline beside the cost of the whole programme.

A headline such as DeepSeek-V3's "USD 5.6M" prices only the final run's GPU-hours at a rental
rate. The programme that produced it also paid for (each a line item, each overridable):

* context extension and post-training / RL (planned from the preset's published stages or
  from tokens given by the user);
* experiments and ablations: ``m_exp ×`` the final pre-training run's cost;
* failed and restarted runs: ``f_fail ×`` the final pre-training run's cost;
* data and staff, as given amounts in KRW;
* owned hardware standing idle between runs: with a programme length ``M`` months the cluster's
  capex share is ``N · capex · system_factor · CRF · M / 12`` (purchase price, installed factor
  and capital recovery factor of :mod:`aicenter.planner.cost`); what the planned runs already
  carried through their per-hour capex share is subtracted, the rest is the idle-time capex.

    total = Σ line items,   headline = final pre-training run only
"""

from __future__ import annotations

from dataclasses import dataclass

from aicenter.catalog import Catalog
from aicenter.domain.errors import InputError
from aicenter.domain.units import Currency, Money
from aicenter.planner.cost import CostAssumptions, Ownership, owned_capex_price, run_cost
from aicenter.planner.model import ModelSpec, StageKind, StageSpec
from aicenter.planner.plan import Plan, PlanOptions, plan_run, stages_for
from aicenter.planner.throughput import Calibration

DEFAULT_EXPERIMENTS_MULTIPLIER = 1.0  # assumption: ablations cost about one more final run
DEFAULT_FAILED_RUN_FRACTION = 0.1  # assumption: restarts and abandoned runs


@dataclass(frozen=True, slots=True)
class ProgrammeAssumptions:
    """Programme-level multipliers and amounts (KRW)."""

    experiments_multiplier: float = DEFAULT_EXPERIMENTS_MULTIPLIER
    failed_run_fraction: float = DEFAULT_FAILED_RUN_FRACTION
    data_krw: float = 0.0
    staff_krw: float = 0.0
    programme_months: float | None = None

    def __post_init__(self) -> None:
        for name in ("experiments_multiplier", "failed_run_fraction", "data_krw", "staff_krw"):
            if getattr(self, name) < 0:
                raise InputError(f"{getattr(self, name)} must not be negative", field=name)
        if self.programme_months is not None and self.programme_months <= 0:
            raise InputError("must be positive", field="programme_months")


@dataclass(frozen=True, slots=True)
class LineItem:
    item: str
    chip_hours: float
    krw: Money
    note: str


@dataclass(frozen=True, slots=True)
class ProgrammeReport:
    headline: Plan
    items: tuple[LineItem, ...]
    krw_per_usd: float

    @property
    def headline_krw(self) -> Money:
        return self.items[0].krw

    @property
    def total_krw(self) -> Money:
        total = Money.zero(Currency.KRW)
        for item in self.items:
            total = total + item.krw
        return total

    @property
    def total_chip_hours(self) -> float:
        return sum(i.chip_hours for i in self.items)


def programme_items(final: LineItem, programme: ProgrammeAssumptions) -> tuple[LineItem, ...]:
    """The items every programme adds to its final run, whether the run was planned or
    measured (a model's provenance card prices them beside its job's metered run):

        experiments = m_exp × final,   failed runs = f_fail × final,   data, staff as given
    """
    m, f = programme.experiments_multiplier, programme.failed_run_fraction
    items = [LineItem("experiments and ablations", final.chip_hours * m, final.krw * m,
                      f"{m:g} × final run (assumption)"),
             LineItem("failed and restarted runs", final.chip_hours * f, final.krw * f,
                      f"{f:g} × final run (assumption)")]
    if programme.data_krw:
        items.append(LineItem("data", 0.0, Money.of(programme.data_krw, Currency.KRW), "given"))
    if programme.staff_krw:
        items.append(LineItem("staff", 0.0, Money.of(programme.staff_krw, Currency.KRW), "given"))
    return tuple(items)


def programme_report(
    model: ModelSpec,
    tokens: float,
    chip_id: str,
    count: int,
    calibration: Calibration,
    catalog: Catalog,
    assumptions: CostAssumptions | None = None,
    programme: ProgrammeAssumptions | None = None,
    options: PlanOptions | None = None,
    extra_stages: tuple[StageSpec, ...] = (),
) -> ProgrammeReport:
    """The final-run cost and the programme's line items (see the module docstring)."""
    assumptions = assumptions or CostAssumptions()
    programme = programme or ProgrammeAssumptions()
    chip = catalog.get(chip_id)
    main, _ = stages_for(model, tokens)
    headline = plan_run(model, chip, count, main, calibration, catalog, assumptions, options)
    items = [LineItem(f"final {main[0].kind.value} run (headline)", headline.chip_hours,
                      headline.cost.krw, headline.cost.basis)]
    include = (StageKind.CONTEXT_EXTENSION, StageKind.POST_TRAINING, StageKind.RL)
    all_stages, skipped = stages_for(model, tokens, include=include, extra=extra_stages)
    for stage in all_stages[1:]:
        plan = plan_run(model, chip, count, [stage], calibration, catalog, assumptions, options)
        items.append(LineItem(f"{stage.kind.value}: {stage.name}", plan.chip_hours,
                              plan.cost.krw, f"{stage.tokens:.3g} tokens at {stage.seq_len}"))
    for note in skipped:
        items.append(LineItem("not priced", 0.0, Money.zero(Currency.KRW), note))
    items.extend(programme_items(items[0], programme))
    capex_price, _ = owned_capex_price(chip, assumptions)
    if (
        programme.programme_months
        and assumptions.ownership is Ownership.OWNED
        and capex_price is not None
    ):
        share = programme.programme_months / 12.0 * assumptions.capital_recovery_factor
        installed = capex_price * assumptions.system_factor
        cluster = Money.of(count * installed * share, Currency.USD)
        cluster_krw = assumptions.exchange.convert(cluster)
        used = sum((i.chip_hours for i in items), 0.0)
        carried = run_cost(chip, used, assumptions, catalog).capex_krw
        idle = cluster_krw - carried
        if idle.amount > 0:
            items.append(LineItem("idle-time capex", 0.0, idle,
                                  f"{count} chips for {programme.programme_months:g} months"
                                  " less the capex the runs carried"))
    return ProgrammeReport(headline, tuple(items), assumptions.krw_per_usd)
