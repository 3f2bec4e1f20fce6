"""The local backend: jobs as processes on this machine; the center's pools are slots.

Each run gets a run directory ``<root>/<run_id>/`` (see :mod:`aicenter.backends.local.rundir`) and a
runner process (:mod:`aicenter.backends.local.runner`) in a session of its own, which starts the
command, enforces the max duration and the SIGTERM -> grace -> SIGKILL sequence, and records
the exit code. The server only writes requests and reads files, so a server killed with
``kill -9`` and restarted finds every run as it is: running, or ended with its exit code while
nobody watched. A runner that died without recording an exit makes its run LOST.

Slots: ``slots_by_chip`` maps a chip type to its device count on this machine (indices
``0..n-1``). A launch must name a chip type in it (when it is given); the request's device
indices must be in range and not used by another live run of this backend; without indices the
lowest free ones are taken. A request placed on one of the center's pools
(``LaunchRequest.pool``) is held to that pool's own range of indices
(``PoolTarget.devices``): with two pools of a chip type, a pool that is full leaves its run
waiting even when the other pool has free chips. The run's ``request.json`` keeps the pool, so
``status`` names it in any later process. The job's environment names its chips
(``AICENTER_*`` and the vendor's visible-devices variable, :mod:`aicenter.backends.devices`).

Environment: the job sees a small base (``PATH``, ``HOME``, ``LANG``, ``LC_ALL``, ``TZ``,
``TMPDIR``, ``USER``, ``LOGNAME``, ``SHELL`` from the server), then the request's ``env``, then
the accelerator variables. Nothing else of the server's environment (tokens, database URL).

Isolation (``isolation``, :class:`JobIsolation`): with mode ``namespace`` every job runs in
namespaces of its own in which the ``hide`` paths (the center's home: dataset store, meter
logs, keys, database, other runs) are covered (:mod:`aicenter.backends.local.isolation`); its
working directory is the request's, or ``<run dir>/work``. The backend checks once, when it
is created, that isolation works here; if it does not, or the mode is ``none``, every job's
log and exit message say that the job ran without isolation. Without ``isolation`` (a
library user's backend) jobs run as plain processes and nothing is said.

Network: a request with ``no_network`` (a job reading licensed data) runs isolated with
``network: none``: its own network namespace with only a loopback, ``/run`` (services' Unix
sockets) covered, and private ``/tmp``, ``/var/tmp``, ``/dev/shm`` (see
:mod:`aicenter.backends.local.isolation`). Where that is not possible (isolation off or unavailable,
or network namespaces unavailable, checked once like isolation) the job still runs, and its
log and exit message say that it had the host's network.

Sidecars: a request's ``sidecar`` (the center's data gateway) runs next to the job, outside
its isolation, with the base environment only (see :mod:`aicenter.backends.local.runner`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from aicenter.backends.base import (
    BackendUnavailableError,
    Capabilities,
    ChipCapacity,
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
from aicenter.backends.local.box import ContainmentUnavailableError, JobBox
from aicenter.backends.local.cgroups import CgroupError, JobCgroup, detect
from aicenter.backends.local.config import CAPABILITIES, NAME, LocalConfig
from aicenter.backends.local.isolation import JobIsolation
from aicenter.backends.local.rundir import (
    CGROUP,
    EXIT,
    LAUNCH,
    LOG,
    REQUEST,
    RUNNER,
    RUNNER_ERR,
    STOP,
    is_same_process_alive,
    process_start_ticks,
    read_json,
    write_json_atomic,
)
from aicenter.domain.errors import InputError

BASE_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL")
"""Variables of the server's environment a job inherits; see the module docstring."""

UNLAUNCHED_LOST_AFTER_S = 30.0
"""A run directory with a request but no runner after this long is LOST (see ``status``)."""
ALLOW_UNLIMITED_ENV = "AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS"
"""The setting (``unsafe_allow_unlimited_jobs``) without which the server's backend refuses
to run jobs where cgroups are unusable."""

log = logging.getLogger("aicenter.backends.local")


class LocalBackend:
    """Runs jobs as local processes; state in ``root`` (one directory per run)."""

    capabilities: Capabilities = CAPABILITIES

    def __init__(self, root: Path, slots_by_chip: Mapping[str, int] | None = None,
                 isolation: JobIsolation | None = None) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.slots_by_chip = dict(slots_by_chip or {})
        self._launch_lock = threading.Lock()
        self._runners: dict[str, subprocess.Popen[bytes]] = {}
        # Ended runs never change and requests never change: cache both, keyed by run dir.
        self._ended: dict[str, RunStatus] = {}
        self._held: dict[str, dict[str, Any]] = {}
        self._pools: dict[str, str | None] = {}
        self.box = JobBox(isolation, self.root)
        _check_cgroups(isolation)

    @property
    def isolation(self) -> JobIsolation | None:
        """How jobs are boxed (the box's; replacing it changes what later launches get)."""
        return self.box.isolation

    @isolation.setter
    def isolation(self, isolation: JobIsolation | None) -> None:
        self.box.isolation = isolation

    @property
    def contained(self) -> bool:
        """Jobs run in the contained box (their own uid; :mod:`.container`)."""
        return self.box.contained

    @property
    def isolated(self) -> bool:
        """Jobs run in namespaces with the center's files covered (contained or weak box)."""
        return self.box.isolated

    @property
    def isolation_note(self) -> str | None:
        """What every job's log says it lacked (``None``: nothing)."""
        return self.box.isolation_note

    @property
    def network_note(self) -> str | None:
        """Said by a ``no_network`` job that got the host's network after all."""
        return self.box.network_note

    @classmethod
    def from_config(cls, config: LocalConfig) -> LocalBackend:
        """The backend :class:`LocalConfig` describes."""
        return cls(config.root, slots_by_chip=config.slots_by_chip, isolation=config.isolation)

    def set_slots(self, slots_by_chip: Mapping[str, int]) -> None:
        """Replace the accelerator slots (the center's pools changed). Runs already launched
        keep their devices; a launch after this sees the new capacities."""
        with self._launch_lock:
            self.slots_by_chip = dict(slots_by_chip)

    @property
    def name(self) -> str:
        return NAME

    # --- launching -----------------------------------------------------------------------

    def launch(self, request: LaunchRequest) -> RunHandle:
        with self._launch_lock:
            entry = self.root / request.run_id
            if (entry.exists() or entry.is_symlink()) and not (entry / REQUEST).exists():
                _remove_entry(entry)  # a launch that died before writing its request
            if entry.exists() or entry.is_symlink():
                raise InputError(f"run id {request.run_id!r} is already used", field="run_id")
            if not self.contained and request.working_dir is not None and \
                    not Path(request.working_dir).is_dir():
                raise InputError(
                    f"working directory {request.working_dir} does not exist on this machine",
                    field="working_dir",
                )
            device_ids = self._assign_devices(request)
            slot = self._assign_slot() if self.contained else None
            run_dir = entry if request.log_dir is None else Path(request.log_dir) / request.run_id
            run_dir = run_dir.resolve()
            if run_dir.exists() and not (run_dir / REQUEST).exists():
                shutil.rmtree(run_dir)
            run_dir.mkdir(parents=True, exist_ok=False, mode=0o700)  # request.json holds env
            if request.log_dir is not None:
                entry.symlink_to(run_dir, target_is_directory=True)
            env = {name: os.environ[name] for name in BASE_ENV_NAMES if name in os.environ}
            env.update(request.env)
            env.update(
                accelerator_env(request.run_id, request.chip_type, request.chip_count, device_ids)
            )
            if slot is not None:
                isolation = self.box.contain(request, run_dir, slot)
                env.update(self.box.identity_env(isolation["isolation"]))
            else:
                isolation = self.box.isolation_of(request, run_dir)
            write_json_atomic(
                run_dir / REQUEST,
                {
                    **isolation,
                    "sidecar": list(request.sidecar) or None,
                    "sidecar_env": {name: os.environ[name] for name in BASE_ENV_NAMES
                                    if name in os.environ},
                    "run_id": request.run_id,
                    "command": list(request.command),
                    "working_dir": _optional_str(request.working_dir),
                    "env": env,
                    "chip_type": request.chip_type,
                    "chip_count": request.chip_count,
                    "device_ids": list(device_ids),
                    "slot": slot,
                    "pool_id": None if request.pool is None else request.pool.id,
                    "limits": None if request.limits is None else request.limits.to_dict(),
                    "max_duration_s": request.max_duration_s,
                    "grace_period_s": request.grace_period_s,
                    "created_at": time.time(),
                },
            )
            with open(run_dir / RUNNER_ERR, "wb") as runner_err:
                runner = subprocess.Popen(
                    [sys.executable, "-m", "aicenter.backends.local.runner", str(run_dir)],
                    cwd=run_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=runner_err,
                    start_new_session=True,
                    close_fds=True,
                )
            self._runners[request.run_id] = runner
            write_json_atomic(
                run_dir / LAUNCH,
                {"runner_pid": runner.pid, "runner_ticks": process_start_ticks(runner.pid)},
            )
        return RunHandle(NAME, request.run_id, str(run_dir))

    def _assign_slot(self) -> int:
        """The lowest identity slot no live run holds: the job's uid is the range's first
        plus the slot (and its egress subnet is the slot's)."""
        assert self.isolation is not None and self.isolation.uid_range is not None
        first, last = self.isolation.uid_range
        used = {held["slot"] for held in self._live_requests() if held["slot"] is not None}
        slot = next((s for s in range(last - first + 1) if s not in used), None)
        if slot is None:
            raise BackendUnavailableError(f"all {last - first + 1} job uids are in use")
        return slot

    def _assign_devices(self, request: LaunchRequest) -> tuple[int, ...]:
        """Check or pick the request's device indices (see the module docstring): within the
        request's pool's range when it names one."""
        pool = request.pool
        if not self.slots_by_chip and pool is None:
            return request.device_ids
        allowed = range(0)
        where = ""
        if self.slots_by_chip:
            capacity = self.slots_by_chip.get(request.chip_type)
            if capacity is None:
                raise InputError(
                    f"chip type {request.chip_type!r} has no slots on this machine; "
                    f"slots: {', '.join(sorted(self.slots_by_chip)) or 'none'}",
                    field="chip_type",
                )
            allowed, where = range(capacity), f"{capacity} {request.chip_type} slots"
        if pool is not None:
            if self.slots_by_chip and pool.devices.stop > allowed.stop:
                raise InputError(
                    f"pool {pool.id}'s devices {pool.first_device}-{pool.devices.stop - 1} "
                    f"are beyond the {where} of this machine", field="pool")
            allowed = pool.devices
            where = f"pool {pool.id}'s {pool.chip_count} {request.chip_type} devices " \
                    f"(indices {pool.first_device}-{pool.devices.stop - 1})"
        busy = self.busy_devices(request.chip_type)
        if request.device_ids:
            out_of_range = [d for d in request.device_ids if d not in allowed]
            if out_of_range:
                raise InputError(
                    f"device ids {out_of_range} out of range for {where}",
                    field="device_ids",
                )
            taken = sorted(set(request.device_ids) & busy)
            if taken:
                raise InputError(
                    f"{request.chip_type} devices {taken} are used by another run",
                    field="device_ids",
                )
            return request.device_ids
        free = [d for d in allowed if d not in busy]
        if len(free) < request.chip_count:
            raise InputError(
                f"{request.chip_count} {request.chip_type} requested, {len(free)} free "
                f"of {len(allowed)}" + (f" in pool {pool.id}" if pool is not None else ""),
                field="chip_count",
            )
        return tuple(free[: request.chip_count])

    def _live_requests(self) -> Iterator[dict[str, Any]]:
        """Chip type, device ids and identity slot of every run that has not ended."""
        for handle in self.list_runs():
            if handle.locator in self._ended:
                continue
            held = self._held.get(handle.locator)
            if held is None:
                request = read_json(Path(handle.locator) / REQUEST)
                if request is None:
                    continue
                held = {"chip_type": request["chip_type"], "slot": request.get("slot"),
                        "device_ids": tuple(int(d) for d in request["device_ids"])}
                self._held[handle.locator] = held
            if not self.status(handle).is_final:
                yield held

    def chip_capacity(self) -> dict[str, ChipCapacity]:
        """The slots, less the devices held by runs that have not ended (one machine: the
        slots are the per-node count too)."""
        return {chip: ChipCapacity(n, max(0, n - len(self.busy_devices(chip))), n)
                for chip, n in sorted(self.slots_by_chip.items())}

    def busy_devices(self, chip_type: str) -> set[int]:
        """Device indices of ``chip_type`` held by runs that have not ended."""
        return {d for held in self._live_requests() if held["chip_type"] == chip_type
                for d in held["device_ids"]}

    # --- observing -----------------------------------------------------------------------

    def _run_dir(self, handle: RunHandle) -> Path:
        if handle.backend != NAME:
            raise InputError(f"handle {handle} is not a {NAME} run", field="handle")
        check_run_id(handle.run_id)
        return Path(handle.locator)

    def _reap(self, run_id: str) -> None:
        runner = self._runners.get(run_id)
        if runner is not None and runner.poll() is not None:
            self._runners.pop(run_id, None)

    def status(self, handle: RunHandle) -> RunStatus:
        found = self._status(handle)
        pool_id = self._pool_of(handle)
        return found if pool_id is None else dataclasses.replace(found, pool_id=pool_id)

    def _pool_of(self, handle: RunHandle) -> str | None:
        """The pool the run was placed on, from its ``request.json`` (read once)."""
        if handle.locator not in self._pools:
            request = read_json(Path(handle.locator) / REQUEST)
            if request is None:
                return None
            self._pools[handle.locator] = request.get("pool_id")
        return self._pools[handle.locator]

    def _status(self, handle: RunHandle) -> RunStatus:
        run_dir = self._run_dir(handle)
        cached = self._ended.get(handle.locator)
        if cached is not None and (run_dir / EXIT).exists():
            return cached
        self._reap(handle.run_id)
        ended = _exit_status(run_dir)
        if ended is not None:
            self._ended[handle.locator] = ended
            return ended
        started = read_json(run_dir / RUNNER)
        runner = read_json(run_dir / LAUNCH) or started  # both name the runner's pid
        if runner is None:
            return self._unlaunched_status(run_dir)
        if is_same_process_alive(runner["runner_pid"], runner["runner_ticks"]):
            if started is None:
                return RunStatus(RunState.PENDING)
            return RunStatus(RunState.RUNNING, started_at=utc_from_epoch(started["started_at"]))
        ended = _exit_status(run_dir)  # the runner may have finished between the two reads
        if ended is not None:
            return ended
        err_path = run_dir / RUNNER_ERR
        err = err_path.read_bytes()[-400:].decode(errors="replace").strip() if (
            err_path.exists()) else ""
        return RunStatus(
            RunState.LOST,
            started_at=None if started is None else utc_from_epoch(started["started_at"]),
            message="runner process ended without recording an exit" + (f": {err}" if err else ""),
        )

    @staticmethod
    def _unlaunched_status(run_dir: Path) -> RunStatus:
        """Status of a run whose runner pid was never recorded: the server died between writing
        the request and recording the runner. PENDING for a short while (a runner may still
        report in), LOST after ``UNLAUNCHED_LOST_AFTER_S``."""
        try:
            age_s = time.time() - (run_dir / REQUEST).stat().st_mtime
        except FileNotFoundError:
            return RunStatus(RunState.LOST, message=f"no run directory at {run_dir}")
        if age_s < UNLAUNCHED_LOST_AFTER_S:
            return RunStatus(RunState.PENDING)
        return RunStatus(RunState.LOST, message="the runner was never started")

    def read_log(self, handle: RunHandle, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        if offset < 0:
            raise InputError("log offset must be >= 0", field="offset")
        run_dir = self._run_dir(handle)
        final = self.status(handle).is_final  # before reading: then every byte is in the file
        try:
            with open(run_dir / LOG, "rb") as log:
                log.seek(offset)
                data = log.read(max_bytes)
                at_end = log.read(1) == b""
        except FileNotFoundError:
            data, at_end = b"", True
        return LogChunk(data, offset, offset + len(data), complete=final and at_end)

    def list_runs(self) -> list[RunHandle]:
        handles = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            run_dir = Path(entry.path).resolve() if entry.is_symlink() else Path(entry.path)
            locator = str(run_dir)
            if locator in self._ended or (run_dir / REQUEST).exists():
                handles.append(RunHandle(NAME, entry.name, locator))
        return handles

    # --- stopping and cleaning up --------------------------------------------------------

    def terminate(
        self, handle: RunHandle, reason: StopReason, grace_period_s: float | None = None
    ) -> None:
        run_dir = self._run_dir(handle)
        if (run_dir / EXIT).exists() or not (run_dir / REQUEST).exists():
            return
        if not (run_dir / STOP).exists():  # the first request decides the reason
            write_json_atomic(
                run_dir / STOP,
                {"reason": reason.value, "grace_period_s": grace_period_s, "at": time.time()},
            )
        if self.status(handle).state is RunState.LOST:
            _kill_orphan(run_dir)

    def forget(self, handle: RunHandle) -> None:
        run_dir = self._run_dir(handle)
        if not self.status(handle).is_final:
            raise InputError(f"run {handle.run_id} has not ended; terminate it first")
        _kill_orphan(run_dir)
        entry = self.root / handle.run_id
        if entry.is_symlink():
            entry.unlink()
        shutil.rmtree(run_dir, ignore_errors=True)
        self._runners.pop(handle.run_id, None)
        self._ended.pop(handle.locator, None)
        self._held.pop(handle.locator, None)
        self._pools.pop(handle.locator, None)


def _check_cgroups(isolation: JobIsolation | None) -> None:
    """Once, at start: can jobs' memory, CPU and process limits be enforced? Where cgroups
    are unusable, the server's backend (the one with ``isolation``) refuses to run jobs
    (:class:`ContainmentUnavailableError`) unless the operator consented
    (``allow_unlimited``), and then warns; a library user's backend only warns."""
    support = detect()
    if support.usable:
        log.info("job limits: cgroup %s (%s)%s", support.version,
                 ", ".join(sorted(support.controllers)),
                 f"; {support.reason}" if support.reason else "")
        return
    if isolation is not None and not isolation.allow_unlimited:
        raise ContainmentUnavailableError(
            f"job limits cannot be enforced on this machine: {support.reason}. The center "
            "refuses to run jobs without memory, CPU and process limits (one fork bomb or "
            "memory hog would take the host down); give the server a writable cgroup with the "
            "memory and pids controllers (see `aicenter doctor`), or set "
            f"{ALLOW_UNLIMITED_ENV}=true to run them anyway")
    consent = f"UNSAFE: {ALLOW_UNLIMITED_ENV} is set and " if isolation is not None else ""
    log.warning("%sjob limits are NOT enforced on this machine: %s; jobs run without memory, "
                "CPU and process limits and their logs say so", consent, support.reason)


def _remove_entry(entry: Path) -> None:
    if entry.is_symlink():
        target = entry.resolve()
        entry.unlink()
        if target.exists() and not (target / REQUEST).exists():
            shutil.rmtree(target)
    else:
        shutil.rmtree(entry)


def _optional_str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _exit_status(run_dir: Path) -> RunStatus | None:
    ended = read_json(run_dir / EXIT)
    if ended is None:
        return None
    return RunStatus(
        RunState(ended["state"]),
        exit_code=ended["exit_code"],
        started_at=utc_from_epoch(ended["started_at"]),
        ended_at=utc_from_epoch(ended["ended_at"]),
        message=ended["message"],
    )


def _kill_orphan(run_dir: Path) -> None:
    """SIGKILL the command of a run whose runner died: its process group, if still there,
    and everything in its cgroup."""
    if (run_dir / EXIT).exists():
        return
    started = read_json(run_dir / RUNNER)
    if started is not None and is_same_process_alive(started["child_pid"],
                                                     started["child_ticks"]):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(started["child_pgid"], signal.SIGKILL)
    recorded = read_json(run_dir / CGROUP)
    if recorded is not None:  # what left the process group (setsid) is still in the cgroup
        with contextlib.suppress(CgroupError, OSError):
            group = JobCgroup.from_dict(recorded)
            group.kill()
            group.remove()
