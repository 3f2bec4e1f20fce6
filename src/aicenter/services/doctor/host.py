"""Host checks of ``aicenter doctor``: privileges, namespaces, the contained box, cgroups, uid
and gid ranges, the network policy, HOME's modes, the scheduler's names and unsafe settings."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from aicenter.backends import default_registry
from aicenter.backends.local import egress
from aicenter.backends.local.cgroups import detect
from aicenter.backends.local.isolation import probe_contained
from aicenter.scheduler import policy_names
from aicenter.services.doctor.check import (
    ALLOW_TRUST_ENV,
    ALLOW_UNLIMITED_ENV,
    ALLOW_WEAK_ENV,
    MIN_JOB_UIDS,
    SHOWN,
    Check,
    loose_mode,
)
from aicenter.settings import Settings

HOME_WALK_LIMIT = 200_000
"""Entries of HOME looked at for loose modes at most (a dataset store can be large)."""


# -- privileges and namespaces ---------------------------------------------------------------


def check_root(settings: Settings) -> Check:
    """Only a root server can give each job a uid of its own (the contained box)."""
    euid = os.geteuid()
    if euid == 0:
        return Check("running as root", "ok", "euid 0: jobs can be given uids of their own")
    detail = f"euid {euid}: the server cannot give jobs a uid of their own"
    fix = "run `aicenter serve` as root (jobs still run as unprivileged uids)"
    if settings.unsafe_allow_weak_isolation:
        return Check("running as root", "warn",
                     f"{detail}; {ALLOW_WEAK_ENV} is set, so jobs run as the server's uid", fix)
    return Check("running as root", "fail",
                 f"{detail}; the server refuses to run jobs", fix)


_NAMESPACES = {"user": 0x10000000, "mount": 0x00020000, "PID": 0x20000000,
               "IPC": 0x08000000, "UTS": 0x04000000, "network": 0x40000000}

_UNSHARE_PROBE = """
import ctypes, json, os, sys
flags = json.loads(sys.argv[1])
user = flags['user']
libc = ctypes.CDLL(None, use_errno=True)
found = {}
for name, flag in flags.items():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        extra = 0 if os.geteuid() == 0 or name == 'user' else user
        rc = libc.unshare(ctypes.c_int(flag | extra))
        os.write(write, str(0 if rc == 0 else ctypes.get_errno()).encode())
        os._exit(0)
    os.close(write)
    said = os.read(read, 32)
    os.close(read)
    os.waitpid(pid, 0)
    errno = int(said) if said else -1
    found[name] = None if errno == 0 else (os.strerror(errno) if errno > 0 else 'probe died')
print(json.dumps(found))
"""


def _unshare_results() -> dict[str, str | None]:
    """Each namespace type unshared for real, in a child of a fresh process (``unshare`` in
    this one would change it for good, and fails in a threaded process anyway): ``None`` if
    it worked, else the kernel's error. An unprivileged process tries inside a user
    namespace, as the weak box does."""
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _UNSHARE_PROBE,
                               json.dumps(_NAMESPACES)], capture_output=True, timeout=30,
                              check=False, env={})
        found: dict[str, str | None] = json.loads(done.stdout)
        return found
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        return {name: f"the namespace probe did not run: {error}" for name in _NAMESPACES}


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def check_namespaces() -> list[Check]:
    """User namespaces (the sysctl and a real ``unshare``), then each namespace a contained
    job gets: without any of them the box has a hole (mount: the root file system; PID: other
    processes; IPC: shared memory; UTS: host name; network: the host's network)."""
    results = _unshare_results()
    checks = []
    limit = _read_int("/proc/sys/user/max_user_namespaces")
    error = results.get("user")
    name = "user namespaces"
    if limit == 0:
        checks.append(Check(name, "fail", "user.max_user_namespaces is 0",
                            "sysctl -w user.max_user_namespaces=65536 (and set it in "
                            "/etc/sysctl.d/ to keep it)"))
    elif error is not None:
        extra = ""
        if _read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1:
            extra = " (kernel.apparmor_restrict_unprivileged_userns = 1)"
        elif _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0:
            extra = " (kernel.unprivileged_userns_clone = 0)"
        checks.append(Check(name, "fail", f"unshare(CLONE_NEWUSER) failed: {error}{extra}",
                            "enable user namespaces in the kernel (CONFIG_USER_NS), the "
                            "sysctls named, or the container runtime's seccomp/AppArmor "
                            "profile that blocks unshare"))
    else:
        checks.append(Check(name, "ok", f"unshare works; max_user_namespaces = {limit}"))
    for kind in ("mount", "PID", "IPC", "UTS", "network"):
        error = results.get(kind, "not probed")
        if error is None:
            checks.append(Check(f"{kind} namespace", "ok", "unshare works"))
        else:
            checks.append(Check(f"{kind} namespace", "fail",
                                f"unshare of a {kind} namespace failed: {error}",
                                f"enable {kind} namespaces in the kernel, or run the server "
                                "outside the container/sandbox that forbids them"))
    return checks


def check_contained_box(settings: Settings) -> Check:
    """The probe job of :func:`aicenter.backends.local.isolation.probe_contained`, as the server
    runs it at start with the first uid and gid of the ranges: the one decisive check."""
    name = "contained box"
    weak = settings.unsafe_allow_weak_isolation
    registry = default_registry()
    if settings.backend not in registry.names() or \
            not registry.capabilities(settings.backend).contains_jobs:
        boxed = [e.name for e in registry.entries() if e.capabilities.contains_jobs]
        return Check(name, "warn", f"backend {settings.backend!r} runs jobs without the "
                     f"contained box (only {', '.join(boxed)} has it)",
                     f"AICENTER_BACKEND={boxed[0]} for jobs of tenants")
    if settings.job_isolation != "namespace":
        return Check(name, "warn" if weak else "fail",
                     "job_isolation = none: jobs run as plain processes of the server"
                     + ("" if weak else "; the server refuses to run jobs"),
                     "AICENTER_JOB_ISOLATION=namespace")
    try:
        uid, gid = settings.job_uids[0], settings.org_gids[0]
    except ValueError as error:
        return Check(name, "fail", f"not tried: {error}", "fix the uid and gid ranges below")
    found = probe_contained(uid, gid)
    if found is None:
        return Check(name, "ok", f"a probe job ran as {uid}:{gid} in its own namespaces and "
                     "root, saw neither the server nor HOME, could not read /etc/shadow")
    return Check(name, "warn" if weak else "fail",
                 f"jobs cannot be contained: {found}"
                 + (f"; {ALLOW_WEAK_ENV} is set: jobs run in the weak box" if weak
                    else "; the server refuses to run jobs"),
                 "run the server as root with user, mount, PID, IPC, UTS and network "
                 "namespaces (see the checks above)")


# -- cgroups ---------------------------------------------------------------------------------


def check_cgroups(settings: Settings) -> Check:
    """Without memory and pids controllers a job can take the node down (a memory hog, a fork
    bomb), and the server refuses to run jobs unless the operator consented; without cpu it
    can starve its neighbours."""
    support = detect()
    fix = ("give the server a writable cgroup with the memory, pids and cpu controllers "
           "(systemd: Delegate=yes in its unit; a container: --cgroupns=private with a "
           "writable /sys/fs/cgroup)")
    if not support.usable:
        if settings.unsafe_allow_unlimited_jobs:
            return Check("cgroups", "warn", f"no job limits: {support.reason}; "
                         f"{ALLOW_UNLIMITED_ENV} is set, so jobs run without limits", fix)
        return Check("cgroups", "fail", f"no job limits: {support.reason}; the server "
                     "refuses to run jobs", fix)
    controllers = ", ".join(sorted(support.controllers))
    missing = [c for c in ("memory", "pids") if c not in support.controllers]
    if missing:
        return Check("cgroups", "fail", f"{support.version} without {', '.join(missing)}", fix)
    if "cpu" not in support.controllers:
        return Check("cgroups", "warn", f"{support.version} ({controllers}): no cpu "
                     "controller, CPU limits are not enforced", fix)
    return Check("cgroups", "ok", f"{support.version}: {controllers}")


# -- uid and gid ranges ----------------------------------------------------------------------


def _parse_range(text: str) -> tuple[int, int] | str:
    try:
        first, last = (int(part) for part in text.split("-"))
    except ValueError:
        return f"{text!r} is not FIRST-LAST"
    if first > last:
        return f"{text!r}: FIRST is above LAST"
    if last >= 2**32 - 1:
        return f"{text!r}: ids end at 4294967294"
    return first, last


def _overlaps(first: int, last: int, ids: Iterable[tuple[str, int]]) -> list[str]:
    return [f"{name} ({number})" for name, number in ids if first <= number <= last]


def _sub_ranges(path: str) -> list[tuple[str, int, int]]:
    """``/etc/subuid``-style delegations: (owner, first, last)."""
    found = []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            first = int(parts[1])
            found.append((parts[0], first, first + int(parts[2]) - 1))
    return found


def _range_check(name: str, setting: str, env: str, text: str,
                 users: Callable[[], Iterable[tuple[str, int]]], file: str, sub_file: str,
                 minimum: int) -> tuple[Check, tuple[int, int] | None]:
    parsed = _parse_range(text)
    fix = f"{env}=FIRST-LAST, a block no user, group or subordinate range of the host has"
    if isinstance(parsed, str):
        return Check(name, "fail", f"{setting} {parsed}", fix), None
    first, last = parsed
    problems = []
    if first < 1000:
        problems.append("starts below 1000 (the system's ids: root is 0)")
    taken = _overlaps(first, last, users())
    if taken:
        shown = ", ".join(taken[:SHOWN]) + (" ..." if len(taken) > SHOWN else "")
        problems.append(f"holds ids of {file}: {shown}; a job would own their files")
    if problems:
        return Check(name, "fail", f"{setting} {text}: " + "; ".join(problems), fix), parsed
    delegated = [owner for owner, lo, hi in _sub_ranges(sub_file) if lo <= last and first <= hi]
    size = last - first + 1
    if delegated:
        return Check(name, "warn", f"{setting} {text} ({size} ids) overlaps {sub_file} ranges "
                     f"of {', '.join(delegated[:SHOWN])} (their rootless containers map "
                     "these ids)", fix), parsed
    if size < minimum:
        return Check(name, "warn", f"{setting} {text}: only {size} ids", fix), parsed
    return Check(name, "ok", f"{setting} {text}: {size} ids, none in {file}"), parsed


def check_id_ranges(settings: Settings) -> list[Check]:
    """Job uids and organisation gids: each job's files on the host are owned by them, so no
    existing user or group may have one, and a job's uid must not be an organisation's gid
    (where a job has no organisation gid, its gid is its uid)."""
    uids, uid_range = _range_check(
        "job uid range", "job_uid_range", "AICENTER_JOB_UID_RANGE", settings.job_uid_range,
        lambda: ((p.pw_name, p.pw_uid) for p in pwd.getpwall()), "/etc/passwd",
        "/etc/subuid", MIN_JOB_UIDS)
    gids, gid_range = _range_check(
        "organisation gid range", "org_gid_range", "AICENTER_ORG_GID_RANGE",
        settings.org_gid_range, lambda: ((g.gr_name, g.gr_gid) for g in grp.getgrall()),
        "/etc/group", "/etc/subgid", 1)
    checks = [uids, gids]
    if uid_range and gid_range and uid_range[0] <= gid_range[1] \
            and gid_range[0] <= uid_range[1]:
        checks.append(Check("uid and gid ranges apart", "fail",
                            f"job_uid_range {settings.job_uid_range} overlaps org_gid_range "
                            f"{settings.org_gid_range}: a job's own group could be an "
                            "organisation's", "give AICENTER_ORG_GID_RANGE a block outside "
                            "AICENTER_JOB_UID_RANGE"))
    elif uid_range and gid_range:
        checks.append(Check("uid and gid ranges apart", "ok", "no id is in both ranges"))
    return checks


# -- network policy --------------------------------------------------------------------------


def check_network(settings: Settings) -> Check:
    """``job_egress``: with ``none`` a contained job has only its own loopback (the network
    namespace check above); otherwise the host rules must be in place, or no job gets egress
    and jobs that need it fail."""
    name = "network policy"
    if settings.job_egress == "none":
        return Check(name, "ok", "job_egress = none: every job has only its own loopback")
    fix = ("install nftables (apt-get install nftables) and start the server as root: it "
           "installs table inet aicenter and sets net.ipv4.ip_forward=1; or "
           "AICENTER_JOB_EGRESS=none")
    who = ("every job" if settings.job_egress == "all" else
           f"organisations {settings.job_egress_orgs} and classes "
           f"{settings.job_egress_priority_classes}")
    if egress._nft() is None:
        return Check(name, "fail", f"job_egress = {settings.job_egress} ({who}) but the nft "
                     "command is missing: no job can get egress", fix)
    try:
        deny = egress.control_plane_cidrs(settings.database_url, settings.job_egress_deny)
        egress.ruleset(deny)
    except egress.EgressError as error:
        return Check(name, "fail", f"the deny list cannot be built: {error}",
                     "fix AICENTER_JOB_EGRESS_DENY or the database host name")
    problem = egress.probe()
    if problem is not None:
        return Check(name, "warn", f"job_egress = {settings.job_egress} ({who}): {problem} "
                     "(the server installs the rules when it starts)", fix)
    return Check(name, "ok", f"job_egress = {settings.job_egress} ({who}); host rules in "
                 f"place, denied besides the host: {', '.join(deny) or 'nothing else'}")


# -- HOME ------------------------------------------------------------------------------------


def check_home(settings: Settings) -> list[Check]:
    """HOME holds the database, keys, tokens, datasets and runs: 0700 and the server's own
    (the server re-modes it at start); a file in it that group or other may read or write is
    one wrong ``chmod`` of HOME away from every job."""
    home = settings.home
    fix_home = f"chmod 700 {home} (the server does so at start)"
    if not home.exists():
        return [Check("HOME mode", "ok", f"{home} does not exist yet: created 0700 at first "
                      "start")]
    info = home.stat()
    checks = []
    if loose_mode(info.st_mode):
        checks.append(Check("HOME mode", "fail", f"{home} is {stat.filemode(info.st_mode)}: "
                            "other uids (jobs) can look inside", fix_home))
    elif info.st_uid != os.geteuid():
        checks.append(Check("HOME mode", "warn", f"{home} is owned by uid {info.st_uid}, not "
                            f"this process's {os.geteuid()}",
                            f"chown -R {os.geteuid()} {home}"))
    else:
        checks.append(Check("HOME mode", "ok", f"{home} is {stat.filemode(info.st_mode)}"))
    loose, seen, cut = [], 0, False
    for root, dirs, files in os.walk(home):
        for entry in (*dirs, *files):
            seen += 1
            path = os.path.join(root, entry)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if not stat.S_ISLNK(mode) and loose_mode(mode):
                loose.append(f"{path} ({stat.filemode(mode)})")
        if seen >= HOME_WALK_LIMIT:
            cut = True
            break
    if loose:
        shown = ", ".join(loose[:SHOWN]) + (f" and {len(loose) - SHOWN} more"
                                            if len(loose) > SHOWN else "")
        checks.append(Check("files under HOME", "fail" if loose_mode(info.st_mode) else "warn",
                            f"{len(loose)} readable or writable by group/other: {shown}",
                            f"chmod -R go-rwx {home}"))
    else:
        checks.append(Check("files under HOME", "ok",
                            f"{seen} entries, none open to group/other"
                            + (f" (stopped after {HOME_WALK_LIMIT})" if cut else "")))
    return checks


# -- scheduler -------------------------------------------------------------------------------


def check_scheduler(settings: Settings) -> Check:
    """The policy and backend the server would use: an unknown name stops the loop."""
    name = "scheduler"
    policies, backends = policy_names(), default_registry().names()
    if settings.scheduler_policy not in policies:
        return Check(name, "fail", f"unknown policy {settings.scheduler_policy!r}",
                     f"AICENTER_SCHEDULER_POLICY=one of {', '.join(policies)}")
    if settings.backend not in backends:
        return Check(name, "fail", f"unknown backend {settings.backend!r}",
                     f"AICENTER_BACKEND=one of {', '.join(backends)}")
    detail = (f"policy {settings.scheduler_policy}, backend {settings.backend}, a round every "
              f"{settings.scheduler_interval_s:g} s, chase-team share {settings.chase_share:g}")
    caps = default_registry().capabilities(settings.backend)
    lacks = [what for what, has in (("isolation", caps.contains_jobs),
                                    ("cgroups", caps.enforces_limits)) if not has]
    if caps.runs_code and lacks:
        return Check(name, "warn", f"{detail}: {settings.backend} jobs run without "
                     f"{' or '.join(lacks)}", "AICENTER_BACKEND=local for tenants' jobs")
    return Check(name, "ok", detail)


def check_unsafe_settings(settings: Settings) -> Check:
    """The loudly named settings an operator may have left on."""
    on = [env for env, value in ((ALLOW_WEAK_ENV, settings.unsafe_allow_weak_isolation),
                                 (ALLOW_UNLIMITED_ENV, settings.unsafe_allow_unlimited_jobs),
                                 (ALLOW_TRUST_ENV, settings.unsafe_allow_trust_database))
          if value]
    if on:
        return Check("unsafe settings", "warn", f"set: {', '.join(on)}",
                     "unset them for a center with tenants")
    return Check("unsafe settings", "ok", "none set")
