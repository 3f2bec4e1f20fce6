"""Job isolation for the local backend: the job runs in namespaces of its own, in which the
center's files (dataset store, meter logs, keys, database, other runs) are not there.

``python -I -m aicenter.backends.isolation RUN_DIR`` is what the runner starts in place of
the command when the request carries ``isolation`` (``hide``, ``keep``, ``cwd``, and
``network``: ``host`` or ``none``). It reads ``request.json`` and then:

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
import ctypes
import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal

REQUEST = "request.json"
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
"""Writable for every isolated job, besides its work directory."""
FAILED_EXIT = 126
NOT_FOUND_EXIT = 127
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21
_ST_RELATIME = 4096  # statvfs' bit for relatime (not the same as mount(2)'s)
_PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_SET_NO_NEW_PRIVS = 24, 28, 38
# NOROOT, NO_SETUID_FIXUP, KEEP_CAPS and NO_CAP_AMBIENT_RAISE, each with its lock bit
_SECUREBITS = 0b1111_1111 & ~(1 << 4)
_COVER_FLAGS = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


@dataclass(frozen=True, slots=True)
class JobIsolation:
    """How the local backend keeps jobs from the center's files: mode ``namespace`` covers
    the ``hide`` paths and leaves only the job's work directory and the temporary directories
    writable; ``none`` runs jobs as plain processes (and says so in their logs)."""

    mode: Literal["namespace", "none"]
    hide: tuple[Path, ...] = ()
    read_only: tuple[Path, ...] = ()
    """Directories kept read-only even inside the writable ones (the gateway's sockets)."""
    no_network_hide: tuple[Path, ...] = (Path("/run"),)
    """Also covered for a job without network: where services keep path-named Unix sockets
    (``/run/postgresql``), which a network namespace does not cut."""


class IsolationError(Exception):
    """A namespace, mount or privilege step failed; the job must not run."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise IsolationError(f"{what}: {os.strerror(errno)} (errno {errno})")


def _unshare(flags: int, what: str) -> None:
    _check(_libc().unshare(ctypes.c_int(flags)), f"unshare({what})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                           ctypes.c_char_p]

    def enc(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
           f"mount {fstype or source or ''} on {target}")


def _prctl(option: int, arg: int, what: str) -> None:
    libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    _check(libc.prctl(option, arg, 0, 0, 0), what)


def _map_identity(uid: int, gid: int) -> None:
    """Map our own uid and gid into the user namespace just entered (and nothing else)."""
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1\n")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1\n")


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _flags(path: str) -> int:
    """The mount flags of ``path``'s mount, as ``mount(2)`` wants them on a remount (a locked
    flag left out would make the remount fail in a user namespace)."""
    f_flag = os.statvfs(path).f_flag
    flags = f_flag & (_MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC | _MS_NOATIME
                      | _MS_NODIRATIME)
    return flags | (_MS_RELATIME if f_flag & _ST_RELATIME else 0)


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
    _mount(path, path, None, _MS_BIND | _MS_REC)
    flags = _flags(path) & ~_MS_RDONLY
    _mount(None, path, None, _MS_REMOUNT | _MS_BIND | flags | (_MS_RDONLY if read_only else 0))


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
        if not flags & _MS_RDONLY:
            _mount(None, point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags)
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


def loopback_up() -> None:
    """Bring ``lo`` of the current network namespace up (``SIOCSIFFLAGS``; needs
    CAP_NET_ADMIN over it, which the owner of a fresh user namespace has)."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            request = struct.pack("16sh14x", b"lo", 0)
            (flags,) = struct.unpack_from("h", fcntl.ioctl(sock, _SIOCGIFFLAGS, request), 16)
            fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | _IFF_UP))
        except OSError as error:
            raise IsolationError(f"bring up the loopback interface: {error}") from error


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
    was_read_only = {p for p in writable if os.path.isdir(p) and _flags(p) & _MS_RDONLY}
    if network == "none":
        _unshare(_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWNET, "user, mount, network")
        _map_identity(uid, gid)
        loopback_up()
    else:
        _unshare(_CLONE_NEWUSER | _CLONE_NEWNS, "user, mount")
        _map_identity(uid, gid)
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    fresh = [p for p in fresh if os.path.isdir(p) and not os.path.islink(p)]
    kept = {k: os.open(k, os.O_PATH | os.O_DIRECTORY)
            for k in sorted({*keep, *read_only}, key=len)
            if _under(k, hide + fresh) and os.path.isdir(k)}
    for path in sorted(fresh, key=len):
        _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777")
    covered: list[str] = []
    for path in sorted(hide, key=len):
        if os.path.isdir(path) and not os.path.islink(path):
            _mount("tmpfs", path, "tmpfs", _COVER_FLAGS, "mode=0755,size=64k")
            covered.append(path)
        elif os.path.lexists(path):
            _mount("/dev/null", path, None, _MS_BIND)
    for path, fd in kept.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
        os.close(fd)
    for path in covered:
        _mount(None, path, None, _MS_REMOUNT | _MS_RDONLY | _COVER_FLAGS)
    freeze(hide, writable, read_only, was_read_only)


def lock_in() -> None:
    """Step 2: a less privileged user namespace, in which the covers are locked, and a PID
    namespace whose first child becomes its init."""
    uid, gid = os.getuid(), os.getgid()
    _unshare(_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID, "user, mount, pid")
    _map_identity(uid, gid)


def drop_privileges() -> None:
    """No capability survives the exec of the command, whatever its uid; nothing regains one."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        _prctl(_PR_CAPBSET_DROP, cap, f"drop capability {cap}")
    _prctl(_PR_SET_SECUREBITS, _SECUREBITS, "set securebits")
    _prctl(_PR_SET_NO_NEW_PRIVS, 1, "set no_new_privs")


def _exec_command(command: list[str], env: dict[str, str]) -> None:
    for sig in (*FORWARDED, signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)  # Python ignores SIGPIPE/SIGXFSZ; the job must not
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        print(f"aicenter: could not start {command[0]!r}: {error}", file=sys.stderr, flush=True)
    os._exit(NOT_FOUND_EXIT)


def _init(command: list[str], env: dict[str, str], cwd: str, report: int) -> None:
    """Pid 1 of the job's PID namespace: set up, start the command, wait, report, exit."""
    status: dict[str, int] = {"exit": FAILED_EXIT}
    try:
        try:
            _mount("proc", "/proc", "proc", _COVER_FLAGS)
            os.chdir(cwd)
            drop_privileges()
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


def run(run_dir: Path) -> int:
    """The wrapper (see the module docstring); returns the exit code to mirror."""
    request: dict[str, Any] = json.loads((run_dir / REQUEST).read_text(encoding="utf-8"))
    spec = request["isolation"]
    command, env = list(request["command"]), dict(request["env"])
    try:
        cover([str(p) for p in spec["hide"]], [str(p) for p in spec.get("keep", [])],
              [str(p) for p in spec.get("writable", [])],
              [str(p) for p in spec.get("read_only", [])],
              network=str(spec.get("network", "host")),
              fresh=[str(p) for p in spec.get("fresh", [])])
        lock_in()
    except (IsolationError, OSError) as error:
        print(f"aicenter: job isolation failed: {error}", file=sys.stderr, flush=True)
        return FAILED_EXIT
    read_end, write_end = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(read_end)
        _init(command, env, str(spec["cwd"]), write_end)
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


def wrapper_command(run_dir: Path) -> list[str]:
    """The argv the runner starts (with an empty environment) in place of the command."""
    return [sys.executable, "-I", "-m", "aicenter.backends.isolation", str(run_dir)]


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
        print("usage: python -I -m aicenter.backends.isolation RUN_DIR", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
