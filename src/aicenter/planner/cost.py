"""Energy and money of a run, with every price and factor overridable and printed.

* energy: ``E_kWh = chip_hours · P_avg_W / 1000 · node_factor · PUE`` with
  ``P_avg = TDP · average_power_fraction``. A chip without a published TDP gets
  ``peak_bf16_TFLOPS · median(TDP/peak)`` over the catalog chips that publish both.
* rental: ``cost_USD = chip_hours · price_USD_per_chip_hour`` (catalog or override), KRW at the
  exchange rate.
* owned: ``cost_KRW = E_kWh · tariff_KRW_per_kWh + chip_hours · capex_per_chip_KRW /
  (amortisation_years · 8,760 · utilisation)``: electricity plus the share of the purchase
  price the run uses up. Without a capex figure only the electricity is counted (said so).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from aicenter.catalog import Catalog
from aicenter.domain.accelerator import Accelerator
from aicenter.domain.errors import InputError
from aicenter.domain.units import Currency, ExchangeRate, Money

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

    def __post_init__(self) -> None:
        checks = {
            "tariff_krw_per_kwh": self.tariff_krw_per_kwh >= 0,
            "krw_per_usd": self.krw_per_usd > 0,
            "pue": self.pue >= 1.0,
            "node_factor": self.node_factor >= 1.0,
            "average_power_fraction": 0 < self.average_power_fraction <= 1.5,
            "amortisation_years": self.amortisation_years > 0,
            "utilisation": 0 < self.utilisation <= 1,
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


def run_cost(
    chip: Accelerator, chip_hours: float, assumptions: CostAssumptions, catalog: Catalog
) -> RunCost:
    """Energy and cost of ``chip_hours`` on ``chip`` (formulas in the module docstring)."""
    board_w, power_source = chip_power_w(chip, catalog)
    average_w = board_w * assumptions.average_power_fraction
    energy_kwh = chip_hours * average_w / 1000.0 * assumptions.node_factor * assumptions.pue
    rate = assumptions.exchange
    electricity = Money.of(energy_kwh * assumptions.tariff_krw_per_kwh, Currency.KRW)
    capex = Money.zero(Currency.KRW)
    price = assumptions.price_usd_per_chip_hour or chip.price_usd_per_chip_hour
    if assumptions.ownership is Ownership.RENTAL and price is not None:
        usd = Money.of(chip_hours * price, Currency.USD)
        krw = rate.convert(usd)
        basis = f"rental at {price} USD/chip-h"
    else:
        if assumptions.capex_usd_per_chip is not None:
            hours = assumptions.amortisation_years * HOURS_PER_YEAR * assumptions.utilisation
            capex_usd = Money.of(chip_hours * assumptions.capex_usd_per_chip / hours, Currency.USD)
            capex = rate.convert(capex_usd)
            basis = (
                f"owned: electricity + capex {assumptions.capex_usd_per_chip:,.0f} USD/chip over "
                f"{assumptions.amortisation_years:g} y at {assumptions.utilisation:.0%} use"
            )
        elif assumptions.ownership is Ownership.RENTAL:
            basis = "electricity only (no rental price for this chip; capex not given)"
        else:
            basis = "owned: electricity only (capex not given)"
        krw = electricity + capex
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
    )
