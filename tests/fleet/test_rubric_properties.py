"""Property tests of the diversity score and of rubric totals (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.domain.fleet import Pool, Proposal
from aicenter.fleet.criteria import DiversityParams, VendorDiversity
from aicenter.fleet.rubric import ScoringContext
from aicenter.fleet.rubric_file import load_rubric, preset_names
from tests.fleet.builders import KR_SITE

PERF = PerformanceTable.from_catalog(load_catalog())
CHIPS = [a.id for a in load_catalog()]
DIVERSITY = VendorDiversity("d", 30.0, DiversityParams(floor_points=6, full_at_max_share=0.4))

pools_strategy = st.lists(
    st.tuples(st.sampled_from(CHIPS), st.integers(min_value=0, max_value=20_000)),
    min_size=1,
    max_size=12,
)


def proposal(pools: list[tuple[str, int]]) -> Proposal:
    return Proposal("b", KR_SITE, tuple(Pool(c, n) for c, n in pools))


def diversity(p: Proposal) -> float:
    return DIVERSITY.score(p, ScoringContext(PERF, [p])).points


@given(pools_strategy, st.randoms(use_true_random=False))
def test_reordering_pools_does_not_change_score(pools: list[tuple[str, int]], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(pools)
    rnd.shuffle(shuffled)
    assert abs(diversity(proposal(pools)) - diversity(proposal(shuffled))) < 1e-9


@given(pools_strategy, st.data())
def test_splitting_a_pool_does_not_change_score(pools: list[tuple[str, int]], data) -> None:  # type: ignore[no-untyped-def]
    index = data.draw(st.integers(0, len(pools) - 1))
    chip, count = pools[index]
    part = data.draw(st.integers(0, count))
    split = [*pools[:index], (chip, part), (chip, count - part), *pools[index + 1 :]]
    assert abs(diversity(proposal(pools)) - diversity(proposal(split))) < 1e-9


VENDORS = ["nvidia", "amd", "intel", "google", "rebellions"]


def score_capacities(capacities: dict[str, float]) -> float:
    return DIVERSITY.points_for(capacities)[0]


@settings(max_examples=300)
@given(
    st.lists(st.floats(min_value=0.0, max_value=1e5), min_size=2, max_size=5),
    st.floats(min_value=0.0, max_value=1.0),
    st.data(),
)
def test_moving_capacity_from_largest_to_smaller_never_lowers_score(
    values: list[float],
    fraction: float,
    data,  # type: ignore[no-untyped-def]
) -> None:
    vendors = VENDORS[: len(values)]
    caps = dict(zip(vendors, values, strict=False))
    if sum(caps.values()) <= 0:
        return
    largest = max(caps, key=lambda v: caps[v])
    smaller = data.draw(st.sampled_from([v for v in caps if v != largest]))
    moved = fraction * (caps[largest] - caps[smaller])
    after = dict(caps)
    after[largest] -= moved
    after[smaller] += moved
    assert score_capacities(after) >= score_capacities(caps) - 1e-9


@given(pools_strategy)
def test_totals_never_exceed_max(pools: list[tuple[str, int]]) -> None:
    p = proposal(pools)
    for name in preset_names():
        rubric = load_rubric(name)
        result = rubric.score_all([p], PERF)[0]
        assert 0.0 <= result.total <= rubric.max_points + 1e-9
        for c in result.criteria:
            assert 0.0 <= c.points <= c.max + 1e-9
