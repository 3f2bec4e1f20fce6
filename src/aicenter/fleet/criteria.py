"""The built-in criterion types. Each docstring states how points are computed.

Notation: ``max`` is the criterion's maximum points, ``C`` a fleet's capacity in
H100-equivalents on the criterion's basis (see :mod:`aicenter.fleet.capacity`).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aicenter.catalog.loader import REFERENCE_CHIP_ID
from aicenter.domain.errors import InputError
from aicenter.domain.fleet import Proposal
from aicenter.fleet.capacity import CapacityBasis
from aicenter.fleet.rubric import Criterion, ScoringContext, register_criterion

_STRICT = ConfigDict(extra="forbid", frozen=True)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _h(x: float) -> str:
    return f"{x:,.0f}"


class DiversityParams(BaseModel):
    model_config = _STRICT
    basis: CapacityBasis = CapacityBasis.BEST
    floor_points: float = Field(default=0.0, ge=0, description="points of a one-vendor fleet")
    full_at_max_share: float = Field(
        default=0.4, gt=0, lt=1, description="full marks once no vendor exceeds this share"
    )


def sup_hhi(max_share: float) -> float:
    """The largest Herfindahl index of a fleet in which no vendor exceeds ``max_share``: as
    many vendors as fit at ``max_share``, the rest on one more (0.4 -> 40/40/20, H = 0.36).
    A cap of 40 % implies at least three vendors."""
    n_full = math.floor(1.0 / max_share + 1e-12)
    rest = max(0.0, 1.0 - n_full * max_share)
    return n_full * max_share**2 + rest**2


@register_criterion
class VendorDiversity(Criterion[DiversityParams]):
    """Semiconductor diversity, weighted by capacity.

    With vendor shares ``s_v = C_v / C`` the effective number of vendors is
    ``N = 1 / Σ s_v²`` (inverse Herfindahl). A fleet counts as fully diverse once ``N`` reaches
    ``N* = 1 / H*``, where ``H*`` is the largest Herfindahl index of a fleet with no vendor
    above ``full_at_max_share`` (at ≤ 40 %: shares 40/40/20, so three vendors at least,
    ``H* = 0.36``, ``N* = 2.78``). Points::

        floor + (max − floor) · clamp((N − 1) / (N* − 1), 0, 1)

    Monotone: moving capacity from a larger vendor to a smaller one lowers ``Σ s²``
    (Schur-convexity), so it never lowers the score; reordering or splitting pools changes no
    share. A single-vendor fleet of any size scores ``floor``.
    """

    type_name = "vendor_diversity"
    Params = DiversityParams
    description = "diversity of chip vendors by share of h100e capacity"

    def points_for(self, by_vendor: dict[str, float]) -> tuple[float, float, float]:
        """(points, effective vendors N, N needed for full marks) for capacities by vendor."""
        p = self.params
        total = sum(by_vendor.values())
        n_star = 1.0 / sup_hhi(p.full_at_max_share)
        if total <= 0:
            return 0.0, 0.0, n_star
        hhi = sum((c / total) ** 2 for c in by_vendor.values() if c > 0)
        n_eff = 1.0 / hhi
        progress = min(1.0, max(0.0, (n_eff - 1.0) / (n_star - 1.0)))
        if progress > 1.0 - 1e-9:
            progress = 1.0
        return p.floor_points + (self.max_points - p.floor_points) * progress, n_eff, n_star

    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        p = self.params
        cap = ctx.capacity(proposal, p.basis)
        if cap.total_h100e <= 0:
            return 0.0, f"no {p.basis} capacity"
        points, n_eff, n_star = self.points_for(cap.by_vendor)
        mix = ", ".join(
            f"{v} {_pct(c / cap.total_h100e)}"
            for v, c in sorted(cap.by_vendor.items(), key=lambda kv: -kv[1])
            if c > 0
        )
        return points, (
            f"{mix} of {_h(cap.total_h100e)} h100e ({p.basis}); effective vendors {n_eff:.2f} "
            f"of {n_star:.2f} for full marks -> {points:.2f}"
        )


class DomesticParams(BaseModel):
    model_config = _STRICT
    basis: CapacityBasis = CapacityBasis.BEST
    country: str = Field(default="KR", pattern=r"^[A-Z]{2}$")
    target_share: float = Field(default=0.5, gt=0, le=1)


@register_criterion
class DomesticShare(Criterion[DomesticParams]):
    """Share of capacity from chips whose vendor is of ``country``:
    ``max · min(1, (C_country / C) / target_share)``."""

    type_name = "domestic_share"
    Params = DomesticParams
    description = "share of capacity from domestic chips, against a target"

    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        p = self.params
        cap = ctx.capacity(proposal, p.basis)
        if cap.total_h100e <= 0:
            return 0.0, f"no {p.basis} capacity"
        share = cap.by_country.get(p.country, 0.0) / cap.total_h100e
        ratio = min(1.0, share / p.target_share)
        return self.max_points * ratio, (
            f"{p.country} chips give {_pct(share)} of {_h(cap.total_h100e)} h100e ({p.basis}); "
            f"full marks at {_pct(p.target_share)}"
        )


class CapacityParams(BaseModel):
    model_config = _STRICT
    basis: CapacityBasis = CapacityBasis.BEST
    target_h100e: float = Field(default=10_000, gt=0)


@register_criterion
class Capacity(Criterion[CapacityParams]):
    """Capacity against a target such as 10,000 H100s: ``max · min(1, C / target)``."""

    type_name = "capacity"
    Params = CapacityParams
    description = "h100e capacity against a target"

    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        p = self.params
        cap = ctx.capacity(proposal, p.basis)
        ratio = min(1.0, cap.total_h100e / p.target_h100e)
        return self.max_points * ratio, (
            f"{_h(cap.total_h100e)} h100e ({p.basis}) from {cap.chips:,} chips "
            f"against a target of {_h(p.target_h100e)}"
        )


class PriceParams(BaseModel):
    model_config = _STRICT
    basis: CapacityBasis = CapacityBasis.BEST
    relative_to: str = Field(default="best_bid", pattern="^(best_bid|reference)$")
    reference_krw_per_h100e_h: float | None = Field(default=None, gt=0)
    electricity_krw_per_kwh: float = Field(
        default=182.0, ge=0, description="tariff charged on owned pools' power"
    )
    krw_per_usd: float = Field(
        default=1420.0, gt=0, description="exchange rate for the catalog's USD reference price"
    )

    @model_validator(mode="after")
    def _reference_given(self) -> PriceParams:
        if self.relative_to == "reference" and self.reference_krw_per_h100e_h is None:
            raise ValueError("relative_to: reference needs reference_krw_per_h100e_h")
        return self


def reference_price_krw_per_h100e_h(ctx: ScoringContext, krw_per_usd: float) -> tuple[float, str]:
    """The sourced reference: one H100 SXM rented for an hour is one h100e-hour by definition,
    so ``q_ref = catalog rental price of the reference chip (USD/h) · KRW per USD``."""
    catalog = ctx.calculator.perf.catalog
    chip = catalog.get(REFERENCE_CHIP_ID)
    if chip.price_usd_per_chip_hour is None:
        raise InputError(f"{chip.id} has no rental price in the catalog to score price against")
    price = chip.price_usd_per_chip_hour * krw_per_usd
    return price, (
        f"the reference: {chip.id} rental {chip.price_usd_per_chip_hour:g} USD/h × "
        f"{krw_per_usd:g} KRW/USD (catalog source: {chip.source}, {chip.retrieved})"
    )


@register_criterion
class Price(Criterion[PriceParams]):
    """Price per H100-equivalent hour ``q`` against the best bid or a reference ``q0``:
    ``max · min(1, q0 / q)`` — the lowest bid gets full marks, twice its price half.

    ``q0`` is the lowest bid in the field when several proposals are ranked together
    (``relative_to: best_bid``). A single fleet has no field: scoring it against itself would
    always give full marks, so it is scored against the reference price instead — the
    ``reference_krw_per_h100e_h`` given, else the catalog's rental price of one H100 SXM hour
    (by definition one h100e-hour, sourced in the catalog) at ``krw_per_usd``. With
    ``relative_to: reference`` every proposal is scored against the reference.

    ``q = (Σ rent + Σ capex / (years · 8,760 h) + tariff · owned kW) / h100e`` over the priced
    pools: owned chips pay their electricity (power × PUE at ``electricity_krw_per_kwh``,
    default 182 KRW/kWh), rented ones have it in the rent."""

    type_name = "price"
    Params = PriceParams
    description = "KRW per h100e-hour, relative to the best bid or a reference"

    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        p = self.params
        price = ctx.capacity(proposal, p.basis).price_krw_per_h100e_h(p.electricity_krw_per_kwh)
        if price is None:
            return 0.0, "no priced pool: 0 points"
        if p.relative_to == "best_bid" and len(ctx.field) > 1:
            reference, what = ctx.best_price(p.basis, p.electricity_krw_per_kwh), "the best bid"
        elif p.reference_krw_per_h100e_h is not None:
            reference, what = p.reference_krw_per_h100e_h, "the reference given in the rubric"
        else:
            reference, what = reference_price_krw_per_h100e_h(ctx, p.krw_per_usd)
        assert reference is not None
        ratio = 1.0 if price <= 0 else min(1.0, reference / price)
        return self.max_points * ratio, (
            f"{price:,.0f} KRW per h100e-hour ({p.basis}) against {reference:,.0f} ({what})"
        )


class RenewableParams(BaseModel):
    model_config = _STRICT
    target_share: float = Field(default=1.0, gt=0, le=1)


@register_criterion
class RenewableShare(Criterion[RenewableParams]):
    """Renewable share of the site's electricity: ``max · min(1, share / target_share)``."""

    type_name = "renewable_share"
    Params = RenewableParams
    description = "renewable share of the site's electricity"

    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        share = proposal.site.renewable_share
        ratio = min(1.0, share / self.params.target_share)
        return self.max_points * ratio, (
            f"renewable share {_pct(share)}; full marks at {_pct(self.params.target_share)}"
        )


class RegionParams(BaseModel):
    model_config = _STRICT
    non_capital_points: float | None = Field(default=None, ge=0)
    capital_points: float = Field(default=0.0, ge=0)
    priority_regions: list[str] = Field(default_factory=list)


@register_criterion
class Region(Criterion[RegionParams]):
    """Regional balance: ``max`` in a priority region (e.g. a depopulating one),
    ``non_capital_points`` (default ``max``) elsewhere outside the capital region,
    ``capital_points`` (default 0) inside it."""

    type_name = "region"
    Params = RegionParams
    description = "bonus for sites outside the capital region"

    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        p, site = self.params, proposal.site
        if site.region in p.priority_regions:
            return self.max_points, f"{site.region} is a priority region"
        if site.capital_region:
            return p.capital_points, f"{site.region} is in the capital region"
        points = self.max_points if p.non_capital_points is None else p.non_capital_points
        return points, f"{site.region} is outside the capital region"


class BandParams(BaseModel):
    model_config = _STRICT
    metric: str
    threshold: float
    step: float = Field(gt=0)
    points_per_step: float = Field(gt=0)
    whole_steps: bool = True


@register_criterion
class LinearBand(Criterion[BandParams]):
    """Points per step above a threshold, capped at max (India: +1 mark per ₹5 crore of
    turnover above ₹50 crore, at most 10): ``min(max, k · points_per_step)`` with
    ``k = ⌊(value − threshold) / step⌋`` (or unrounded when ``whole_steps`` is false)."""

    type_name = "linear_band"
    Params = BandParams
    description = "points per step of a named metric above a threshold"

    def evaluate(self, proposal: Proposal, ctx: ScoringContext) -> tuple[float, str]:
        p = self.params
        value = proposal.metrics.get(p.metric)
        if value is None:
            return 0.0, f"metric '{p.metric}' not given: 0 points"
        steps = max(0.0, (value - p.threshold) / p.step)
        if p.whole_steps:
            steps = math.floor(steps + 1e-9)
        points = steps * p.points_per_step
        return points, (
            f"{p.metric} = {value:g}: {steps:g} steps of {p.step:g} above {p.threshold:g} "
            f"x {p.points_per_step:g}"
        )
