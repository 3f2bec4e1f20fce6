"""Energy and money of a run, with every price and factor overridable and printed.

* energy: ``E_kWh = chip_hours · P_avg_W / 1000 · node_factor · PUE`` with
  ``P_avg = TDP · average_power_fraction``. A chip without a published TDP gets
  ``peak_bf16_TFLOPS · median(TDP/peak)`` over the catalog chips that publish both.
* rental: ``cost_USD = chip_hours · price_USD_per_chip_hour`` (catalog or override), KRW at the
  exchange rate ``krw_per_usd``.
* owned = amortised capex + energy + operations, per chip-hour used:

      installed = price_USD_per_chip · system_factor
      capex     = chip_hours · installed · CRF(r, Y) / (8,760 · u)
      operations= chip_hours · installed · operations_share / (8,760 · u)
      energy    = E_kWh · tariff_KRW_per_kWh
      CRF(r, Y) = r / (1 − (1 + r)^−Y), and 1 / Y when r = 0

  where ``price_USD_per_chip`` is the purchase price in ``data/chip_prices.csv`` (sourced, see
  :mod:`aicenter.planner.prices`) or the ``capex_usd_per_chip`` override, ``Y`` the
  amortisation years, ``u`` the utilisation (share of the year's hours the chips do billable
  work: idle hours are paid by the hours used) and ``r`` the yearly interest rate. Defaults:

  * ``Y = 4`` years, ``u = 0.8``, ``r = 0`` (no financing cost: a publicly funded center buys
    with grants; set ``interest_rate`` for a loan) — assumptions, printed with each result;
  * ``system_factor = 1.84``: installed cost per accelerator over its price, host server
    (×1.6) and cluster network (×1.15) as in Epoch AI's training-cost model
    (github.com/epoch-research/training-cost-trends ``parameters.py``: SERVER_COST_OVERHEAD,
    CLUSTER_INTERCONNECT_COST_OVERHEAD; Cottier et al. 2024, arXiv 2405.21015). Buildings are
    not in it;
  * ``operations_share = 0.008`` per year: operating cost other than energy over capex, from
    Epoch AI's 1-GW AI data-centre model (epoch.ai/data-insights/ai-datacenter-cost-breakdown,
    2026-05-14: OpEx 0.9 of which energy 0.6 billion USD a year on 38 billion USD capex);
  * ``PUE = 1.2`` and ``tariff = 182 KRW/kWh`` as below.

  A chip without a purchase price has no owned cost (a comparison says "no price"); a single
  plan asked to price it as owned counts the electricity only and says so.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from aicenter.catalog import Catalog
from aicenter.domain.accelerator import Accelerator
from aicenter.domain.errors import InputError
from aicenter.domain.units import Currency, ExchangeRate, Money
from aicenter.planner.prices import PRICES_FILE, purchase_price

HOURS_PER_YEAR = 8760.0

# Defaults (all overridable on the command line and printed with each result).
DEFAULT_TARIFF_KRW_PER_KWH = 182.0  # Korean industrial tariff, approx. (issue 3)
DEFAULT_KRW_PER_USD = 1420.0
DEFAULT_PUE = 1.2  # modern AI data-centre design target (assumption)
DEFAULT_NODE_FACTOR = 1.5  # host CPUs, memory, NICs, switches over accelerator power (assumption;
#  DGX H100 peaks at 10.2 kW for 8 x 700 W GPUs = 1.82 at full load)
DEFAULT_AVERAGE_POWER_FRACTION = 0.85  # OLMo 2 H100s drew ~600 W of 700 W while training
DEFAULT_AMORTISATION_YEARS = 4.0
DEFAULT_UTILISATION = 0.8
DEFAULT_INTEREST_RATE = 0.0  # publicly funded purchase (assumption; module docstring)
DEFAULT_SYSTEM_FACTOR = 1.6 * 1.15  # server x cluster network over chip price (Epoch AI)
DEFAULT_OPERATIONS_SHARE = 0.3 / 38.0  # non-energy OpEx per capex per year (Epoch AI 1-GW DC)


class Ownership(StrEnum):
    RENTAL = "rental"
    OWNED = "owned"


@dataclass(frozen=True, slots=True)
class CostAssumptions:
    """Prices and factors a cost estimate uses."""

    tariff_krw_per_kwh: float = DEFAULT_TARIFF_KRW_PER_KWH
    krw_per_usd: float = DEFAULT_KRW_PER_USD
    pue: float = DEFAULT_PUE
    node_factor: float = DEFAULT_NODE_FACTOR
    average_power_fraction: float = DEFAULT_AVERAGE_POWER_FRACTION
    ownership: Ownership = Ownership.RENTAL
    price_usd_per_chip_hour: float | None = None
    capex_usd_per_chip: float | None = None
    amortisation_years: float = DEFAULT_AMORTISATION_YEARS
    utilisation: float = DEFAULT_UTILISATION
    interest_rate: float = DEFAULT_INTEREST_RATE
    system_factor: float = DEFAULT_SYSTEM_FACTOR
    operations_share: float = DEFAULT_OPERATIONS_SHARE

    def __post_init__(self) -> None:
        checks = {
            "tariff_krw_per_kwh": self.tariff_krw_per_kwh >= 0,
            "krw_per_usd": self.krw_per_usd > 0,
            "pue": self.pue >= 1.0,
            "node_factor": self.node_factor >= 1.0,
            "average_power_fraction": 0 < self.average_power_fraction <= 1.5,
            "amortisation_years": self.amortisation_years > 0,
            "utilisation": 0 < self.utilisation <= 1,
            "interest_rate": 0 <= self.interest_rate < 1,
            "system_factor": self.system_factor >= 1.0,
            "operations_share": 0 <= self.operations_share < 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(f"{getattr(self, name)} is out of range", field=name)
        for name in ("price_usd_per_chip_hour", "capex_usd_per_chip"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InputError(f"{value} must not be negative", field=name)

    @property
    def exchange(self) -> ExchangeRate:
        return ExchangeRate(Currency.USD, Currency.KRW, Decimal(str(self.krw_per_usd)))

    @property
    def capital_recovery_factor(self) -> float:
        """Share of the installed price paid each year: ``r / (1 − (1 + r)^−Y)``, or ``1/Y``."""
        r, years = self.interest_rate, self.amortisation_years
        return 1.0 / years if r == 0 else r / (1.0 - (1.0 + r) ** -years)

    def used_hours_per_year(self) -> float:
        """Chip-hours a chip works in a year (8,760 · utilisation)."""
        return HOURS_PER_YEAR * self.utilisation


def fallback_watts_per_tflops(catalog: Catalog) -> float:
    """Median board power per BF16 TFLOPS over catalog chips that publish both."""
    ratios = [
        a.tdp_w / a.peak_bf16_tflops
        for a in catalog
        if a.tdp_w is not None and a.peak_bf16_tflops is not None
    ]
    return statistics.median(ratios)


def chip_power_w(chip: Accelerator, catalog: Catalog) -> tuple[float, str]:
    """(board power in W, where it came from)."""
    if chip.tdp_w is not None:
        return chip.tdp_w, "catalog TDP"
    assert chip.peak_bf16_tflops is not None
    ratio = fallback_watts_per_tflops(catalog)
    return chip.peak_bf16_tflops * ratio, f"no TDP published: {ratio:.2f} W per BF16 TFLOPS"


@dataclass(frozen=True, slots=True)
class RunCost:
    """Energy and money of a number of chip-hours on one chip type."""

    energy_kwh: float
    average_power_w: float
    power_source: str
    krw: Money
    usd: Money
    basis: str
    price_usd_per_chip_hour: float | None
    electricity_krw: Money
    capex_krw: Money
    operations_krw: Money
    capex_usd_per_chip: float | None
    capex_source: str


def owned_capex_price(chip: Accelerator, assumptions: CostAssumptions) -> tuple[float | None, str]:
    """(purchase price per chip in USD or None, where it comes from or why there is none)."""
    if assumptions.capex_usd_per_chip is not None:
        return assumptions.capex_usd_per_chip, "capex override"
    row = purchase_price(chip.id)
    if row is None:
        return None, f"no purchase price for {chip.id} in {PRICES_FILE}"
    if row.capex_usd_per_chip is None:
        return None, row.note
    return row.capex_usd_per_chip, f"{row.price_kind} price: {row.source}"


def run_cost(
    chip: Accelerator, chip_hours: float, assumptions: CostAssumptions, catalog: Catalog
) -> RunCost:
    """Energy and cost of ``chip_hours`` on ``chip`` (formulas in the module docstring)."""
    board_w, power_source = chip_power_w(chip, catalog)
    average_w = board_w * assumptions.average_power_fraction
    energy_kwh = chip_hours * average_w / 1000.0 * assumptions.node_factor * assumptions.pue
    rate = assumptions.exchange
    electricity = Money.of(energy_kwh * assumptions.tariff_krw_per_kwh, Currency.KRW)
    capex = operations = Money.zero(Currency.KRW)
    capex_usd_per_chip: float | None = None
    capex_source = ""
    price = assumptions.price_usd_per_chip_hour or chip.price_usd_per_chip_hour
    if assumptions.ownership is Ownership.RENTAL and price is not None:
        usd = Money.of(chip_hours * price, Currency.USD)
        krw = rate.convert(usd)
        basis = f"rental at {price} USD/chip-h"
    else:
        if assumptions.ownership is Ownership.OWNED:
            capex_usd_per_chip, capex_source = owned_capex_price(chip, assumptions)
        if capex_usd_per_chip is not None:
            installed = capex_usd_per_chip * assumptions.system_factor
            per_hour = installed / assumptions.used_hours_per_year()
            capex = rate.convert(Money.of(
                chip_hours * per_hour * assumptions.capital_recovery_factor, Currency.USD))
            operations = rate.convert(Money.of(
                chip_hours * per_hour * assumptions.operations_share, Currency.USD))
            basis = (
                f"owned: capex {capex_usd_per_chip:,.0f} USD/chip x {assumptions.system_factor:.2f}"
                f" installed over {assumptions.amortisation_years:g} y at "
                f"{assumptions.utilisation:.0%} use, {assumptions.interest_rate:.1%} interest"
                f" + energy + operations {assumptions.operations_share:.1%}/y"
            )
        elif assumptions.ownership is Ownership.RENTAL:
            basis = "electricity only (no rental price for this chip; not a rental cost)"
        else:
            basis = f"owned: electricity only (no purchase price: {capex_source})"
        krw = electricity + capex + operations
        usd = rate.convert(krw)
        price = None
    return RunCost(
        energy_kwh=energy_kwh,
        average_power_w=average_w,
        power_source=power_source,
        krw=krw,
        usd=usd,
        basis=basis,
        price_usd_per_chip_hour=price,
        electricity_krw=electricity,
        capex_krw=capex,
        operations_krw=operations,
        capex_usd_per_chip=capex_usd_per_chip,
        capex_source=capex_source,
    )


@dataclass(frozen=True, slots=True)
class BasisCosts:
    """The same chip-hours priced on both bases; ``None`` with the reason where there is no
    price on that basis (never an electricity-only stand-in)."""

    rental: RunCost | None
    rental_missing: str
    owned: RunCost | None
    owned_missing: str

    def on(self, ownership: Ownership) -> RunCost | None:
        return self.rental if ownership is Ownership.RENTAL else self.owned


def basis_costs(
    chip: Accelerator, chip_hours: float, assumptions: CostAssumptions, catalog: Catalog
) -> BasisCosts:
    """Rental and owned cost of ``chip_hours`` on ``chip`` side by side."""
    rental_price = assumptions.price_usd_per_chip_hour or chip.price_usd_per_chip_hour
    rental = None
    rental_missing = "no price: no rental price in the catalog"
    if rental_price is not None:
        rental = run_cost(chip, chip_hours, replace(assumptions, ownership=Ownership.RENTAL),
                          catalog)
        rental_missing = ""
    capex, why = owned_capex_price(chip, assumptions)
    owned = None
    owned_missing = f"no price: {why}"
    if capex is not None:
        owned = run_cost(chip, chip_hours, replace(assumptions, ownership=Ownership.OWNED),
                         catalog)
        owned_missing = ""
    return BasisCosts(rental, rental_missing, owned, owned_missing)
