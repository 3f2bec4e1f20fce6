"""Chip comparison, deadline search, cheapest choice, mixed pools and the programme report."""

from __future__ import annotations

import pytest

from aicenter.catalog import Catalog
from aicenter.domain.errors import InfeasibleError, InputError
from aicenter.planner.compare import cheapest, compare_chips, parse_pool, plan_pool
from aicenter.planner.memory import training_refusal
from aicenter.planner.model import presets
from aicenter.planner.plan import plan_run, stages_for
from aicenter.planner.programme import ProgrammeAssumptions, programme_report
from aicenter.planner.throughput import Calibration


def test_one_row_per_trainable_chip(catalog: Catalog, calibration: Calibration) -> None:
    spec = presets()["llama-3.1-8b"]
    stages, _ = stages_for(spec, 1e12)
    rows = compare_chips(spec, stages, 64, calibration, catalog)
    trainable = [c.id for c in catalog if training_refusal(c) is None]
    assert [r.chip_id for r in rows] == trainable
    assert "rebellions-atom" not in trainable and "nvidia-h100-sxm" in trainable
    for row in rows:
        assert row.plan is not None and row.plan.fits


def test_deadline_gives_the_smallest_count_that_meets_it(
    catalog: Catalog, calibration: Calibration
) -> None:
    spec = presets()["llama-3.1-70b"]
    stages, _ = stages_for(spec, 2e12)
    rows = compare_chips(spec, stages, 64, calibration, catalog, deadline_days=30)
    met = [r for r in rows if r.meets_deadline]
    assert met
    for row in met:
        plan = row.plan
        assert plan is not None and plan.fits and plan.wall_days <= 30
        step = plan.memory.tensor_parallel
        if plan.count - step >= (plan.memory.min_chips or step):
            fewer = plan_run(spec, plan.chip, plan.count - step, stages, calibration, catalog)
            assert fewer.wall_days > 30
    best = cheapest(rows)
    assert best is not None and best.plan is not None
    priced = [r for r in met if r.plan is not None and r.plan.cost.price_usd_per_chip_hour]
    assert best.plan.cost.krw.amount == min(r.plan.cost.krw.amount for r in priced if r.plan)


def test_deadline_must_be_positive(catalog: Catalog, calibration: Calibration) -> None:
    spec = presets()["generic-7b"]
    stages, _ = stages_for(spec, 1e12)
    with pytest.raises(InputError, match="deadline"):
        compare_chips(spec, stages, 64, calibration, catalog, deadline_days=0)


def test_mixed_pool_is_faster_than_each_part(catalog: Catalog, calibration: Calibration) -> None:
    spec = presets()["llama-3.1-8b"]
    stages, _ = stages_for(spec, 1e12)
    pool = parse_pool("nvidia-h100-sxm=64, amd-mi300x=32")
    result = plan_pool(spec, stages, pool, calibration, catalog)
    alone = [plan_run(spec, catalog.get(c), n, stages, calibration, catalog)
             for c, n in pool.items()]
    assert result.wall_days < min(p.wall_days for p in alone)
    assert 1 / result.wall_days == pytest.approx(
        result.efficiency * sum(1 / p.wall_days for p in alone))
    assert result.chip_hours == pytest.approx(96 * result.wall_days * 24)
    with pytest.raises(InfeasibleError, match="furiosa-rngd cannot train"):
        plan_pool(spec, stages, {"furiosa-rngd": 8}, calibration, catalog)
    with pytest.raises(InputError, match="CHIP=COUNT"):
        parse_pool("nvidia-h100-sxm")


def test_programme_puts_headline_beside_total(catalog: Catalog, calibration: Calibration) -> None:
    report = programme_report(
        presets()["deepseek-v3"], 14.8e12, "nvidia-h800", 2048, calibration, catalog,
        programme=ProgrammeAssumptions(experiments_multiplier=2, failed_run_fraction=0.1,
                                       data_krw=1e9, staff_krw=5e9),
    )
    items = {i.item: i for i in report.items}
    headline = report.headline_krw
    assert items["experiments and ablations"].krw.amount == headline.amount * 2
    assert float(items["data"].krw) == 1e9 and float(items["staff"].krw) == 5e9
    assert any(i.item.startswith("context-extension") for i in report.items)
    assert any(i.item == "not priced" for i in report.items)
    total = sum(float(i.krw) for i in report.items)
    assert float(report.total_krw) == pytest.approx(total)
    assert float(report.total_krw) > 3 * float(headline)


def test_owned_programme_counts_idle_capex(catalog: Catalog, calibration: Calibration) -> None:
    from aicenter.planner.cost import CostAssumptions, Ownership

    owned = CostAssumptions(ownership=Ownership.OWNED, capex_usd_per_chip=25000)
    report = programme_report(
        presets()["generic-7b"], 1e12, "nvidia-h100-sxm", 64, calibration, catalog, owned,
        ProgrammeAssumptions(programme_months=12),
    )
    idle = next(i for i in report.items if i.item == "idle-time capex")
    # a quarter of 4-year amortisation of the installed price (owned cost now counts the
    # installed factor and operations: issue 17 item 2)
    cluster_year_krw = 64 * 25000 * owned.system_factor / 4 * 1420
    carried = sum(float(i.krw) for i in report.items if i.chip_hours) - sum(
        run_cost_electricity(i.chip_hours, catalog) + run_cost_operations(i.chip_hours, catalog)
        for i in report.items if i.chip_hours
    )
    assert float(idle.krw) == pytest.approx(cluster_year_krw - carried, rel=1e-6)


def run_cost_operations(chip_hours: float, catalog: Catalog) -> float:
    from aicenter.planner.cost import CostAssumptions, Ownership, run_cost

    return float(run_cost(catalog.get("nvidia-h100-sxm"), chip_hours, CostAssumptions(
        ownership=Ownership.OWNED, capex_usd_per_chip=25000), catalog).operations_krw)


def run_cost_electricity(chip_hours: float, catalog: Catalog) -> float:
    from aicenter.planner.cost import CostAssumptions, run_cost

    return float(run_cost(catalog.get("nvidia-h100-sxm"), chip_hours, CostAssumptions(
        price_usd_per_chip_hour=None), catalog).electricity_krw)


def test_cheapest_considers_every_chip_priced_on_the_basis(
    catalog: Catalog, calibration: Calibration
) -> None:
    from aicenter.planner.compare import unpriced
    from aicenter.planner.cost import Ownership

    spec = presets()["llama-3.1-70b"]
    stages, _ = stages_for(spec, 1e12)
    rows = compare_chips(spec, stages, 256, calibration, catalog)
    for basis in (Ownership.RENTAL, Ownership.OWNED):
        priced = [r for r in rows if r.plan and r.plan.fits and r.costs and r.costs.on(basis)]
        best = cheapest(rows, basis)
        assert best is not None and best.costs is not None
        best_cost = best.costs.on(basis)
        assert best_cost is not None
        assert best_cost.krw.amount == min(
            c.krw.amount for r in priced if r.costs and (c := r.costs.on(basis)))
        left_out = dict(unpriced(rows, basis))
        # every fitting row is either priced on the basis or named with "no price"
        assert {r.chip_id for r in rows if r.plan and r.plan.fits} == (
            {r.chip_id for r in priced} | set(left_out))
        assert all(why.startswith("no price") for why in left_out.values())
    # a chip with only a purchase price (MI300X) takes part on the owned basis, a rental-only
    # chip (TPU v5p) on the rental basis; neither is priced on the other with electricity
    by_id = {r.chip_id: r for r in rows}
    mi300x, v5p = by_id["amd-mi300x"].costs, by_id["google-tpu-v5p"].costs
    assert mi300x is not None and v5p is not None
    assert mi300x.rental is None and mi300x.owned is not None
    assert v5p.owned is None and "rented" in v5p.owned_missing
    assert "amd-mi300x" in dict(unpriced(rows, Ownership.RENTAL))
    assert "google-tpu-v5p" in dict(unpriced(rows, Ownership.OWNED))


def test_owned_cost_is_capex_energy_operations(catalog: Catalog) -> None:
    from aicenter.planner.cost import CostAssumptions, basis_costs
    from aicenter.planner.prices import packaged_prices

    a = CostAssumptions(interest_rate=0.05, amortisation_years=5)
    owned = basis_costs(catalog.get("intel-gaudi3"), 1000, a, catalog).owned
    assert owned is not None and owned.capex_usd_per_chip == 15625
    crf = 0.05 / (1 - 1.05 ** -5)
    per_hour_usd = 15625 * a.system_factor / (8760 * a.utilisation)
    assert float(owned.capex_krw) == pytest.approx(1000 * per_hour_usd * crf * 1420)
    assert float(owned.operations_krw) == pytest.approx(
        1000 * per_hour_usd * a.operations_share * 1420)
    assert float(owned.krw) == pytest.approx(
        float(owned.capex_krw) + float(owned.electricity_krw) + float(owned.operations_krw))
    for row in packaged_prices().values():  # every row sourced and dated, ids in the catalog
        assert row.source and row.retrieved and catalog.get(row.chip_id)
