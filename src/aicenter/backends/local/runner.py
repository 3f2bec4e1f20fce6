"""The runner: ``python -m aicenter.backends.local.runner RUN_DIR``.

One runner per run. The local backend starts it in a session of its own, so it outlives the
server (``kill -9`` of the server leaves it running). It reads ``request.json``, starts the
command (again in a session and process group of its own, stdout+stderr to ``output.log``),
records the pids and start time in ``runner.json``, then watches, every ``POLL_S`` seconds:

* the command ending -> ``exit.json`` with its exit code;
* ``stop.json`` appearing (``terminate``), or SIGTERM/SIGINT to the runner itself (taken as a
  preemption: the machine is going down, the job should be requeued) -> SIGTERM to the
  command's process group, SIGKILL ``grace_period_s`` later if it is still there;
* the max duration passing -> the same stop, final state ``failed``.

When the command ends, whatever it left in its process group is killed, and ``exit.json`` is
written last, atomically: a run with ``exit.json`` has ended and nothing of it runs any more.

Isolation: when the request carries ``isolation``, the runner starts the wrapper of
:mod:`aicenter.backends.local.isolation` (with an empty environment) in place of the command; the
wrapper runs the command in namespaces where the center's files are covered. A request with
an ``isolation_note`` (isolation off or unavailable; or a job that should have had no network
and has it) gets the note as the first line of the log and at the end of the exit message: a
run never looks isolated when it was not.

Sidecar: when the request carries ``sidecar`` (the center's data gateway), the runner starts it
first, in a session of its own, outside the isolation, with ``sidecar.log`` as its stderr, and
waits up to ``SIDECAR_READY_S`` for it to print ``ready``; the command starts only then. When
the command has ended the sidecar gets SIGTERM, then SIGKILL ``SIDECAR_GRACE_S`` later; if the
runner itself dies, the sidecar sees that its parent is no longer ``AICENTER_SIDECAR_PARENT``.
A sidecar that dies while the command runs is started again (``SIDECAR_RESTARTS`` times at
most), and the job's log says so.

Limits: when the request carries ``limits`` (:class:`~aicenter.backends.local.cgroups.JobLimits`
form), the runner creates the job's cgroup (:mod:`aicenter.backends.local.cgroups`), records it in
``cgroup.json`` (so a restarted server can kill and remove it) and starts the command, or the
wrapper, with a ``preexec_fn`` that moves the new process into it before it execs: the job's
first instruction runs inside, the runner and the sidecar stay outside. The runner is
single-threaded, which is what makes ``preexec_fn`` safe. While the command runs, an
out-of-memory kill or a refused fork (the process limit; a fork bomb) ends the run at once:
everything in the cgroup gets SIGKILL and the run is FAILED with the cgroup's verdict in its
log and exit message. When the command has ended, whatever is left in the cgroup is killed
and the cgroup removed. Where cgroups are unusable (the server's backend runs jobs there only
with the operator's consent, ``AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS``), or cannot enforce one
of the limits, the job still runs, and the first lines of its log and its exit message say
so.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from aicenter.backends.base import JobLimits
from aicenter.backends.local.cgroups import CgroupError, JobCgroup, detect
from aicenter.backends.local.rundir import (
    CGROUP,
    EXIT,
    LOG,
    REQUEST,
    RUNNER,
    STOP,
    process_start_ticks,
    read_json,
    write_json_atomic,
)

POLL_S = 0.1
"""How often the runner looks for the command's end, a stop request and the deadline."""

TIMEOUT_REASON = "timeout"
LIMIT_REASON = "limit"
"""The job's cgroup (:meth:`JobCgroup.to_dict`), written before the command starts."""
SIDECAR_READY_S = 30.0
SIDECAR_GRACE_S = 5.0
SIDECAR_LOG = "sidecar.log"
SIDECAR_RESTARTS = 3  # a sidecar that dies mid-run is started again at most this many times
SIDECAR_PARENT_ENV = "AICENTER_SIDECAR_PARENT"
"""The runner's pid, in the sidecar's environment: a sidecar whose parent is no longer this
pid has lost its runner (and its job) and should exit."""


class _Signals:
    """Remembers that the runner itself was asked to stop."""

    def __init__(self) -> None:
        self.received: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _final_state(stop_reason: str | None, exit_code: int) -> str:
    if stop_reason == "cancel":
        return "cancelled"
    if stop_reason == "preempt":
        return "preempted"
    if stop_reason in (TIMEOUT_REASON, LIMIT_REASON):
        return "failed"
    return "succeeded" if exit_code == 0 else "failed"


def _write_exit(
    run_dir: Path, state: str, exit_code: int | None, message: str, started_at: float | None
) -> None:
    write_json_atomic(
        run_dir / EXIT,
        {
            "state": state,
            "exit_code": exit_code,
            "started_at": started_at,
            "ended_at": time.time(),
            "message": message,
        },
        durable=True,
    )


def _start_sidecar(run_dir: Path, request: dict[str, Any]) -> subprocess.Popen[bytes]:
    """Start the request's sidecar and wait for its ``ready`` line; raises ``RuntimeError``
    with the sidecar's own words if it does not get ready."""
    with open(run_dir / SIDECAR_LOG, "ab") as err:
        sidecar = subprocess.Popen(
            request["sidecar"], cwd=run_dir,
            env={**request.get("sidecar_env", {}), SIDECAR_PARENT_ENV: str(os.getpid())},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
            start_new_session=True, close_fds=True)
    assert sidecar.stdout is not None
    ready, _, _ = select.select([sidecar.stdout], [], [], SIDECAR_READY_S)
    line = sidecar.stdout.readline() if ready else b""
    sidecar.stdout.close()
    if line.strip() == b"ready":
        return sidecar
    _stop_sidecar(sidecar)
    said = (run_dir / SIDECAR_LOG).read_bytes()[-400:].decode(errors="replace").strip()
    raise RuntimeError(said or f"no 'ready' within {SIDECAR_READY_S} s")


def _restart_sidecar(run_dir: Path, request: dict[str, Any], dead: subprocess.Popen[bytes],
                     restarts: int, log: Any) -> tuple[subprocess.Popen[bytes] | None, int]:
    """A sidecar that died while the job runs is started again, up to ``SIDECAR_RESTARTS``
    times a run (the gateway's meter log is fsynced before each batch, so a crash loses no
    metering); every restart and the giving up are written to the job's log."""
    if restarts >= SIDECAR_RESTARTS:
        log.write(f"\naicenter: the data gateway exited (code {dead.returncode}) after "
                  f"{SIDECAR_RESTARTS} restarts; not restarted again, reads will fail\n".encode())
        return None, restarts
    restarts += 1
    log.write(f"\naicenter: the data gateway exited (code {dead.returncode}); restarting it "
              f"({restarts} of {SIDECAR_RESTARTS})\n".encode())
    try:
        return _start_sidecar(run_dir, request), restarts
    except (OSError, RuntimeError) as error:
        log.write(f"aicenter: the data gateway did not restart: {error}\n".encode())
        return None, restarts


def _stop_sidecar(sidecar: subprocess.Popen[bytes] | None) -> None:
    if sidecar is None:
        return
    _killpg(sidecar.pid, signal.SIGTERM)
    try:
        sidecar.wait(timeout=SIDECAR_GRACE_S)
    except subprocess.TimeoutExpired:
        _killpg(sidecar.pid, signal.SIGKILL)
        sidecar.wait()


def _command(run_dir: Path, request: dict[str, Any]) -> tuple[list[str], dict[str, str], Any]:
    """argv, environment and cwd of the process the runner starts (see the module docstring)."""
    if request.get("isolation"):
        from aicenter.backends.local.isolation import wrapper_command

        return wrapper_command(run_dir), {}, run_dir
    return list(request["command"]), request["env"], request.get("working_dir")


def _job_cgroup(run_dir: Path, request: dict[str, Any]
                ) -> tuple[JobCgroup | None, str | None]:
    """The run's cgroup, recorded in ``cgroup.json``, and a note on limits not enforced."""
    if request.get("limits") is None:
        return None, None
    limits = JobLimits.from_dict(request["limits"])
    support = detect()
    try:
        cgroup = JobCgroup.create(str(request["run_id"]), limits,
                                  request.get("cgroup_parent"), support)
    except CgroupError as error:
        return None, (f"resource limits ({limits.describe()}) are NOT enforced: cgroups are "
                      f"unusable on this machine ({error})")
    write_json_atomic(run_dir / CGROUP, cgroup.to_dict(), durable=True)
    if cgroup.unenforced:
        return cgroup, (f"the {' and '.join(cgroup.unenforced)} limit is NOT enforced: "
                        f"{support.reason or 'its controller is missing'}")
    return cgroup, None


def _end_cgroup(cgroup: JobCgroup | None, log: Any) -> None:
    """Kill what the job left in its cgroup, then remove the cgroup; failures are logged
    (the run's result stands) and ``cgroup.json`` lets a later cleanup try again."""
    if cgroup is None:
        return
    try:
        cgroup.kill()
        cgroup.remove()
    except CgroupError as error:
        log.write(f"aicenter: could not clean up the job's cgroup: {error}\n".encode())
        print(f"runner: {error}", file=sys.stderr)


def _start(argv: list[str], env: dict[str, str], cwd: Any, log: Any,
           cgroup: JobCgroup | None) -> subprocess.Popen[bytes]:
    """Start the command (or wrapper) in a session of its own, inside ``cgroup`` if given."""
    with contextlib.ExitStack() as stack:
        join = None if cgroup is None else stack.enter_context(cgroup.attaching())
        return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True, preexec_fn=join)


def run(run_dir: Path) -> int:
    """Run the request in ``run_dir`` to its end; returns the runner's own exit code."""
    signals = _Signals()
    signal.signal(signal.SIGTERM, signals.handle)
    signal.signal(signal.SIGINT, signals.handle)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    request: dict[str, Any] | None = read_json(run_dir / REQUEST)
    if request is None:
        print(f"runner: no {REQUEST} in {run_dir}", file=sys.stderr)
        return 2
    grace_s = float(request["grace_period_s"])
    max_duration_s = request.get("max_duration_s")

    early_stop = read_json(run_dir / STOP)
    if early_stop is not None:
        state = _final_state(early_stop["reason"], 0)
        _write_exit(run_dir, state, None, "stopped before start", None)
        return 0

    cgroup, limits_note = _job_cgroup(run_dir, request)
    note = "; ".join(n for n in (request.get("isolation_note"), limits_note) if n)
    sidecar: subprocess.Popen[bytes] | None = None
    with open(run_dir / LOG, "ab", buffering=0) as log:
        for said in (request.get("isolation_note"), limits_note):
            if said:
                log.write(f"aicenter: {said}\n".encode())
        if request.get("sidecar"):
            try:
                sidecar = _start_sidecar(run_dir, request)
            except (OSError, RuntimeError) as error:
                message = f"the data gateway did not start: {error}"
                log.write(f"aicenter: {message}\n".encode())
                _end_cgroup(cgroup, log)
                _write_exit(run_dir, "failed", None, message, None)
                return 0
        argv, env, cwd = _command(run_dir, request)
        try:
            child = _start(argv, env, cwd, log, cgroup)
        except (OSError, subprocess.SubprocessError) as error:
            _stop_sidecar(sidecar)
            _end_cgroup(cgroup, log)
            message = (f"could not start {request['command'][0]!r}: {error}"
                       if isinstance(error, OSError) else
                       f"could not put the job into its cgroup: {error}")
            log.write(f"aicenter: {message}\n".encode())
            _write_exit(run_dir, "failed", 127, message, None)
            return 0
        started_at = time.time()
        started_mono = time.monotonic()
        write_json_atomic(
            run_dir / RUNNER,
            {
                "runner_pid": os.getpid(),
                "runner_ticks": process_start_ticks(os.getpid()),
                "child_pid": child.pid,
                "child_pgid": child.pid,
                "child_ticks": process_start_ticks(child.pid),
                "started_at": started_at,
            },
        )
        restarts = 0
        deadline = None if max_duration_s is None else started_mono + float(max_duration_s)
        stop_reason: str | None = None
        kill_at: float | None = None
        message = ""
        while True:
            try:
                exit_code = child.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if sidecar is not None and stop_reason is None and sidecar.poll() is not None:
                sidecar, restarts = _restart_sidecar(run_dir, request, sidecar, restarts, log)
            now = time.monotonic()
            verdict = None if cgroup is None or stop_reason else cgroup.verdict()
            if verdict is not None:  # a memory hog or a fork bomb: the whole job goes now
                stop_reason, message = LIMIT_REASON, verdict
                log.write(f"\naicenter: {verdict}; killing the job\n".encode())
                _kill_cgroup(cgroup, child.pid)
            elif stop_reason is None:
                stop = read_json(run_dir / STOP)
                if stop is not None:
                    stop_reason = str(stop["reason"])
                    grace = stop.get("grace_period_s")
                    grace_s = grace_s if grace is None else float(grace)
                    message = f"{stop_reason} requested"
                elif signals.received is not None:  # e.g. the machine shuts down: requeue
                    stop_reason = "preempt"
                    message = f"runner received signal {signals.received}"
                elif deadline is not None and now >= deadline:
                    stop_reason = TIMEOUT_REASON
                    message = f"max duration of {max_duration_s} s exceeded"
                    log.write(f"\naicenter: {message}; stopping\n".encode())
                if stop_reason is not None:
                    _killpg(child.pid, signal.SIGTERM)
                    kill_at = now + grace_s
            elif kill_at is not None and now >= kill_at:
                note = f"\naicenter: still running {grace_s} s after SIGTERM; SIGKILL\n"
                log.write(note.encode())
                _killpg(child.pid, signal.SIGKILL)
                kill_at = None
        _killpg(child.pid, signal.SIGKILL)  # whatever the command left in its group
        stop_reason, message = _last_verdict(cgroup, stop_reason, message, exit_code, log)
        _end_cgroup(cgroup, log)
        _stop_sidecar(sidecar)
    state = _final_state(stop_reason, exit_code)
    if not message:
        message = f"exit code {exit_code}"
    if note:
        message = f"{message}; {note}"
    _write_exit(run_dir, state, exit_code, message, started_at)
    return 0


def _kill_cgroup(cgroup: JobCgroup | None, pgid: int) -> None:
    """SIGKILL the whole job: its cgroup, or at least its process group."""
    _killpg(pgid, signal.SIGKILL)
    if cgroup is not None:
        with contextlib.suppress(CgroupError):
            cgroup.kill()


def _last_verdict(cgroup: JobCgroup | None, stop_reason: str | None, message: str,
                  exit_code: int, log: Any) -> tuple[str | None, str]:
    """A limit hit noticed only once the command had ended (the kernel's OOM kill of the
    command itself, say) still fails the run, unless it was cancelled or preempted."""
    if cgroup is None or stop_reason in (LIMIT_REASON, "cancel", "preempt"):
        return stop_reason, message
    verdict = cgroup.verdict()
    if verdict is None:
        return stop_reason, message
    log.write(f"\naicenter: {verdict}\n".encode())
    return LIMIT_REASON, f"{verdict} (exit code {exit_code})"


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: python -m aicenter.backends.local.runner RUN_DIR", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
