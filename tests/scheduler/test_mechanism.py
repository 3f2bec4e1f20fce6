"""The round mechanism: nodes, gangs, the chase lane, quotas, residency, re-solving, restarts."""

from __future__ import annotations

from aicenter.domain.units import H100eHours
from aicenter.scheduler import (
    JobProgress,
    Pool,
    PriorityClass,
    Programme,
    SchedulerConfig,
    Snapshot,
    Tenant,
    build_policy,
)
from tests.scheduler.builders import job, matrix, pool, queued, snapshot

RATES = matrix({("a", "fast"): 2.0, ("a", "slow"): 1.0})


def test_a_gang_that_fits_a_node_stays_inside_one_node() -> None:
    snap = snapshot(pool("fast", 8, node_size=4))
    queue = [queued(job(f"j{i}", {"fast": 3})) for i in range(3)]
    alloc = build_policy("fifo", RATES).schedule(snap, queue, 0.0)
    # 3 + 3 go to two nodes; the third gang of 3 would need to straddle nodes: it waits
    assert len(alloc.placements) == 2
    for p in alloc.placements:
        assert len(set(p.nodes)) == 1
    assert sorted(p.nodes[0] for p in alloc.placements) == [0, 1]


def test_a_gang_larger_than_a_node_takes_whole_nodes() -> None:
    snap = snapshot(pool("fast", 16, node_size=4))
    queue = [queued(job("small", {"fast": 1})), queued(job("big", {"fast": 8}, arrival=1.0))]
    alloc = build_policy("fifo", RATES).schedule(snap, queue, 10.0)
    big = alloc.placement_of("big")
    assert big is not None
    assert big.count == 8
    small_node = alloc.placement_of("small").nodes[0]  # type: ignore[union-attr]
    assert small_node not in big.nodes
    assert sorted({big.nodes.count(n) for n in set(big.nodes)}) == [4]


def test_a_running_job_keeps_its_nodes() -> None:
    snap = snapshot(pool("fast", 8, node_size=4))
    policy = build_policy("fifo", RATES)
    first = policy.schedule(snap, [queued(job("x", {"fast": 2}))], 0.0)
    nodes = first.placement_of("x").nodes  # type: ignore[union-attr]
    queue = [queued(job("y", {"fast": 2}, arrival=1.0)), queued(job("x", {"fast": 2}), "fast")]
    second = policy.schedule(snap, queue, 360.0)
    assert second.placement_of("x").nodes == nodes  # type: ignore[union-attr]


def test_chase_job_displaces_lower_classes_within_its_guaranteed_share() -> None:
    snap = snapshot(pool("fast", 4), chase_share=0.5)
    standard = [queued(job(f"s{i}", {"fast": 1}), running_on="fast") for i in range(4)]
    chase = queued(job("c", {"fast": 2}, arrival=5.0, priority=PriorityClass.CHASE))
    alloc = build_policy("fifo", RATES).schedule(snap, [*standard, chase], 10.0)
    assert alloc.placement_of("c") is not None
    assert len(alloc.preempted) == 2


def test_chase_job_beyond_its_share_competes_normally() -> None:
    snap = snapshot(pool("fast", 4), chase_share=0.25)
    standard = [queued(job(f"s{i}", {"fast": 1}), running_on="fast") for i in range(4)]
    chase = queued(job("c", {"fast": 2}, arrival=5.0, priority=PriorityClass.CHASE))
    alloc = build_policy("fifo", RATES).schedule(snap, [*standard, chase], 10.0)
    assert alloc.placement_of("c") is None  # needs 2 chips, guaranteed only 1


def test_quota_stops_a_tenant_at_its_grant() -> None:
    # One round (0.1 h) on one chip worth 1 H100e costs 0.1 h100e-h.
    tenants = (
        Tenant("rich", quota=H100eHours(10.0)),
        Tenant("broke", quota=H100eHours(10.0), used=H100eHours(9.95)),
    )
    snap = snapshot(pool("fast", 4), tenants=tenants)
    queue = [
        queued(job("r", {"fast": 1}, tenant="rich")),
        queued(job("b", {"fast": 1}, tenant="broke")),
    ]
    for name in ("fifo", "max_min_hetero", "finish_time_fair"):
        alloc = build_policy(name, RATES).schedule(snap, queue, 0.0)
        assert [p.job_id for p in alloc.placements] == ["r"], name


def test_quota_counts_every_job_of_the_tenant_in_the_round() -> None:
    snap = snapshot(pool("fast", 4), tenants=(Tenant("t", quota=H100eHours(0.25)),))
    queue = [queued(job(f"j{i}", {"fast": 1}, arrival=float(i))) for i in range(4)]
    alloc = build_policy("fifo", RATES).schedule(snap, queue, 10.0)
    assert len(alloc.placements) == 2  # 2 × 0.1 fits in 0.25, a third would not


def test_residency_keeps_a_job_in_its_country() -> None:
    snap = Snapshot(
        (
            Pool("fast-us", "fast", 4, 4, country="US"),
            Pool("slow-kr", "slow", 4, 4, country="KR"),
        )
    )
    queue = [queued(job("kr-data", residency="KR"))]
    for name in ("fifo", "max_min_hetero", "finish_time_fair", "fair_share", "min_cost"):
        alloc = build_policy(name, RATES).schedule(snap, queue, 0.0)
        assert alloc.placement_of("kr-data").pool_id == "slow-kr", name  # type: ignore[union-attr]


def test_resident_job_with_no_pool_in_its_country_waits() -> None:
    snap = Snapshot((Pool("fast", "fast", 4, 4, country="US"),))
    alloc = build_policy("max_min_hetero", RATES).schedule(
        snap, [queued(job("x", {"fast": 1}, residency="KR"))], 0.0
    )
    assert alloc.placements == ()


def test_max_min_re_solves_on_arrivals_at_most_every_interval() -> None:
    snap = snapshot(pool("fast", 4))
    policy = build_policy("max_min_hetero", RATES, SchedulerConfig(resolve_min_interval_s=1920))
    a = queued(job("a", {"fast": 1}))
    assert policy.schedule(snap, [a], 0.0).resolved
    b = queued(job("b", {"fast": 1}, arrival=100.0))
    early = policy.schedule(snap, [a, b], 360.0)
    assert not early.resolved
    assert "b" not in early.fractions
    assert early.placement_of("b") is not None  # idle chips are back-filled
    late = policy.schedule(snap, [a, b], 1920.0)
    assert late.resolved
    assert "b" in late.fractions


def test_restart_cost_keeps_a_running_job_where_it_is() -> None:
    snap = snapshot(pool("fast", 1), pool("slow", 1))
    rates = matrix({("a", "fast"): 1.0, ("a", "slow"): 1.0})
    queue = [queued(job("x")), queued(job("y"))]
    for restart, expect_moves in ((0.0, True), (600.0, False)):
        policy = build_policy("max_min_agnostic", rates, SchedulerConfig(restart_cost_s=restart))
        first = policy.schedule(snap, queue, 0.0)
        where = {p.job_id: p.pool_id for p in first.placements}
        moves = 0
        clock = 0.0
        state = {j: {where[j]: 360.0} for j in where}
        for _ in range(6):
            clock += 360.0
            running = [JobProgress(job(j), 1000.0, dict(state[j]), where[j]) for j in ("x", "y")]
            alloc = policy.schedule(snap, running, clock)
            moves += len(alloc.migrated)
            for p in alloc.placements:
                state[p.job_id][p.pool_id] = state[p.job_id].get(p.pool_id, 0.0) + 360.0
                where[p.job_id] = p.pool_id
        assert (moves > 0) == expect_moves, restart


def test_programme_quota_binds_across_its_tenants() -> None:
    # Two tenants of one programme; the programme has 0.15 h100e-h left: one round of one chip.
    tenants = (
        Tenant("lab-a", programme="national-call", used=H100eHours(0.85)),
        Tenant("lab-b", programme="national-call"),
    )
    snap = Snapshot(
        (Pool("fast", "fast", 4, 4),),
        {t.id: t for t in tenants},
        {"national-call": Programme("national-call", quota=H100eHours(1.0))},
    )
    queue = [
        queued(job("a", {"fast": 1}, tenant="lab-a")),
        queued(job("b", {"fast": 1}, tenant="lab-b", arrival=1.0)),
    ]
    alloc = build_policy("fifo", RATES).schedule(snap, queue, 10.0)
    assert [p.job_id for p in alloc.placements] == ["a"]
