"""Table-driven tests of each policy's time fractions and placements."""

from __future__ import annotations

import numpy as np
import pytest

from aicenter.catalog import PerformanceTable
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.units import Currency, H100eHours, Money
from aicenter.planner import presets
from aicenter.scheduler import (
    JobProgress,
    Pool,
    SchedulerConfig,
    Snapshot,
    Tenant,
    ThroughputMatrix,
    build_policy,
    policy_names,
)
from aicenter.scheduler.problem import build_problem
from tests.scheduler.builders import job, matrix, pool, queued, snapshot

RATES = matrix(
    {
        ("a", "fast"): 4.0, ("a", "slow"): 1.0,  # gains 4x from the fast chip
        ("b", "fast"): 1.0, ("b", "slow"): 1.0,  # indifferent
    }
)


def test_registry_lists_every_policy() -> None:
    assert set(policy_names()) >= {
        "fifo", "fair_share", "max_min_agnostic", "max_min_hetero", "min_cost",
        "finish_time_fair",
    }


def _normalised(policy: str, snap: Snapshot, queue: list[JobProgress]) -> list[float]:
    """Each job's effective rate over its proportional-share rate under the policy's fractions."""
    alloc = build_policy(policy, RATES).schedule(snap, queue, 0.0)
    problem = build_problem(snap, queue, 0.0, RATES)
    out = []
    for j, jp in enumerate(problem.jobs):
        share = alloc.fractions[jp.id]
        rate = sum(problem.rate[j, p] * share.get(pl.id, 0.0) for p, pl in enumerate(snap.pools))
        proportional = problem.rate[j] @ problem.capacity / problem.capacity.sum()
        out.append(rate / proportional)
    return out


@pytest.mark.parametrize(
    ("pools", "jobs"),
    [
        ((pool("fast", 1), pool("slow", 1)), ("a", "b")),
        ((pool("fast", 2), pool("slow", 6)), ("a", "a", "b", "b", "b")),
        ((pool("fast", 1), pool("slow", 3)), ("a", "b", "b", "b", "b", "b")),
    ],
)
def test_hetero_max_min_never_worse_for_the_worst_job_than_agnostic(
    pools: tuple[Pool, ...], jobs: tuple[str, ...]
) -> None:
    snap = snapshot(*pools)
    queue = [queued(job(f"j{i}", cls=c)) for i, c in enumerate(jobs)]
    aware = _normalised("max_min_hetero", snap, queue)
    agnostic = _normalised("max_min_agnostic", snap, queue)
    assert min(aware) >= min(agnostic) - 1e-6
    assert sum(aware) > sum(agnostic) - 1e-6


def test_max_min_gives_a_heavier_job_proportionally_more_time() -> None:
    snap = snapshot(pool("fast", 1))
    queue = [
        queued(job("light", {"fast": 1}, cls="b")),
        queued(job("heavy", {"fast": 1}, cls="b", weight=2.0)),
    ]
    alloc = build_policy("max_min_hetero", RATES).schedule(snap, queue, 0.0)
    assert alloc.fractions["heavy"]["fast"] == pytest.approx(2 / 3, abs=1e-4)
    assert alloc.fractions["light"]["fast"] == pytest.approx(1 / 3, abs=1e-4)


def test_hetero_max_min_puts_the_job_that_gains_on_the_fast_chip() -> None:
    snap = snapshot(pool("fast", 1), pool("slow", 1))
    queue = [queued(job("gains", cls="a")), queued(job("indifferent", cls="b"))]
    alloc = build_policy("max_min_hetero", RATES).schedule(snap, queue, 0.0)
    assert alloc.fractions["gains"].get("fast", 0.0) >= 0.5 - 1e-6
    assert alloc.placement_of("gains").pool_id == "fast"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("arrivals", "expected_running"),
    [
        ((0.0, 1.0, 2.0), {"j0", "j1"}),
        ((5.0, 1.0, 2.0), {"j1", "j2"}),
    ],
)
def test_fifo_starts_jobs_in_arrival_order(
    arrivals: tuple[float, ...], expected_running: set[str]
) -> None:
    snap = snapshot(pool("fast", 1), pool("slow", 1))
    queue = [queued(job(f"j{i}", cls="b", arrival=a)) for i, a in enumerate(arrivals)]
    alloc = build_policy("fifo", RATES).schedule(snap, queue, 10.0)
    assert {p.job_id for p in alloc.placements} == expected_running


def test_fifo_never_preempts_a_running_job() -> None:
    snap = snapshot(pool("fast", 1))
    queue = [
        queued(job("early", {"fast": 1}, arrival=0.0)),
        queued(job("late", {"fast": 1}, arrival=5.0), running_on="fast"),
    ]
    alloc = build_policy("fifo", RATES).schedule(snap, queue, 10.0)
    assert [p.job_id for p in alloc.placements] == ["late"]
    assert alloc.preempted == ()


def test_fifo_backfills_a_small_job_past_a_big_one_that_does_not_fit() -> None:
    snap = snapshot(pool("fast", 4))
    queue = [
        queued(job("runs", {"fast": 2}, arrival=0.0), running_on="fast"),
        queued(job("big", {"fast": 4}, arrival=1.0)),
        queued(job("small", {"fast": 2}, arrival=2.0)),
    ]
    alloc = build_policy("fifo", RATES).schedule(snap, queue, 10.0)
    assert {p.job_id for p in alloc.placements} == {"runs", "small"}


def test_fair_share_starts_the_tenant_that_used_least_first() -> None:
    tenants = (
        Tenant("heavy-user", used=H100eHours(100.0)),
        Tenant("light-user", used=H100eHours(1.0)),
    )
    snap = snapshot(pool("fast", 1), tenants=tenants)
    queue = [
        queued(job("h", {"fast": 1}, tenant="heavy-user", arrival=0.0)),
        queued(job("l", {"fast": 1}, tenant="light-user", arrival=5.0)),
    ]
    alloc = build_policy("fair_share", RATES).schedule(snap, queue, 10.0)
    assert [p.job_id for p in alloc.placements] == ["l"]


def test_fair_share_weight_offsets_usage() -> None:
    # Same usage, but one tenant has 3x the shares: it has used less than its entitlement.
    tenants = (
        Tenant("small", weight=1.0, used=H100eHours(10.0)),
        Tenant("big", weight=3.0, used=H100eHours(10.0)),
    )
    snap = snapshot(pool("fast", 1), tenants=tenants)
    queue = [
        queued(job("s", {"fast": 1}, tenant="small", arrival=0.0)),
        queued(job("b", {"fast": 1}, tenant="big", arrival=5.0)),
    ]
    alloc = build_policy("fair_share", RATES).schedule(snap, queue, 10.0)
    assert [p.job_id for p in alloc.placements] == ["b"]


def test_fair_share_usage_decays_with_its_half_life() -> None:
    policy = build_policy("fair_share", RATES, SchedulerConfig(fair_share_half_life_s=100.0))
    objective = policy.objective  # type: ignore[attr-defined]
    snap = snapshot(pool("fast", 1), tenants=(Tenant("a", used=H100eHours(8.0)), Tenant("b")))
    queue = [queued(job("x", {"fast": 1}, tenant="a"))]
    objective.factors(build_problem(snap, queue, 0.0, RATES))
    assert objective._usage["a"] == pytest.approx(8.0)
    objective.factors(build_problem(snap, queue, 200.0, RATES))
    assert objective._usage["a"] == pytest.approx(2.0)  # two half-lives, nothing new used


def _priced(chip: str, count: int, krw: int) -> Pool:
    return Pool(chip, chip, count, count, price_per_chip_hour=Money.of(krw, Currency.KRW))


@pytest.mark.parametrize(
    ("deadline_s", "expected_pool"),
    [
        (None, "slow"),  # no deadline: cheapest progress (slow: 1000/1 < fast: 8000/4)
        (2000.0, "slow"),  # 1000 work at 1/s finishes at 1000 s: slow meets it
        (500.0, "fast"),  # only the fast chip (250 s) meets it, at more money
    ],
)
def test_min_cost_takes_the_cheapest_chip_that_meets_the_deadline(
    deadline_s: float | None, expected_pool: str
) -> None:
    snap = Snapshot((_priced("fast", 1, 8000), _priced("slow", 1, 1000)))
    queue = [queued(job("j", cls="a", work=1000.0, deadline=deadline_s))]
    alloc = build_policy("min_cost", RATES).schedule(snap, queue, 0.0)
    assert alloc.placement_of("j").pool_id == expected_pool  # type: ignore[union-attr]


def test_min_cost_serves_the_earliest_deadline_first() -> None:
    snap = Snapshot((_priced("fast", 1, 1000),))
    queue = [
        queued(job("later", {"fast": 1}, arrival=0.0, deadline=9000.0)),
        queued(job("sooner", {"fast": 1}, arrival=1.0, deadline=3000.0)),
    ]
    alloc = build_policy("min_cost", RATES).schedule(snap, queue, 10.0)
    assert [p.job_id for p in alloc.placements] == ["sooner"]


def test_finish_time_fair_favours_the_short_job_but_keeps_the_floor() -> None:
    snap = snapshot(pool("fast", 1))
    queue = [
        queued(job("long", {"fast": 1}, cls="b", work=1e6)),
        queued(job("short", {"fast": 1}, cls="b", work=10.0)),
    ]
    alloc = build_policy("finish_time_fair", RATES).schedule(snap, queue, 0.0)
    assert alloc.placement_of("short") is not None
    # max-min would give each 1/2; the floor keeps at least a quarter of that for the long job
    assert alloc.fractions["long"]["fast"] >= 0.25 * 0.5 - 1e-6
    assert alloc.fractions["short"]["fast"] > alloc.fractions["long"]["fast"]


@pytest.mark.parametrize("name", policy_names())
def test_every_policy_fills_an_idle_cluster_and_respects_rows(name: str) -> None:
    snap = snapshot(pool("fast", 2), pool("slow", 2))
    queue = [queued(job(f"j{i}", cls="ab"[i % 2], arrival=float(i))) for i in range(3)]
    alloc = build_policy(name, RATES).schedule(snap, queue, 10.0)
    assert len(alloc.placements) == 3
    for share in alloc.fractions.values():
        assert sum(share.values()) <= 1 + 1e-6
    for p in snap.pools:
        used = sum(share.get(p.id, 0.0) for share in alloc.fractions.values())
        assert used <= p.count + 1e-6
    assert np.isfinite(sum(sum(s.values()) for s in alloc.fractions.values()))


def test_throughput_matrix_prefers_measured_then_planner_then_catalog(
    perf: PerformanceTable,
) -> None:
    model = presets()["llama-3.1-8b"]
    chips = ["nvidia-h100-sxm", "nvidia-a100-80gb", "rebellions-atom"]
    base = ThroughputMatrix.from_performance(perf, chips)
    planned = base.with_planner([model], chips, [8])
    a100 = perf.ratio("nvidia-a100-80gb", WorkloadClass.DENSE_TRAINING)
    assert base.rate("dense-training", "nvidia-a100-80gb", 8) == pytest.approx(8 * a100)
    assert planned.rate(model.name, "nvidia-h100-sxm", 8) == pytest.approx(8.0)
    assert 0 < planned.rate(model.name, "nvidia-a100-80gb", 8) < 8.0
    assert planned.rate(model.name, "rebellions-atom", 8) == 0.0  # cannot train
    measured = planned.with_measured({(model.name, "nvidia-a100-80gb", 8): 5.0})
    assert measured.rate(model.name, "nvidia-a100-80gb", 8) == 5.0  # measured wins
    assert measured.rate(model.name, "nvidia-a100-80gb", 4) == pytest.approx(2.5)
