"""How the local backend boxes its jobs: the choice made once when the backend is built
(the contained box, the weak box with the operator's consent, or none) and, per run, the
``isolation`` part of its request that the runner and the wrapper carry out
(:mod:`aicenter.backends.local.isolation`, :mod:`aicenter.backends.local.container`).

A job never looks better boxed than it was: where the box is weaker than asked, the notes
(``isolation_note``, ``network_note``) go into the job's log and exit message.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from aicenter.backends.base import RUN_ID_PATTERN, LaunchRequest
from aicenter.backends.local.config import WORK_DIR
from aicenter.backends.local.isolation import (
    SCRATCH,
    JobIsolation,
    contained_spec,
    probe,
    probe_contained,
    probe_network,
)
from aicenter.backends.local.rundir import read_json, write_json_atomic
from aicenter.domain.errors import AicenterError, InputError

GROUPS = ".groups.json"
"""The organisations' gids (contained box), in the backend's state directory."""
ROOT_DIR = ".root"
"""Inside a contained run's directory: where the wrapper builds the job's root."""

log = logging.getLogger("aicenter.backends.local")


class ContainmentUnavailableError(AicenterError):
    """This host cannot contain jobs (no contained box, or no cgroups to limit them) and the
    operator has not accepted running them otherwise: the center refuses to run jobs (the
    server does not start)."""

class _GroupMap:
    """Organisation → gid from the configured range, assigned on first use and kept in a
    JSON file (written atomically): a project space keeps its group across restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def gid(self, account: str, gid_range: tuple[int, int]) -> int:
        groups = {str(k): int(v) for k, v in (read_json(self.path) or {}).items()}
        if account in groups:
            return groups[account]
        first, last = gid_range
        used = set(groups.values())
        free = next((g for g in range(first, last + 1) if g not in used), None)
        if free is None:
            raise InputError(f"no free gid left in {first}-{last} for organisation {account}",
                             field="account")
        groups[account] = free
        write_json_atomic(self.path, groups, durable=True)
        return free
_WITH_NETWORK = ("this job reads licensed data and should have had no network, but it ran "
                 "WITH the host's network: its records could leave the center")


def _is_under(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _center_code() -> tuple[Path, ...]:
    """The Python installation and the aicenter package the server and its sidecars run."""
    import aicenter

    package = Path(aicenter.__file__).resolve().parent
    return tuple({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), package})

class JobBox:
    """The box the local backend's jobs get on this host, decided once (see
    :meth:`_choose`): ``contained`` (each job its own uid, root and namespaces), else
    ``isolated`` (the weak box: namespaces with the center's files covered, the server's
    uid), else plain processes; the notes say what a job lacked."""

    def __init__(self, isolation: JobIsolation | None, state_dir: Path) -> None:
        self.isolation = isolation
        self.isolated = False
        self.contained = False
        self.isolation_note: str | None = None
        self.network_note: str | None = None
        """Said by a ``no_network`` job that got the host's network after all."""
        self._groups = _GroupMap(state_dir / GROUPS)
        if isolation is not None:
            self._choose(isolation)
        if not self.isolated:
            said = self.isolation_note or "this backend runs jobs without isolation"
            self.network_note = f"{said}; {_WITH_NETWORK}"

    def _choose(self, isolation: JobIsolation) -> None:
        """The contained box where this host can give it; else the weak box or none, only
        with the operator's consent (``allow_weak``), and every job's log says so; else
        :class:`ContainmentUnavailableError`: the center refuses to run jobs."""
        reason = "job isolation is off (job_isolation = none)"
        if isolation.mode == "namespace" and isolation.uid_range is not None:
            first = isolation.uid_range[0]
            gid = isolation.gid_range[0] if isolation.gid_range else first
            found = probe_contained(first, gid)
            if found is None:
                self.isolated = self.contained = True
                return
            reason = f"jobs cannot be contained on this host: {found}"
        elif isolation.mode == "namespace":
            reason = "no uid range for jobs is configured: jobs would run as the server's uid"
        if not isolation.allow_weak:
            raise ContainmentUnavailableError(
                f"{reason}. The center refuses to run jobs that are not contained; run the "
                "server as root with user namespaces (see `aicenter doctor`), or set "
                "AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION=true to run them anyway")
        log.warning("UNSAFE: %s; jobs run without the contained box", reason)
        if isolation.mode == "namespace":
            weak = probe()
            self.isolated = weak is None
            if weak is not None:
                self.isolation_note = (
                    f"job isolation 'namespace' is unavailable on this machine ({weak}); "
                    "this job ran WITHOUT isolation and could read the center's files")
                log.warning("%s", self.isolation_note)
                return
            self.isolation_note = (f"UNSAFE: {reason}; this job ran in the weak box, as the "
                                   "server's own uid")
            network = probe_network()
            if network is not None:
                self.network_note = (f"network isolation is unavailable on this machine "
                                     f"({network}); {_WITH_NETWORK}")
                log.warning("%s", self.network_note)
        else:
            self.isolation_note = ("job isolation is off (job_isolation = none): this job ran "
                                   "WITHOUT isolation and could read the center's files")
            log.warning("%s", self.isolation_note)

    def contain(self, request: LaunchRequest, run_dir: Path, slot: int) -> dict[str, Any]:
        """The ``isolation`` of a contained run: its uid and gid, its area (work dir owned by
        its uid; the organisation's project space where the request works there), its
        sidecar's socket directory, its network."""
        assert self.isolation is not None and self.isolation.uid_range is not None
        uid = self.isolation.uid_range[0] + slot
        gid = uid
        if request.account is not None and self.isolation.gid_range is not None:
            gid = self._groups.gid(_account(request.account), self.isolation.gid_range)
        work = run_dir / WORK_DIR
        work.mkdir(mode=0o700)
        os.chown(work, uid, gid)
        writable, cwd = [work], work
        if request.working_dir is not None:  # the job creates it, inside its box
            cwd, project = self._working_dir(request, work, gid)
            if project is not None:
                writable.append(project)
        read_only = []
        if request.sidecar_dir is not None:
            sockets = Path(request.sidecar_dir)
            sockets.mkdir(mode=0o750, parents=True, exist_ok=True)
            os.chown(sockets, 0, gid)
            os.chmod(sockets, 0o750)
            read_only.append(sockets)
        egress = slot if request.egress and not request.no_network else None
        spec = contained_spec(uid=uid, gid=gid, root=run_dir / ROOT_DIR, cwd=cwd,
                              writable=writable, read_only=read_only,
                              system=self.isolation.system, egress_slot=egress,
                              egress_subnet=self.isolation.egress_subnet)
        return {"isolation": spec, "isolation_note": None}

    def _working_dir(self, request: LaunchRequest, work: Path, gid: int
                     ) -> tuple[Path, Path | None]:
        """Where a contained job works: a relative ``working_dir`` inside its work dir; an
        absolute one only inside its organisation's project space (returned second)."""
        assert self.isolation is not None and request.working_dir is not None
        wanted = Path(request.working_dir)
        if not wanted.is_absolute():
            if ".." in wanted.parts:
                raise InputError(f"working directory {wanted} leaves the job's work directory",
                                 field="working_dir")
            return work / wanted, None
        if request.no_network:
            raise InputError(f"working directory {wanted}: a job that reads licensed data "
                             "works only in its own work directory, whose outputs are "
                             "checked (a project space would outlive the check)",
                             field="working_dir")
        root = self.isolation.project_root
        if root is None or request.account is None:
            raise InputError(f"working directory {wanted} is outside the job's work directory "
                             "and this center has no project spaces", field="working_dir")
        project = root.resolve() / _account(request.account)
        resolved = Path(os.path.normpath(wanted))
        if resolved != project and project not in resolved.parents:
            raise InputError(f"working directory {wanted} is outside the organisation's "
                             f"project space {project}", field="working_dir")
        if not project.exists():
            project.mkdir(parents=True, mode=0o770)
            os.chown(project, 0, gid)
            os.chmod(project, 0o2770)
        return resolved, project

    @staticmethod
    def identity_env(isolation: dict[str, Any]) -> dict[str, str]:
        uid = isolation["identity"]["uid"]
        return {"HOME": isolation["cwd"], "USER": f"job{uid}", "LOGNAME": f"job{uid}",
                "TMPDIR": "/tmp"}

    def isolation_of(self, request: LaunchRequest, run_dir: Path) -> dict[str, Any]:
        """The request's ``isolation`` (covered paths, kept work dir, cwd, network) or its
        note (also for a ``no_network`` job that will have the network after all)."""
        if not self.isolated or self.isolation is None:
            note = self.network_note if request.no_network else self.isolation_note
            return {"isolation": None, "isolation_note": note}
        hide = tuple(p.resolve() for p in self.isolation.hide)
        if request.working_dir is not None:
            cwd = Path(request.working_dir).resolve()
            if _is_under(cwd, hide):
                raise InputError(f"working directory {cwd} is inside the center's private "
                                 "files, which jobs cannot see", field="working_dir")
            code = _center_code()
            if any(_is_under(cwd, (c,)) or _is_under(c, (cwd,)) for c in code):
                raise InputError(f"working directory {cwd} holds the center's own code, which "
                                 "jobs may not write", field="working_dir")
        else:
            cwd = run_dir / WORK_DIR
            cwd.mkdir(mode=0o700)
        spec: dict[str, Any] = {"hide": [str(p) for p in hide], "keep": [str(cwd)],
                                "writable": [str(cwd), *SCRATCH],
                                "read_only": [str(p) for p in self.isolation.read_only],
                                "cwd": str(cwd), "network": "host"}
        if request.no_network and self.network_note is None:
            spec["hide"] += [str(p.resolve()) for p in self.isolation.no_network_hide]
            spec.update(network="none", fresh=list(SCRATCH))
        # the weak box (no uid of its own) says so in every job's log, as the setting promises
        notes = [None if self.contained else self.isolation_note,
                 self.network_note if request.no_network else None]
        return {"isolation": spec, "isolation_note": "; ".join(n for n in notes if n) or None}


def _account(account: str) -> str:
    if not RUN_ID_PATTERN.match(account):  # the same rule: a name usable as a directory
        raise InputError(f"account {account!r} is not a usable directory name", field="account")
    return account
