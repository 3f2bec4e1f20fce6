"""Fleets and proposals: what a provider offers the center, at which site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Site:
    """Where a fleet runs. ``renewable_share`` is a fraction (0–1); PUE ≥ 1."""

    country: str
    region: str
    capital_region: bool
    renewable_share: float
    pue: float


@dataclass(frozen=True, slots=True)
class Pool:
    """A number of chips of one type, with its price as rent or as capital expense."""

    chip_id: str
    count: int
    price_krw_per_chip_hour: Decimal | None = None
    capex_krw_per_chip: Decimal | None = None
    amortisation_years: float = 5.0
    delivery: date | None = None
    name: str | None = None
    power_w: float | None = None  # per chip incl. host share; None: catalog TDP x host factor

    @property
    def owned(self) -> bool:
        """Bought rather than rented: its electricity is not in its price."""
        return self.price_krw_per_chip_hour is None and self.capex_krw_per_chip is not None

    @property
    def hourly_cost_krw_per_chip(self) -> Decimal | None:
        """Rent, or capex spread evenly over the amortisation period (8,760 h a year)."""
        if self.price_krw_per_chip_hour is not None:
            return self.price_krw_per_chip_hour
        if self.capex_krw_per_chip is not None:
            hours = Decimal(str(self.amortisation_years)) * Decimal(8760)
            return self.capex_krw_per_chip / hours
        return None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A bidder's fleet at a site. ``metrics`` holds named figures such as turnover."""

    bidder: str
    site: Site
    pools: tuple[Pool, ...]
    metrics: Mapping[str, float] = field(default_factory=dict)
    name: str | None = None
    source: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.bidder
