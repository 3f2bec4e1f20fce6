"""The ``ray`` backend: each run is a Ray Job on a Ray cluster.

Why Ray Jobs: a job submitted to the cluster's job server (the dashboard, ``http://host:8265``)
belongs to the cluster, not to the process that submitted it. The run id is the Ray
*submission id*, so any later process (a server restarted after ``kill -9``) re-attaches with
nothing but the handle ``ray:<run_id>@<dashboard address>``; status, exit code, start and end
times and the log are kept by the cluster.

Accelerators: the cluster declares one custom resource per chip type, ``accel:<chip type>``
(for example ``ray start --resources='{"accel:nvidia-h100-sxm": 8}'``), and a run reserves
``{"accel:<chip type>": chip_count}`` (and no CPU) for its entrypoint. A run whose chips are
busy stays PENDING in Ray until they free up; a chip type no node declares stays PENDING until
Ray's job start timeout fails it. Ray custom resources have no device indices, so the job's
environment names the chip type and count (``AICENTER_*``); indices and the vendor's
visible-devices variable are set only when the request carries ``device_ids``.

The entrypoint is a small ``/bin/sh`` line::

    echo "aicenter-run-started <epoch seconds>"; cd <working dir> &&
        exec timeout --kill-after=<grace>s <max>s <command...>      (or: exec <command...>)

The marker gives the moment the command really started (Ray's own ``start_time`` is the
submission time); the log this backend returns is what follows the marker, byte for byte, so
offsets are stable. ``timeout`` (GNU coreutils, on every Linux node) enforces the max duration:
exit code 124 when it stopped the command with SIGTERM, 137 when it had to SIGKILL it.

Termination: ``stop_job`` makes Ray send SIGTERM to the command and its children and SIGKILL
after ``RAY_JOB_STOP_WAIT_TIME_S`` seconds, which this backend sets per run (in the run's
runtime environment, read by the job's supervisor) to the request's grace period, rounded up to
whole seconds. A grace period passed to ``terminate`` cannot change it: Ray reads it at submission.
Ray records a stopped job as STOPPED with no exit code and does not say why; this backend keeps
the reason (cancel or preempt) in ``state_dir/<run_id>.stop`` so a restarted server with the same
state directory reports CANCELLED or PREEMPTED (without the note: CANCELLED).

Authentication: Ray 2.60 clusters use token authentication by default. The job client finds
the token by Ray's own rules (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``, else
``~/.ray/auth_token``, which a local head writes when it starts); give the server the cluster's
token one of those ways.

Throughput: Ray starts a supervisor process per job, so a job takes about a second or two to
go from submitted to running, and a small head starts workers one per CPU at a time
(``benchmarks/bench_backends.py --ray-runs``). That is fine for training runs of minutes to
weeks, not for thousands of tiny jobs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import shlex
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from aicenter.backends.base import (
    BackendUnavailableError,
    Capabilities,
    LaunchRequest,
    LogChunk,
    RunHandle,
    RunState,
    RunStatus,
    StopReason,
    check_run_id,
    utc_from_epoch,
)
from aicenter.backends.devices import accelerator_env
from aicenter.backends.ray.config import CAPABILITIES, NAME
from aicenter.domain.errors import InputError
from aicenter.extras import require

FEATURE = "the ray backend"  # what a missing 'ray' extra is reported for
RESOURCE_PREFIX = "accel:"
START_MARKER = b"aicenter-run-started "
_MARKER_LINE = re.compile(rb"aicenter-run-started ([0-9.]+)\n")
METADATA_KEY = "aicenter_run"
NETWORK_NOTE = ("the ray backend cannot cut a job's network: this job reads licensed data "
                "and should have had no network, but it ran WITH the network of its Ray node")
"""Said in the log and the exit message of a ``no_network`` run (never silently)."""
TIMEOUT_EXIT_CODES = (124, 137)
"""``timeout``'s exit codes when it ended the command: after SIGTERM, after SIGKILL."""


def chip_resource(chip_type: str) -> str:
    """The Ray custom resource that stands for one chip of ``chip_type``."""
    return f"{RESOURCE_PREFIX}{chip_type}"


def build_entrypoint(request: LaunchRequest) -> str:
    """The shell line Ray runs for ``request`` (see the module docstring)."""
    parts = ['echo "aicenter-run-started $(date +%s.%N)"']
    if request.no_network:  # after the marker: the log a reader gets starts there
        parts.append(f"echo {shlex.quote('aicenter: ' + NETWORK_NOTE)}")
    command = shlex.join(request.command)
    if request.max_duration_s is not None:
        grace = max(1, math.ceil(request.grace_period_s))  # timeout reads 0 as "never kill"
        command = (
            f"timeout --kill-after={grace}s {request.max_duration_s:.3f}s {command}"
        )
    if request.working_dir is not None:
        parts.append(f"cd {shlex.quote(str(request.working_dir))} && exec {command}")
    else:
        parts.append(f"exec {command}")
    return "; ".join(parts)


class RayBackend:
    """Runs jobs as Ray Jobs on the cluster whose dashboard is at ``address``.

    No sidecars and no isolation: a job reading datasets uses the in-process reader
    (:mod:`aicenter.exchange.reader`), as strong as the file permissions of the store on the
    Ray nodes. Nor can it cut a job's network: a ``no_network`` run says so (``NETWORK_NOTE``)
    in its log and its final message."""

    capabilities: Capabilities = CAPABILITIES

    def __init__(self, address: str, state_dir: Path | None = None) -> None:
        require("ray", FEATURE)  # at the server's start, not at its first job
        self.address = address
        self.state_dir = None if state_dir is None else Path(state_dir)
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        self._connection: Any | None = None
        self._started_at: dict[str, float] = {}
        self._ended_logs: dict[str, bytes] = {}

    @property
    def _client(self) -> Any:
        """The job server client, connected on first use (the cluster may start later)."""
        if self._connection is None:
            from ray.job_submission import JobSubmissionClient

            try:
                self._connection = JobSubmissionClient(self.address)
            except (OSError, RuntimeError) as error:
                raise _unavailable(self.address, error) from error
        return self._connection

    @property
    def name(self) -> str:
        return NAME

    def set_slots(self, slots_by_chip: Mapping[str, int]) -> None:
        """Ignored: this backend does not own device indices (Ray's cluster advertises
        its own ``accel:<chip>`` resources)."""

    def launch(self, request: LaunchRequest) -> RunHandle:
        if request.sidecar:
            raise InputError("the ray backend does not run sidecars (no data gateway: jobs "
                             "read datasets in-process)", field="sidecar")
        env = dict(request.env)
        env.update(
            accelerator_env(
                request.run_id, request.chip_type, request.chip_count, request.device_ids
            )
        )
        env["RAY_JOB_STOP_WAIT_TIME_S"] = str(math.ceil(request.grace_period_s))
        resources = (
            {chip_resource(request.chip_type): float(request.chip_count)}
            if request.chip_count > 0
            else None
        )
        metadata = {
            METADATA_KEY: "1",
            "chip_type": request.chip_type,
            "chip_count": str(request.chip_count),
            "max_duration_s": "" if request.max_duration_s is None else str(request.max_duration_s),
            "network_note": NETWORK_NOTE if request.no_network else "",
        }
        try:
            self._client.submit_job(
                entrypoint=build_entrypoint(request),
                submission_id=request.run_id,
                runtime_env={"env_vars": env},
                metadata=metadata,
                entrypoint_num_cpus=0,
                entrypoint_resources=resources,
            )
        except RuntimeError as error:
            if "already exists" in str(error):
                raise InputError(
                    f"run id {request.run_id!r} is already used", field="run_id"
                ) from error
            raise
        except OSError as error:
            raise _unavailable(self.address, error) from error
        return RunHandle(NAME, request.run_id, self.address)

    def _check(self, handle: RunHandle) -> str:
        if handle.backend != NAME:
            raise InputError(f"handle {handle} is not a {NAME} run", field="handle")
        return check_run_id(handle.run_id)

    def _info(self, run_id: str) -> Any | None:
        try:
            return self._client.get_job_info(run_id)
        except RuntimeError as error:
            if "does not exist" in str(error) or "404" in str(error):
                return None
            raise
        except OSError as error:
            raise _unavailable(self.address, error) from error

    def status(self, handle: RunHandle) -> RunStatus:
        run_id = self._check(handle)
        return self._status_of(run_id, self._info(run_id))

    def _status_of(self, run_id: str, info: Any | None) -> RunStatus:
        found = self._status_without_note(run_id, info)
        note = "" if info is None else (info.metadata or {}).get("network_note", "")
        if note and found.is_final:
            return dataclasses.replace(found, message=f"{found.message}; {note}")
        return found

    def _status_without_note(self, run_id: str, info: Any | None) -> RunStatus:
        if info is None:
            return RunStatus(RunState.LOST, message=f"Ray has no job {run_id} at {self.address}")
        ray_state = str(info.status.value)
        ended_at = None if info.end_time is None else utc_from_epoch(info.end_time / 1000)
        if ray_state == "PENDING":
            return RunStatus(RunState.PENDING, message=info.message or "")
        started_at = self._start_time(run_id)
        if ray_state == "RUNNING":
            return RunStatus(RunState.RUNNING, started_at=started_at)
        if ray_state == "SUCCEEDED":
            return RunStatus(RunState.SUCCEEDED, 0, started_at, ended_at, "exit code 0")
        if ray_state == "STOPPED":
            reason = self._stop_reason(run_id)
            return RunStatus(reason.final_state, None, started_at, ended_at, f"{reason} requested")
        exit_code = info.driver_exit_code
        message = f"exit code {exit_code}" if exit_code is not None else (info.message or "")
        max_duration = (info.metadata or {}).get("max_duration_s")
        if max_duration and exit_code in TIMEOUT_EXIT_CODES:
            message = f"max duration of {max_duration} s exceeded (exit code {exit_code})"
        return RunStatus(RunState.FAILED, exit_code, started_at, ended_at, message)

    def _start_time(self, run_id: str) -> datetime | None:
        if run_id not in self._started_at:
            found = _MARKER_LINE.search(self._raw_log(run_id)[:4096])
            if found is None:
                return None
            self._started_at[run_id] = float(found.group(1))
        return utc_from_epoch(self._started_at[run_id])

    def _raw_log(self, run_id: str) -> bytes:
        if run_id in self._ended_logs:
            return self._ended_logs[run_id]
        try:
            text: str = self._client.get_job_logs(run_id)
        except RuntimeError:
            return b""
        except OSError as error:
            raise _unavailable(self.address, error) from error
        return text.encode()

    def read_log(self, handle: RunHandle, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        if offset < 0:
            raise InputError("log offset must be >= 0", field="offset")
        run_id = self._check(handle)
        info = self._info(run_id)
        final = self._status_of(run_id, info).is_final
        raw = self._raw_log(run_id)
        if final:  # an ended run's log no longer changes: fetch it once
            self._ended_logs[run_id] = raw
        found = _MARKER_LINE.search(raw[:4096])
        body = raw[found.end() :] if found else b""
        if info is not None:
            body = _without_ray_banner(body, run_id, info.entrypoint)
        data = body[offset : offset + max_bytes]
        next_offset = offset + len(data)
        return LogChunk(data, offset, next_offset, complete=final and next_offset >= len(body))

    def terminate(
        self, handle: RunHandle, reason: StopReason, grace_period_s: float | None = None
    ) -> None:
        run_id = self._check(handle)
        if self.status(handle).is_final:
            return
        note = self._stop_note(run_id)
        if note is not None and not note.exists():
            note.write_text(reason.value, encoding="utf-8")
        try:
            self._client.stop_job(run_id)
        except OSError as error:
            raise _unavailable(self.address, error) from error

    def _stop_note(self, run_id: str) -> Path | None:
        return None if self.state_dir is None else self.state_dir / f"{run_id}.stop"

    def _stop_reason(self, run_id: str) -> StopReason:
        note = self._stop_note(run_id)
        if note is not None and note.exists():
            return StopReason(note.read_text(encoding="utf-8").strip())
        return StopReason.CANCEL

    def list_runs(self) -> list[RunHandle]:
        handles = []
        try:
            jobs = self._client.list_jobs()
        except OSError as error:
            raise _unavailable(self.address, error) from error
        for job in jobs:
            if (job.metadata or {}).get(METADATA_KEY) == "1" and job.submission_id:
                handles.append(RunHandle(NAME, job.submission_id, self.address))
        return sorted(handles, key=lambda h: h.run_id)

    def forget(self, handle: RunHandle) -> None:
        run_id = self._check(handle)
        current = self.status(handle)
        if current.state is RunState.LOST:
            return
        if not current.is_final:
            raise InputError(f"run {run_id} has not ended; terminate it first")
        try:
            self._client.delete_job(run_id)
        except OSError as error:
            raise _unavailable(self.address, error) from error
        note = self._stop_note(run_id)
        if note is not None:
            note.unlink(missing_ok=True)
        self._started_at.pop(run_id, None)
        self._ended_logs.pop(run_id, None)


def _unavailable(address: str, error: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(f"Ray job server at {address} unreachable: {error}")


def _without_ray_banner(body: bytes, run_id: str, entrypoint: str) -> bytes:
    """``body`` without the text Ray's job supervisor appends to the log when it starts the
    entrypoint ("Running entrypoint for job <id>: <entrypoint>\\n", the entrypoint may span
    lines). The supervisor writes it with ``O_APPEND`` a few milliseconds after the command
    started, so it lands among the first output lines; bytes before it never move, and bytes
    after it were written after it, so removing it keeps every offset a reader was given valid."""
    banner = f"Running entrypoint for job {run_id}: {entrypoint}\n".encode()
    start = body.find(banner)
    if start < 0:
        return body
    return body[:start] + body[start + len(banner) :]


def wait_for_job_server(address: str, timeout_s: float = 60.0) -> None:
    """Block until the Ray job server at ``address`` answers (a cluster just started)."""
    require("ray", FEATURE)
    from ray.job_submission import JobSubmissionClient

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            JobSubmissionClient(address).list_jobs()
            return
        except Exception:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


@contextmanager
def local_ray_head(
    slots_by_chip: Mapping[str, int],
    num_cpus: int = 1,
    object_store_mib: int = 80,
    temp_dir: Path | None = None,
) -> Iterator[str]:
    """Start a Ray head on loopback in this process, with ``accel:<chip>`` resources, and yield
    its job server address (``http://127.0.0.1:<port>``); shut it down on exit.

    For tests, benchmarks and demos on one machine; a real center points the ``ray`` backend at
    its cluster (for example a KubeRay head) instead. The head lives as long as this process."""
    require("ray", FEATURE)
    import ray

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    context = ray.init(
        num_cpus=num_cpus,
        resources={chip_resource(chip): float(n) for chip, n in slots_by_chip.items()},
        include_dashboard=True,
        dashboard_host="127.0.0.1",
        dashboard_port=port,
        object_store_memory=object_store_mib * 1024 * 1024,
        _temp_dir=None if temp_dir is None else str(temp_dir),
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    try:
        address = f"http://{context.dashboard_url}"
        wait_for_job_server(address)
        yield address
    finally:
        ray.shutdown()
