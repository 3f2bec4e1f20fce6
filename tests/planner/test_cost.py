"""Energy and money: the formulas, overrides, rental versus owned."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aicenter.catalog import Catalog
from aicenter.domain.errors import InputError
from aicenter.domain.units import Currency
from aicenter.planner.cost import (
    HOURS_PER_YEAR,
    CostAssumptions,
    Ownership,
    chip_power_w,
    fallback_watts_per_tflops,
    run_cost,
)


def test_energy_formula(catalog: Catalog) -> None:
    a = CostAssumptions(pue=1.1, node_factor=1.0, average_power_fraction=1.0)
    cost = run_cost(catalog.get("nvidia-a100-80gb"), 1_022_362, a, catalog)
    # LLaMA-1's own template: GPU-h × 0.4 kW × PUE 1.1 = 449 MWh (arXiv 2302.13971)
    assert cost.energy_kwh == pytest.approx(449_839, rel=0.001)


def test_rental_uses_catalog_price_and_exchange_rate(catalog: Catalog) -> None:
    h800 = catalog.get("nvidia-h800")
    cost = run_cost(h800, 2_664_000, CostAssumptions(), catalog)
    assert cost.usd.amount == Decimal("5328000.0")  # DeepSeek's $2/GPU-h headline
    assert cost.krw.currency is Currency.KRW
    assert cost.krw.amount == cost.usd.amount * Decimal(1420)
    override = run_cost(h800, 1000, CostAssumptions(price_usd_per_chip_hour=3.0,
                                                    krw_per_usd=1300), catalog)
    assert float(override.usd) == 3000 and float(override.krw) == 3000 * 1300


def test_owned_is_electricity_plus_capex(catalog: Catalog) -> None:
    chip = catalog.get("nvidia-h100-sxm")
    a = CostAssumptions(ownership=Ownership.OWNED, capex_usd_per_chip=30000, tariff_krw_per_kwh=200,
                        amortisation_years=5, utilisation=0.5)
    cost = run_cost(chip, 1000, a, catalog)
    electricity = cost.energy_kwh * 200
    # issue 17 item 2: capex on the installed price, plus operations
    installed = 30000 * a.system_factor
    capex = 1000 * installed / (5 * HOURS_PER_YEAR * 0.5) * 1420
    operations = 1000 * installed * a.operations_share / (HOURS_PER_YEAR * 0.5) * 1420
    assert float(cost.electricity_krw) == pytest.approx(electricity)
    assert float(cost.capex_krw) == pytest.approx(capex)
    assert float(cost.operations_krw) == pytest.approx(operations)
    assert float(cost.krw) == pytest.approx(electricity + capex + operations)
    assert cost.basis.startswith("owned")


def test_unpriced_chip_falls_back_to_electricity_and_says_so(catalog: Catalog) -> None:
    cost = run_cost(catalog.get("amd-mi300x"), 1000, CostAssumptions(), catalog)
    assert cost.price_usd_per_chip_hour is None and "electricity only" in cost.basis
    assert float(cost.krw) == pytest.approx(cost.energy_kwh * 182)


def test_power_fallback_for_chips_without_tdp(catalog: Catalog) -> None:
    v5p = catalog.get("google-tpu-v5p")
    assert v5p.tdp_w is None and v5p.peak_bf16_tflops is not None
    watts, source = chip_power_w(v5p, catalog)
    assert watts == pytest.approx(v5p.peak_bf16_tflops * fallback_watts_per_tflops(catalog))
    assert "no TDP" in source
    assert chip_power_w(catalog.get("nvidia-h100-sxm"), catalog) == (700, "catalog TDP")


@pytest.mark.parametrize(
    ("field", "value"),
    [("pue", 0.9), ("krw_per_usd", 0), ("utilisation", 1.5), ("node_factor", 0.5),
     ("price_usd_per_chip_hour", -1.0)],
)
def test_bad_assumptions(field: str, value: float) -> None:
    with pytest.raises(InputError, match=field):
        CostAssumptions(**{field: value})  # type: ignore[arg-type]


def test_default_energy_factors_against_bloom(catalog: Catalog) -> None:
    # BLOOM-176B: 1,082,990 A100-hours; 433,196 kWh GPU dynamic + 256,646 kWh idle and
    # infrastructure (arXiv 2211.02001). Defaults: 0.85 × TDP × node 1.5 × PUE 1.2.
    cost = run_cost(catalog.get("nvidia-a100-80gb"), 1_082_990, CostAssumptions(), catalog)
    assert cost.energy_kwh == pytest.approx(433_196 + 256_646, rel=0.15)
