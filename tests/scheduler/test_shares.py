"""Guaranteed shares, borrowing and reclaim, concurrent chip caps, draining pools, pending
reasons and decayed usage: the rules the live center and the simulator share, on every
policy (table-driven, with the fixture builders)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from aicenter.scheduler import SchedulerConfig, build_policy, policy_names
from aicenter.scheduler.pending import PendingReason, pending_reasons
from aicenter.scheduler.snapshot import UsageDecay, UsageSample, build_snapshot, decayed_usage
from aicenter.scheduler.types import Tenant
from tests.scheduler.builders import job, matrix, pool, queued

RATES = matrix({("a", "gpu"): 1.0, ("a", "npu"): 0.5})
POLICIES = policy_names()


def _policy(name: str):  # type: ignore[no-untyped-def]
    return build_policy(name, RATES, SchedulerConfig(round_s=60.0, resolve_min_interval_s=0.0))


def _placed(allocation) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p.job_id: p.pool_id for p in allocation.placements}


@pytest.mark.parametrize("name", POLICIES)
def test_borrowed_capacity_is_reclaimed_when_the_owner_comes_back(name: str) -> None:
    """B borrowed all 8 chips while A (guaranteed 4 H100e) was idle; A's two jobs come back:
    they take their 4 chips at once, and B keeps only what is left."""
    gpu = pool("gpu", 8, node_size=8)
    tenants = (Tenant("A", guaranteed_h100e=4.0), Tenant("B"))
    snap = build_snapshot((gpu,), tenants)
    policy = _policy(name)
    borrowers = [job(f"b{i}", {"gpu": 2}, tenant="B", arrival=0.0) for i in range(4)]
    first = policy.schedule(snap, [queued(j) for j in borrowers], 0.0)
    assert len(first.placements) == 4  # A idle: B borrows everything
    owners = [job(f"a{i}", {"gpu": 2}, tenant="A", arrival=100.0) for i in range(2)]
    queue = [queued(j, running_on="gpu") for j in borrowers] + [queued(j) for j in owners]
    second = policy.schedule(snap, queue, 120.0)
    placed = _placed(second)
    assert {"a0", "a1"} <= set(placed), placed
    assert sum(1 for j in placed if j.startswith("b")) == 2
    assert len(second.preempted) == 2


@pytest.mark.parametrize("name", POLICIES)
def test_a_grant_never_holds_more_chips_than_awarded(name: str) -> None:
    gpu = pool("gpu", 16, node_size=8)
    snap = build_snapshot((gpu,), (Tenant("A"),), chip_caps={"grant-1": {"gpu": 8}})
    jobs = [replace(job(f"j{i}", {"gpu": 4}, tenant="A"), cap_group="grant-1")
            for i in range(4)]
    allocation = _policy(name).schedule(snap, [queued(j) for j in jobs], 0.0)
    assert sum(p.count for p in allocation.placements) == 8  # 16 free, 8 awarded
    reasons = pending_reasons(snap, [queued(j) for j in jobs], allocation)
    assert set(reasons.values()) == {PendingReason.CHIP_CAP_REACHED}


@pytest.mark.parametrize("name", POLICIES)
def test_a_draining_pool_keeps_its_jobs_and_takes_no_new_one(name: str) -> None:
    gpu = replace(pool("gpu", 8), draining=True)
    snap = build_snapshot((gpu, pool("npu", 4)), (Tenant("t"),))
    running, new = job("run", {"gpu": 4}), job("new", {"gpu": 4})
    allocation = _policy(name).schedule(snap, [queued(running, "gpu"), queued(new)], 0.0)
    assert _placed(allocation) == {"run": "gpu"}
    reasons = pending_reasons(snap, [queued(running, "gpu"), queued(new)], allocation)
    assert reasons == {"new": PendingReason.RESOURCES}


def test_pending_reasons_name_residency_resources_and_priority() -> None:
    gpu = pool("gpu", 4, country="KR")
    snap = build_snapshot((gpu,), (Tenant("t"),))
    abroad = job("abroad", {"gpu": 1}, residency="US")
    big = job("big", {"gpu": 4}, arrival=1.0)
    small = job("small", {"gpu": 1}, arrival=2.0)
    queue = [queued(abroad), queued(big), queued(small)]
    allocation = _policy("fifo").schedule(snap, queue, 10.0)
    assert _placed(allocation) == {"big": "gpu"}
    assert pending_reasons(snap, queue, allocation) == {
        "abroad": PendingReason.RESIDENCY, "small": PendingReason.RESOURCES}
    two = build_snapshot((pool("gpu", 8),), (Tenant("t"),))
    held = [queued(job(f"r{i}", {"gpu": 1}), "gpu") for i in range(6)]
    late = queued(job("late", {"gpu": 1}, arrival=5.0))
    allocation = _policy("fifo").schedule(two, [*held, late], 10.0)
    assert "late" in _placed(allocation)


def test_decayed_usage_halves_every_half_life_and_the_incremental_form_agrees() -> None:
    samples = [UsageSample("A", 0.0, 8.0, "call-1"), UsageSample("A", 3600.0, 4.0),
               UsageSample("B", 7200.0, 2.0, "call-1")]
    now, half = 7200.0, 3600.0
    usage = decayed_usage(samples, now, half)
    assert usage["A"] == pytest.approx(8.0 / 4 + 4.0 / 2)
    assert usage["B"] == pytest.approx(2.0)
    assert usage["programme:call-1"] == pytest.approx(8.0 / 4 + 2.0)
    decay = UsageDecay(half)
    for s in samples:
        decay.add(s)
    assert decay.at(now) == pytest.approx(usage)
    assert decayed_usage(samples, 0.0, half) == {"A": 8.0, "programme:call-1": 8.0}
    assert math.isclose(decay.at(now + half)["A"], usage["A"] / 2)


def test_fair_share_orders_by_decayed_usage_from_the_snapshot() -> None:
    """Two tenants of equal weight; A used a lot a week ago, B a little an hour ago: with a
    one-day half-life A's usage has decayed below B's, so A's job goes first."""
    gpu = pool("gpu", 1)
    week, day = 7 * 86400.0, 86400.0
    samples = [UsageSample("A", 0.0, 100.0), UsageSample("B", week - 3600.0, 2.0)]
    snap = build_snapshot((gpu,), (Tenant("A"), Tenant("B")),
                          decayed=decayed_usage(samples, week, day))
    queue = [queued(job("b", {"gpu": 1}, tenant="B")),
             queued(job("a", {"gpu": 1}, tenant="A", arrival=1.0))]
    allocation = build_policy("fair_share", RATES, SchedulerConfig(
        round_s=60.0, fair_share_half_life_s=day)).schedule(snap, queue, week)
    assert _placed(allocation) == {"a": "gpu"}
