"""Procurement optimiser: which chips to buy, within availability, budget and power.

Model (a MILP solved with HiGHS, through highspy: the scheduler's solver, so SciPy is not
needed for it). Offers ``i`` sell chip
``c_i`` in lots of ``l_i`` chips, at most ``a_i`` chips, at ``u_i`` KRW per chip, drawing
``w_i`` W per chip (host share included). Decision: whole lots ``m_i ∈ ℤ≥0``, chips
``n_i = l_i·m_i``.

    maximise    Σ_i r_i n_i                      (r_i: dense-training H100-equivalents per chip)
    subject to  n_i ≤ a_i                          availability
                Σ_i u_i n_i ≤ B                    budget (KRW)
                PUE · Σ_i w_i n_i ≤ P              site power (W), when a power cap is given
                Σ_j π_j ≥ S − K                    minimum rubric score, when asked

The rubric enters through *levels*: each criterion ``j`` whose points depend on the mix gets
binaries ``z_{jℓ}`` (``Σ_ℓ z_{jℓ} = 1``) and credited points ``π_j = Σ_ℓ p_{jℓ} z_{jℓ}``;
level ``ℓ`` is allowed only if its linear conditions ``A_ℓ n ≥ b_ℓ`` hold, written with big-M as
``A_ℓ n − M z_{jℓ} ≥ b_ℓ − M``. ``K`` is the points of criteria that do not depend on the mix
(site renewables, region, metrics). The levels, per criterion type:

* ``capacity``: points ``f·max`` need ``C ≥ f·target`` (f on a grid of 2 % steps);
* ``domestic_share``: ``f·max`` needs ``D − f·t·C ≥ 0`` and ``C > 0``;
* ``price`` against a reference ``q0``: ``f·max`` needs ``q0·C − f·cost_per_hour ≥ 0``
  (capex per hour plus electricity, as the criterion counts it);
  against the best bid the optimised fleet is the only bid: full marks once ``C > 0``;
* ``vendor_diversity``: a cap ``s`` on every vendor's share (``s·C − C_v ≥ 0`` for all v)
  guarantees the Herfindahl index is at most ``H(s)`` (:func:`sup_hhi`), hence at least the
  points of ``N = 1/H(s)``; caps on a 1 % grid.

Every level is a sufficient condition for its points, so the credited score never exceeds
the rubric's true score (reported beside it): the optimiser is exact for its level model and
conservative by at most one grid step per criterion against the true rubric.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import highspy
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from aicenter.catalog import Catalog, PerformanceTable
from aicenter.catalog.loader import unknown_chip_message
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InfeasibleError, InputError
from aicenter.domain.fleet import Pool, Proposal, Site
from aicenter.fleet.capacity import DEFAULT_HOST_POWER_FACTOR, CapacityBasis, CapacityCalculator
from aicenter.fleet.criteria import (
    Capacity,
    DomesticShare,
    LinearBand,
    Price,
    Region,
    RenewableShare,
    VendorDiversity,
    sup_hhi,
)
from aicenter.fleet.proposal_file import SiteModel
from aicenter.fleet.rubric import AnyCriterion, Rubric, ScoringContext
from aicenter.fleet.yamlio import PathKey, locate, read_yaml, validate

HOURS_PER_YEAR = 8760
RATIO_GRID = 50  # levels for ratio criteria: f = k / 50
SHARE_STEP = 0.01  # vendor-share caps on a 1 % grid

_STRICT = ConfigDict(extra="forbid", frozen=True)

try:  # the bare solver object: highspy.Highs prints a banner on stdout when first built
    from highspy._core import _Highs as _SolverObject
except ImportError:  # pragma: no cover - older highspy layouts
    _SolverObject = highspy.Highs  # type: ignore[misc]


class OfferModel(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1)
    supplier: str = ""
    chip: str
    available: int = Field(ge=0)
    unit_cost_krw: Decimal = Field(gt=0, description="capital cost per chip incl. server share")
    power_w: float | None = Field(default=None, gt=0, description="per chip incl. host share")
    lot: int = Field(default=1, ge=1, description="chips per purchasable unit (a server)")
    amortisation_years: float = Field(default=5.0, gt=0, le=30)


class OffersModel(BaseModel):
    model_config = _STRICT
    name: str = "procured fleet"
    site: SiteModel
    metrics: dict[str, float] = Field(default_factory=dict)
    offers: list[OfferModel] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    supplier: str
    chip_id: str
    available: int
    unit_cost_krw: Decimal
    power_w: float
    lot: int
    amortisation_years: float

    @property
    def max_lots(self) -> int:
        return self.available // self.lot


@dataclass(frozen=True, slots=True)
class OfferBook:
    name: str
    site: Site
    metrics: dict[str, float]
    offers: tuple[Offer, ...]


def load_offers(path: Path | str, catalog: Catalog) -> OfferBook:
    """Read an offers file; power defaults to the chip's TDP × host factor."""
    data, lines = read_yaml(path)
    return offers_from_data(data, str(path), lines, catalog)


def offers_from_data(data: object, filename: str, lines: dict[PathKey, int],
                     catalog: Catalog) -> OfferBook:
    """Validate parsed offers (``filename`` and ``lines`` locate each problem)."""
    model = validate(OffersModel, data, filename, lines)
    offers = []
    seen: set[str] = set()
    for index, o in enumerate(model.offers):
        if o.id in seen:
            raise locate(f"duplicate offer id '{o.id}'", filename, lines, ("offers", index, "id"))
        seen.add(o.id)
        if o.chip not in catalog:
            raise locate(
                unknown_chip_message(o.chip, catalog.ids),
                filename,
                lines,
                ("offers", index, "chip"),
            )
        tdp = catalog.get(o.chip).tdp_w
        power = (
            o.power_w
            if o.power_w is not None
            else (tdp * DEFAULT_HOST_POWER_FACTOR if tdp is not None else None)
        )
        if power is None:
            raise locate(
                f"{o.chip} has no published TDP: give power_w",
                filename,
                lines,
                ("offers", index),
            )
        offers.append(
            Offer(
                o.id,
                o.supplier,
                o.chip,
                o.available,
                o.unit_cost_krw,
                power,
                o.lot,
                o.amortisation_years,
            )
        )
    s = model.site
    site = Site(s.country, s.region, s.capital_region, s.renewable_share, s.pue)
    return OfferBook(model.name, site, dict(model.metrics), tuple(offers))


def fleet_of(book: OfferBook, chips: Sequence[int]) -> Proposal:
    """The proposal a purchase makes: one pool per offer bought, priced at its capex."""
    pools = tuple(
        Pool(
            chip_id=o.chip_id,
            count=n,
            capex_krw_per_chip=o.unit_cost_krw,
            amortisation_years=o.amortisation_years,
            name=o.id,
            power_w=o.power_w,
        )
        for o, n in zip(book.offers, chips, strict=True)
        if n > 0
    )
    return Proposal(
        bidder=book.name, site=book.site, pools=pools, metrics=book.metrics, name=book.name
    )


# A level: its points and the linear conditions (a·n ≥ b over chips per offer) it needs.
Condition = tuple[np.ndarray, float]


@dataclass(frozen=True, slots=True)
class Level:
    points: float
    conditions: tuple[Condition, ...]


@dataclass
class _Quantities:
    """Per-offer coefficient vectors the linearisers need."""

    calc: CapacityCalculator
    book: OfferBook

    def ratio(self, basis: CapacityBasis) -> np.ndarray:
        return np.array([self.calc.ratio(o.chip_id, basis) for o in self.book.offers])

    def hourly_cost(self, tariff_krw_per_kwh: float) -> np.ndarray:
        """Capex per hour plus electricity, per chip, as the price criterion counts it."""
        pue = self.book.site.pue
        return np.array(
            [
                float(o.unit_cost_krw) / (o.amortisation_years * HOURS_PER_YEAR)
                + tariff_krw_per_kwh * o.power_w * pue / 1000.0
                for o in self.book.offers
            ]
        )

    def nonempty(self, basis: CapacityBasis) -> Condition:
        r = self.ratio(basis)
        steps = [r[i] * o.lot for i, o in enumerate(self.book.offers) if r[i] > 0]
        return (r, min(steps) if steps else math.inf)


Lineariser = Callable[[AnyCriterion, _Quantities], list[Level]]


def _grid() -> list[float]:
    return [k / RATIO_GRID for k in range(RATIO_GRID + 1)]


def _capacity_levels(c: AnyCriterion, q: _Quantities) -> list[Level]:
    assert isinstance(c, Capacity)
    r = q.ratio(c.params.basis)
    return [Level(f * c.max_points, ((r, f * c.params.target_h100e),)) for f in _grid()]


def _domestic_levels(c: AnyCriterion, q: _Quantities) -> list[Level]:
    assert isinstance(c, DomesticShare)
    p = c.params
    r = q.ratio(p.basis)
    domestic = np.array([q.calc.country_of(o.chip_id) == p.country for o in q.book.offers])
    levels = [Level(0.0, ())]
    for f in _grid()[1:]:
        a = (domestic.astype(float) - f * p.target_share) * r
        levels.append(Level(f * c.max_points, ((a, 0.0), q.nonempty(p.basis))))
    return levels


def _price_levels(c: AnyCriterion, q: _Quantities) -> list[Level]:
    assert isinstance(c, Price)
    p = c.params
    if p.relative_to == "best_bid":
        return [Level(0.0, ()), Level(c.max_points, (q.nonempty(p.basis),))]
    assert p.reference_krw_per_h100e_h is not None
    r, cost = q.ratio(p.basis), q.hourly_cost(p.electricity_krw_per_kwh)
    levels = [Level(0.0, ())]
    for f in _grid()[1:]:
        a = p.reference_krw_per_h100e_h * r - f * cost
        levels.append(Level(f * c.max_points, ((a, 0.0), q.nonempty(p.basis))))
    return levels


def _diversity_levels(c: AnyCriterion, q: _Quantities) -> list[Level]:
    assert isinstance(c, VendorDiversity)
    p = c.params
    r = q.ratio(p.basis)
    vendors = sorted({q.calc.vendor_of(o.chip_id) for o in q.book.offers})
    n_star = 1.0 / sup_hhi(p.full_at_max_share)
    caps = [1.0 - k * SHARE_STEP for k in range(int((1.0 - p.full_at_max_share) / SHARE_STEP) + 1)]
    if caps[-1] > p.full_at_max_share + 1e-12:
        caps.append(p.full_at_max_share)
    levels = [Level(0.0, ())]
    for cap in caps:
        progress = min(1.0, max(0.0, (1.0 / sup_hhi(cap) - 1.0) / (n_star - 1.0)))
        points = p.floor_points + (c.max_points - p.floor_points) * progress
        conditions: list[Condition] = [q.nonempty(p.basis)]
        if cap < 1.0:
            for v in vendors:
                in_v = np.array([q.calc.vendor_of(o.chip_id) == v for o in q.book.offers])
                conditions.append((cap * r - in_v * r, 0.0))
        levels.append(Level(points, tuple(conditions)))
    return levels


LINEARISERS: dict[type[AnyCriterion], Lineariser] = {
    Capacity: _capacity_levels,
    DomesticShare: _domestic_levels,
    Price: _price_levels,
    VendorDiversity: _diversity_levels,
}
MIX_INDEPENDENT: tuple[type[AnyCriterion], ...] = (RenewableShare, Region, LinearBand)


@dataclass(frozen=True, slots=True)
class ScoreModel:
    """The rubric as levels: constant points plus, per mix-dependent criterion, its levels."""

    constant_points: float
    criteria: tuple[tuple[str, tuple[Level, ...]], ...]

    def credited(self, chips: np.ndarray) -> float:
        """Credited score of a purchase: per criterion the best level whose conditions hold."""
        total = self.constant_points
        for _, levels in self.criteria:
            total += max(
                lv.points
                for lv in levels
                if all(float(a @ chips) >= b - 1e-9 for a, b in lv.conditions)
            )
        return total


def score_model(rubric: Rubric, book: OfferBook, perf: PerformanceTable) -> ScoreModel:
    calc = CapacityCalculator(perf)
    q = _Quantities(calc, book)
    constant = 0.0
    criteria = []
    empty = fleet_of(book, [0] * len(book.offers))
    ctx = ScoringContext(perf, [empty])
    for criterion in rubric.criteria:
        kind = type(criterion)
        if kind in MIX_INDEPENDENT:
            constant += criterion.score(empty, ctx).points
        elif kind in LINEARISERS:
            criteria.append((criterion.id, tuple(LINEARISERS[kind](criterion, q))))
        else:
            raise InputError(
                f"criterion type '{criterion.type_name}' cannot be used by the procurement "
                "optimiser",
                field=f"rubric {rubric.id}: {criterion.id}",
            )
    return ScoreModel(constant, tuple(criteria))


@dataclass(frozen=True, slots=True)
class Purchase:
    """The optimiser's answer."""

    chips: tuple[int, ...]
    capacity_h100e: float
    cost_krw: Decimal
    power_mw: float
    credited_score: float | None
    score: float | None
    score_max: float | None
    solve_seconds: float
    fleet: Proposal


def optimise(
    book: OfferBook,
    perf: PerformanceTable,
    budget_krw: Decimal,
    power_mw: float | None = None,
    rubric: Rubric | None = None,
    min_score: float | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> Purchase:
    """Solve the MILP in the module docstring; raise InfeasibleError if nothing qualifies."""
    offers = book.offers
    n_off = len(offers)
    lots = np.array([o.lot for o in offers], dtype=float)
    r = np.array([perf.ratio(o.chip_id, WorkloadClass.DENSE_TRAINING) for o in offers])
    unit = np.array([float(o.unit_cost_krw) for o in offers])
    watts = np.array([o.power_w for o in offers]) * book.site.pue
    max_lots = np.array([o.max_lots for o in offers], dtype=float)
    wants_score = rubric is not None and min_score is not None
    model = score_model(rubric, book, perf) if rubric is not None and wants_score else None
    level_list = [lv for _, levels in model.criteria for lv in levels] if model else []
    n_var = n_off + len(level_list)

    rows: list[np.ndarray] = []
    lower: list[float] = []
    upper: list[float] = []

    def add(coef_offers: np.ndarray, coef_levels: dict[int, float], lo: float, hi: float) -> None:
        row = np.zeros(n_var)
        row[:n_off] = coef_offers * lots  # expressed per lot
        for j, v in coef_levels.items():
            row[n_off + j] = v
        rows.append(row)
        lower.append(lo)
        upper.append(hi)

    add(unit, {}, -np.inf, float(budget_krw))
    if power_mw is not None:
        add(watts, {}, -np.inf, power_mw * 1e6)
    if model is not None and min_score is not None:
        chips_max = max_lots * lots
        index = 0
        score_row: dict[int, float] = {}
        for _, levels in model.criteria:
            add(np.zeros(n_off), {index + k: 1.0 for k in range(len(levels))}, 1.0, 1.0)
            for k, lv in enumerate(levels):
                score_row[index + k] = lv.points
                for a, b in lv.conditions:
                    if math.isinf(b):  # no offer can satisfy it: forbid the level
                        add(np.zeros(n_off), {index + k: 1.0}, 0.0, 0.0)
                        continue
                    big_m = b - float(np.minimum(a, 0.0) @ chips_max)
                    if big_m > 0:
                        add(a, {index + k: -big_m}, b - big_m, np.inf)
            index += len(levels)
        add(np.zeros(n_off), score_row, min_score - model.constant_points - 1e-9, np.inf)

    objective = np.zeros(n_var)
    objective[:n_off] = -(r * lots)
    # Break ties towards the cheaper purchase (cost is scaled far below one chip's capacity).
    scale = float(budget_krw) if budget_krw > 0 else 1.0
    objective[:n_off] += 1e-6 * (unit * lots) / scale
    col_upper = np.concatenate([max_lots, np.ones(len(level_list))])
    start = timer()
    solution = _solve_integer(objective, np.array(rows), np.array(lower), np.array(upper),
                              col_upper)
    elapsed = timer() - start
    chips = tuple(round(float(solution[i])) * o.lot for i, o in enumerate(offers))
    fleet = fleet_of(book, chips)
    score = score_max = credited = None
    if rubric is not None:
        scored = rubric.score_all([fleet], perf)[0]
        score, score_max = scored.total, scored.max
        if model is not None:
            credited = model.credited(np.array(chips, dtype=float))
    return Purchase(
        chips=chips,
        capacity_h100e=float(r @ np.array(chips, dtype=float)),
        cost_krw=sum((o.unit_cost_krw * n for o, n in zip(offers, chips, strict=True)), Decimal(0)),
        power_mw=float(watts @ np.array(chips, dtype=float)) / 1e6,
        credited_score=credited,
        score=score,
        score_max=score_max,
        solve_seconds=elapsed,
        fleet=fleet,
    )


def _solve_integer(
    cost: NDArray[np.float64],
    rows: NDArray[np.float64],
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    col_upper: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Minimise ``cost · x`` subject to ``row_lower ≤ rows · x ≤ row_upper`` and
    ``0 ≤ x ≤ col_upper``, every ``x`` an integer, with HiGHS' defaults (presolve, relative
    gap 1e-4); raise InfeasibleError with HiGHS' status when there is no optimum."""
    n_row, n_col = rows.shape
    h = _SolverObject()
    h.setOptionValue("output_flag", False)
    # One thread, as the scheduler's LPs (scheduler/lp.py): HiGHS sizes its process-wide task
    # scheduler at the first solve and refuses a later solve asking for another thread count
    # (model status "Not Set"), so every solver in the process must ask for the same.
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = col_upper
    lp.row_lower_ = np.maximum(row_lower, -highspy.kHighsInf)
    lp.row_upper_ = np.minimum(row_upper, highspy.kHighsInf)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_col
    nonzero_rows, nonzero_cols = np.nonzero(rows)  # row-major order, as kRowwise wants
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.searchsorted(nonzero_rows, np.arange(n_row + 1)).astype(np.int64)
    lp.a_matrix_.index_ = nonzero_cols.astype(np.int64)
    lp.a_matrix_.value_ = rows[nonzero_rows, nonzero_cols]
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = n_row
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise InfeasibleError("no purchase meets the budget, power and minimum score: HiGHS "
                              f"says {h.modelStatusToString(status).lower()}")
    return np.asarray(h.getSolution().col_value, dtype=np.float64)
