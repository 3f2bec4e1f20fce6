"""``pool.capacity``: the database's chips beside the engine's count and the scheduler's, on
SQLite and PostgreSQL, with the local backend (its slots), the virtual one (no count) and an
engine that reports fewer chips than the pools hold (the cap the scheduling round applies)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aicenter.backends.base import BackendUnavailableError, ChipCapacity
from aicenter.backends.local import LocalBackend
from aicenter.backends.virtual import VirtualBackend
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.services import pool as svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from tests.services.test_pool_service import _running_job

H100 = "nvidia-h100-sxm"
ATOM = "rebellions-atom"


class CountingEngine(LocalBackend):
    """A local backend that claims an engine's count: ``free`` chips per type, or down."""

    capabilities = replace(LocalBackend.capabilities, reports_capacity=True)

    def __init__(self, root: Path, free: dict[str, int] | None) -> None:
        super().__init__(root)
        self.free = free

    def chip_capacity(self) -> dict[str, ChipCapacity]:
        if self.free is None:
            raise BackendUnavailableError("engine down")
        return {chip: ChipCapacity(n + 2, n, 4) for chip, n in self.free.items()}


def test_local_backend_shows_its_slots(ctx: ServiceContext, operator: Caller,
                                       tmp_path: Path) -> None:
    ctx.backend = LocalBackend(tmp_path / "runs")
    first = svc.add_pool(ctx, operator, H100, 8, pool_id="a-haenam")
    svc.add_pool(ctx, operator, H100, 4, site="gwangju", pool_id="b-gwangju")
    _running_job(ctx, operator, first.id, 3)  # seeds a 4-chip ATOM pool too
    seen = svc.capacity(ctx, operator)
    assert seen.backend == "local" and not seen.reports_capacity and seen.engine_error is None
    h100 = next(c for c in seen.chips if c.chip_id == H100)
    assert (h100.database, h100.busy, h100.usable) == (12, 3, 12)
    assert h100.engine == ChipCapacity(12, 12, 12)  # a job record holds no local device
    assert [(p.pool.chip_count, p.busy, p.usable) for p in h100.pools] == [(8, 3, 8), (4, 0, 4)]
    atom = next(c for c in seen.chips if c.chip_id == ATOM)
    assert atom.engine == ChipCapacity(4, 4, 4) and atom.usable == 4


def test_virtual_backend_reports_nothing(ctx: ServiceContext, operator: Caller,
                                         tmp_path: Path) -> None:
    clock = ManualClock()
    ctx.backend = VirtualBackend(tmp_path / "virtual", clock.now,
                                 ThroughputMatrix.from_performance(ctx.performance))
    svc.add_pool(ctx, operator, H100, 8)
    seen = svc.capacity(ctx, operator)
    assert seen.backend == "virtual" and not seen.reports_capacity
    [h100] = seen.chips
    assert h100.engine is None and (h100.database, h100.usable) == (8, 8)


def test_an_engine_count_caps_as_the_round_does(ctx: ServiceContext, operator: Caller,
                                                tmp_path: Path) -> None:
    engine = CountingEngine(tmp_path / "runs", {H100: 1})
    ctx.backend = engine
    first = svc.add_pool(ctx, operator, H100, 8, pool_id="a-haenam")  # pools in id order
    second = svc.add_pool(ctx, operator, H100, 8, site="gwangju", pool_id="b-gwangju")
    drained = svc.add_pool(ctx, operator, H100, 2, site="daejeon", pool_id="c-daejeon")
    svc.drain_pool(ctx, operator, drained.id)
    removed = svc.add_pool(ctx, operator, H100, 2, site="busan", pool_id="d-busan")
    svc.remove_pool(ctx, operator, removed.id)
    _running_job(ctx, operator, second.id, 5)
    seen = svc.capacity(ctx, operator)
    assert seen.reports_capacity
    h100 = next(c for c in seen.chips if c.chip_id == H100)
    # running jobs keep their 5 chips; the engine's 1 free chip goes to the first pool
    assert [(p.pool.id, p.usable) for p in h100.pools] == [
        (first.id, 1), (second.id, 5), (drained.id, 0)]
    assert (h100.database, h100.busy, h100.usable) == (18, 5, 6)
    assert h100.engine == ChipCapacity(3, 1, 4)
    atom = next(c for c in seen.chips if c.chip_id == ATOM)
    assert atom.engine is None and atom.usable == atom.database == 4  # not reported: uncapped

    engine.free = None  # an engine that cannot be asked leaves the database's counts
    down = svc.capacity(ctx, operator)
    assert down.engine_error == "engine down"
    assert all(c.engine is None and c.usable == c.database for c in down.chips)


