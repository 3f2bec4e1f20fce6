"""Jobs' memory, CPU and process limits with the kernel's real cgroups (run as root).

A memory hog and a fork bomb must end as their own job's failure, with the cgroup's verdict,
while a sibling job runs on; a CPU limit must slow a busy loop; nothing of a limited job may be
left (processes or cgroup) once it has ended. Each runs with and without job isolation."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aicenter.backends import LaunchRequest, RunHandle, RunState, read_whole_log
from aicenter.backends import wait_until_finished as wait
from aicenter.backends.local import LocalBackend
from aicenter.backends.local.cgroups import (
    JOBS_DIR,
    CgroupError,
    JobCgroup,
    JobLimits,
    detect,
    enable_controllers,
)
from aicenter.backends.local.isolation import JobIsolation
from aicenter.backends.local.runner import CGROUP
from aicenter.domain.errors import InputError

from .behaviour import FINISH_S, python, with_note

SLOTS = {"nvidia-h100-sxm": 8}
MIB = 1 << 20
UNIFIED = Path("/sys/fs/cgroup/unified")

needs_cgroups = pytest.mark.skipif(not detect().usable,
                                   reason=f"no usable cgroups here: {detect().reason}")


def _isolation(home: Path, box: str) -> JobIsolation:
    """``weak``: the namespace box of ``test_isolation.py`` (the server's uid, with the
    operator's consent where the isolation module asks for it); ``contained``: the default
    namespace isolation of a root server (each job its own uid, where the module has it)."""
    names = {f.name for f in dataclasses.fields(JobIsolation)}
    if box == "contained":
        if "uid_range" not in names:
            pytest.skip("this isolation module has no contained box")
        return JobIsolation("namespace", (home,))
    extra = {"allow_weak": True, "uid_range": None} if "allow_weak" in names else {}
    return JobIsolation("namespace", (home,), **extra)  # type: ignore[arg-type]


@pytest.fixture(params=["plain", "weak", "contained"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> LocalBackend:
    home = tmp_path / "home"
    home.mkdir()
    isolation = None if request.param == "plain" else _isolation(home, request.param)
    return LocalBackend(home / "runs", SLOTS, isolation)


def _launch(backend: LocalBackend, run_id: str, code: str, limits: JobLimits | None,
            *args: str) -> RunHandle:
    return backend.launch(LaunchRequest(run_id, (*python(code), *args), "nvidia-h100-sxm", 1,
                                        limits=limits))


def _cgroup_dirs(handle: RunHandle) -> list[Path]:
    record = json.loads((Path(handle.locator) / CGROUP).read_text())
    return [Path(d) for d in record["dirs"].values()]


def _running_with(token: str) -> list[int]:
    """Pids of live processes whose command line holds ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


# --- the value type and the detection --------------------------------------------------------


def test_limits_are_positive_integers_and_round_trip() -> None:
    for bad in ({"memory_bytes": 0}, {"cpu_millis": -5}, {"pids": True}, {"pids": "64"},
                {"memory_bytes": 1.5}):
        with pytest.raises(ValueError, match="must be a positive integer"):
            JobLimits(**bad)
    limits = JobLimits(256 * MIB, 1500, 64)
    assert JobLimits.from_dict(json.loads(json.dumps(limits.to_dict()))) == limits
    assert JobLimits.from_dict({}) == JobLimits()
    assert limits.describe() == "memory 256 MiB, 1.5 CPU, 64 processes"
    with pytest.raises(InputError, match="limits must be a JobLimits"):
        LaunchRequest("r-1", ("true",), "x", 0, limits={"pids": 1})  # type: ignore[arg-type]


def test_detect_reports_the_layout_of_this_machine() -> None:
    """v2 where the unified hierarchy has the memory controller, else v1 where a memory
    hierarchy is mounted (this machine: hybrid, so v1)."""
    own = Path("/proc/self/cgroup").read_text()
    unified = Path("/sys/fs/cgroup/cgroup.controllers")
    if unified.exists() and "memory" in unified.read_text().split():
        expected = "v2"
    elif ":memory:" in own and os.geteuid() == 0:
        expected = "v1"
    else:
        pytest.skip(f"neither cgroup v2 with memory nor a v1 memory hierarchy: {own}")
    support = detect()
    assert support.version == expected, support
    assert {"memory", "pids"} <= support.controllers


def test_a_record_names_only_job_cgroups() -> None:
    """``enter`` runs as root in the wrapper: a request must not make it write anywhere else."""
    with pytest.raises(CgroupError, match="not a job cgroup"):
        JobCgroup.from_dict({"version": "v1", "dirs": {"memory": "/sys/fs/cgroup/memory"}})
    with pytest.raises(CgroupError, match="not a job cgroup record"):
        JobCgroup.from_dict({"dirs": {}})
    with pytest.raises(CgroupError, match="cannot name a cgroup"):
        JobCgroup.create("../escape", JobLimits())


# --- limits enforced on real jobs ---------------------------------------------------------

HOG = "x = b'x' * (2 << 30); print('allocated', len(x))"
SIBLING = "import time; print('alive', flush=True); time.sleep(4); print('done')"


@needs_cgroups
def test_memory_hog_fails_while_a_sibling_finishes(backend: LocalBackend, unique: str) -> None:
    sibling = _launch(backend, f"{unique}-sib", SIBLING, JobLimits(256 * MIB, 1000, 64))
    hog = _launch(backend, f"{unique}-hog", HOG, JobLimits(256 * MIB, None, 64))
    ended = wait(backend, hog, FINISH_S)
    log = read_whole_log(backend, hog).decode()
    assert ended.state is RunState.FAILED, (ended, log)
    assert ended.message.startswith("killed: out of memory (limit 256 MiB)"), ended
    assert "aicenter: killed: out of memory (limit 256 MiB)" in log
    assert "allocated" not in log
    assert not backend.status(sibling).is_final  # the other job runs on
    done = wait(backend, sibling, FINISH_S)
    ok = with_note("exit code 0", backend.isolation_note)  # the weak box says so, once
    assert (done.state, done.message) == (RunState.SUCCEEDED, ok), done
    assert read_whole_log(backend, sibling).decode().endswith("alive\ndone\n")
    assert not any(d.exists() for d in _cgroup_dirs(hog) + _cgroup_dirs(sibling))


FORK_BOMB = textwrap.dedent("""
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
""")


@needs_cgroups
def test_fork_bomb_is_killed_within_seconds(backend: LocalBackend, unique: str) -> None:
    token = f"bomb-{uuid.uuid4().hex}"
    sibling = _launch(backend, f"{unique}-sib", SIBLING, None)
    started = time.monotonic()
    bomb = _launch(backend, f"{unique}-bomb", FORK_BOMB, JobLimits(None, None, 64), token)
    ended = wait(backend, bomb, FINISH_S)
    assert time.monotonic() - started < 15, ended
    assert ended.state is RunState.FAILED, ended
    assert ended.message.startswith("hit its process limit (pids.max=64)"), ended
    assert "aicenter: hit its process limit (pids.max=64); killing the job" in \
        read_whole_log(backend, bomb).decode()
    assert _running_with(token) == []
    assert not any(d.exists() for d in _cgroup_dirs(bomb))
    assert wait(backend, sibling, FINISH_S).state is RunState.SUCCEEDED
    assert subprocess.run(["true"], check=False).returncode == 0  # the host still forks


BUSY = textwrap.dedent("""
    import os, time
    end = time.monotonic() + 3
    while time.monotonic() < end:
        pass
    t = os.times()
    print('cpu', t.user + t.system)
""")


@needs_cgroups
def test_cpu_limit_slows_a_busy_loop(backend: LocalBackend, unique: str) -> None:
    """0.2 CPU for 3 s of wall time: about 0.6 s of CPU (rusage of the job itself)."""
    handle = _launch(backend, unique, BUSY, JobLimits(None, 200, None))
    ended = wait(backend, handle, FINISH_S)
    log = read_whole_log(backend, handle).decode()
    assert ended.state is RunState.SUCCEEDED, (ended, log)
    used = float(log.split("cpu ")[-1])
    assert 0.1 < used < 1.0, log  # unlimited it would be close to 3 s
    assert not any(d.exists() for d in _cgroup_dirs(handle))


@needs_cgroups
def test_a_job_without_limits_gets_no_cgroup(backend: LocalBackend, unique: str) -> None:
    handle = _launch(backend, unique, "print('hi')", None)
    ended = wait(backend, handle, FINISH_S)
    ok = with_note("exit code 0", backend.isolation_note)  # the weak box says so, once
    assert (ended.state, ended.message) == (RunState.SUCCEEDED, ok), ended
    assert not (Path(handle.locator) / CGROUP).exists()


# --- where cgroups cannot be used -----------------------------------------------------------

WITHOUT_CGROUPS = textwrap.dedent("""
    import sys
    from pathlib import Path
    from aicenter.backends import LaunchRequest, read_whole_log, wait_until_finished
    from aicenter.backends.local.cgroups import JobLimits
    from aicenter.backends.local import ContainmentUnavailableError, LocalBackend
    from aicenter.backends.local.isolation import JobIsolation
    home, consent = Path(sys.argv[1]), sys.argv[2] == "consent"
    isolation = JobIsolation("namespace", (home,), allow_unlimited=consent)  # the server's
    try:
        backend = LocalBackend(home / "runs", {"nvidia-h100-sxm": 1}, isolation)
    except ContainmentUnavailableError as refused:
        print("refused")
        print(refused)
        sys.exit(0)
    handle = backend.launch(LaunchRequest("nolimits-1", ("/bin/echo", "ran"),
                                          "nvidia-h100-sxm", 1, limits=JobLimits(pids=64)))
    ended = wait_until_finished(backend, handle, 60)
    print(ended.state.value)
    print(ended.message)
    print(read_whole_log(backend, handle).decode(), end="")
""")
NO_CGROUPS = 'mount -t tmpfs none /sys/fs/cgroup && exec "$0" "$@"'
"""A shell line that covers ``/sys/fs/cgroup`` with an empty tmpfs (as in a container without
a cgroup file system) and runs its arguments; for ``unshare --mount``."""


def _without_cgroups(*argv: str, timeout_s: float = 120, **popen: Any
                     ) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root for a mount namespace")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                           NO_CGROUPS, *argv], capture_output=True, text=True,
                          timeout=timeout_s, check=False, **popen)


def test_without_usable_cgroups_the_server_refuses_to_run_jobs(tmp_path: Path) -> None:
    """The server's backend (with isolation) on a host whose cgroups it cannot use: refused,
    saying why and naming the setting that would run jobs anyway."""
    done = _without_cgroups(sys.executable, "-c", WITHOUT_CGROUPS, str(tmp_path), "")
    assert done.returncode == 0, done.stderr
    refused, reason = done.stdout.split("\n", 1)
    assert refused == "refused", done.stdout + done.stderr
    assert reason.startswith("job limits cannot be enforced on this machine: "), reason
    assert "AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS=true" in reason, reason
    assert not (tmp_path / "runs" / "nolimits-1").exists()


def test_without_usable_cgroups_the_job_runs_and_says_so(tmp_path: Path) -> None:
    """With the operator's consent (``unsafe_allow_unlimited_jobs``) the job runs; the start
    warns loudly, and the job's log and message say its limits were not enforced."""
    done = _without_cgroups(sys.executable, "-c", WITHOUT_CGROUPS, str(tmp_path), "consent")
    assert done.returncode == 0, done.stderr
    state, message, first, rest = done.stdout.split("\n", 3)
    assert state == "succeeded", done.stdout + done.stderr
    assert message.startswith("exit code 0; resource limits (64 processes) are NOT enforced")
    assert first.startswith("aicenter: resource limits (64 processes) are NOT enforced: cgroups "
                            "are unusable on this machine")
    assert rest == "ran\n"
    assert "UNSAFE: AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS is set and job limits are NOT " \
        "enforced on this machine" in done.stderr, done.stderr


DOCTOR = textwrap.dedent("""
    import json, sys
    from aicenter.services.doctor.host import check_cgroups, check_unsafe_settings
    from aicenter.settings import Settings
    settings = Settings(home=sys.argv[1], unsafe_allow_unlimited_jobs=sys.argv[2] == "consent")
    print(json.dumps([check_cgroups(settings).to_dict(),
                      check_unsafe_settings(settings).to_dict()]))
""")


@pytest.mark.parametrize("consent", ["", "consent"])
def test_doctor_says_the_server_refuses_or_runs_jobs_without_limits(tmp_path: Path,
                                                                    consent: str) -> None:
    done = _without_cgroups(sys.executable, "-c", DOCTOR, str(tmp_path), consent,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith("AICENTER_UNSAFE")})
    assert done.returncode == 0, done.stderr
    cgroups, unsafe = json.loads(done.stdout)
    assert cgroups["detail"].startswith("no job limits: "), cgroups
    if consent:
        assert cgroups["status"] == "warn" and "jobs run without limits" in cgroups["detail"]
        assert unsafe["status"] == "warn"
        assert unsafe["detail"] == "set: AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS"
    else:
        assert cgroups["status"] == "fail", cgroups
        assert cgroups["detail"].endswith("the server refuses to run jobs"), cgroups
        assert unsafe["status"] == "ok"


def test_aicenter_serve_without_cgroups_refuses_unless_the_operator_consents(tmp_path: Path
                                                                              ) -> None:
    """The real server start: without cgroups it stops before serving, naming the setting;
    with the setting it serves and its start says, loudly, that jobs have no limits."""
    import httpx

    from tests.support.live_server import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("AICENTER_")}
    env["AICENTER_HOME"] = str(tmp_path / "home")
    serve = [sys.executable, "-c", "from aicenter.cli.main import run; run()", "serve"]
    refused = _without_cgroups(*serve, "--port", str(free_port()), env=env)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "job limits cannot be enforced on this machine" in refused.stderr, refused.stderr
    assert "AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS" in refused.stderr
    assert "Traceback" not in refused.stderr and "serving on" not in refused.stdout

    port = free_port()
    env["AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS"] = "true"
    server = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "/bin/sh",
                               "-c", NO_CGROUPS, *serve, "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, answered = time.monotonic() + 60, False
        while not answered and time.monotonic() < deadline and server.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/api/v1/health",
                                     timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert answered, err
    assert "UNSAFE: AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS is set and job limits are NOT " \
        "enforced on this machine" in err, err


# --- cgroup v2 mechanics, on this machine's (controller-less) unified hierarchy ----------------


@pytest.fixture
def v2_base() -> Iterator[Path]:
    if os.geteuid() != 0 or not (UNIFIED / "cgroup.procs").exists():
        pytest.skip("no writable cgroup v2 hierarchy at /sys/fs/cgroup/unified")
    base = UNIFIED / f"aicenter-test-{uuid.uuid4().hex[:8]}"
    base.mkdir()
    yield base
    for directory in sorted(base.rglob("*"), key=lambda p: -len(p.parts)):
        if directory.is_dir():
            for pid in (directory / "cgroup.procs").read_text().split():
                (UNIFIED / "cgroup.procs").write_text(pid)
            directory.rmdir()
    base.rmdir()


def test_v2_job_cgroup_takes_its_process_and_kills_everything(v2_base: Path) -> None:
    from aicenter.backends.local.cgroups import _create_v2

    cgroup = _create_v2(v2_base, "job-1", JobLimits(), frozenset())
    assert cgroup.to_dict()["dirs"] == {"unified": str(v2_base / JOBS_DIR / "job-1")}
    with cgroup.attaching() as join:
        job = subprocess.Popen(["/bin/sh", "-c", "sleep 60 & sleep 60 & wait"], preexec_fn=join)
    time.sleep(0.2)
    where = f"0::/{v2_base.name}/{JOBS_DIR}/job-1"
    assert where in Path(f"/proc/{job.pid}/cgroup").read_text()
    assert len(cgroup.processes()) == 3
    assert cgroup.verdict() is None and cgroup.cpu_usage_us() is not None
    cgroup.kill()  # cgroup.kill
    assert job.wait(timeout=10) == -9 and cgroup.processes() == set()
    cgroup.remove()
    assert not (v2_base / JOBS_DIR / "job-1").exists()


def test_v2_controllers_are_enabled_after_moving_the_servers_processes(v2_base: Path) -> None:
    """The no-internal-process rule: a cgroup holding processes cannot pass controllers on
    to children; its processes move into the ``aicenter-server`` leaf first."""
    root_control = UNIFIED / "cgroup.subtree_control"
    if "hugetlb" not in (UNIFIED / "cgroup.controllers").read_text().split():
        pytest.skip("the unified hierarchy has no controller to enable")
    had = "hugetlb" in root_control.read_text().split()
    root_control.write_text("+hugetlb")
    server = subprocess.Popen(["sleep", "60"])
    try:
        (v2_base / "cgroup.procs").write_text(str(server.pid))
        enable_controllers(v2_base, {"hugetlb"})
        assert "hugetlb" in (v2_base / "cgroup.subtree_control").read_text().split()
        assert (v2_base / "cgroup.procs").read_text() == ""
        assert (v2_base / "aicenter-server" / "cgroup.procs").read_text().split() == \
            [str(server.pid)]
    finally:
        server.kill()
        server.wait()
        (v2_base / "cgroup.subtree_control").write_text("-hugetlb")
        if not had:
            root_control.write_text("-hugetlb")
