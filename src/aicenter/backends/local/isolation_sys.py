"""The Linux calls job isolation is made of: ``unshare``, ``mount``, ``prctl``, the uid maps,
the loopback interface. Shared by the unprivileged wrapper
(:mod:`aicenter.backends.local.isolation`) and the root one
(:mod:`aicenter.backends.local.container`). Standard library only."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_SET_NO_NEW_PRIVS = 4, 24, 28, 38
# NOROOT, NO_SETUID_FIXUP, KEEP_CAPS and NO_CAP_AMBIENT_RAISE, each with its lock bit
_SECUREBITS = 0b1111_1111 & ~(1 << 4)
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


class IsolationError(Exception):
    """A namespace, mount or privilege step failed; the job must not run."""


def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise IsolationError(f"{what}: {os.strerror(errno)} (errno {errno})")


def unshare(flags: int, what: str) -> None:
    check(libc().unshare(ctypes.c_int(flags)), f"unshare({what})")


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    lib = libc()
    lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                          ctypes.c_char_p]

    def enc(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    check(lib.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
          f"mount {fstype or source or ''} on {target}")


def _prctl(option: int, arg: int, what: str) -> None:
    lib = libc()
    lib.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                          ctypes.c_ulong]
    check(lib.prctl(option, arg, 0, 0, 0), what)


def set_dumpable(dumpable: bool = True) -> None:
    """After a change of uid the kernel makes a process non-dumpable, which hands its
    ``/proc/self`` files to root: the job could not write its own uid map, so it is made
    dumpable for that, and not dumpable again once the maps are written (nothing of the
    job's may then open the init's ``/proc`` files)."""
    _prctl(_PR_SET_DUMPABLE, int(dumpable), "set dumpable")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def clear_capabilities() -> None:
    """Empty the effective, permitted and inheritable sets (``capset``, version 3): the
    capabilities a process holds in a user namespace of its own are gone too."""
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    check(libc().capset(ctypes.byref(header), ctypes.byref(data)), "clear capabilities")


def map_identity(uid: int, gid: int) -> None:
    """Map our own uid and gid into the user namespace just entered (and nothing else)."""
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1\n")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1\n")


def loopback_up() -> None:
    """Bring ``lo`` of the current network namespace up (``SIOCSIFFLAGS``; needs
    CAP_NET_ADMIN over it)."""
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


def drop_privileges() -> None:
    """No capability survives the exec of the command, whatever its uid; nothing regains one."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        _prctl(_PR_CAPBSET_DROP, cap, f"drop capability {cap}")
    _prctl(_PR_SET_SECUREBITS, _SECUREBITS, "set securebits")
    _prctl(_PR_SET_NO_NEW_PRIVS, 1, "set no_new_privs")
