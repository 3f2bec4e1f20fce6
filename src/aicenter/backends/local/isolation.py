"""Job isolation for the local backend: the wrapper that starts every isolated job.

``python -I -m aicenter.backends.local.isolation RUN_DIR`` is what the runner starts in place of
the command when the request carries ``isolation``. It reads ``request.json`` and builds one
of two boxes:

* the **contained box**, when the isolation names an ``identity`` (the server runs as root and
  gives each job its own uid): cgroup, namespaces, an allow-listed root and the job's uid, as
  :mod:`aicenter.backends.local.container` describes. This is the box every production job gets.
* the **weak box**, for a server that is not root (only with the operator's explicit consent,
  ``unsafe_allow_weak_isolation``): the job keeps the server's uid, and the center's files are
  hidden from it by covers in user namespaces. The steps of the weak box (``hide``, ``keep``,
  ``cwd``, ``network``: ``host`` or ``none``):

1. enters a new user and mount namespace that maps only its own uid and gid (so it works for
   a root server and an unprivileged one alike), makes every mount private, and covers each
   ``hide`` path: a directory with an empty read-only tmpfs, a file with ``/dev/null``. Each
   ``keep`` directory under a covered path (the job's work directory) is bound back at the
   same path. Then every mount becomes read-only, except the ``writable`` directories (the
   work directory, ``/tmp``, ``/var/tmp``, ``/dev/shm``), and the ``read_only`` ones inside
   them (the gateway's socket directory) are bound read-only again: the job can write
   neither the center's code nor the system (``/etc/ld.so.preload``), which the next
   sidecar or server process would run, nor another job's socket.

   With ``network: none`` (a job that reads licensed data: its records must not leave the
   center) the same step also enters a new network namespace, owned by that user namespace,
   whose only interface is its own loopback, brought up (servers the job starts on
   127.0.0.1 work; there is no route out, and the host's 127.0.0.1, PostgreSQL included, is
   another namespace's). Abstract Unix sockets are per network namespace, so the host's are
   gone too. Path-named Unix sockets are files and would still connect, so the caller also
   hides ``/run`` (PostgreSQL's and other services' sockets), and the ``fresh`` directories
   (``/tmp``, ``/var/tmp``, ``/dev/shm``) become empty private tmpfs instead of the host's:
   no relay socket or drop file of a networked job can be reached through them. The
   ``read_only`` directories under them (the gateway's sockets) are bound back, so the
   gateway, a Unix socket, keeps working;
2. enters a second user, mount and PID namespace. Mounts copied from a more privileged
   namespace are *locked* in the new one, so nobody in it can unmount a cover to look
   beneath;
3. forks the namespace's init (pid 1). The init mounts a fresh ``/proc`` (the job sees only
   its own processes, so ``/proc/<pid>/root`` or ``/proc/<pid>/fd`` of a process outside
   cannot be used to step around the covers), sets ``no_new_privs``, empties the capability
   bounding set and locks the NOROOT securebits (the command keeps no capability, even as
   uid 0), changes to ``cwd`` and runs the command as its child; it passes SIGTERM, SIGINT
   and SIGHUP on, and reports the command's exit status back through a pipe.

The wrapper exits with the command's status (re-raising the same signal if the command was
killed by one), so the runner records what it would have recorded without isolation. A setup
failure prints ``aicenter: job isolation failed: ...`` to the job's log and exits 126: a job
that asked for isolation never runs without it.

The wrapper runs with ``python -I`` and an empty environment: the job's environment
(``PYTHONPATH``, ``LD_PRELOAD``...) applies to the command only, never to code that runs
before the covers are in place. Standard library only (it starts for every job).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from aicenter.backends.local.isolation_sys import (
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    MS_BIND,
    MS_NOATIME,
    MS_NODEV,
    MS_NODIRATIME,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    IsolationError,
    drop_privileges,
    loopback_up,
    map_identity,
    mount,
    unshare,
)

REQUEST = "request.json"
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
"""Private to every isolated job (fresh tmpfs), besides its work directory."""
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
"""The host's system, bound read-only into a contained job's root."""
ACCELERATOR_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri", "/dev/kfd",
                       "/dev/accel", "/dev/accel*", "/dev/neuron*", "/dev/davinci*",
                       "/dev/davinci_manager", "/dev/hisi_hdc", "/dev/devmm_svm",
                       "/dev/rbln*", "/dev/npu*", "/dev/tenstorrent")
"""Device nodes of the accelerators a contained job may use, where the host has them."""
FAILED_EXIT = 126
NOT_FOUND_EXIT = 127
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

_ST_RELATIME = 4096  # statvfs' bit for relatime (not the same as mount(2)'s)
_COVER_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC


@dataclass(frozen=True, slots=True)
class JobIsolation:
    """How the local backend boxes jobs.

    Mode ``namespace``: with a root server and a ``uid_range``, every job is *contained*
    (:mod:`aicenter.backends.local.container`): its own uid from ``uid_range`` (gid from
    ``gid_range``, one per organisation, so a project space can be shared), a root built from
    an allow-list, its own namespaces and network. An unprivileged server cannot give a job
    another uid; it may only cover the ``hide`` paths in user namespaces that keep the
    server's uid (the *weak* box), and only when ``allow_weak`` says the operator accepted
    that. Mode ``none`` runs plain processes (again only with ``allow_weak``); every such
    job's log says what it could reach."""

    mode: Literal["namespace", "none"]
    hide: tuple[Path, ...] = ()
    read_only: tuple[Path, ...] = ()
    """Directories kept read-only even inside the writable ones (the gateway's sockets)."""
    no_network_hide: tuple[Path, ...] = (Path("/run"),)
    """Weak box: also covered for a job without network: where services keep path-named Unix
    sockets (``/run/postgresql``), which a network namespace does not cut."""
    uid_range: tuple[int, int] | None = (200_000, 265_535)
    """First and last uid jobs run as (contained box); ``None``: no contained box. The
    default is a block no distribution gives to system or login users."""
    gid_range: tuple[int, int] | None = None
    """First and last gid of organisations' groups; ``None``: each job's gid is its uid."""
    project_root: Path | None = None
    """Where organisations' project spaces live (``<root>/<org>``), if the operator enables
    them; a job of the organisation may work there, read-write."""
    system: tuple[str, ...] = SYSTEM
    egress_subnet: str | None = None
    """Where egress jobs' veth subnets come from (:mod:`aicenter.backends.local.egress`)."""
    allow_weak: bool = False
    """The operator's explicit consent to run jobs without the contained box."""
    allow_unlimited: bool = False
    """The operator's explicit consent to run jobs where cgroups cannot limit them."""


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _flags(path: str) -> int:
    """The mount flags of ``path``'s mount, as ``mount(2)`` wants them on a remount (a locked
    flag left out would make the remount fail in a user namespace)."""
    f_flag = os.statvfs(path).f_flag
    flags = f_flag & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME
                      | MS_NODIRATIME)
    return flags | (MS_RELATIME if f_flag & _ST_RELATIME else 0)


def _mount_points() -> list[str]:
    """Visible mount points, parents first (``/proc/self/mountinfo``, octal escapes undone)."""
    points: list[str] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        raw = line.split()[4]
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), raw)
        if point not in points:
            points.append(point)
    return points


def _rebind(path: str, read_only: bool) -> None:
    mount(path, path, None, MS_BIND | MS_REC)
    flags = _flags(path) & ~MS_RDONLY
    mount(None, path, None, MS_REMOUNT | MS_BIND | flags | (MS_RDONLY if read_only else 0))


def freeze(hidden: list[str], writable: list[str], read_only: list[str],
           was_read_only: set[str]) -> None:
    """Every visible mount read-only, then ``writable`` (unless read-only already before) and
    ``read_only`` rebound on top."""
    for point in _mount_points():
        if _under(point, hidden) and point not in hidden:
            continue  # beneath a cover: invisible anyway
        if _under(point, ["/proc"]):
            continue  # still needed for the uid maps; the job gets a fresh /proc
        try:
            flags = _flags(point)
        except OSError:
            continue  # a mount point that is not reachable by its path
        if not flags & MS_RDONLY:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
    for path in sorted(writable, key=len):
        if os.path.isdir(path) and path not in was_read_only:
            _rebind(path, read_only=False)
    for path in sorted(read_only, key=len):
        if os.path.isdir(path):
            _rebind(path, read_only=True)


def runtime_dirs() -> list[str]:
    """Where the center's Python and code live: the interpreter's prefixes and directory,
    and the directory the ``aicenter`` package is imported from (``src`` or
    ``site-packages``)."""
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)),
             str(Path(__file__).resolve().parents[2])}
    return sorted(p for p in found if p and os.path.isdir(p))


def cover(hide: list[str], keep: list[str], writable: list[str] | None = None,
          read_only: list[str] | None = None, *, network: str = "host",
          fresh: list[str] | None = None) -> None:
    """Step 1 (see the module docstring): own user+mount (and, for ``network='none'``,
    network) namespace, covers, ``fresh`` empty tmpfs, kept dirs, and the file system
    read-only but for ``writable``."""
    uid, gid = os.getuid(), os.getgid()
    writable, read_only, fresh = writable or [], read_only or [], fresh or []
    # The center's own Python and code stay as they are, read-only, even when they were
    # installed under a scratch directory (a checkout in /tmp): kept in a fresh /tmp (or the
    # job could not start Python), and not writable in a shared one.
    read_only = read_only + [p for p in runtime_dirs() if _under(p, writable + fresh)
                             and p not in read_only]
    if network not in ("host", "none"):
        raise IsolationError(f"network must be 'host' or 'none', not {network!r}")
    was_read_only = {p for p in writable if os.path.isdir(p) and _flags(p) & MS_RDONLY}
    if network == "none":
        unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET, "user, mount, network")
        map_identity(uid, gid)
        loopback_up()
    else:
        unshare(CLONE_NEWUSER | CLONE_NEWNS, "user, mount")
        map_identity(uid, gid)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    fresh = [p for p in fresh if os.path.isdir(p) and not os.path.islink(p)]
    kept = {k: os.open(k, os.O_PATH | os.O_DIRECTORY)
            for k in sorted({*keep, *read_only}, key=len)
            if _under(k, hide + fresh) and os.path.isdir(k)}
    for path in sorted(fresh, key=len):
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    covered: list[str] = []
    for path in sorted(hide, key=len):
        if os.path.isdir(path) and not os.path.islink(path):
            mount("tmpfs", path, "tmpfs", _COVER_FLAGS, "mode=0755,size=64k")
            covered.append(path)
        elif os.path.lexists(path):
            mount("/dev/null", path, None, MS_BIND)
    for path, fd in kept.items():
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    for path in covered:
        mount(None, path, None, MS_REMOUNT | MS_RDONLY | _COVER_FLAGS)
    freeze(hide, writable, read_only, was_read_only)


def lock_in() -> None:
    """Step 2: a less privileged user namespace, in which the covers are locked, and a PID
    namespace whose first child becomes its init."""
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID, "user, mount, pid")
    map_identity(uid, gid)


def _exec_command(command: list[str], env: dict[str, str]) -> None:
    for sig in (*FORWARDED, signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)  # Python ignores SIGPIPE/SIGXFSZ; the job must not
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        print(f"aicenter: could not start {command[0]!r}: {error}", file=sys.stderr, flush=True)
    os._exit(NOT_FOUND_EXIT)


def _weak_setup(cwd: str) -> None:
    """The weak box's init: its own ``/proc``, its work dir, no capability."""
    mount("proc", "/proc", "proc", _COVER_FLAGS)
    os.chdir(cwd)
    drop_privileges()


def _contained_setup(identity: dict[str, Any], cwd: str) -> None:
    """The contained box's init: its own ``/proc`` (as root, before giving root up), then
    the job's identity (:func:`aicenter.backends.local.container.become_job`), then its work dir."""
    from aicenter.backends.local.container import become_job

    mount("proc", "/proc", "proc", _COVER_FLAGS)
    become_job(identity)
    # Made by the job, in its own root, with its own rights: a symlink a job planted in a
    # shared project space can then lead it only where it could go anyway (root creating
    # it by path outside would follow the link: a chown of any host file).
    os.makedirs(cwd, mode=0o770, exist_ok=True)
    os.chdir(cwd)


def _init(command: list[str], env: dict[str, str], setup: Callable[[], None],
          report: int) -> None:
    """Pid 1 of the job's PID namespace: set up, start the command, wait, report, exit."""
    status: dict[str, int] = {"exit": FAILED_EXIT}
    try:
        try:
            setup()
        except (IsolationError, OSError) as error:
            print(f"aicenter: job isolation failed: {error}", file=sys.stderr, flush=True)
            return
        pending: list[int] = []
        child = 0

        def forward(signum: int, frame: FrameType | None) -> None:
            if child:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signum)
            else:
                pending.append(signum)

        for sig in FORWARDED:
            signal.signal(sig, forward)
        child = os.fork()
        if child == 0:
            os.close(report)
            _exec_command(command, env)
        for signum in pending:
            os.kill(child, signum)
        while True:  # reap orphans until the command itself ends
            pid, wait_status = os.waitpid(-1, 0)
            if pid == child:
                break
        if os.WIFSIGNALED(wait_status):
            status = {"signal": os.WTERMSIG(wait_status)}
        else:
            status = {"exit": os.waitstatus_to_exitcode(wait_status)}
    finally:
        with contextlib.suppress(OSError):
            os.write(report, json.dumps(status).encode())
        os._exit(status.get("exit", FAILED_EXIT))


def _enter_weak(spec: dict[str, Any]) -> Callable[[], None]:
    """The weak box (unprivileged server): covers in user namespaces of the server's uid."""
    cover([str(p) for p in spec["hide"]], [str(p) for p in spec.get("keep", [])],
          [str(p) for p in spec.get("writable", [])],
          [str(p) for p in spec.get("read_only", [])],
          network=str(spec.get("network", "host")),
          fresh=[str(p) for p in spec.get("fresh", [])])
    lock_in()
    cwd = str(spec["cwd"])
    return lambda: _weak_setup(cwd)


def _egress_plumber(subnet: str | None) -> Callable[[int, int], None]:
    """Gives an egress job its veth (:func:`aicenter.backends.local.egress.plumb`) in ``subnet``."""
    from aicenter.backends.local import egress

    return functools.partial(egress.plumb, subnet=subnet or egress.DEFAULT_SUBNET)


def _enter_contained(spec: dict[str, Any]) -> Callable[[], None]:
    """The contained box (root launcher; the runner started it inside the job's cgroup):
    namespaces, the job's root, a PID namespace; returns the init's set-up (identity)."""
    from aicenter.backends.local import container

    container.enter_box(spec, _egress_plumber(spec.get("egress_subnet")))
    container.new_pid_namespace()
    identity, cwd = dict(spec["identity"]), str(spec["cwd"])
    return lambda: _contained_setup(identity, cwd)


def run(run_dir: Path) -> int:
    """The wrapper (see the module docstring); returns the exit code to mirror."""
    request: dict[str, Any] = json.loads((run_dir / REQUEST).read_text(encoding="utf-8"))
    spec = request["isolation"]
    command, env = list(request["command"]), dict(request["env"])
    try:
        setup = (_enter_contained(spec) if spec.get("identity")
                 else _enter_weak(spec))
    except (IsolationError, OSError) as error:
        print(f"aicenter: job isolation failed: {error}", file=sys.stderr, flush=True)
        return FAILED_EXIT
    read_end, write_end = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(read_end)
        _init(command, env, setup, write_end)
    os.close(write_end)
    for sig in FORWARDED:  # the command gets the group's signal itself; the init forwards
        signal.signal(sig, lambda signum, frame: None)
    _pid, wait_status = os.waitpid(init, 0)
    with os.fdopen(read_end, "rb") as pipe:
        raw = pipe.read()
    try:
        status = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        status = {}
    signum = status.get("signal")
    if signum is None and os.WIFSIGNALED(wait_status):
        signum = os.WTERMSIG(wait_status)  # the init itself was killed (SIGKILL)
    if signum is not None:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    return int(status.get("exit", FAILED_EXIT))


def accelerator_devices() -> list[str]:
    """The host's accelerator device nodes (:data:`ACCELERATOR_DEVICES`) that exist."""
    import glob

    return sorted({path for pattern in ACCELERATOR_DEVICES for path in glob.glob(pattern)})


def contained_spec(*, uid: int, gid: int, root: Path, cwd: Path, writable: list[Path],
                   read_only: list[Path], system: tuple[str, ...] = SYSTEM,
                   egress_slot: int | None = None, egress_subnet: str | None = None
                   ) -> dict[str, Any]:
    """The ``isolation`` of a contained job (see :mod:`aicenter.backends.local.container`): who it
    runs as, where its root is built, what is bound into it and how."""
    return {"identity": {"uid": uid, "gid": gid}, "root": str(root), "cwd": str(cwd),
            "system": list(system), "code": runtime_dirs(), "devices": accelerator_devices(),
            "writable": [str(p) for p in writable], "read_only": [str(p) for p in read_only],
            "fresh": list(SCRATCH), "network": "none" if egress_slot is None else "egress",
            "egress_slot": egress_slot, "egress_subnet": egress_subnet}


def wrapper_command(run_dir: Path) -> list[str]:
    """The argv the runner starts (with an empty environment) in place of the command."""
    return [sys.executable, "-I", "-m", "aicenter.backends.local.isolation", str(run_dir)]


def _try(root: Path, command: list[str], spec: dict[str, Any], timeout_s: float
         ) -> str | None:
    """Run ``command`` through the wrapper with isolation ``spec``; ``None`` if it exits 0,
    else what it said."""
    (root / REQUEST).write_text(json.dumps({
        "command": command, "env": {"PATH": "/usr/bin:/bin"}, "isolation": spec}))
    try:
        done = subprocess.run(wrapper_command(root), env={}, capture_output=True,
                              timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"the isolation probe did not run: {error}"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).decode(errors="replace").strip()
        return said or f"the isolation probe exited with {done.returncode}"
    return None


@functools.cache
def probe(timeout_s: float = 20.0) -> str | None:
    """Check that isolation works on this machine: a job must not see a covered file, nor a
    process outside, and may write its work directory only. Returns ``None`` if it works,
    else the reason (the wrapper's own message). Once per process: a later failure is not
    hidden either, since a job whose wrapper fails does not run."""
    with tempfile.TemporaryDirectory(prefix="aicenter-isolation-probe-") as tmp:
        root = Path(tmp)
        (root / "hidden").mkdir()
        (root / "hidden" / "secret").write_text("x")
        (root / "hidden" / "work").mkdir()
        script = ("test ! -e ../secret && test -d /proc/1 && ! kill -0 "
                  f"{os.getpid()} 2>/dev/null && touch made && ! touch {root}/outside")
        return _try(root, ["/bin/sh", "-c", script],
                    {"hide": [str(root / "hidden")], "keep": [str(root / "hidden/work")],
                     "writable": [str(root / "hidden/work")],
                     "cwd": str(root / "hidden" / "work")}, timeout_s)


_CONTAINED_PROBE = """
test "$(id -u):$(id -g)" = "{uid}:{gid}" || {{ echo "runs as $(id -u):$(id -g)"; exit 1; }}
test "$(hostname)" = aicenter-job || {{ echo "host name $(hostname)"; exit 1; }}
test -d /proc/1 && ! kill -0 {server} 2>/dev/null || {{ echo "sees the server"; exit 1; }}
test ! -e {secret} || {{ echo "sees the center's files"; exit 1; }}
! cat /etc/shadow >/dev/null 2>&1 || {{ echo "reads /etc/shadow"; exit 1; }}
touch made && ! touch /etc/aicenter-probe 2>/dev/null || {{ echo "writes /etc"; exit 1; }}
"""


@functools.cache
def probe_contained(uid: int, gid: int, timeout_s: float = 30.0) -> str | None:
    """Check that this host can contain a job (root server): the probe job runs as ``uid`` and
    ``gid``, in namespaces of its own, sees neither the server's process nor a file outside
    its allow-list, cannot read ``/etc/shadow`` nor write ``/etc``, and writes its work
    directory. ``None`` if so, else the reason. Once per process (per identity)."""
    if os.geteuid() != 0:
        return f"the server runs as uid {os.geteuid()}, not root: it cannot give jobs a uid"
    with tempfile.TemporaryDirectory(prefix="aicenter-contained-probe-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o700)
        (root / "secret").write_text("x")
        work = root / "work"
        work.mkdir(mode=0o700)
        os.chown(work, uid, gid)
        script = _CONTAINED_PROBE.format(uid=uid, gid=gid, server=os.getpid(),
                                         secret=root / "secret")
        spec = contained_spec(uid=uid, gid=gid, root=root / "root", cwd=work,
                              writable=[work], read_only=[])
        return _try(root, ["/bin/sh", "-c", script], spec, timeout_s)


_NETWORK_PROBE = """
import socket, sys
names = [line.split(':')[0].strip() for line in open('/proc/net/dev') if ':' in line]
assert names == ['lo'], f'interfaces {names}, not only lo'
try:
    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5).close()
    sys.exit("the host's 127.0.0.1 is reachable")
except OSError:
    pass
with socket.create_server(('127.0.0.1', 0)) as server:
    socket.create_connection(server.getsockname(), timeout=5).close()
"""


@functools.cache
def probe_network(timeout_s: float = 20.0) -> str | None:
    """Check that a job can be given no network (``network: none``): it sees only ``lo``, up
    (it connects to a server of its own), and cannot connect to a server of ours on
    127.0.0.1. ``None`` if so, else the reason. Once per process, like :func:`probe`."""
    import socket

    with (tempfile.TemporaryDirectory(prefix="aicenter-network-probe-") as tmp,
          socket.create_server(("127.0.0.1", 0)) as outside):
        root = Path(tmp)
        (root / "work").mkdir()
        port = outside.getsockname()[1]
        return _try(root, [sys.executable, "-I", "-c", _NETWORK_PROBE, str(port)],
                    {"hide": [], "keep": [str(root / "work")], "writable": [str(root / "work")],
                     "fresh": list(SCRATCH), "network": "none", "cwd": str(root / "work")},
                    timeout_s)


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: python -I -m aicenter.backends.local.isolation RUN_DIR", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
