"""The runner: ``python -m aicenter.backends.local_runner RUN_DIR``.

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
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from aicenter.backends.rundir import (
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
    if stop_reason == TIMEOUT_REASON:
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

    with open(run_dir / LOG, "ab", buffering=0) as log:
        try:
            child = subprocess.Popen(
                request["command"],
                cwd=request.get("working_dir"),
                env=request["env"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            message = f"could not start {request['command'][0]!r}: {error}"
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
            now = time.monotonic()
            if stop_reason is None:
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
    state = _final_state(stop_reason, exit_code)
    if not message:
        message = f"exit code {exit_code}"
    _write_exit(run_dir, state, exit_code, message, started_at)
    return 0


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: python -m aicenter.backends.local_runner RUN_DIR", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
