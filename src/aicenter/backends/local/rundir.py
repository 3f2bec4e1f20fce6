"""The local backend's run directory: file names and the few helpers both sides use.

A run directory is written by two processes that may never meet: the server (``request.json``,
``launch.json``, ``stop.json``) and the runner (``runner.json``, ``output.log``,
``exit.json``). Every JSON file is written atomically (temporary file + ``rename``), so a
reader sees the old content or the new, never half of it, even if the writer is killed.
This module imports only the standard library: the runner starts fast.

Process identity: a pid alone can be reused after a process ends, so liveness checks compare
the kernel's start time of the pid (field 22 of ``/proc/<pid>/stat``, clock ticks since boot)
with the one recorded when the process was started.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REQUEST = "request.json"
"""Written by the server before the runner starts: argv, cwd, env, limits, chips."""
LAUNCH = "launch.json"
"""Written by the server right after starting the runner: ``runner_pid``, ``runner_ticks``."""
RUNNER = "runner.json"
"""Written by the runner once the command started: pids, ``started_at`` (epoch seconds)."""
STOP = "stop.json"
"""Written by the server to ask for termination: ``reason``, ``grace_period_s``."""
EXIT = "exit.json"
"""Written by the runner when the command has ended: ``state``, ``exit_code``, ``ended_at``."""
LOG = "output.log"
"""The command's stdout and stderr, interleaved, in the order written."""
CGROUP = "cgroup.json"
"""Written by the runner before the command starts: the run's cgroup (killed and removed by
whoever cleans up after a runner that died)."""
RUNNER_ERR = "runner.err"
"""The runner's own stderr (only non-empty if the runner itself failed)."""


def write_json_atomic(path: Path, data: dict[str, Any], durable: bool = False) -> None:
    """Write ``data`` to ``path`` so that readers never see a partial file.

    ``durable`` also forces the bytes to disk (``fsync``) before the rename, so the file
    survives a power loss; the runner uses it for ``exit.json``. The server's files need not:
    a power loss ends their runs anyway, and ``fsync`` costs milliseconds per launch."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` if there is no such file."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def process_start_ticks(pid: int) -> int | None:
    """Start time of a live (non-zombie) process in clock ticks since boot, else ``None``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    fields = text[text.rfind(")") + 2 :].split()
    state, start_ticks = fields[0], fields[19]
    if state in ("Z", "X"):
        return None
    return int(start_ticks)


def is_same_process_alive(pid: int | None, start_ticks: int | None) -> bool:
    """True if ``pid`` is alive and is the process started at ``start_ticks``."""
    if pid is None:
        return False
    ticks = process_start_ticks(pid)
    return ticks is not None and (start_ticks is None or ticks == start_ticks)
