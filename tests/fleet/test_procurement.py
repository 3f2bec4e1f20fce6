"""The procurement MILP equals brute force on small instances, with and without a rubric."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InfeasibleError, InputError
from aicenter.domain.fleet import Site
from aicenter.fleet.procurement import Offer, OfferBook, load_offers, optimise, score_model
from aicenter.fleet.rubric_file import load_rubric, rubric_from_data
from tests.conftest import EXAMPLES

PERF = PerformanceTable.from_catalog(load_catalog())
SITE = Site("KR", "Ulsan", False, 0.5, 1.2)
CHIPS = ["nvidia-h100-sxm", "amd-mi300x", "intel-gaudi3", "furiosa-rngd", "nvidia-b200"]

RUBRIC = rubric_from_data(
    {
        "id": "small",
        "name": "small",
        "criteria": [
            {
                "id": "div",
                "type": "vendor_diversity",
                "max": 30,
                "params": {"floor_points": 6, "full_at_max_share": 0.5},
            },
            {"id": "dom", "type": "domestic_share", "max": 20, "params": {"target_share": 0.3}},
            {"id": "cap", "type": "capacity", "max": 20, "params": {"target_h100e": 8}},
            {
                "id": "price",
                "type": "price",
                "max": 10,
                "params": {"relative_to": "reference", "reference_krw_per_h100e_h": 900},
            },
            {"id": "green", "type": "renewable_share", "max": 10},
        ],
    },
    "test",
    {},
)


def book_of(rows: list[tuple[str, int, int, int, int]]) -> OfferBook:
    offers = tuple(
        Offer(f"o{i}", "s", chip, avail, Decimal(cost), float(power), lot, 5.0)
        for i, (chip, avail, cost, power, lot) in enumerate(rows)
    )
    return OfferBook("t", SITE, {}, offers)


def brute_force(
    book: OfferBook, budget: float, power_mw: float | None, min_score: float | None
) -> float:
    model = score_model(RUBRIC, book, PERF) if min_score is not None else None
    ratio = np.array([PERF.ratio(o.chip_id, WorkloadClass.DENSE_TRAINING) for o in book.offers])
    best = -1.0
    ranges = [range(0, o.max_lots + 1) for o in book.offers]
    for lots in itertools.product(*ranges):
        chips = np.array([m * o.lot for m, o in zip(lots, book.offers, strict=True)], float)
        cost = sum(float(o.unit_cost_krw) * n for o, n in zip(book.offers, chips, strict=True))
        if cost > budget:
            continue
        watts = sum(o.power_w * n for o, n in zip(book.offers, chips, strict=True)) * SITE.pue
        if power_mw is not None and watts > power_mw * 1e6:
            continue
        if model is not None and min_score is not None and model.credited(chips) < min_score - 1e-9:
            continue
        best = max(best, float(ratio @ chips))
    return best


offer_rows = st.lists(
    st.tuples(
        st.sampled_from(CHIPS),
        st.integers(0, 5),  # available
        st.integers(1_000, 50_000_000),  # unit cost
        st.integers(100, 2_000),  # power W
        st.sampled_from([1, 2]),  # lot
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40)
@given(offer_rows, st.integers(0, 150_000_000), st.one_of(st.none(), st.floats(0.001, 0.02)))
def test_milp_equals_brute_force_without_rubric(rows, budget, power) -> None:  # type: ignore[no-untyped-def]
    book = book_of(rows)
    expected = brute_force(book, budget, power, None)
    got = optimise(book, PERF, Decimal(budget), power)
    assert got.capacity_h100e == pytest.approx(expected, abs=1e-6)
    assert got.cost_krw <= budget


@settings(max_examples=60)
@given(offer_rows, st.integers(0, 150_000_000), st.floats(10, 85))
def test_milp_equals_brute_force_with_min_score(rows, budget, min_score) -> None:  # type: ignore[no-untyped-def]
    book = book_of(rows)
    expected = brute_force(book, budget, None, min_score)
    if expected < 0:
        with pytest.raises(InfeasibleError):
            optimise(book, PERF, Decimal(budget), None, RUBRIC, min_score)
        return
    got = optimise(book, PERF, Decimal(budget), None, RUBRIC, min_score)
    assert got.capacity_h100e == pytest.approx(expected, abs=1e-6)
    assert got.credited_score is not None and got.score is not None
    # Levels are sufficient conditions: the true rubric score is never below the credited one.
    assert got.score >= got.credited_score - 1e-6 >= min_score - 1e-6


def test_example_offers_meet_korean_rubric() -> None:
    catalog = load_catalog()
    book = load_offers(EXAMPLES / "offers.yaml", catalog)
    plain = optimise(book, PERF, Decimal("5e11"), 20.0)
    rubric = load_rubric("korea-nacc-2025")
    scored = optimise(book, PERF, Decimal("5e11"), 20.0, rubric, 85.0)
    assert scored.score is not None and scored.score >= 85.0
    assert scored.capacity_h100e <= plain.capacity_h100e
    assert plain.power_mw <= 20.0 and plain.cost_krw <= Decimal("5e11")


def test_offers_file_errors(tmp_path: Path) -> None:
    catalog = load_catalog()
    bad = tmp_path / "offers.yaml"
    bad.write_text(
        "site: {country: KR, region: X, capital_region: false, renewable_share: 0.1, pue: 1.2}\n"
        "offers:\n"
        "  - {id: a, chip: nvidia-h100-sxm, available: 8, unit_cost_krw: 1}\n"
        "  - {id: b, chip: amd-mi300, available: 8, unit_cost_krw: 1}\n"
    )
    with pytest.raises(InputError, match=r"offers.yaml:4: field 'offers\[1\].chip'.*amd-mi300x"):
        load_offers(bad, catalog)
    bad.write_text(bad.read_text().replace("amd-mi300,", "google-tpu-v5p,"))
    with pytest.raises(InputError, match="no published TDP: give power_w"):
        load_offers(bad, catalog)
