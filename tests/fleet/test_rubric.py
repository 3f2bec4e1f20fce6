"""Rubric presets and criterion types: the article's 6 of 30, full marks, and explanations."""

from __future__ import annotations

import pytest

from aicenter.catalog import PerformanceTable
from aicenter.domain.fleet import Site
from aicenter.fleet.criteria import sup_hhi
from aicenter.fleet.rubric_file import load_rubric, preset_names
from tests.fleet.builders import fleet


def score(rubric: str, perf: PerformanceTable, *pools: tuple[str, int]) -> float:
    return load_rubric(rubric).score_all([fleet(*pools)], perf)[0].total


def test_presets_shipped() -> None:
    assert {"india-diversity", "korea-nacc-2025", "india-empanelment"} <= set(preset_names())
    assert load_rubric("india-diversity").max_points == 30
    assert load_rubric("korea-nacc-2025").max_points == 100


@pytest.mark.parametrize(
    ("pools", "expected"),
    [
        ((("nvidia-h100-sxm", 50_000),), 6.0),
        ((("nvidia-h100-sxm", 30_000), ("nvidia-b200", 20_000)), 6.0),  # still one vendor
        ((("nvidia-h100-sxm", 10),), 6.0),
        # three vendors, none above 40 % (H100 = 1.0, Gaudi 3 and MI325X by best use)
        ((("nvidia-h100-sxm", 4000), ("amd-mi325x", 3000), ("intel-gaudi3", 1700)), 30.0),
    ],
)
def test_india_diversity_table(
    perf: PerformanceTable, pools: tuple[tuple[str, int], ...], expected: float
) -> None:
    assert score("india-diversity", perf, *pools) == pytest.approx(expected)


def test_exactly_forty_forty_twenty_is_full_marks(perf: PerformanceTable) -> None:
    # H100 (1.0) and H800 (1.0) share a vendor, so use three vendors with known best ratios:
    # build exact 40/40/20 from per-chip ratios.
    r_amd = perf.best_ratio("amd-mi325x")
    r_intel = perf.best_ratio("intel-gaudi3")
    rubric = load_rubric("india-diversity")
    result = rubric.score_all(
        [
            fleet(
                ("nvidia-h100-sxm", 4000),
                ("amd-mi325x", round(4000 / r_amd)),
                ("intel-gaudi3", round(2000 / r_intel)),
            )
        ],
        perf,
    )[0]
    assert result.total == pytest.approx(30.0, abs=0.05)
    assert sup_hhi(0.4) == pytest.approx(0.36)


def test_small_inference_npus_do_not_count_like_h100s(perf: PerformanceTable) -> None:
    # 1,000 Warboy cards next to 1,000 H100s are not a 50/50 mix.
    mixed = score("india-diversity", perf, ("nvidia-h100-sxm", 1000), ("furiosa-warboy", 1000))
    balanced = score("india-diversity", perf, ("nvidia-h100-sxm", 1000), ("amd-mi300x", 864))
    assert 6.0 < mixed < 7.0 < balanced


def test_two_vendors_fifty_fifty_is_between(perf: PerformanceTable) -> None:
    value = score("india-diversity", perf, ("nvidia-h100-sxm", 1000), ("intel-gaudi2", 1000))
    assert 6.0 < value < 30.0


def test_korea_breakdown_and_explanations(perf: PerformanceTable) -> None:
    rubric = load_rubric("korea-nacc-2025")
    big = fleet(("nvidia-h100-sxm", 12_000), price=3000, name="big")
    dom = fleet(("nvidia-h200", 3000), ("rebellions-rebel-quad", 4000), price=2000, name="dom")
    r_big, r_dom = rubric.score_all([big, dom], perf)
    by_id = {c.id: c for c in r_dom.criteria}
    assert by_id["localisation"].points == pytest.approx(25.0)  # > 50 % domestic
    assert by_id["price"].points == pytest.approx(25.0)  # best bid
    assert {c.id: c.points for c in r_big.criteria}["capacity"] == pytest.approx(30.0)
    assert {c.id: c.points for c in r_big.criteria}["localisation"] == 0.0
    assert "against" in by_id["capacity"].explanation
    for result in (r_big, r_dom):
        assert result.total == pytest.approx(sum(c.points for c in result.criteria))
        assert all(c.explanation for c in result.criteria)


def test_price_relative_to_best_bid_is_ratio(perf: PerformanceTable) -> None:
    rubric = load_rubric("korea-nacc-2025")
    cheap = fleet(("nvidia-h100-sxm", 100), price=1000, name="cheap")
    dear = fleet(("nvidia-h100-sxm", 100), price=4000, name="dear")
    _, r_dear = rubric.score_all([cheap, dear], perf)
    assert {c.id: c.points for c in r_dear.criteria}["price"] == pytest.approx(25.0 / 4)


def test_single_fleet_price_is_scored_against_the_sourced_reference(
    perf: PerformanceTable,
) -> None:
    # alone, a fleet is not its own best bid: twice the reference price gets half the points
    rubric = load_rubric("korea-nacc-2025")
    h100 = perf.catalog.get("nvidia-h100-sxm")
    assert h100.price_usd_per_chip_hour is not None
    reference_krw = h100.price_usd_per_chip_hour * 1420.0
    dear = fleet(("nvidia-h100-sxm", 100), price=2 * reference_krw, name="dear")
    (result,) = rubric.score_all([dear], perf)
    price = {c.id: c for c in result.criteria}["price"]
    assert price.points == pytest.approx(25.0 / 2)
    assert "the reference" in price.explanation and h100.source in price.explanation
    cheap = fleet(("nvidia-h100-sxm", 100), price=reference_krw / 2, name="cheap")
    (result,) = rubric.score_all([cheap], perf)
    assert {c.id: c.points for c in result.criteria}["price"] == pytest.approx(25.0)
    # ranked with a cheaper bid, the same fleet is scored against that bid instead
    _, ranked = rubric.score_all([cheap, dear], perf)
    assert {c.id: c.points for c in ranked.criteria}["price"] == pytest.approx(25.0 / 4)


def test_region_and_linear_band(perf: PerformanceTable) -> None:
    rubric = load_rubric("india-empanelment")
    f = fleet(("nvidia-h100-sxm", 10))
    for turnover, points in ((40, 0), (50, 0), (54.9, 0), (55, 1), (80, 6), (500, 10)):
        g = type(f)(f.bidder, f.site, f.pools, {"turnover_inr_crore": turnover}, f.name)
        result = rubric.score_all([g], perf)[0]
        assert {c.id: c.points for c in result.criteria}["turnover"] == points, turnover
    korea = load_rubric("korea-nacc-2025")
    for site, points in (
        (Site("KR", "Seoul", True, 0.0, 1.2), 0.0),
        (Site("KR", "Ulsan", False, 0.0, 1.2), 7.0),
        (Site("KR", "Haenam-gun", False, 0.0, 1.2), 10.0),
    ):
        g = type(f)(f.bidder, site, f.pools)
        result = korea.score_all([g], perf)[0]
        assert {c.id: c.points for c in result.criteria}["region"] == points
