"""The local backend with real processes: shared behaviour, slots, restarts, lost runners."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aicenter.backends import (
    Backend,
    LaunchRequest,
    RunHandle,
    RunState,
    StopReason,
    read_whole_log,
    wait_until_finished,
)
from aicenter.backends.local import LocalBackend
from aicenter.backends.local.rundir import RUNNER, read_json
from aicenter.domain.errors import InputError

from .behaviour import FINISH_S, BackendBehaviour, python, wait_for_log

SLOTS = {"nvidia-h100-sxm": 8, "amd-mi300x": 4, "rebellions-atom": 2}


class TestLocalBehaviour(BackendBehaviour):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return LocalBackend(tmp_path / "runs", SLOTS)

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[], Backend]:
        return lambda: LocalBackend(tmp_path / "runs", SLOTS)


@pytest.fixture
def local(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "runs", SLOTS)


def env_of(
    backend: LocalBackend, run_id: str, chip: str, count: int, **kw: object
) -> dict[str, str]:
    """Launch a job that dumps its environment as JSON; return that environment."""
    handle = backend.launch(
        LaunchRequest(
            run_id,
            python("import json, os; print(json.dumps(dict(os.environ)))"),
            chip,
            count,
            **kw,  # type: ignore[arg-type]
        )
    )
    assert wait_until_finished(backend, handle, FINISH_S).state is RunState.SUCCEEDED
    env: dict[str, str] = json.loads(read_whole_log(backend, handle))
    return env


def test_slots_pick_lowest_free_devices_and_set_cuda_visible_devices(local: LocalBackend) -> None:
    holder = local.launch(
        LaunchRequest("holder", python("import time; time.sleep(120)"), "nvidia-h100-sxm", 3)
    )
    env = env_of(local, "second", "nvidia-h100-sxm", 2)
    assert env["AICENTER_DEVICE_IDS"] == "3,4"
    assert env["CUDA_VISIBLE_DEVICES"] == "3,4"
    assert local.busy_devices("nvidia-h100-sxm") == {0, 1, 2}
    local.terminate(holder, StopReason.CANCEL)
    wait_until_finished(local, holder, FINISH_S)
    assert local.busy_devices("nvidia-h100-sxm") == set()


def test_explicit_device_ids_are_checked_against_busy_and_range(local: LocalBackend) -> None:
    holder = local.launch(
        LaunchRequest("holder", python("import time; time.sleep(120)"), "amd-mi300x", 2,
                      device_ids=(1, 2))
    )
    with pytest.raises(InputError, match=r"devices \[2\] are used by another run"):
        local.launch(LaunchRequest("clash", ("true",), "amd-mi300x", 2, device_ids=(2, 3)))
    with pytest.raises(InputError, match=r"out of range for 4 amd-mi300x slots"):
        local.launch(LaunchRequest("far", ("true",), "amd-mi300x", 1, device_ids=(4,)))
    with pytest.raises(InputError, match="3 amd-mi300x requested, 2 free of 4"):
        local.launch(LaunchRequest("many", ("true",), "amd-mi300x", 3))
    with pytest.raises(InputError, match="has no slots on this machine"):
        local.launch(LaunchRequest("tpu", ("true",), "google-tpu-v5p", 1))
    env = env_of(local, "amd", "amd-mi300x", 2, device_ids=(0, 3))
    assert env["HIP_VISIBLE_DEVICES"] == env["ROCR_VISIBLE_DEVICES"] == "0,3"
    local.terminate(holder, StopReason.CANCEL)
    wait_until_finished(local, holder, FINISH_S)


def test_korean_npu_gets_its_runtime_variable(local: LocalBackend) -> None:
    env = env_of(local, "atom", "rebellions-atom", 1, device_ids=(1,))
    assert env["RBLN_DEVICES"] == "1"
    assert env["AICENTER_CHIP_TYPE"] == "rebellions-atom"
    assert "CUDA_VISIBLE_DEVICES" not in env


def test_server_environment_does_not_leak_into_jobs(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICENTER_TOKEN", "secret-operator-token")
    monkeypatch.setenv("AICENTER_DATABASE_URL", "postgresql://user:pw@db/aicenter")
    env = env_of(local, "leak", "nvidia-h100-sxm", 1)
    assert "AICENTER_TOKEN" not in env and "AICENTER_DATABASE_URL" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_missing_program_fails_with_127_and_a_message(local: LocalBackend) -> None:
    handle = local.launch(LaunchRequest("nope", ("/no/such/program",), "nvidia-h100-sxm", 1))
    final = wait_until_finished(local, handle, FINISH_S)
    assert (final.state, final.exit_code) == (RunState.FAILED, 127)
    assert "could not start '/no/such/program'" in final.message
    assert b"could not start" in read_whole_log(local, handle)


def test_terminate_before_start_and_after_end(local: LocalBackend) -> None:
    handle = local.launch(LaunchRequest("quick", ("true",), "nvidia-h100-sxm", 1))
    final = wait_until_finished(local, handle, FINISH_S)
    local.terminate(handle, StopReason.CANCEL)  # ended: a no-op
    assert local.status(handle) == final


def test_log_dir_of_the_request_holds_the_run_and_is_still_listed(
    local: LocalBackend, tmp_path: Path
) -> None:
    logs = tmp_path / "elsewhere"
    handle = local.launch(
        LaunchRequest("logged", ("echo", "hello"), "nvidia-h100-sxm", 1, log_dir=logs)
    )
    wait_until_finished(local, handle, FINISH_S)
    assert (logs / "logged" / "output.log").read_bytes() == b"hello\n"
    assert [h.run_id for h in LocalBackend(local.root, SLOTS).list_runs()] == ["logged"]
    local.forget(handle)
    assert not (logs / "logged").exists() and local.list_runs() == []


def test_killed_runner_makes_the_run_lost_and_terminate_kills_the_orphan(
    local: LocalBackend,
) -> None:
    handle = local.launch(
        LaunchRequest("orphan", python("print('up', flush=True); import time; time.sleep(120)"),
                      "nvidia-h100-sxm", 1)
    )
    wait_for_log(local, handle, b"up")
    started = read_json(Path(handle.locator) / RUNNER)
    assert started is not None
    os.kill(started["runner_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while local.status(handle).state is not RunState.LOST:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(started["child_pid"], 0)  # the command itself still runs
    local.terminate(handle, StopReason.CANCEL)
    deadline = time.monotonic() + 10
    while _alive(started["child_pid"]):
        assert time.monotonic() < deadline, "orphaned command survived terminate"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


SERVER = """
import sys
from pathlib import Path
from aicenter.backends import LaunchRequest
from aicenter.backends.local import LocalBackend
backend = LocalBackend(Path(sys.argv[1]), {"nvidia-h100-sxm": 8})
code = ("import sys, time\\nfor i in range(30):\\n    print(i, flush=True); time.sleep(0.1)\\n"
        "sys.exit(3)")
handle = backend.launch(LaunchRequest("survivor", (sys.executable, "-u", "-c", code),
                                      "nvidia-h100-sxm", 4, max_duration_s=60))
print(handle, flush=True)
import time
time.sleep(600)
"""


def test_runs_survive_kill_9_of_the_server_and_reattach(tmp_path: Path) -> None:
    """A real server process launches a run and is killed with SIGKILL; the run goes on, and a
    new backend (the restarted server) reads its status, its whole log and its exit code."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert server.stdout is not None
    text = server.stdout.readline().decode().strip()
    server.kill()
    server.wait()
    handle = RunHandle.parse(text)
    restarted = LocalBackend(tmp_path / "runs", {"nvidia-h100-sxm": 8})
    assert restarted.list_runs() == [handle]
    assert restarted.status(handle).state in (RunState.PENDING, RunState.RUNNING)
    assert restarted.busy_devices("nvidia-h100-sxm") == {0, 1, 2, 3}
    final = wait_until_finished(restarted, handle, FINISH_S)
    assert (final.state, final.exit_code) == (RunState.FAILED, 3)
    assert read_whole_log(restarted, handle) == b"".join(f"{i}\n".encode() for i in range(30))
    assert restarted.busy_devices("nvidia-h100-sxm") == set()


def test_handles_of_another_backend_are_refused(local: LocalBackend) -> None:
    with pytest.raises(InputError, match="is not a local run"):
        local.status(RunHandle("ray", "x", "http://127.0.0.1:8265"))


def test_sigterm_to_the_runner_itself_preempts_the_run(local: LocalBackend) -> None:
    """A machine shutting down sends SIGTERM to every process: the run is requeued, not lost."""
    handle = local.launch(
        LaunchRequest("shutdown", python("print('up', flush=True); import time; time.sleep(120)"),
                      "nvidia-h100-sxm", 1)
    )
    wait_for_log(local, handle, b"up")
    started = read_json(Path(handle.locator) / RUNNER)
    assert started is not None
    os.kill(started["runner_pid"], signal.SIGTERM)
    final = wait_until_finished(local, handle, FINISH_S)
    assert (final.state, final.exit_code) == (RunState.PREEMPTED, -signal.SIGTERM)


def test_a_launch_that_died_half_way_does_not_block_the_run_id(local: LocalBackend) -> None:
    (local.root / "half").mkdir()  # the server died right after mkdir
    handle = local.launch(LaunchRequest("half", ("echo", "ok"), "nvidia-h100-sxm", 1))
    assert wait_until_finished(local, handle, FINISH_S).state is RunState.SUCCEEDED


def test_a_request_whose_runner_never_started_becomes_lost(local: LocalBackend) -> None:
    run_dir = local.root / "never"
    run_dir.mkdir()
    (run_dir / "request.json").write_text(json.dumps({"chip_type": "nvidia-h100-sxm",
                                                      "device_ids": [0]}))
    handle = RunHandle("local", "never", str(run_dir))
    assert handle in local.list_runs()
    assert local.status(handle).state is RunState.PENDING  # a runner may still report in
    old = time.time() - 60
    os.utime(run_dir / "request.json", (old, old))
    lost = local.status(handle)
    assert lost.state is RunState.LOST and "never started" in lost.message
    assert local.busy_devices("nvidia-h100-sxm") == set()


def test_run_directories_are_private_to_the_server_user(local: LocalBackend) -> None:
    """request.json holds the job's environment (which may carry the tenant's secrets)."""
    handle = local.launch(LaunchRequest("private", ("true",), "nvidia-h100-sxm", 1,
                                        env={"HF_TOKEN": "tenant-secret"}))
    wait_until_finished(local, handle, FINISH_S)
    assert Path(handle.locator).stat().st_mode & 0o777 == 0o700


def test_a_missing_working_directory_is_refused_at_launch(
    local: LocalBackend, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=r"working directory .*/nowhere does not exist"):
        local.launch(LaunchRequest("lost-dir", ("true",), "nvidia-h100-sxm", 1,
                                   working_dir=tmp_path / "nowhere"))
    assert local.list_runs() == []
