"""The virtual backend: the backend contract on virtual time, and its fault injection.

The shared :class:`tests.backends.behaviour.BackendBehaviour` is not reused: every test there
runs a command and judges its output, exit code or wall-clock timing, and the virtual engine
runs no command. Its rules that make sense without processes are restated here on a manual
clock (outcome by exit code, log by offset and ``complete``, terminate's final states, max
duration, re-attach from a new object, ``forget``, run ids used once), plus the engine's own
maths: a run of remaining work ``R`` at ``rate`` ends at ``t0 + R / rate``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aicenter.backends import (
    Backend,
    CenterSite,
    LaunchRequest,
    RunHandle,
    RunState,
    StopReason,
    default_registry,
)
from aicenter.backends.virtual import VirtualBackend, VirtualConfig
from aicenter.catalog import PerformanceTable
from aicenter.domain.errors import InputError
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.services.clock import ManualClock
from aicenter.settings import Settings

H100 = "nvidia-h100-sxm"
A100 = "nvidia-a100-80gb"


@pytest.fixture
def matrix(perf: PerformanceTable) -> ThroughputMatrix:
    return ThroughputMatrix.from_performance(perf)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend(tmp_path: Path, clock: ManualClock, matrix: ThroughputMatrix) -> VirtualBackend:
    return VirtualBackend(tmp_path / "virtual", clock.now, matrix)


def request(run_id: str, work: float = 7200.0, chip: str = H100, count: int = 2,
            job: str = "job1", **kwargs: object) -> LaunchRequest:
    env = {"SIM_WORK_H100_S": str(work), "AICENTER_JOB_ID": job}
    return LaunchRequest(run_id=run_id, command=("true",), chip_type=chip, chip_count=count,
                         env=env, **kwargs)  # type: ignore[arg-type]


def test_registered_as_virtual_and_needs_a_clock(tmp_path: Path, clock: ManualClock) -> None:
    registry = default_registry()
    assert "virtual" in registry.names()
    made = registry.create("virtual", VirtualConfig(tmp_path / "virtual", clock.now))
    assert isinstance(made, VirtualBackend) and isinstance(made, Backend)
    assert made.name == "virtual"
    settings = Settings(home=tmp_path, database_url=None, backend="virtual")
    with pytest.raises(InputError, match="needs a clock"):
        registry.from_settings(settings, CenterSite(tmp_path))
    built = registry.from_settings(settings, CenterSite(tmp_path, clock=clock.now))
    assert isinstance(built, VirtualBackend) and built.root == (tmp_path / "virtual").resolve()


def test_run_ends_at_work_over_rate(backend: VirtualBackend, clock: ManualClock,
                                    matrix: ThroughputMatrix) -> None:
    t0 = clock.now()
    rate = matrix.rate("dense-training", H100, 2)
    assert rate == pytest.approx(2.0)  # one H100-second per second per chip
    handle = backend.launch(request("r1", work=7200.0))
    assert backend.status(handle).state is RunState.RUNNING
    assert backend.status(handle).started_at == t0
    assert backend.live_ends() == [t0 + timedelta(seconds=3600)]
    clock.advance(3599.0)
    assert backend.status(handle).state is RunState.RUNNING
    clock.advance(50.0)  # asked late: the end is when it happened, not when it was seen
    final = backend.status(handle)
    assert (final.state, final.exit_code) == (RunState.SUCCEEDED, 0)
    assert final.ended_at == t0 + timedelta(seconds=3600)
    assert backend.live_ends() == []


def test_preemption_keeps_the_work_left_for_the_next_run(
    backend: VirtualBackend, clock: ManualClock, matrix: ThroughputMatrix
) -> None:
    first = backend.launch(request("job1-1-0", work=7200.0))
    clock.advance(1000.0)
    backend.terminate(first, StopReason.PREEMPT)
    status = backend.status(first)
    assert status.state is RunState.PREEMPTED and status.ended_at == clock.now()
    clock.advance(500.0)  # waiting costs no work
    t1 = clock.now()
    second = backend.launch(request("job1-2-0", work=7200.0, chip=A100, count=4))
    rate = matrix.rate("dense-training", A100, 4)
    end = backend.live_ends()[0]
    assert (end - t1).total_seconds() == pytest.approx((7200.0 - 2000.0) / rate, abs=1e-6)
    clock.advance((end - t1).total_seconds())
    assert backend.status(second).state is RunState.SUCCEEDED


def test_restart_cost_is_lost_on_every_run_after_the_first(
    tmp_path: Path, clock: ManualClock, matrix: ThroughputMatrix
) -> None:
    backend = VirtualBackend(tmp_path, clock.now, matrix, restart_cost_s=60.0)
    first = backend.launch(request("a", work=7200.0))
    assert backend.live_ends() == [clock.now() + timedelta(seconds=3600)]  # first run: free
    clock.advance(100.0)
    backend.terminate(first, StopReason.PREEMPT)
    backend.launch(request("b", work=7200.0))
    left = 7200.0 - 200.0
    assert backend.live_ends() == [clock.now() + timedelta(seconds=60.0 + left / 2.0)]


def test_cancel_and_terminate_after_the_end(backend: VirtualBackend, clock: ManualClock) -> None:
    handle = backend.launch(request("r1"))
    clock.advance(10.0)
    backend.terminate(handle, StopReason.CANCEL, grace_period_s=30)
    status = backend.status(handle)
    assert status.state is RunState.CANCELLED and status.ended_at == clock.now()
    clock.advance(10.0)
    backend.terminate(handle, StopReason.PREEMPT)  # no-op: it has ended
    assert backend.status(handle).state is RunState.CANCELLED


def test_max_duration_fails_the_run_at_its_deadline(
    backend: VirtualBackend, clock: ManualClock
) -> None:
    t0 = clock.now()
    handle = backend.launch(request("r1", work=7200.0, max_duration_s=600.0))
    clock.advance(4000.0)
    final = backend.status(handle)
    assert final.state is RunState.FAILED and "max duration" in final.message
    assert final.ended_at == t0 + timedelta(seconds=600) and final.exit_code == -15


def test_log_has_a_line_per_state_change_read_by_offset(
    backend: VirtualBackend, clock: ManualClock
) -> None:
    t0 = clock.now()
    handle = backend.launch(request("r1", work=20.0))
    first = backend.read_log(handle, 0)
    assert first.data.count(b"\n") == 2 and b"pending" in first.data
    assert b"running" in first.data and not first.complete
    idle = backend.read_log(handle, first.next_offset)
    assert idle.data == b"" and not idle.complete
    clock.advance(60.0)
    rest = backend.read_log(handle, first.next_offset)
    assert rest.data.startswith((t0 + timedelta(seconds=10)).isoformat().encode())
    assert b"succeeded exit 0" in rest.data and rest.complete
    small = backend.read_log(handle, 0, max_bytes=5)
    assert small.next_offset == 5 and not small.complete


def test_reattach_from_a_new_object_and_forget(
    tmp_path: Path, backend: VirtualBackend, clock: ManualClock, matrix: ThroughputMatrix
) -> None:
    handle = backend.launch(request("r1", work=7200.0))
    done = backend.launch(request("r2", work=2.0, job="job2"))
    text = str(handle)
    again = VirtualBackend(tmp_path / "virtual", clock.now, matrix)  # a restarted server
    found = RunHandle.parse(text)
    assert set(again.list_runs()) == {found, done}
    clock.advance(10.0)
    assert again.status(found).state is RunState.RUNNING
    assert backend.status(done).state is RunState.SUCCEEDED  # the old object sees it too
    with pytest.raises(InputError, match="has not ended"):
        again.forget(found)
    again.terminate(found, StopReason.CANCEL)
    assert backend.status(found).state is RunState.CANCELLED  # written by the other object
    again.forget(found)
    assert found not in backend.list_runs()
    assert backend.status(found).state is RunState.LOST


def test_requests_it_cannot_honour(backend: VirtualBackend) -> None:
    backend.launch(request("r1"))
    with pytest.raises(InputError, match="already used") as used:
        backend.launch(request("r1"))
    assert used.value.field == "run_id"
    with pytest.raises(InputError, match="SIM_WORK_H100_S") as no_work:
        backend.launch(LaunchRequest("r2", ("true",), H100, 1))
    assert no_work.value.field == "env"
    with pytest.raises(InputError, match="rate 0") as no_rate:
        backend.launch(request("r3", chip="rebellions-atom", count=1))
    assert no_rate.value.field == "chip_type"


def test_job_class_comes_from_sim_job_class(
    backend: VirtualBackend, clock: ManualClock, matrix: ThroughputMatrix
) -> None:
    env = {"SIM_WORK_H100_S": "100", "SIM_JOB_CLASS": "inference"}
    backend.launch(LaunchRequest("r1", ("true",), "rebellions-atom", 2, env=env))
    rate = matrix.rate("inference", "rebellions-atom", 2)
    assert rate > 0
    assert backend.live_ends() == [clock.now() + timedelta(seconds=100 / rate)]


def test_injected_failure_loss_and_pending_start(
    backend: VirtualBackend, clock: ManualClock
) -> None:
    bad = backend.launch(request("bad", job="j1"))
    lost = backend.launch(request("lost", job="j2"))
    late = backend.launch(request("late", work=200.0, job="j3"))
    launched = clock.now()
    backend.pend("late", 300.0)
    assert backend.status(late).state is RunState.PENDING
    assert backend.status(late).started_at is None
    clock.advance(120.0)
    backend.fail("bad", exit_code=3)
    backend.lose("lost")
    failed, gone = backend.status(bad), backend.status(lost)
    assert (failed.state, failed.exit_code, failed.ended_at) == (
        RunState.FAILED, 3, clock.now())
    assert (gone.state, gone.exit_code, gone.ended_at) == (RunState.LOST, None, None)
    with pytest.raises(InputError, match="already ended"):
        backend.fail("bad")
    with pytest.raises(InputError, match="not known"):
        backend.pend("x", 1.0)
    assert backend.status(late).state is RunState.PENDING
    clock.advance(280.0)
    status = backend.status(late)
    assert status.state is RunState.SUCCEEDED
    assert status.started_at == launched + timedelta(seconds=300)
    assert status.ended_at == launched + timedelta(seconds=400)
    again = backend.launch(request("bad-2", work=7200.0, job="j1"))  # resumes j1's work
    assert backend.live_ends() == [clock.now() + timedelta(seconds=(7200.0 - 240.0) / 2)]
    clock.advance(1.0)
    with pytest.raises(InputError, match="running since"):
        backend.pend(again.run_id, 10.0)
