"""Resource limits per job: memory, CPU and number of processes, enforced by the kernel's
cgroups, so that a fork bomb or a memory hog in one job is killed as that job's failure while
the server and the other jobs keep running.

Both cgroup versions are supported, found from ``/proc/self/cgroup`` and
``/proc/self/mountinfo`` (:func:`detect`):

* **v2** (unified hierarchy with the ``memory`` and ``pids`` controllers; ``cpu`` if there):
  ``memory.max``, ``memory.swap.max = 0``, ``memory.oom.group = 1`` (an out-of-memory kill takes
  the whole job), ``pids.max``, ``cpu.max``; the verdict comes from ``memory.events``
  (``oom_kill``) and ``pids.events`` (``max``); ``cgroup.kill`` kills everything in it.
* **v1** (a hierarchy per controller, as on hybrid hosts): ``memory.limit_in_bytes`` and
  ``memory.memsw.limit_in_bytes`` where swap is accounted, ``pids.max``,
  ``cpu.cfs_quota_us``/``cpu.cfs_period_us``, ``cpuacct`` for the CPU time used; the verdict
  from ``memory.oom_control`` (``oom_kill``) and ``pids.events``; killing loops over
  ``cgroup.procs`` (through pidfds, so a reused pid is never signalled) until it is empty.

Where: a job's cgroup is ``<server's cgroup>/aicenter-jobs/<run id>`` in each hierarchy, so
whatever limits the host puts on the server bound every job too. On v2 the no-internal-process
rule forbids enabling controllers for the children of a cgroup that holds processes: when the
server's cgroup holds processes and does not yet pass ``memory``/``pids``/``cpu`` on to its
children, every process in it is moved into a leaf ``aicenter-server`` below it first (what
systemd asks of a service with ``Delegate=yes``); the host's limits still bound them there.
An operator who would rather not have that names a prepared parent cgroup instead
(``parent`` of :meth:`JobCgroup.create`, the request's ``cgroup_parent``).

How a job gets in: the runner starts the job's first process (the command, or the isolation
wrapper) with a ``preexec_fn`` that writes ``0`` (itself) into the job cgroup's
``cgroup.procs`` files, opened beforehand, between ``fork`` and ``exec``: no code of the job
runs outside the cgroup, and the runner and the sidecar stay outside. :func:`enter` does the
same for a process that holds the cgroup in its request (``request["cgroup"]``).

Standard library only, besides the contract's light :mod:`aicenter.backends.base` (which
defines :class:`JobLimits`): the isolation wrapper, started for every job, imports it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aicenter.backends.base import JobLimits, size_text

JOBS_DIR = "aicenter-jobs"
"""The subtree, below the server's cgroup, that holds one cgroup per job."""
SERVER_LEAF = "aicenter-server"
"""v2 only: the leaf the server's processes move to when controllers must be enabled."""
CPU_PERIOD_US = 100_000
"""CFS period: a limit of ``cpu_millis`` gets ``cpu_millis * 100`` µs of CPU per 100 ms."""
MIN_CPU_QUOTA_US = 1_000  # the kernel refuses quotas below 1 ms
KILL_TIMEOUT_S = 10.0
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
REQUIRED = ("memory", "pids")
"""Without these two a cgroup cannot stop a memory hog or a fork bomb: not usable."""

class CgroupError(Exception):
    """A job cgroup could not be created, set up, joined or removed; the text says why."""


@dataclass(frozen=True, slots=True)
class CgroupSupport:
    """What :func:`detect` found: the version in use (``None``: no job limits here), the
    usable controllers, the server's own cgroup directory per controller (one entry, key
    ``unified``, on v2) and, when not usable or partly usable, why."""

    version: str | None
    controllers: frozenset[str] = frozenset()
    own: tuple[tuple[str, str], ...] = ()
    reason: str | None = None

    @property
    def usable(self) -> bool:
        return self.version is not None


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii", errors="replace")


def _mounts() -> list[tuple[str, str, str, set[str], bool]]:
    """cgroup mounts: (fstype, hierarchy root, mount point, super options, read-only)."""
    found = []
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 6 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        unescape = fields[4].replace("\\040", " ")
        read_only = "ro" in fields[5].split(",")
        found.append((tail[0], fields[3], unescape, set(tail[2].split(",")), read_only))
    return found


def _own_paths() -> dict[str, str]:
    """The server's cgroup per controller (``unified`` for v2's ``0::`` line)."""
    own: dict[str, str] = {}
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else ["unified"]:
            own[name] = path
    return own


def _join(mount_point: str, mount_root: str, path: str) -> Path | None:
    """The directory of cgroup ``path`` on a mount of hierarchy subtree ``mount_root``."""
    root = mount_root.rstrip("/")
    if root and path != root and not path.startswith(root + "/"):
        return None  # our cgroup is outside what this mount shows
    return Path(mount_point, path[len(root):].lstrip("/"))


def _v2_base(own_dir: Path) -> Path:
    """The cgroup below which jobs go: the server's, or its parent once the server moved
    into its ``aicenter-server`` leaf."""
    return own_dir.parent if own_dir.name == SERVER_LEAF else own_dir


def _detect_v2(mounts: list[tuple[str, str, str, set[str], bool]], own: dict[str, str]
               ) -> CgroupSupport | str:
    """v2 support, or why not."""
    for fstype, root, point, _, read_only in mounts:
        if fstype != "cgroup2" or "unified" not in own:
            continue
        where = _join(point, root, own["unified"])
        if where is None:
            return "cgroup v2: the server's cgroup is not visible in the mounted hierarchy"
        base = _v2_base(where)
        try:
            available = set(_read(base / "cgroup.controllers").split())
        except OSError as error:
            return f"cgroup v2: cannot read {base / 'cgroup.controllers'}: {error}"
        missing = [c for c in REQUIRED if c not in available]
        if missing:
            return f"cgroup v2 at {point} has no {' or '.join(missing)} controller"
        if read_only or not os.access(base, os.W_OK):
            return f"cgroup v2: {base} is not writable by this process"
        controllers = frozenset(available & set(V2_CONTROLLERS))
        return CgroupSupport("v2", controllers, (("unified", str(where)),),
                             None if "cpu" in controllers else "no cpu controller")
    return "no cgroup v2 hierarchy"


def _detect_v1(mounts: list[tuple[str, str, str, set[str], bool]], own: dict[str, str]
               ) -> CgroupSupport | str:
    """v1 support, or why not."""
    dirs: dict[str, str] = {}
    for fstype, root, point, options, read_only in mounts:
        for name in V1_CONTROLLERS:
            if fstype == "cgroup" and name in options and name in own and name not in dirs:
                where = _join(point, root, own[name])
                if where is not None and where.is_dir() and not read_only and \
                        os.access(where, os.W_OK):
                    dirs[name] = str(where)
    missing = [c for c in REQUIRED if c not in dirs]
    if missing:
        return f"cgroup v1 has no writable {' or '.join(missing)} hierarchy"
    reason = None if "cpu" in dirs else "no cpu controller"
    return CgroupSupport("v1", frozenset(dirs), tuple(sorted(dirs.items())), reason)


@functools.cache
def detect() -> CgroupSupport:
    """Which cgroup version can limit jobs here, with what; v2 is preferred. Cached: the
    layout does not change while a process lives (``detect.cache_clear()`` in tests)."""
    try:
        mounts, own = _mounts(), _own_paths()
    except (OSError, ValueError) as error:
        return CgroupSupport(None, reason=f"cannot read this process's cgroups: {error}")
    v2 = _detect_v2(mounts, own)
    if isinstance(v2, CgroupSupport):
        return v2
    v1 = _detect_v1(mounts, own)
    if isinstance(v1, CgroupSupport):
        return v1
    return CgroupSupport(None, reason=f"{v2}; {v1}")


def _write(path: Path, text: str) -> None:
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write(text)
    except OSError as error:
        raise CgroupError(f"cannot write {text.strip()!r} to {path}: {error.strerror}") from None


def _counter(path: Path, key: str) -> int:
    """The value of ``key`` in a flat-keyed cgroup file; 0 if either is missing."""
    with contextlib.suppress(OSError):
        for line in _read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return 0


def _procs(directory: Path) -> set[int]:
    try:
        return {int(p) for p in _read(directory / "cgroup.procs").split()}
    except FileNotFoundError:
        return set()


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise CgroupError(f"{name!r} cannot name a cgroup")


@dataclass(slots=True)
class JobCgroup:
    """One job's cgroup: a directory per controller (the same one for all on v2)."""

    version: str
    dirs: dict[str, str]
    limits: JobLimits
    unenforced: tuple[str, ...] = ()
    """Limits asked for that this host cannot enforce (their controller is missing)."""
    _directories: tuple[Path, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version not in ("v1", "v2"):
            raise CgroupError(f"unknown cgroup version {self.version!r}")
        for path in self.dirs.values():
            where = Path(path)
            if not where.is_absolute() or where.parent.name != JOBS_DIR:
                raise CgroupError(f"{path} is not a job cgroup (not under {JOBS_DIR}/)")
        self._directories = tuple(Path(p) for p in sorted(set(self.dirs.values())))

    # --- making and recording -------------------------------------------------------------

    @classmethod
    def create(cls, name: str, limits: JobLimits, parent: str | None = None,
               support: CgroupSupport | None = None) -> JobCgroup:
        """Make ``aicenter-jobs/<name>`` below the server's cgroup (or below ``parent``, a v2
        cgroup directory the operator prepared) with ``limits``; raises ``CgroupError``."""
        _check_name(name)
        support = detect() if support is None else support
        if not support.usable:
            raise CgroupError(support.reason or "cgroups are not usable here")
        own = dict(support.own)
        if support.version == "v2":
            base = Path(parent) if parent else _v2_base(Path(own["unified"]))
            return _create_v2(base, name, limits, support.controllers)
        return _create_v1(own, name, limits)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the runner keeps in the run directory (``cgroup.json``)."""
        return {"version": self.version, "dirs": dict(self.dirs),
                "limits": self.limits.to_dict(), "unenforced": list(self.unenforced)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobCgroup:
        """Read :meth:`to_dict`'s form; raises ``CgroupError`` if it is not a job cgroup."""
        try:
            return cls(str(data["version"]), {str(k): str(v) for k, v in data["dirs"].items()},
                       JobLimits.from_dict(data.get("limits") or {}),
                       tuple(str(u) for u in data.get("unenforced", ())))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise CgroupError(f"not a job cgroup record: {error}") from None

    # --- joining -----------------------------------------------------------------------------

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (0: the caller) into this cgroup, in every hierarchy."""
        for directory in self._directories:
            _write(directory / "cgroup.procs", f"{pid}\n")

    @contextlib.contextmanager
    def attaching(self) -> Iterator[Callable[[], None]]:
        """A ``preexec_fn`` that puts the new child into this cgroup before it execs.

        The ``cgroup.procs`` files are opened here, in the parent, so the child only calls
        ``os.write`` (no import, no allocation to speak of): safe after ``fork`` in a
        single-threaded parent such as the runner."""
        fds = [os.open(d / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
               for d in self._directories]

        def join() -> None:
            for fd in fds:
                os.write(fd, b"0\n")

        try:
            yield join
        finally:
            for fd in fds:
                os.close(fd)

    # --- watching -----------------------------------------------------------------------------

    def _dir(self, controller: str) -> Path | None:
        path = self.dirs.get(controller)
        return None if path is None else Path(path)

    def oom_kills(self) -> int:
        """Processes the kernel killed in this cgroup for want of memory."""
        where = self._dir("memory")
        if where is None:
            return 0
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        return _counter(where / name, "oom_kill")

    def pids_limit_hits(self) -> int:
        """Forks refused because the job was at its process limit."""
        where = self._dir("pids")
        return 0 if where is None else _counter(where / "pids.events", "max")

    def cpu_usage_us(self) -> int | None:
        """CPU time used by the job's processes so far, in µs (``None``: not accounted)."""
        if self.version == "v2":  # cpu.stat's usage_usec is there even without the controller
            return _counter(self._directories[0] / "cpu.stat", "usage_usec")
        where = self._dir("cpuacct")
        try:
            return None if where is None else int(_read(where / "cpuacct.usage")) // 1000
        except (OSError, ValueError):
            return None

    def verdict(self) -> str | None:
        """Why the job must fail because of its limits, or ``None``."""
        said = []
        if self.oom_kills():
            limit = self.limits.memory_bytes
            said.append("killed: out of memory" + ("" if limit is None else
                                                   f" (limit {size_text(limit)})"))
        if self.pids_limit_hits():
            said.append(f"hit its process limit (pids.max={self.limits.pids})")
        return "; ".join(said) or None

    # --- ending -------------------------------------------------------------------------------

    def processes(self) -> set[int]:
        """Pids in this cgroup (in any of its hierarchies)."""
        return set().union(*(_procs(d) for d in self._directories))

    def kill(self, timeout_s: float = KILL_TIMEOUT_S) -> None:
        """SIGKILL every process in the cgroup and wait until it is empty; raises
        ``CgroupError`` if processes are still there after ``timeout_s``."""
        first = self._directories[0]
        if self.version == "v2" and (first / "cgroup.kill").exists():
            with contextlib.suppress(FileNotFoundError):
                _write(first / "cgroup.kill", "1\n")
        deadline = time.monotonic() + timeout_s
        while True:
            seen = self.processes()
            if not seen:
                return
            if time.monotonic() > deadline:
                raise CgroupError(f"{len(seen)} processes still in {first} after SIGKILL")
            self._kill_once(seen)
            time.sleep(0.01)

    def _kill_once(self, seen: set[int]) -> None:
        """SIGKILL the processes of ``seen`` that are still ours: each is pinned by a pidfd
        first, then checked to be in the cgroup, so a pid reused meanwhile is left alone."""
        handles: dict[int, int] = {}
        try:
            for pid in seen:
                with contextlib.suppress(ProcessLookupError):
                    handles[pid] = os.pidfd_open(pid)
            still = self.processes()
            for pid, fd in handles.items():
                if pid in still:
                    with contextlib.suppress(ProcessLookupError):
                        signal.pidfd_send_signal(fd, signal.SIGKILL)
        finally:
            for fd in handles.values():
                os.close(fd)

    def remove(self, timeout_s: float = 5.0) -> None:
        """Remove the (emptied) cgroup directories; gone already is fine. Raises
        ``CgroupError`` if one is still busy after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        for directory in self._directories:
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise CgroupError(f"cannot remove {directory}: {error.strerror}"
                                          ) from None
                    time.sleep(0.02)


def _make_dir(path: Path, fresh: bool) -> None:
    try:
        path.mkdir(exist_ok=not fresh)
    except FileExistsError:
        if _procs(path):
            raise CgroupError(f"{path} already exists and holds processes") from None
    except OSError as error:
        raise CgroupError(f"cannot create {path}: {error.strerror}") from None


def _create_v1(own: dict[str, str], name: str, limits: JobLimits) -> JobCgroup:
    """One directory per v1 hierarchy, limits written, as a :class:`JobCgroup`."""
    dirs = {c: str(Path(own[c], JOBS_DIR, name)) for c in own}
    unenforced = ("cpu",) if limits.cpu_millis is not None and "cpu" not in own else ()
    cgroup = JobCgroup("v1", dirs, limits, unenforced)
    try:
        for path in sorted(set(dirs.values())):
            _make_dir(Path(path).parent, fresh=False)
            _make_dir(Path(path), fresh=True)
        _limit_v1(cgroup, limits)
    except CgroupError:
        cgroup.remove()
        raise
    return cgroup


def _limit_v1(cgroup: JobCgroup, limits: JobLimits) -> None:
    memory, pids, cpu = (cgroup._dir(c) for c in ("memory", "pids", "cpu"))
    if limits.memory_bytes is not None and memory is not None:
        _write(memory / "memory.limit_in_bytes", f"{limits.memory_bytes}\n")
        if (memory / "memory.memsw.limit_in_bytes").exists():  # swap accounted: no swap
            _write(memory / "memory.memsw.limit_in_bytes", f"{limits.memory_bytes}\n")
    if limits.pids is not None and pids is not None:
        _write(pids / "pids.max", f"{limits.pids}\n")
    if limits.cpu_millis is not None and cpu is not None:
        _write(cpu / "cpu.cfs_period_us", f"{CPU_PERIOD_US}\n")
        _write(cpu / "cpu.cfs_quota_us", f"{_quota_us(limits.cpu_millis)}\n")


def _quota_us(cpu_millis: int) -> int:
    return max(MIN_CPU_QUOTA_US, cpu_millis * CPU_PERIOD_US // 1000)


def _subtree(directory: Path) -> set[str]:
    return set(_read(directory / "cgroup.subtree_control").split())


def _leave_for_leaf(base: Path, rounds: int = 50) -> None:
    """Move every process of ``base`` into ``base/aicenter-server`` (see the module
    docstring); repeated, since a process may fork while the others move."""
    leaf = base / SERVER_LEAF
    _make_dir(leaf, fresh=False)
    for _ in range(rounds):
        left = _procs(base)
        if not left:
            return
        for pid in left:
            with contextlib.suppress(CgroupError):  # it may have exited meanwhile
                _write(leaf / "cgroup.procs", f"{pid}\n")
    raise CgroupError(f"processes keep appearing in {base}; cannot make it a parent of jobs")


def enable_controllers(base: Path, wanted: set[str]) -> None:
    """Let ``base``'s children use ``wanted`` (v2), obeying the no-internal-process rule: a
    cgroup that holds processes (other than the hierarchy's root, which is exempt) refuses
    with EBUSY, and is then emptied into its ``aicenter-server`` leaf first."""
    try:
        missing = wanted - _subtree(base)
    except OSError as error:
        raise CgroupError(f"cannot read {base / 'cgroup.subtree_control'}: {error}") from None
    if not missing:
        return
    control = base / "cgroup.subtree_control"
    text = " ".join(f"+{c}" for c in sorted(missing)) + "\n"
    try:
        control.write_text(text, encoding="ascii")
        return
    except OSError as error:
        if error.errno != errno.EBUSY or not _procs(base):
            raise CgroupError(f"cannot enable {text.strip()} in {control}: {error.strerror}"
                              ) from None
    _leave_for_leaf(base)
    _write(control, text)


def _create_v2(base: Path, name: str, limits: JobLimits, controllers: frozenset[str]
               ) -> JobCgroup:
    """``base/aicenter-jobs/<name>`` with the controllers enabled and limits written."""
    wanted = set(controllers)
    jobs = base / JOBS_DIR
    enable_controllers(base, wanted)
    _make_dir(jobs, fresh=False)
    enable_controllers(jobs, wanted)
    path = str(jobs / name)
    unenforced = ("cpu",) if limits.cpu_millis is not None and "cpu" not in wanted else ()
    cgroup = JobCgroup("v2", {c: path for c in (*sorted(wanted), "unified")}, limits,
                       unenforced)
    _make_dir(Path(path), fresh=True)
    try:
        _limit_v2(Path(path), limits, wanted)
    except CgroupError:
        cgroup.remove()
        raise
    return cgroup


def _limit_v2(where: Path, limits: JobLimits, controllers: set[str]) -> None:
    if "memory" in controllers:
        _write(where / "memory.oom.group", "1\n")
        if limits.memory_bytes is not None:
            _write(where / "memory.max", f"{limits.memory_bytes}\n")
            if (where / "memory.swap.max").exists():
                _write(where / "memory.swap.max", "0\n")
    if limits.pids is not None and "pids" in controllers:
        _write(where / "pids.max", f"{limits.pids}\n")
    if limits.cpu_millis is not None and "cpu" in controllers:
        _write(where / "cpu.max", f"{_quota_us(limits.cpu_millis)} {CPU_PERIOD_US}\n")


def enter(request: Mapping[str, Any]) -> None:
    """Put the calling process into the cgroup recorded under ``request["cgroup"]`` (the
    :meth:`JobCgroup.to_dict` form), if any; raises ``CgroupError`` if it cannot."""
    data = request.get("cgroup")
    if data:
        JobCgroup.from_dict(data).attach(0)
