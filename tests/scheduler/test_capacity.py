"""The engine's count caps the live view's pools (aicenter.scheduler.capacity)."""

from __future__ import annotations

from aicenter.scheduler.capacity import cap_pools
from aicenter.scheduler.center import CenterPool


def _pool(pool_id: str, chip: str, count: int) -> CenterPool:
    return CenterPool(pool_id, chip, count, "KR", 8)


def test_free_chips_are_spread_over_a_chip_types_pools_in_order() -> None:
    pools = [_pool("a", "h100", 8), _pool("b", "h100", 8), _pool("c", "atom", 4)]
    capped = cap_pools(pools, {"h100": 10}, {})
    assert [p.chip_count for p in capped] == [8, 2, 4]  # atom: not reported, not capped


def test_chips_running_jobs_hold_stay_and_only_free_ones_are_added() -> None:
    pools = [_pool("a", "h100", 8), _pool("b", "h100", 8)]
    assert [p.chip_count for p in cap_pools(pools, {"h100": 1}, {"b": 4})] == [1, 4]
    assert [p.chip_count for p in cap_pools(pools, {"h100": 0}, {"a": 3, "b": 2})] == [3, 2]
    assert [p.chip_count for p in cap_pools(pools, {"h100": 99}, {})] == [8, 8]
