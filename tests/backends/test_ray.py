"""The ray backend against a real local Ray cluster (one per module): shared behaviour, chip
resources, and re-attachment from a new process after the submitting process was killed."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aicenter.backends import (
    Backend,
    BackendUnavailableError,
    LaunchRequest,
    RunHandle,
    RunState,
    StopReason,
    default_registry,
    read_whole_log,
    wait_until_finished,
)
from aicenter.backends.ray.backend import (
    NETWORK_NOTE,
    RayBackend,
    build_entrypoint,
    local_ray_head,
)
from aicenter.backends.ray.config import RayConfig

from .behaviour import FINISH_S, BackendBehaviour, python, wait_for_log

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'ray[default]'")

CLUSTER_CHIPS = {"nvidia-h100-sxm": 8, "rebellions-atom": 4}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Ray head on loopback: 1 CPU, a small object store, one resource per chip type."""
    with local_ray_head(CLUSTER_CHIPS, temp_dir=tmp_path_factory.mktemp("ray")) as address:
        yield address


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def _backend(address: str, state_dir: Path) -> Backend:
    return default_registry().create("ray", RayConfig(address, state_dir))


class TestRayBehaviour(BackendBehaviour):
    @pytest.fixture
    def backend(self, ray_address: str, state_dir: Path) -> Backend:
        return _backend(ray_address, state_dir)

    @pytest.fixture
    def reopen(self, ray_address: str, state_dir: Path) -> Callable[[], Backend]:
        return lambda: _backend(ray_address, state_dir)


def test_a_run_waits_for_its_chips(ray_address: str, state_dir: Path, unique: str) -> None:
    """Ray reserves accel:<chip> for each run: a run wanting all 4 NPUs waits while 2 are held."""
    backend = _backend(ray_address, state_dir)
    holder = backend.launch(
        LaunchRequest(f"{unique}-a", python("print('holding', flush=True); import time; "
                                            "time.sleep(120)"), "rebellions-atom", 2)
    )
    wait_for_log(backend, holder, b"holding")
    waiter = backend.launch(
        LaunchRequest(f"{unique}-b", ("echo", "got all four"), "rebellions-atom", 4)
    )
    time.sleep(3)
    assert backend.status(waiter).state is RunState.PENDING
    backend.terminate(holder, StopReason.PREEMPT)
    assert wait_until_finished(backend, holder, FINISH_S).state is RunState.PREEMPTED
    assert wait_until_finished(backend, waiter, FINISH_S).state is RunState.SUCCEEDED
    assert read_whole_log(backend, waiter) == b"got all four\n"


def test_device_ids_given_by_the_caller_reach_the_job(
    ray_address: str, state_dir: Path, unique: str
) -> None:
    backend = _backend(ray_address, state_dir)
    handle = backend.launch(
        LaunchRequest(unique, ("/bin/sh", "-c", "echo $CUDA_VISIBLE_DEVICES $AICENTER_DEVICE_IDS"),
                      "nvidia-h100-sxm", 2, device_ids=(4, 6))
    )
    assert wait_until_finished(backend, handle, FINISH_S).state is RunState.SUCCEEDED
    assert read_whole_log(backend, handle) == b"4,6 4,6\n"


DRIVER = """
import sys, time
from pathlib import Path
from aicenter.backends import LaunchRequest
from aicenter.backends.ray.backend import RayBackend
backend = RayBackend(sys.argv[1], Path(sys.argv[2]))
code = "import time\\nfor i in range(20):\\n    print(i, flush=True); time.sleep(0.2)"
handle = backend.launch(LaunchRequest(sys.argv[3], (sys.executable, "-u", "-c", code),
                                      "nvidia-h100-sxm", 8))
print(handle, flush=True)
time.sleep(600)
"""


def test_runs_survive_kill_9_of_the_submitting_process(
    ray_address: str, state_dir: Path, unique: str
) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", DRIVER, ray_address, str(state_dir), unique],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert server.stdout is not None
    text = server.stdout.readline().decode().strip()
    server.kill()
    server.wait()
    handle = RunHandle.parse(text)
    restarted = _backend(ray_address, state_dir)
    assert handle in restarted.list_runs()
    final = wait_until_finished(restarted, handle, FINISH_S)
    assert (final.state, final.exit_code) == (RunState.SUCCEEDED, 0)
    assert read_whole_log(restarted, handle) == b"".join(f"{i}\n".encode() for i in range(20))


def test_entrypoint_wraps_max_duration_and_working_dir() -> None:
    request = LaunchRequest(
        "r", ("python", "train.py", "--name", "a b"), "nvidia-h100-sxm", 8,
        working_dir=Path("/data/my project"), max_duration_s=3600, grace_period_s=2.5,
    )
    assert build_entrypoint(request) == (
        'echo "aicenter-run-started $(date +%s.%N)"; '
        "cd '/data/my project' && exec timeout --kill-after=3s 3600.000s "
        "python train.py --name 'a b'"
    )


def test_an_unreachable_cluster_is_reported_as_unavailable_not_lost(tmp_path: Path) -> None:
    backend = RayBackend(f"http://127.0.0.1:{_free_port()}", tmp_path)
    handle = RunHandle("ray", "some-run", backend.address)
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        backend.status(handle)
    with pytest.raises(BackendUnavailableError):
        backend.list_runs()


def test_a_zero_grace_period_still_kills_at_the_max_duration() -> None:
    request = LaunchRequest("r", ("sleep", "9"), "nvidia-h100-sxm", 1, max_duration_s=5,
                            grace_period_s=0)
    assert "timeout --kill-after=1s 5.000s sleep 9" in build_entrypoint(request)


def test_a_run_that_should_have_no_network_says_it_had_the_network(
        ray_address: str, state_dir: Path, unique: str) -> None:
    """Ray cannot cut a job's network: a ``no_network`` run says so in its log (first line)
    and its final message; a plain run says nothing of it."""
    backend = _backend(ray_address, state_dir)
    cut = backend.launch(LaunchRequest(unique, python("print('ran', flush=True)"),
                                       "nvidia-h100-sxm", 0, no_network=True))
    plain = backend.launch(LaunchRequest(f"{unique}-p", python("print('ran', flush=True)"),
                                         "nvidia-h100-sxm", 0))
    final = wait_until_finished(backend, cut, FINISH_S)
    assert final.state is RunState.SUCCEEDED
    assert final.message == f"exit code 0; {NETWORK_NOTE}"
    assert read_whole_log(backend, cut).decode() == f"aicenter: {NETWORK_NOTE}\nran\n"
    final = wait_until_finished(backend, plain, FINISH_S)
    assert final.message == "exit code 0"
    assert read_whole_log(backend, plain) == b"ran\n"
