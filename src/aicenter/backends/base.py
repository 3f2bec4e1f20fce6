"""The execution-backend contract: value types and the ``Backend`` Protocol.

A backend turns a :class:`LaunchRequest` into a running process somewhere (this machine, a Ray
cluster) and answers questions about it later, possibly from a *different* server process: the
server may be killed with ``kill -9`` while jobs run, and the restarted server must find every
run again. Hence the central rule of this module:

**Everything a backend needs to know about a run lives outside the server process.** The
:class:`RunHandle` is a plain string the caller persists (in the database, next to the job);
``backend.status(RunHandle.parse(text))`` works in any later process. The local backend keeps a
run directory per run (pid, start time, exit code, log) written by a small runner process that
outlives the server; the Ray backend keeps the run in the Ray cluster (Ray Jobs, addressed by
submission id).

Life of a run::

    PENDING ──► RUNNING ──► SUCCEEDED   (exit code 0)
       │           ├──────► FAILED      (exit code != 0, max duration exceeded, could not start)
       │           ├──────► CANCELLED   (terminate(reason=CANCEL))
       │           └──────► PREEMPTED   (terminate(reason=PREEMPT); the caller requeues)
       └─────────────────► LOST         (the backend cannot tell any more: runner killed,
                                         Ray job vanished, run directory deleted)

Exit codes follow Python's convention: ``-N`` means the process was killed by signal ``N``
(``-15`` SIGTERM, ``-9`` SIGKILL).

Termination is *asynchronous and survives the caller*: ``terminate`` records the request and
returns at once; the run receives SIGTERM, gets ``grace_period_s`` seconds to exit (write a
checkpoint), then SIGKILL — even if the server dies in between. Poll ``status`` (or use
:func:`wait_until_finished`) to see the end.

Logs (stdout and stderr interleaved) are read by byte offset: ``read_log(handle, offset)``
returns the bytes from ``offset`` on and the offset to ask for next, which is all that
``aicenter job logs -f`` needs; ``LogChunk.complete`` is true once the run has ended and every
byte has been returned.

After a restart, ``list_runs()`` returns the handles of every run the backend still holds (alive
or finished but not yet ``forget``-ten), so the caller can re-attach to running ones, collect the
result of ones that finished while nobody watched, and notice ones it never recorded.

Accelerator slots: a request names its chip type (a catalog id such as ``nvidia-h100-sxm``), the
chip count and, on backends that own device indices (local), the device indices it was given.
The job's environment always carries ``AICENTER_RUN_ID``, ``AICENTER_CHIP_TYPE``,
``AICENTER_CHIP_COUNT`` and, when indices are known, ``AICENTER_DEVICE_IDS`` plus the vendor's
own visible-devices variable (see :mod:`aicenter.backends.devices`).

What a backend can do is declared, never discovered: every backend type states its
:class:`Capabilities` (contains jobs, runs the data gateway, owns device indices, ...), the same
object on the backend and on its :class:`BackendEntry`, so callers branch on a capability
(``backend.capabilities.runs_sidecars``) and never on a backend's name or on ``getattr``.

Backends register in a :class:`~aicenter.backends.registry.BackendRegistry` through a
:class:`BackendEntry`: name, capabilities, a config type of the backend's own, the function that
builds the backend from that config and the one that maps the server's settings to it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from aicenter.domain.errors import AicenterError, InputError

if TYPE_CHECKING:
    from aicenter.catalog.performance import PerformanceTable
    from aicenter.settings import Settings

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""Run ids are used as directory names and Ray submission ids: no separators, no spaces."""

DEFAULT_GRACE_PERIOD_S = 30.0
"""Seconds between SIGTERM and SIGKILL unless the request says otherwise."""


class BackendUnavailableError(AicenterError):
    """The backend cannot be reached right now (Ray cluster down, network). Not a verdict on
    any run: callers keep the run's last known state and ask again later."""


class RunState(StrEnum):
    """Where a run is in its life (see the module docstring for the transitions)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PREEMPTED = "preempted"
    LOST = "lost"

    @property
    def is_final(self) -> bool:
        """True once the run will never change state again."""
        return self not in (RunState.PENDING, RunState.RUNNING)


class StopReason(StrEnum):
    """Why a run is terminated; decides the final state (cancelled or preempted)."""

    CANCEL = "cancel"
    PREEMPT = "preempt"

    @property
    def final_state(self) -> RunState:
        return RunState.CANCELLED if self is StopReason.CANCEL else RunState.PREEMPTED


_MIB = 1 << 20
_GIB = 1 << 30


def size_text(n: int) -> str:
    """Bytes as people read them in logs: ``256 MiB``, ``2 GiB``, else ``n bytes``."""
    if n % _GIB == 0:
        return f"{n // _GIB} GiB"
    if n % _MIB == 0:
        return f"{n // _MIB} MiB"
    return f"{n} bytes"


@dataclass(frozen=True, slots=True)
class JobLimits:
    """What one job may use: bytes of memory, CPU in thousandths of a CPU (1000 = one CPU),
    processes (threads count too); ``None`` = not limited by aicenter."""

    memory_bytes: int | None = None
    cpu_millis: int | None = None
    pids: int | None = None

    def __post_init__(self) -> None:
        for name in ("memory_bytes", "cpu_millis", "pids"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"job limit {name} must be a positive integer, not {value!r}")

    def to_dict(self) -> dict[str, int | None]:
        """The JSON form the server writes into the run's request."""
        return {"memory_bytes": self.memory_bytes, "cpu_millis": self.cpu_millis,
                "pids": self.pids}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobLimits:
        """Read :meth:`to_dict`'s form (missing keys = not limited)."""
        return cls(data.get("memory_bytes"), data.get("cpu_millis"), data.get("pids"))

    def describe(self) -> str:
        """For logs: ``memory 256 MiB, 0.2 CPU, 64 processes``."""
        parts = []
        if self.memory_bytes is not None:
            parts.append(f"memory {size_text(self.memory_bytes)}")
        if self.cpu_millis is not None:
            parts.append(f"{self.cpu_millis / 1000:g} CPU")
        if self.pids is not None:
            parts.append(f"{self.pids} processes")
        return ", ".join(parts) or "no limits"



@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend type can do; each claim is checked for every registered backend by
    ``tests/backends/test_contract.py``. Everything defaults to ``False``: a backend claims
    only what it does.

    ``runs_code``: the request's command runs as a real process and its output is the log
    (``virtual`` only models the work). ``contains_jobs``: jobs can run in the kernel box (a
    uid of their own, namespaces, the center's files covered; :mod:`aicenter.backends.local`)
    where the host allows it; a backend that runs code without it is refused unless the
    operator sets ``unsafe_allow_weak_isolation``. ``cuts_network``: a ``no_network`` request
    gets no route out (a network namespace with only a loopback). ``enforces_limits``: the
    request's :class:`JobLimits` are enforced by the kernel (cgroups). ``gives_egress``: jobs the
    operator allows reach the outside through host rules that keep the control plane
    unreachable (the server installs them at start). ``runs_sidecars``: the request's
    ``sidecar`` (the data gateway) runs next to the job; other backends refuse or ignore it and
    jobs read datasets in-process. ``owns_devices``: the backend is told the center's slots
    (:meth:`Backend.set_slots`), hands out device indices and sets the vendor's visible-devices
    variable. ``graceful_stop``: ``terminate`` sends SIGTERM and waits the grace period before
    SIGKILL, so a job can checkpoint. ``multi_node``: one run may span several nodes (a gang
    across machines; the ray backend, with a placement group). ``reports_capacity``: the
    engine's own count of chips per type, total and free now, comes from the engine
    (:meth:`Backend.chip_capacity`), not only from the center's pools. ``places_pools``: a
    request's :class:`PoolTarget` decides where the run goes, never another pool's chips of
    the same type (local: the pool's own device indices; virtual: the pool's own chip count;
    slurm: the partition or nodes its configuration maps the pool to; ray: the nodes that
    advertise the pool's resource, :func:`pool_resource`), and the run's
    :attr:`RunStatus.pool_id` names the pool, read back from the engine's own record of the
    run (so a restarted server finds it). A pool the engine has no mapping for is refused
    (``InputError`` on field ``pool``), except on an engine configured with no pools at all,
    which runs it wherever the chip type is and says so with ``pool_id`` ``None``. A backend
    without the claim ignores the request's pool; the scheduler then keeps the pool the
    engine reports, if it reports one.
    """

    runs_code: bool = False
    contains_jobs: bool = False
    cuts_network: bool = False
    enforces_limits: bool = False
    gives_egress: bool = False
    runs_sidecars: bool = False
    owns_devices: bool = False
    graceful_stop: bool = False
    multi_node: bool = False
    reports_capacity: bool = False
    places_pools: bool = False

    def claimed(self) -> list[str]:
        """The names of the capabilities this backend claims, for reports and checks."""
        return [f.name for f in fields(self) if getattr(self, f.name)]


def containment_notes(caps: Capabilities, *, reads_datasets: bool) -> list[str]:
    """What the engine running a job cannot guarantee, in words a tenant and an auditor read
    (the job's API answer and ``job show`` carry them; the run's log says the same): one note
    per containment claim the backend does not make. Empty on the local backend in its box."""
    if not caps.runs_code:
        return []
    notes = []
    if not caps.contains_jobs:
        notes.append("no kernel box from the center: the job runs with the engine's own "
                     "isolation (its mapped user), not a uid, namespaces and covered files "
                     "of its own")
    if not caps.cuts_network:
        notes.append("network not cut: the job reaches what the engine's nodes reach")
    if not caps.enforces_limits:
        notes.append("memory, CPU and process limits are not enforced by the center's "
                     "cgroups (only by the engine, where its site configures them)")
    if reads_datasets and not caps.runs_sidecars:
        notes.append("datasets are read in the job's own process, not through the center's "
                     "data gateway")
    return notes


@dataclass(frozen=True, slots=True)
class ChipCapacity:
    """Chips of one type as the engine counts them: ``total`` on its live nodes, ``available``
    to a new run now (what nothing holds), ``per_node`` the most on one node (the chips a gang
    gets per node)."""

    total: int
    available: int
    per_node: int


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is usable as a directory name and a Ray submission id."""
    if not RUN_ID_PATTERN.match(run_id):
        raise InputError(
            f"run id {run_id!r} must be 1-128 characters of letters, digits, '.', '_' or '-' "
            "and start with a letter or digit",
            field="run_id",
        )
    return run_id


POOL_RESOURCE_PREFIX = "pool:"


def pool_resource(pool_id: str) -> str:
    """The name an engine's nodes use to say which of the center's pools they belong to
    (a Ray custom resource ``pool:<pool id>``)."""
    return f"{POOL_RESOURCE_PREFIX}{pool_id}"


@dataclass(frozen=True, slots=True)
class PoolTarget:
    """The center's pool the scheduler placed a run on: its ``id``, its size ``chip_count``
    and, for a backend that owns device indices, ``first_device``, the index of its first chip
    among the backend's slots of its chip type (the pools of one chip type take consecutive
    index ranges in the center's order of pools, :func:`pool_device_ranges`)."""

    id: str
    chip_count: int
    first_device: int = 0

    def __post_init__(self) -> None:
        if not self.id or not isinstance(self.id, str):
            raise InputError("a pool target needs the pool's id", field="pool")
        if self.chip_count < 0 or self.first_device < 0:
            raise InputError(f"pool {self.id}: chip count {self.chip_count} and first device "
                             f"{self.first_device} must be >= 0", field="pool")

    @property
    def devices(self) -> range:
        """The pool's device indices among its chip type's slots."""
        return range(self.first_device, self.first_device + self.chip_count)


def pool_device_ranges(pools: Iterable[tuple[str, str, int]]) -> dict[str, PoolTarget]:
    """Pool id -> its :class:`PoolTarget`, from ``(pool id, chip type, chips)`` in the center's
    order: each chip type's pools take consecutive device indices from 0, as the slots the
    backend is given are their sum (:func:`aicenter.services.pool.slots_by_chip`)."""
    targets: dict[str, PoolTarget] = {}
    next_index: dict[str, int] = {}
    for pool_id, chip, count in pools:
        first = next_index.get(chip, 0)
        targets[pool_id] = PoolTarget(pool_id, count, first)
        next_index[chip] = first + count
    return targets


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    """Everything a backend needs to start one run.

    ``command`` is an argv list (no shell); wrap a script as ``("/bin/sh", "-c", script)``.
    ``env`` is added to a small safe base environment (PATH, HOME, LANG, ...); the server's own
    environment (tokens, database URL) is never passed on. ``device_ids`` are the slot indices of
    ``chip_type`` the scheduler assigned (local backend; empty = let the backend pick the lowest
    free ones, or not applicable on Ray). ``log_dir``: where the backend keeps the run's files
    (local backend; ``None`` = the backend's state directory). ``sidecar``: an argv the backend
    runs next to the job, outside the job's isolation, for the job's lifetime (the center's
    data gateway); it must print ``ready`` on a line of its own once it serves. Only backends
    whose ``runs_sidecars`` is true accept one. ``no_network``: the job must get no network
    (it reads licensed records, which must not leave the center); the caller decides it from
    the job's datasets and the ``job_network`` setting. A backend that cannot cut the network
    runs the job anyway and says so in its log and exit message, never silently. ``limits``:
    the job's memory, CPU and process limits (the spec's, else the operator's defaults;
    ``None`` = none asked); the local backend enforces them with cgroups, and where it cannot,
    the job runs anyway and its log and exit message say so.
    """

    run_id: str
    command: tuple[str, ...]
    chip_type: str
    chip_count: int
    working_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    device_ids: tuple[int, ...] = ()
    max_duration_s: float | None = None
    grace_period_s: float = DEFAULT_GRACE_PERIOD_S
    log_dir: Path | None = None
    sidecar: tuple[str, ...] = ()
    no_network: bool = False
    account: str | None = None
    """The organisation the run is for (its group of project files on the local backend, its
    Slurm account)."""
    priority_class: str | None = None
    """The job's priority class (``chase-team``, ``normal``, ``best-effort``; ``None``: not
    said). Engines with priority classes of their own map it (Slurm: a QOS); others ignore
    it, since aicenter's scheduler already ordered the queue."""
    sidecar_dir: Path | None = None
    """A directory for the sidecar's sockets: the backend creates it for the run, its group
    is the job's, and it is visible, read-only, inside the job at the same path."""
    egress: bool = False
    """The operator allows this job to reach the outside network (never the center's own
    hosts); ignored with ``no_network``, which always wins."""
    limits: JobLimits | None = None
    """Memory, CPU and process limits (``None``: none asked); see the class docstring."""
    pool: PoolTarget | None = None
    """The center's pool the scheduler placed the run on (``None``: any of the chip type's);
    honoured by a backend that ``places_pools`` (:class:`Capabilities`)."""

    def __post_init__(self) -> None:
        check_run_id(self.run_id)
        if self.pool is not None and not isinstance(self.pool, PoolTarget):
            raise InputError("pool must be a PoolTarget", field="pool")
        if self.pool is not None and self.chip_count > self.pool.chip_count:
            raise InputError(f"{self.chip_count} chips do not fit in pool {self.pool.id} "
                             f"of {self.pool.chip_count}", field="pool")
        if not self.command or not all(isinstance(a, str) for a in self.command):
            raise InputError("command must be a non-empty list of strings", field="command")
        if self.chip_count < 0:
            raise InputError(f"chip count {self.chip_count} must be >= 0", field="chip_count")
        if self.device_ids and len(self.device_ids) != self.chip_count:
            raise InputError(
                f"{len(self.device_ids)} device ids given for {self.chip_count} chips",
                field="device_ids",
            )
        if len(set(self.device_ids)) != len(self.device_ids) or any(
            d < 0 for d in self.device_ids
        ):
            raise InputError(
                f"device ids {list(self.device_ids)} must be distinct and >= 0",
                field="device_ids",
            )
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise InputError("max duration must be > 0 seconds", field="max_duration_s")
        if not all(isinstance(a, str) for a in self.sidecar):
            raise InputError("sidecar must be a list of strings", field="sidecar")
        if self.grace_period_s < 0:
            raise InputError("grace period must be >= 0 seconds", field="grace_period_s")
        for key in self.env:
            if not key or "=" in key or "\0" in key:
                raise InputError(f"bad environment variable name {key!r}", field="env")
        if self.limits is not None and not isinstance(self.limits, JobLimits):
            raise InputError("limits must be a JobLimits", field="limits")


@dataclass(frozen=True, slots=True)
class RunHandle:
    """How to find a run again, from any process: persist ``str(handle)``.

    Text form: ``<backend>:<run_id>@<locator>``; the locator is backend-specific (the run
    directory for ``local``, the Ray dashboard address for ``ray``).
    """

    backend: str
    run_id: str
    locator: str

    def __str__(self) -> str:
        return f"{self.backend}:{self.run_id}@{self.locator}"

    @classmethod
    def parse(cls, text: str) -> RunHandle:
        """Read a handle written by ``str(handle)``; raises ``InputError`` if malformed."""
        backend, sep, rest = text.partition(":")
        run_id, sep2, locator = rest.partition("@")
        if not (sep and sep2 and backend and locator):
            raise InputError(
                f"run handle {text!r} is not of the form <backend>:<run_id>@<locator>",
                field="handle",
            )
        return cls(backend, check_run_id(run_id), locator)


@dataclass(frozen=True, slots=True)
class RunStatus:
    """What a backend knows about a run right now.

    ``started_at``/``ended_at`` are UTC; metering charges ``ended_at - started_at`` (or up to
    now while running). ``exit_code`` is ``None`` until the process has ended (and for LOST).

    ``running_until``: the latest instant the engine vouches the run still held its chips,
    where that is not "now" (``None``: now). Slurm records times in whole seconds and sets a
    job's end when it starts completing, so a live Slurm run is vouched for up to the whole
    second before the question (or its end, once completing): metering a live run goes no
    further, and the final record ends exactly at the engine's end. ``earlier``: the
    (start, end) of earlier attempts the *engine* ran and requeued by itself (Slurm's
    ``--requeue`` after a preemption or node failure), oldest first: each is billed once,
    and the time between attempts not at all.
    """

    state: RunState
    exit_code: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    message: str = ""
    running_until: datetime | None = None
    earlier: tuple[tuple[datetime, datetime], ...] = ()
    pool_id: str | None = None
    """The center's pool the engine runs the run on, from the engine's own record of it (a
    backend that ``places_pools``: the request's pool); ``None`` where the engine does not
    say."""

    @property
    def is_final(self) -> bool:
        return self.state.is_final


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Bytes ``[offset, next_offset)`` of a run's log; ``complete``: run ended, nothing follows."""

    data: bytes
    offset: int
    next_offset: int
    complete: bool


@runtime_checkable
class Backend(Protocol):
    """An execution backend. Every method may be called from a process other than the one
    that launched the run (see the module docstring)."""

    @property
    def name(self) -> str:
        """The registry name; the first part of every handle this backend issues."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do (:class:`Capabilities`): the same for every instance of
        the type, and the same object its registry entry declares."""
        ...

    def set_slots(self, slots_by_chip: Mapping[str, int]) -> None:
        """The center's pools changed: chip type -> number of devices on this backend's
        machine. A backend that ``owns_devices`` hands out these indices from now on (runs
        already launched keep theirs); others ignore it (their engine knows its resources)."""
        ...

    def chip_capacity(self) -> dict[str, ChipCapacity]:
        """Chip type -> the engine's count of its chips, total and available now. Read from
        the engine where ``capabilities.reports_capacity`` (Ray's cluster resources, Slurm's
        nodes); otherwise the slots the backend was given less those its runs hold, or ``{}``
        from a backend that keeps no count (the center's pools are then the only one)."""
        ...

    def launch(self, request: LaunchRequest) -> RunHandle:
        """Start the run and return at once (the run may still be PENDING).

        Raises ``InputError`` for a request this backend cannot honour (unknown chip type,
        device index busy or out of range, run id already used).
        """
        ...

    def status(self, handle: RunHandle) -> RunStatus:
        """The run's current state; LOST if the backend no longer knows it.

        Every method raises ``BackendUnavailableError`` when the backend cannot be reached;
        that says nothing about the run (it is not LOST)."""
        ...

    def read_log(self, handle: RunHandle, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        """Up to ``max_bytes`` of log from byte ``offset`` on."""
        ...

    def terminate(
        self, handle: RunHandle, reason: StopReason, grace_period_s: float | None = None
    ) -> None:
        """Ask the run to stop: SIGTERM now, SIGKILL after the grace period (the request's
        unless given here). Returns at once; a no-op for a run that has already ended."""
        ...

    def list_runs(self) -> list[RunHandle]:
        """Every run this backend still holds, running or ended but not forgotten."""
        ...

    def forget(self, handle: RunHandle) -> None:
        """Drop an ended run's state (logs included) once the caller has recorded the result.

        Raises ``InputError`` if the run has not ended."""
        ...


def utc_from_epoch(seconds: float | None) -> datetime | None:
    """A UTC datetime from seconds since the epoch (``None`` passes through)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def wait_until_finished(
    backend: Backend, handle: RunHandle, timeout_s: float, poll_s: float = 0.05
) -> RunStatus:
    """Poll ``status`` until the run ends; raises ``TimeoutError`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = backend.status(handle)
        if current.is_final:
            return current
        if time.monotonic() >= deadline:
            raise TimeoutError(f"run {handle.run_id} still {current.state} after {timeout_s} s")
        time.sleep(poll_s)


def read_whole_log(backend: Backend, handle: RunHandle) -> bytes:
    """The log from the start to its current end (a convenience for tests and small logs)."""
    parts: list[bytes] = []
    offset = 0
    while True:
        chunk = backend.read_log(handle, offset)
        parts.append(chunk.data)
        if not chunk.data:
            return b"".join(parts)
        offset = chunk.next_offset


C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class CenterSite:
    """What the running center gives the backend it builds, besides its settings.

    ``state_dir``: a directory that survives server restarts (each backend keeps its runs in
    a subdirectory named after it). ``slots_by_chip``: the center's pools as accelerator
    slots, chip type -> devices. ``hidden``: what jobs must never see (the center's home, a
    database kept elsewhere). ``job_read_only``: directories jobs see read-only even inside
    their writable ones (the data gateway's sockets). ``clock``: the service's clock (the
    ``virtual`` backend's runs progress on it). ``performance``: the service's H100-equivalent
    ratios (``None``: the packaged catalog's).
    """

    state_dir: Path
    slots_by_chip: Mapping[str, int] = field(default_factory=dict)
    hidden: tuple[Path, ...] = ()
    job_read_only: tuple[Path, ...] = ()
    clock: Callable[[], datetime] | None = None
    performance: PerformanceTable | None = None


def no_work_dir(handle: RunHandle) -> Path | None:
    """For backends whose runs keep no files on the server's machine."""
    return None


@dataclass(frozen=True)
class BackendEntry(Generic[C]):
    """How a backend registers: the one place that ties its name to its code.

    ``config_type``: the backend's own configuration (a frozen dataclass with the fields this
    backend needs and no other's); ``build`` makes a backend from one; ``from_settings`` maps
    the server's settings and :class:`CenterSite` to one. ``work_dir``: where a run's working
    files (its declared outputs) are on this machine, ``None`` when they are not here.
    ``extra``: the optional extra (:mod:`aicenter.extras`) the backend's code needs, checked
    before anything else when the server builds it. ``capabilities`` must equal the built
    backend's.
    """

    name: str
    capabilities: Capabilities
    config_type: type[C]
    build: Callable[[C], Backend]
    from_settings: Callable[[Settings, CenterSite], C]
    work_dir: Callable[[RunHandle], Path | None] = no_work_dir
    extra: str | None = None

    def create(self, config: Any) -> Backend:
        """Build the backend from ``config``, which must be this backend's config type."""
        if not isinstance(config, self.config_type):
            raise InputError(f"the {self.name} backend is configured with a "
                             f"{self.config_type.__name__}, not a {type(config).__name__}",
                             field="backend")
        return self.build(config)
