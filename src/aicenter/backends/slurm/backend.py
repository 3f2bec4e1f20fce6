"""The ``slurm`` backend: each run is one Slurm batch job, submitted with ``sbatch``.

Why ``sbatch`` first (not slurmrestd): every Slurm site has the command-line tools on its
login and controller nodes, they need no extra daemon, no JWT key set-up and no version-pinned
OpenAPI plugin (slurmrestd's data parsers change with every release: v0.0.38 in 22.05, v0.0.40
in 23.11); the tools' parsable outputs (``--parsable``, ``sacct -P``, ``scontrol -o``) are
stable across 22.05-24.x. A REST client can sit behind the same functions later.

State lives in Slurm and in a run directory per run under ``root`` (which must be on a file
system the compute nodes share, as Slurm's output files are)::

    <root>/<run_id>/job          JSON: Slurm job id, user, group (root-owned: the server's)
    <root>/<run_id>/script.sh    the batch script (root-owned)
    <root>/<run_id>/stop         JSON: why terminate was called (cancel or preempt)
    <root>/<run_id>/grace        a grace period terminate chose (read by the batch script)
    <root>/<run_id>/out/log      the job's output (owned by the job's user, written by Slurm)
    <root>/<run_id>/out/slurm.out  Slurm's and srun's own messages about the job

The handle is ``slurm:<run_id>@<Slurm job id>``; any later process with the same ``root``
re-attaches with it, and ``list_runs`` reads the run directories.

Users: a run is submitted with ``sbatch --uid/--gid`` as the Unix user its organisation maps to
(``users``: account -> user; ``default_user`` otherwise), never as the server's user or root:
Slurm's normal model, so Slurm's accounting, limits and file permissions see the tenant. Only
root may submit for another user, so the server runs as root (or the operator gives it a
``sudo`` rule for ``sbatch`` and ``scancel``: not built here).

State: ``scontrol show job`` while Slurm's controller holds the job (its ``MinJobAge``), then
``sacct`` (slurmdbd); :mod:`aicenter.backends.slurm.states` maps every Slurm state. Start and
end times are Slurm's own, so usage aicenter meters equals what ``sacct`` reports.

Termination: ``terminate`` records the reason, writes the grace period, and sends SIGTERM to the
batch shell (``scancel --batch``); the batch script passes it to the tasks and kills the job
after the grace period (:mod:`aicenter.backends.slurm.script`), so the stop completes even if
the server dies. A pending job is cancelled at once. The state of a stopped run is the reason's
(CANCELLED or PREEMPTED), whatever exit code the job chose.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
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
)
from aicenter.backends.slurm.capacity import (
    NodeCapacity,
    free_by_gres,
    in_partition,
    max_per_node,
    nodes_from_scontrol,
    total_by_gres,
)
from aicenter.backends.slurm.config import CAPABILITIES, NAME, SlurmConfig
from aicenter.backends.slurm.script import (
    LIMITS_NOTE,
    NETWORK_NOTE,
    SubmitPlan,
    batch_script,
    gang_shape,
    gres_for,
    sbatch_args,
)
from aicenter.backends.slurm.states import (
    SACCT_FIELDS,
    TIMEOUT_EXIT_CODES,
    JobRecord,
    attempt_intervals,
    job_from_scontrol,
    jobs_from_sacct,
)
from aicenter.catalog import load_catalog
from aicenter.domain.errors import InputError

_UNREACHABLE = ("unable to contact slurm controller", "socket timed out", "connection refused",
                "slurm_persist_conn_open", "unable to connect", "zero bytes were transmitted")
"""Phrases in a Slurm command's error that mean the cluster cannot be reached right now."""


def _vendor_family(chip_type: str) -> str | None:
    from aicenter.backends.devices import vendor_family_of

    return vendor_family_of(chip_type)


def _check_searchable(root: Path) -> None:
    """Jobs run as other users and Slurm writes their output under ``root``: every directory
    down to it must let others in (``o+x``). Checked at start, so a server whose run
    directories sit under its private home refuses to start, naming the directory."""
    for path in (root, *root.parents):
        if not path.stat().st_mode & 0o001:
            raise InputError(
                f"the slurm backend's run directories ({root}) must be reachable by the jobs' "
                f"users, but {path} is mode {path.stat().st_mode & 0o777:o}: set "
                "AICENTER_SLURM_ROOT to a directory on a file system the compute nodes share",
                field="root")


class SlurmBackend:
    """Runs each :class:`LaunchRequest` as a Slurm batch job (see the module docstring)."""

    capabilities: Capabilities = CAPABILITIES
    """Runs code, multi-node gangs, graceful stops, capacity from ``scontrol``; no
    containment, network cut, limits or sidecars of its own (Slurm's cgroups, where the site
    has them, are the site's)."""

    def __init__(self, config: SlurmConfig) -> None:
        self.config = config
        self.root = config.root.resolve()
        self.root.mkdir(mode=0o755, parents=True, exist_ok=True)
        _check_searchable(self.root)
        self._per_node: dict[str, int] = dict(config.chips_per_node)
        self._associations: set[tuple[str, str]] = set()

    @property
    def name(self) -> str:
        return NAME


    def set_slots(self, slots_by_chip: object) -> None:
        """Ignored: Slurm knows its nodes' GRES and hands out devices itself."""

    # -- Slurm commands ------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
               "SLURM_TIME_FORMAT": "%s", "LANG": "C.UTF-8"}
        if self.config.slurm_conf is not None:
            env["SLURM_CONF"] = str(self.config.slurm_conf)
        return env

    def _run(self, argv: Sequence[str], ok_errors: Sequence[str] = ()) -> str:
        """Run a Slurm command; its stdout. Unreachable cluster -> ``BackendUnavailableError``;
        an error containing one of ``ok_errors`` -> ``""``; other errors -> ``InputError``."""
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, check=False,
                                  timeout=self.config.command_timeout_s, env=self._env())
        except FileNotFoundError as error:
            raise BackendUnavailableError(f"{argv[0]} is not installed here: {error}") from error
        except subprocess.TimeoutExpired as error:
            raise BackendUnavailableError(
                f"{argv[0]} did not answer in {self.config.command_timeout_s:g} s") from error
        if done.returncode == 0:
            return done.stdout
        err = (done.stderr or done.stdout).strip()
        low = err.lower()
        if any(phrase in low for phrase in ok_errors):
            return ""
        if any(phrase in low for phrase in _UNREACHABLE):
            raise BackendUnavailableError(f"Slurm cannot be reached: {err}")
        raise InputError(f"{argv[0]} refused: {err}", field="backend")

    # -- runs --------------------------------------------------------------------------------

    def _dir(self, run_id: str) -> Path:
        return self.root / check_run_id(run_id)

    def _meta(self, handle: RunHandle) -> dict[str, Any] | None:
        try:
            meta: dict[str, Any] = json.loads((self._dir(handle.run_id) / "job").read_text())
        except (FileNotFoundError, ValueError):
            return None
        return meta if meta.get("job_id") == handle.locator else None

    def _user(self, account: str | None) -> pwd.struct_passwd:
        name = self.config.users.get(account or "", self.config.default_user)
        if not name:
            raise InputError(f"no Unix user is mapped for organisation {account!r}: the slurm "
                             "backend never runs a job as the server's user", field="account")
        try:
            entry = pwd.getpwnam(name)
        except KeyError as error:
            raise InputError(f"Unix user {name!r} (for {account!r}) does not exist",
                             field="account") from error
        if entry.pw_uid in (0, os.geteuid()):
            raise InputError(f"user {name!r} is root or the server's own user; jobs must run "
                             "as an unprivileged user of their own", field="account")
        return entry

    def _ensure_account(self, account: str, user: str) -> None:
        """Create the organisation's Slurm account and ``user``'s association in it if they
        are missing (``manage_accounts``), allowing every QOS this backend submits with.
        Checked once per process and pair; an existing association is left as it is."""
        if (account, user) in self._associations:
            return
        listed = self._run(["sacctmgr", "-n", "-P", "list", "assoc", f"account={account}",
                            f"user={user}", "format=user"])
        if user not in listed.split():
            exists = ("nothing new added", "already exists")
            accounts = self._run(["sacctmgr", "-n", "-P", "list", "account", account,
                                  "format=account"])
            if account.lower() not in accounts.lower().split():
                self._run(["sacctmgr", "-i", "-Q", "add", "account", account,
                           "description=aicenter organisation", f"organization={account}"],
                          ok_errors=exists)
            add = ["sacctmgr", "-i", "-Q", "add", "user", user, f"account={account}"]
            if self.config.all_qos():
                add.append(f"qos={','.join(self.config.all_qos())}")
                if self.config.qos:
                    add.append(f"defaultqos={self.config.qos}")
            self._run(add, ok_errors=exists)
        self._associations.add((account, user))

    def capacity(self) -> list[NodeCapacity]:
        """The nodes of the backend's partition with their GRES, in use and available."""
        return self._nodes(self.config.partition)

    def chip_capacity(self) -> dict[str, ChipCapacity]:
        """Chip type -> chips from ``scontrol``, for every catalog chip type and every one in
        the gres map whose GRES some node of the partition has. Down, drained (or draining)
        and not-responding nodes count in neither ``total`` nor ``available``: the scheduler
        never places onto them. (Chip types that share one GRES name report the same
        chips.)"""
        nodes = self.capacity()
        totals, free = total_by_gres(nodes, live_only=True), free_by_gres(nodes)
        found: dict[str, ChipCapacity] = {}
        for chip in sorted({*load_catalog().ids, *self.config.gres}):
            try:
                gres = self._gres(chip)
            except InputError:
                continue
            if any(gres in n.gres_total for n in nodes):
                found[chip] = ChipCapacity(totals.get(gres, 0), free.get(gres, 0),
                                           max_per_node(nodes, gres))
        return found

    def _chips_per_node(self, gres: str) -> int:
        if gres not in self._per_node:
            self._per_node[gres] = max_per_node(self.capacity(), gres)
        return self._per_node[gres]

    def _gres(self, chip_type: str) -> str:
        return gres_for(chip_type, _vendor_family(chip_type), self.config.gres)

    def launch(self, request: LaunchRequest) -> RunHandle:
        """Write the run directory and the batch script, ``sbatch`` it, record the job id."""
        if request.sidecar:
            raise InputError("the slurm backend does not run sidecars (no data gateway: jobs "
                             "read datasets in-process)", field="sidecar")
        user = self._user(request.account)
        gres = self._gres(request.chip_type) if request.chip_count else ""
        pool_id, partition, pool_nodes = self._pool_placement(request)
        per_node = 0
        if gres and pool_nodes is not None:  # the most chips one of the pool's nodes has
            per_node = max_per_node(pool_nodes, gres)
        elif gres and partition != self.config.partition:  # the pool's own partition
            per_node = max_per_node(self._nodes(partition), gres)
        elif gres:
            per_node = self._chips_per_node(gres)
        if gres and per_node == 0:
            where = f"pool {pool_id}'s nodes" if pool_nodes is not None else \
                f"the Slurm partition {partition or '(default)'}"
            raise InputError(f"no node in {where} has {gres} ({request.chip_type})",
                             field="pool" if pool_id else "chip_type")
        exclude: tuple[str, ...] = ()
        if pool_nodes is not None:
            inside = {n.name for n in pool_nodes}
            exclude = tuple(n.name for n in self._nodes(partition) if n.name not in inside)
        shape = gang_shape(request.chip_count, per_node, self.config.task_per_chip)
        run_dir = self._dir(request.run_id)
        try:
            run_dir.mkdir(mode=0o711)  # jobs reach their own out/ and grace, list nothing
        except FileExistsError:
            raise InputError(f"run id {request.run_id} is already used",
                             field="run_id") from None
        out = run_dir / "out"
        out.mkdir(mode=0o750)
        os.chown(out, user.pw_uid, user.pw_gid)
        plan = SubmitPlan(
            gres=gres, shape=shape, out_dir=out, grace_file=run_dir / "grace",
            user=user.pw_name, group=str(user.pw_gid), home=user.pw_dir,
            vendor_family=_vendor_family(request.chip_type), partition=partition,
            qos=self.config.qos_for(request.priority_class),
            account=request.account if self.config.use_accounts else None, exclude=exclude)
        if plan.account and self.config.manage_accounts:
            self._ensure_account(plan.account, user.pw_name)
        script = run_dir / "script.sh"  # sbatch reads it as the server; it holds the env
        script.touch(mode=0o600)
        script.write_text(batch_script(request, plan))
        notes = []
        if request.no_network:
            notes.append(NETWORK_NOTE)
        if request.limits is not None:
            notes.append(LIMITS_NOTE)
        try:
            text = self._run(["sbatch", *sbatch_args(request, plan), str(script)])
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        job_id = text.strip().split(";", 1)[0]
        if not job_id.isdigit():
            raise BackendUnavailableError(f"sbatch printed no job id: {text!r}")
        (run_dir / "job").write_text(json.dumps({
            "job_id": job_id, "user": user.pw_name, "uid": user.pw_uid,
            "chip_type": request.chip_type, "chip_count": request.chip_count,
            "notes": notes, "max_duration_s": request.max_duration_s, "pool_id": pool_id}))
        return RunHandle(NAME, request.run_id, job_id)

    def _nodes(self, partition: str | None) -> list[NodeCapacity]:
        text = self._run(["scontrol", "show", "node", "-o"])
        return in_partition(nodes_from_scontrol(text), partition)

    def _pool_placement(self, request: LaunchRequest
                        ) -> tuple[str | None, str | None, list[NodeCapacity] | None]:
        """Where a run placed on a pool goes: (the pool honoured, its partition, its nodes
        when the config lists them). A pool the config does not map is refused once the
        config maps any pool; with no pool mapped at all, the backend's partition and no
        pool (Slurm chooses the nodes)."""
        pool = request.pool
        partitions, node_lists = self.config.pool_partitions, self.config.pool_nodes
        if pool is None or (not partitions and not node_lists):
            return None, self.config.partition, None
        if pool.id not in partitions and pool.id not in node_lists:
            raise InputError(f"pool {pool.id} has no Slurm partition or nodes: map it in "
                             "AICENTER_SLURM_POOL_PARTITIONS or AICENTER_SLURM_POOL_NODES",
                             field="pool")
        partition = partitions.get(pool.id, self.config.partition)
        if pool.id not in node_lists:
            return pool.id, partition, None
        names = set(self._run(["scontrol", "show", "hostnames", node_lists[pool.id]]).split())
        nodes = [n for n in self._nodes(partition) if n.name in names]
        if not nodes:
            raise InputError(f"pool {pool.id}'s nodes {node_lists[pool.id]} are not in the "
                             f"Slurm partition {partition or '(default)'}", field="pool")
        return pool.id, partition, nodes

    def _record(self, job_id: str) -> JobRecord | None:
        return self._attempts(job_id)[0]

    def _attempts(self, job_id: str
                  ) -> tuple[JobRecord | None, tuple[tuple[datetime, datetime], ...] | None]:
        """The job's current record and the (start, end) of the earlier attempts Slurm
        requeued; ``None`` for those while slurmdbd has not recorded every one yet."""
        text = self._run(["scontrol", "show", "job", "-o", job_id],
                         ok_errors=("invalid job id",))
        for line in text.splitlines():
            if line.startswith(f"JobId={job_id} "):
                record = job_from_scontrol(line)
                if not record.restarts:
                    return record, ()
                earlier = self._sacct(job_id)[:-1]
                return record, (attempt_intervals(earlier) if len(earlier) >= record.restarts
                                else None)
        found = self._sacct(job_id)
        return (found[-1], attempt_intervals(found[:-1])) if found else (None, ())

    def _sacct(self, job_id: str) -> list[JobRecord]:
        """Every attempt of the job in Slurm's accounting (``-D``: requeued ones too)."""
        text = self._run(["sacct", "-X", "-D", "-P", "-n", "-j", job_id,
                          f"--format={','.join(SACCT_FIELDS)}"])
        return [r for r in jobs_from_sacct(text) if r.job_id == job_id]

    def _stop_note(self, run_id: str) -> StopReason | None:
        try:
            return StopReason(json.loads((self._dir(run_id) / "stop").read_text())["reason"])
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def status(self, handle: RunHandle) -> RunStatus:
        """Slurm's state of the job, mapped (:mod:`aicenter.backends.slurm.states`), with the
        pool the run was placed on (from its run directory)."""
        meta = self._meta(handle)
        if meta is None:
            return RunStatus(RunState.LOST, message="no run directory: forgotten or never here")
        found = self._status(handle, meta)
        pool_id = meta.get("pool_id")
        return dataclasses.replace(found, pool_id=pool_id) if pool_id else found

    def _status(self, handle: RunHandle, meta: dict[str, Any]) -> RunStatus:
        asked = datetime.now(UTC).replace(microsecond=0)  # Slurm's times are whole seconds
        record, earlier = self._attempts(handle.locator)
        if record is None:
            return RunStatus(RunState.LOST,
                             message=f"Slurm has no record of job {handle.locator}")
        if earlier is None:  # bill nothing until every attempt is on record
            return RunStatus(RunState.PENDING, message=(
                f"requeued by Slurm {record.restarts} times; waiting for its accounting of "
                "the earlier attempts"))
        notes = list(meta.get("notes", ()))
        if not record.is_final:
            message = record.message or (record.reason if record.state is RunState.PENDING
                                         else "")
            until = None
            if record.state is RunState.RUNNING:
                until = min(asked, record.ended_at) if record.ended_at else asked
            return RunStatus(record.state, started_at=record.started_at, message=message,
                             running_until=until, earlier=earlier)
        state, message = record.state, record.message
        stop = self._stop_note(handle.run_id)
        if stop is not None:
            state, message = stop.final_state, f"{stop.value} requested"
        elif state is RunState.FAILED and record.exit_code in TIMEOUT_EXIT_CODES \
                and meta.get("max_duration_s") is not None:
            message = "max duration exceeded"
        elif state is RunState.FAILED and record.exit_code is not None:
            message = f"{message}: exit code {record.exit_code}"
        message = "; ".join([message, *notes]) if notes else message
        return RunStatus(state, record.exit_code, record.started_at, record.ended_at, message,
                         earlier=earlier)

    def read_log(self, handle: RunHandle, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        """Bytes of ``out/log`` (the tasks' output) from ``offset`` on."""
        if offset < 0 or max_bytes <= 0:
            raise InputError("offset must be >= 0 and max_bytes > 0", field="offset")
        final = self.status(handle).is_final
        path = self._dir(handle.run_id) / "out" / "log"
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read(max_bytes)
                size = os.fstat(f.fileno()).st_size
        except FileNotFoundError:
            data, size = b"", 0
        next_offset = offset + len(data)
        return LogChunk(data, offset, next_offset, final and next_offset >= size)

    def terminate(self, handle: RunHandle, reason: StopReason,
                  grace_period_s: float | None = None) -> None:
        """Record the reason; SIGTERM to the batch shell, which kills the job after the grace
        period; a job not yet running is cancelled at once. A no-op once the run has ended."""
        if self._meta(handle) is None:
            return
        record = self._record(handle.locator)
        if record is None or record.is_final:
            return
        run_dir = self._dir(handle.run_id)
        note = run_dir / "stop"
        if not note.exists():
            note.write_text(json.dumps({"reason": reason.value}))
        if grace_period_s is not None:
            (run_dir / "grace").write_text(f"{max(1, math.ceil(grace_period_s))}\n")
        gone = ("already completing or completed", "invalid job id", "job has already finished")
        if record.state is RunState.PENDING:
            self._run(["scancel", handle.locator], ok_errors=gone)
            return
        try:
            self._run(["scancel", "--batch", "--signal=TERM", handle.locator], ok_errors=gone)
        except InputError as error:  # requeued since we looked: nothing runs, cancel it
            if "pending" not in str(error).lower():
                raise
            self._run(["scancel", handle.locator], ok_errors=gone)

    def list_runs(self) -> list[RunHandle]:
        """Every run directory with a recorded job id."""
        handles = []
        for path in sorted(self.root.iterdir()):
            try:
                meta = json.loads((path / "job").read_text())
                handles.append(RunHandle(NAME, check_run_id(path.name), str(meta["job_id"])))
            except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, InputError):
                continue
        return handles

    def forget(self, handle: RunHandle) -> None:
        """Remove the run directory of an ended run (Slurm's accounting keeps its record)."""
        if self._meta(handle) is None:
            return
        if not self.status(handle).is_final:
            raise InputError(f"run {handle.run_id} has not ended", field="handle")
        shutil.rmtree(self._dir(handle.run_id), ignore_errors=True)
