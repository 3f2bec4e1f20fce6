"""The job's box on the local backend when the server runs as root: its own unprivileged uid,
a root file system built from an allow-list, and namespaces of its own for everything.

The isolation wrapper (:mod:`aicenter.backends.local.isolation`) calls :func:`run` for a request
whose ``isolation`` names an ``identity``. The wrapper is real root (the server's runner started
it); it is the small privileged launcher, and nothing of the job runs before it has:

1. been started by the runner inside the job's cgroup (:mod:`aicenter.backends.local.cgroups`), so
   every process the job will ever start counts against its memory, CPU and process limits;
2. entered new mount, network, IPC and UTS namespaces (owned by the host's user namespace, so
   nothing the job later does in a user namespace of its own can change them): SysV IPC and
   POSIX message queues are the job's alone, its host name is ``aicenter-job``, and its
   network is its own loopback (``network: none``) or, for a job the operator allows egress,
   one veth to the host whose traffic the host filters (:mod:`aicenter.backends.local.egress`): the
   host itself (API, database, loopback) and other jobs stay unreachable;
3. built the job's root file system on an empty tmpfs from an allow-list, and moved into it
   with ``pivot_root``; the old root is detached, so nothing else is there to find:

   ===================================  ==============================  ===================
   path                                 what                            mode
   ===================================  ==============================  ===================
   ``system`` (``/usr``, ``/etc``...)   the host's system, bound        read-only, nosuid
   ``code``                             the center's Python and code    read-only, nosuid
   ``read_only`` (gateway sockets)      the job's own sidecar sockets   read-only
   ``writable`` (work dir, project)     the job's area                  read-write, nosuid
   ``/tmp``, ``/var/tmp``, ``/dev/shm``  fresh tmpfs of this job          read-write, nosuid
   ``/dev``                             null, zero, full, random,       read-only tmpfs
                                        urandom, tty, accelerators
   ``/proc``, ``/sys``                  this job's PID and network ns   ``/sys`` read-only
   ===================================  ==============================  ===================

   Every bind is recursive and made read-only, nosuid and nodev with ``mount_setattr``
   (``AT_RECURSIVE``, Linux 5.12): a mount below ``/usr`` is read-only too;
4. entered a new PID namespace whose first process (the job's init, pid 1) mounts ``/proc``,
   takes the job's uid and gid (``setresgid``/``setresuid``; supplementary groups cleared),
   enters a user namespace of its own that maps only that uid and gid, drops every
   capability (bounding set, securebits locked, ``no_new_privs``, and its own sets, so not
   even the init holds one in its namespace; not dumpable), creates ``cwd`` as the job and
   changes to it, and
   runs the command as its child, reaping orphans and reporting the command's exit status.

So the job is, on the host, an unprivileged uid that owns nothing but its work directory: the
center's home (0700, files 0600), another job's run directory, ``/etc/shadow`` and the
database are refused by the kernel's permission checks even where a path could be found,
and paths outside the allow-list do not exist in its root. Signals and ``ptrace`` to the
server or another job fail (another uid, another PID namespace). Standard library only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import socket
import stat
from typing import Any

from aicenter.backends.local.isolation_sys import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_REC,
    IsolationError,
    check,
    clear_capabilities,
    drop_privileges,
    libc,
    loopback_up,
    map_identity,
    mount,
    set_dumpable,
    unshare,
)

HOSTNAME = b"aicenter-job"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
"""Device nodes every job gets (bound from the host's ``/dev``)."""
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}

_AT_RECURSIVE = 0x8000
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added in Linux 5.12)
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}
_MNT_DETACH = 2


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def set_mount_attributes(path: str, *, read_only: bool) -> None:
    """Make the mount at ``path`` and every mount below it nosuid, nodev and read-only (or
    read-write) in one step."""
    attr = _MountAttr(_MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV
                      | (_MOUNT_ATTR_RDONLY if read_only else 0),
                      0 if read_only else _MOUNT_ATTR_RDONLY, 0, 0)
    lib = libc()
    result = lib.syscall(ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_int(-100),
                         ctypes.c_char_p(os.fsencode(path)), ctypes.c_uint(_AT_RECURSIVE),
                         ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    check(result, f"mount_setattr {path}")


def _pivot_root(new_root: str) -> None:
    """Make ``new_root`` the root and detach the old one (``pivot_root(".", ".")``)."""
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise IsolationError(f"pivot_root: unknown system call number on {platform.machine()}")
    os.chdir(new_root)
    check(libc().syscall(ctypes.c_long(number), b".", b"."), "pivot_root")
    check(libc().umount2(b".", _MNT_DETACH), "detach the old root")
    os.chdir("/")


def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _make_point(root: str, path: str, source_is_dir: bool) -> str:
    """Create the mount point for ``path`` inside ``root``: its parents as directories (0755,
    so the job can walk to it whatever the host's parents allow) and the point itself."""
    target = _inside(root, path)
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if source_is_dir:
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.lexists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    return target


def _bind(root: str, path: str, *, read_only: bool) -> None:
    """Bind the host's ``path`` (recursively) at the same path inside ``root``; a top-level
    symbolic link (``/bin`` → ``usr/bin``) is copied as a link."""
    if os.path.islink(path) and os.path.dirname(path.rstrip("/")) == "/":
        target = _inside(root, path)
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        return
    if not os.path.exists(path):
        return
    target = _make_point(root, path, os.path.isdir(path))
    mount(path, target, None, MS_BIND | MS_REC)
    set_mount_attributes(target, read_only=read_only)


def _tmpfs(root: str, path: str, mode: str, *, noexec: bool = False) -> None:
    target = _make_point(root, path, True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | (MS_NOEXEC if noexec else 0),
          f"mode={mode}")


def _devices(root: str, extra: list[str]) -> None:
    """A read-only ``/dev`` holding only the safe nodes, the accelerators the job was given
    (``extra``) and the usual links; ``/dev/shm`` is a fresh tmpfs mounted after this."""
    _tmpfs(root, "/dev", "0755", noexec=True)
    for name in DEVICES:
        source = f"/dev/{name}"
        if os.path.exists(source):
            target = _make_point(root, source, False)
            mount(source, target, None, MS_BIND)
    for source in extra:
        if os.path.exists(source):
            target = _make_point(root, source, os.path.isdir(source))
            mount(source, target, None, MS_BIND | MS_REC)
    for name, link in DEVICE_LINKS.items():
        os.symlink(link, _inside(root, f"/dev/{name}"))
    os.makedirs(_inside(root, "/dev/pts"), mode=0o755)


def build_root(spec: dict[str, Any]) -> str:
    """Build the job's root on a tmpfs at ``spec['root']`` (see the module docstring) and
    return its path. Fresh tmpfs first, so binds below ``/tmp`` (a work dir, code checked out
    there) land inside them; then binds, shortest path first."""
    root = str(spec["root"])
    os.makedirs(root, mode=0o700, exist_ok=True)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    _devices(root, [str(p) for p in spec.get("devices", [])])
    for path in spec.get("fresh", []):
        _tmpfs(root, str(path), "1777")
    binds = ([(str(p), True) for p in [*spec.get("system", []), *spec.get("code", []),
                                        *spec.get("read_only", [])]]
             + [(str(p), False) for p in spec.get("writable", [])])
    for path, read_only in sorted(binds, key=lambda b: len(b[0])):
        _bind(root, path, read_only=read_only)
    for path in ("/proc", "/sys"):
        _make_point(root, path, True)
    mount("sysfs", _inside(root, "/sys"), "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    set_mount_attributes(_inside(root, "/sys"), read_only=True)
    set_mount_attributes(_inside(root, "/dev"), read_only=True)
    with contextlib.suppress(IsolationError):  # /dev/shm (fresh) stays writable
        if "/dev/shm" in [str(p) for p in spec.get("fresh", [])]:
            set_mount_attributes(_inside(root, "/dev/shm"), read_only=False)
    return root


def _seal_root(root: str) -> None:
    """The tmpfs under everything read-only (its mount alone: the writable mounts on it
    stay writable)."""
    attr = _MountAttr(_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV, 0, 0, 0)
    result = libc().syscall(ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_int(-100),
                            ctypes.c_char_p(os.fsencode(root)), ctypes.c_uint(0),
                            ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    check(result, "make the job's root read-only")


def enter_box(spec: dict[str, Any], plumb_egress: Any = None) -> None:
    """Steps 2 and 3 of the module docstring, in the calling (root) process: namespaces,
    network, the job's root. ``plumb_egress(slot, host_netns_fd)`` gives an egress job its
    veth; it is called inside the new network namespace."""
    # The server runs with umask 077; the root's directories must be 0755 whatever it is,
    # or the job's uid could not walk down to its own work dir.
    os.umask(0o022)
    host_net = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS,
                "mount, network, ipc, uts")
        socket.sethostname(HOSTNAME.decode())
        loopback_up()
        if spec.get("network") == "egress":
            if plumb_egress is None:
                raise IsolationError("egress was asked but this host cannot give it")
            plumb_egress(int(spec["egress_slot"]), host_net)
    finally:
        os.close(host_net)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = build_root(spec)
    _seal_root(root)
    _pivot_root(root)


def become_job(identity: dict[str, Any]) -> None:
    """Step 4 for the job's init: the job's uid and gid (no supplementary groups), then a
    user namespace of its own mapping only them, then no capability at all."""
    uid, gid = int(identity["uid"]), int(identity["gid"])
    if uid <= 0 or gid <= 0:
        raise IsolationError(f"refusing to run a job as uid {uid} / gid {gid}")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise IsolationError(f"could not become uid {uid}, gid {gid}")
    set_dumpable()
    unshare(CLONE_NEWUSER, "user")
    map_identity(uid, gid)
    drop_privileges()
    clear_capabilities()
    set_dumpable(False)
    os.umask(0o007)  # files in a shared project space stay the organisation's


def new_pid_namespace() -> None:
    unshare(CLONE_NEWPID, "pid")


def is_private_dir(path: str, uid: int) -> bool:
    """True if ``path`` is a real directory of ``uid`` that nobody else may enter."""
    info = os.lstat(path)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o077
