"""The ``ray`` backend: each run is a Ray Job on a Ray cluster.

Why Ray Jobs: a job submitted to the cluster's job server (the dashboard, ``http://host:8265``)
belongs to the cluster, not to the process that submitted it. The run id is the Ray
*submission id*, so any later process (a server restarted after ``kill -9``) re-attaches with
nothing but the handle ``ray:<run_id>@<dashboard address>``; status, exit code, start and end
times and the log are kept by the cluster.

Accelerators: each node declares one custom resource per chip type it has, ``accel:<chip type>``
(for example ``ray start --resources='{"accel:nvidia-h100-sxm": 8}'``); its chips of that type
are indices ``0..n-1``. The job's entrypoint reserves nothing: it is the small driver of
:mod:`aicenter.backends.ray.driver` (sent as source, run with the nodes' Python), which asks
Ray for a placement group of ``{"accel:<chip>": k}`` bundles, one per worker, waits for it,
claims each worker's device indices on its node and sets the vendor's visible-devices variable
(:mod:`aicenter.backends.devices`) and the rendezvous variables, then runs the command. A run
of up to one node's chips is one bundle (``PACK``); a larger one is a gang of
``ceil(count / per node)`` equal bundles, ``STRICT_SPREAD`` (one per node). Until the chips
are held the Ray job is RUNNING but the run is PENDING here, with nothing metered; a cancel
then ends the driver and Ray drops its placement group, so the command never starts.

The driver prints ``aicenter-run-started <epoch seconds>`` once every worker holds its chips:
that is the run's start (Ray's own ``start_time`` is the submission), and the log this backend
returns is what follows the marker, byte for byte, so offsets are stable. ``timeout`` (GNU
coreutils, on every Linux node) enforces the max duration: exit code 124 when it stopped the
command with SIGTERM, 137 when it had to SIGKILL it.

Termination: ``stop_job`` makes Ray send SIGTERM to the command and its children and SIGKILL
after ``RAY_JOB_STOP_WAIT_TIME_S`` seconds, which this backend sets per run (in the run's
runtime environment, read by the job's supervisor) to the request's grace period, rounded up to
whole seconds. A grace period passed to ``terminate`` cannot change it: Ray reads it at submission.
Ray records a stopped job as STOPPED with no exit code and does not say why; this backend keeps
the reason (cancel or preempt) in ``state_dir/<run_id>.stop`` so a restarted server with the same
state directory reports CANCELLED or PREEMPTED (without the note: CANCELLED).

Authentication: Ray 2.60 clusters use token authentication by default. The job client finds
the token by Ray's own rules (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``, else
``~/.ray/auth_token``, which a local head writes when it starts); give the server the cluster's
token one of those ways.

Capacity (:meth:`RayBackend.chip_capacity`) is the cluster's: the dashboard's
``/api/cluster_status`` gives every live node's ``accel:<chip>`` total and use.

Pools: a node of one of the center's pools also declares ``pool:<pool id>`` (any positive
amount, e.g. ``ray start --resources='{"accel:nvidia-h100-sxm": 8, "pool:h100-haenam": 1}'``).
A run placed on a pool asks for ``POOL_SHARE`` of that resource in every bundle besides its
chips, so Ray puts it on the pool's nodes only (a full pool keeps it waiting even where
another pool of the chip type has room); the run's metadata keeps the pool, which ``status``
names. A cluster whose nodes declare no pool at all runs every run wherever the chip type is
(no pool named); one that declares pools refuses a pool none of its nodes declares.

Throughput: Ray starts a supervisor process, a driver and a worker per run, so a run takes a
few seconds to go from submitted to running (``tests/backends/test_ray.py`` measures it). That
is fine for training runs of minutes to weeks, not for thousands of tiny jobs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shlex
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from aicenter.backends.base import (
    POOL_RESOURCE_PREFIX,
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
    pool_resource,
    utc_from_epoch,
)
from aicenter.backends.devices import (
    NEURON_CORES_PER_CHIP,
    VISIBLE_DEVICES_RULES,
    accelerator_env,
    vendor_family_of,
)
from aicenter.backends.ray.config import CAPABILITIES, DEFAULT_PYTHON, NAME
from aicenter.backends.ray.driver import PLAN_VARIABLE
from aicenter.domain.errors import InputError
from aicenter.extras import require

FEATURE = "the ray backend"  # what a missing 'ray' extra is reported for
RESOURCE_PREFIX = "accel:"
START_MARKER = b"aicenter-run-started "
_MARKER_LINE = re.compile(rb"(?m)^aicenter-run-started ([0-9.]+)\n")  # after Ray's banner
DRIVER_SOURCE = (Path(__file__).parent / "driver.py").read_text(encoding="utf-8")
"""The run's driver, sent as the entrypoint's source (the nodes need not have aicenter)."""
WAITING = "waiting for its chips in Ray (placement group not ready)"
METADATA_KEY = "aicenter_run"
NETWORK_NOTE = ("the ray backend cannot cut a job's network: this job reads licensed data "
                "and should have had no network, but it ran WITH the network of its Ray node")
"""Said in the log and the exit message of a ``no_network`` run (never silently)."""
POOL_SHARE = 0.001
"""What each bundle of a run placed on a pool asks of the pool's resource: a node declaring
``pool:<id>: 1`` takes up to a thousand bundles, so the resource only says where, never how
many (the chips do that)."""
TIMEOUT_EXIT_CODES = (124, 137)
"""``timeout``'s exit codes when it ended the command: after SIGTERM, after SIGKILL."""


def chip_resource(chip_type: str) -> str:
    """The Ray custom resource that stands for one chip of ``chip_type``."""
    return f"{RESOURCE_PREFIX}{chip_type}"


def command_of(request: LaunchRequest) -> list[str]:
    """The argv the workers run: the request's command, under ``timeout`` for a max
    duration (SIGTERM at the limit, SIGKILL a grace period later)."""
    command = list(request.command)
    if request.max_duration_s is not None:
        grace = max(1, math.ceil(request.grace_period_s))  # timeout reads 0 as "never kill"
        command = ["timeout", f"--kill-after={grace}s", f"{request.max_duration_s:.3f}s",
                   *command]
    return command


def bundles_for(chip_count: int, per_node: int) -> list[int]:
    """Chips per worker: one bundle up to a node's chips, else ``n = ceil(count / per_node)``
    bundles as equal as can be (sizes differ by at most one, largest first)."""
    if chip_count <= per_node or per_node <= 0:
        return [chip_count]
    n = -(-chip_count // per_node)
    base, extra = divmod(chip_count, n)
    return [base + 1] * extra + [base] * (n - extra)


def visible_rule(chip_type: str) -> dict[str, Any]:
    """How the driver names a worker's indices to the vendor's runtime (the rule of
    :mod:`aicenter.backends.devices`, as plain data)."""
    family = vendor_family_of(chip_type)
    rule = VISIBLE_DEVICES_RULES.get(family) if family else None
    if rule is None:
        return {"variables": []}
    return {"variables": list(rule.variables),
            "item_prefix": "npu:" if family == "furiosa" else "",
            "cores_per_chip": NEURON_CORES_PER_CHIP.get(chip_type, 2) if family == "aws" else 1}


def build_plan(request: LaunchRequest, per_node: int,
               pool: str | None = None) -> dict[str, Any]:
    """What the driver does for ``request`` (JSON in ``AICENTER_RAY_PLAN``); ``pool``: the
    pool resource every bundle also asks ``POOL_SHARE`` of (``None``: any node)."""
    bundles = bundles_for(request.chip_count, per_node)
    env = dict(request.env)
    env.update(accelerator_env(request.run_id, request.chip_type, request.chip_count, ()))
    return {
        "pool_resource": pool,
        "pool_share": POOL_SHARE,
        "resource": chip_resource(request.chip_type),
        "bundles": bundles,
        "strategy": "STRICT_SPREAD" if len(bundles) > 1 else "PACK",
        "command": command_of(request),
        "working_dir": None if request.working_dir is None else str(request.working_dir),
        "env": env,
        "visible": visible_rule(request.chip_type),
        "note": f"aicenter: {NETWORK_NOTE}" if request.no_network else "",
    }


def build_entrypoint(python: str = DEFAULT_PYTHON) -> str:
    """The shell line Ray runs: the driver's source under the nodes' Python."""
    return f"exec {shlex.quote(python)} -c {shlex.quote(DRIVER_SOURCE)}"


class RayBackend:
    """Runs jobs as Ray Jobs on the cluster whose dashboard is at ``address``.

    No sidecars and no isolation: a job reading datasets uses the in-process reader
    (:mod:`aicenter.exchange.reader`), as strong as the file permissions of the store on the
    Ray nodes. Nor can it cut a job's network: a ``no_network`` run says so (``NETWORK_NOTE``)
    in its log and its final message."""

    capabilities: Capabilities = CAPABILITIES

    def __init__(self, address: str, state_dir: Path | None = None,
                 python: str = DEFAULT_PYTHON) -> None:
        require("ray", FEATURE)  # at the server's start, not at its first job
        self.address = address
        self.python = python
        self.state_dir = None if state_dir is None else Path(state_dir)
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        self._connection: Any | None = None
        self._started_at: dict[str, float] = {}
        self._ended_logs: dict[str, bytes] = {}

    @property
    def _client(self) -> Any:
        """The job server client, connected on first use (the cluster may start later)."""
        if self._connection is None:
            from ray.job_submission import JobSubmissionClient

            try:
                self._connection = JobSubmissionClient(self.address)
            except (OSError, RuntimeError) as error:
                raise _unavailable(self.address, error) from error
        return self._connection

    def check_cluster(self) -> None:
        """Ask the cluster once (the server's start): ``InputError`` in one line when it
        cannot be reached or refuses us (token authentication), saying what to set."""
        from ray.exceptions import AuthenticationError

        try:
            self._client.list_jobs()
        except AuthenticationError as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else "refused"
            raise InputError(
                f"the Ray cluster at {self.address} needs authentication ({first}); give "
                "the server its token in RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH, with "
                "RAY_AUTH_MODE=token", field="ray_address") from error
        except BackendUnavailableError as error:
            raise InputError(f"the Ray cluster at {self.address} cannot be reached: check "
                             "AICENTER_RAY_ADDRESS (the dashboard, http://<head>:8265) and that "
                             "the cluster is up", field="ray_address") from error

    def chip_capacity(self) -> dict[str, ChipCapacity]:
        """Chips per type from the cluster's live nodes (``accel:<chip>`` resources), total
        and free now; Ray's own count, whatever the center's pools say."""
        return capacity_from_usage(self._usage_by_node())

    def _usage_by_node(self) -> dict[str, dict[str, Any]]:
        try:
            response = self._client._do_request("GET", "/api/cluster_status")
        except OSError as error:
            raise _unavailable(self.address, error) from error
        if response.status_code != 200:
            raise BackendUnavailableError(f"Ray cluster status at {self.address}: HTTP "
                                          f"{response.status_code}")
        report = response.json()["data"]["clusterStatus"]["loadMetricsReport"]
        return dict(report.get("usageByNode") or {})

    def _placement(self, request: LaunchRequest) -> tuple[int, str | None]:
        """Chips per node for the run's gang and the pool resource it asks for (see the
        module docstring): per node counts the pool's nodes only."""
        if request.chip_count <= 0:
            return 0, None
        nodes = self._usage_by_node()
        declared = {name for resources in nodes.values() for name in resources
                    if name.startswith(POOL_RESOURCE_PREFIX)
                    and _CHIP_ID.fullmatch(name.removeprefix(POOL_RESOURCE_PREFIX))}
        wanted = None
        if request.pool is not None and declared:
            wanted = pool_resource(request.pool.id)
            if wanted not in declared:
                raise InputError(f"no node of the Ray cluster declares pool {request.pool.id} "
                                 f"(resource {wanted}); pools declared: "
                                 f"{', '.join(sorted(declared))}", field="pool")
            nodes = {k: v for k, v in nodes.items() if wanted in v}
        found = capacity_from_usage(nodes).get(request.chip_type)
        return (0 if found is None else found.per_node), wanted

    @property
    def name(self) -> str:
        return NAME

    def set_slots(self, slots_by_chip: Mapping[str, int]) -> None:
        """Ignored: this backend does not own device indices (Ray's cluster advertises
        its own ``accel:<chip>`` resources)."""

    def launch(self, request: LaunchRequest) -> RunHandle:
        if request.sidecar:
            raise InputError("the ray backend does not run sidecars (no data gateway: jobs "
                             "read datasets in-process)", field="sidecar")
        per_node, pool = self._placement(request)
        plan = build_plan(request, per_node, pool)
        env = {PLAN_VARIABLE: json.dumps(plan),
               "RAY_JOB_STOP_WAIT_TIME_S": str(math.ceil(request.grace_period_s))}
        metadata = {
            METADATA_KEY: "1",
            "chip_type": request.chip_type,
            "chip_count": str(request.chip_count),
            "bundles": ",".join(str(k) for k in plan["bundles"]),
            "max_duration_s": "" if request.max_duration_s is None else str(request.max_duration_s),
            "network_note": NETWORK_NOTE if request.no_network else "",
            "pool_id": request.pool.id if pool is not None and request.pool else "",
        }
        try:
            self._client.submit_job(
                entrypoint=build_entrypoint(self.python),
                submission_id=request.run_id,
                runtime_env={"env_vars": env},
                metadata=metadata,
                entrypoint_num_cpus=0,
            )
        except RuntimeError as error:
            if "already exists" in str(error):
                raise InputError(
                    f"run id {request.run_id!r} is already used", field="run_id"
                ) from error
            raise
        except OSError as error:
            raise _unavailable(self.address, error) from error
        return RunHandle(NAME, request.run_id, self.address)

    def _check(self, handle: RunHandle) -> str:
        if handle.backend != NAME:
            raise InputError(f"handle {handle} is not a {NAME} run", field="handle")
        return check_run_id(handle.run_id)

    def _info(self, run_id: str) -> Any | None:
        try:
            return self._client.get_job_info(run_id)
        except RuntimeError as error:
            if "does not exist" in str(error) or "404" in str(error):
                return None
            raise
        except OSError as error:
            raise _unavailable(self.address, error) from error

    def status(self, handle: RunHandle) -> RunStatus:
        run_id = self._check(handle)
        return self._status_of(run_id, self._info(run_id))

    def _status_of(self, run_id: str, info: Any | None) -> RunStatus:
        found = self._status_without_note(run_id, info)
        note = "" if info is None else (info.metadata or {}).get("network_note", "")
        if note and found.is_final:
            found = dataclasses.replace(found, message=f"{found.message}; {note}")
        pool_id = "" if info is None else (info.metadata or {}).get("pool_id", "")
        return dataclasses.replace(found, pool_id=pool_id) if pool_id else found

    def _status_without_note(self, run_id: str, info: Any | None) -> RunStatus:
        if info is None:
            return RunStatus(RunState.LOST, message=f"Ray has no job {run_id} at {self.address}")
        ray_state = str(info.status.value)
        ended_at = None if info.end_time is None else utc_from_epoch(info.end_time / 1000)
        if ray_state == "PENDING":
            return RunStatus(RunState.PENDING, message=info.message or "")
        started_at = self._start_time(run_id)
        if ray_state == "RUNNING":
            if started_at is None:  # the driver still waits for the chips: nothing used yet
                return RunStatus(RunState.PENDING, message=WAITING)
            return RunStatus(RunState.RUNNING, started_at=started_at)
        if ray_state == "SUCCEEDED":
            return RunStatus(RunState.SUCCEEDED, 0, started_at, ended_at, "exit code 0")
        if ray_state == "STOPPED":
            reason = self._stop_reason(run_id)
            return RunStatus(reason.final_state, None, started_at, ended_at, f"{reason} requested")
        exit_code = info.driver_exit_code
        message = f"exit code {exit_code}" if exit_code is not None else (info.message or "")
        if started_at is None:  # ended before it held its chips: the driver said why
            said = _last_line(self._raw_log(run_id))
            message = f"{message}: {said}" if said else message
        max_duration = (info.metadata or {}).get("max_duration_s")
        if max_duration and exit_code in TIMEOUT_EXIT_CODES:
            message = f"max duration of {max_duration} s exceeded (exit code {exit_code})"
        return RunStatus(RunState.FAILED, exit_code, started_at, ended_at, message)

    def _start_time(self, run_id: str) -> datetime | None:
        if run_id not in self._started_at:
            found = _MARKER_LINE.search(self._raw_log(run_id))
            if found is None:
                return None
            self._started_at[run_id] = float(found.group(1))
        return utc_from_epoch(self._started_at[run_id])

    def _raw_log(self, run_id: str) -> bytes:
        if run_id in self._ended_logs:
            return self._ended_logs[run_id]
        try:
            text: str = self._client.get_job_logs(run_id)
        except RuntimeError:
            return b""
        except OSError as error:
            raise _unavailable(self.address, error) from error
        return text.encode()

    def read_log(self, handle: RunHandle, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        if offset < 0:
            raise InputError("log offset must be >= 0", field="offset")
        run_id = self._check(handle)
        info = self._info(run_id)
        final = self._status_of(run_id, info).is_final
        raw = self._raw_log(run_id)
        if final:  # an ended run's log no longer changes: fetch it once
            self._ended_logs[run_id] = raw
        found = _MARKER_LINE.search(raw)
        body = raw[found.end() :] if found else b""
        if info is not None:
            body = _without_ray_banner(body, run_id, info.entrypoint)
        data = body[offset : offset + max_bytes]
        next_offset = offset + len(data)
        return LogChunk(data, offset, next_offset, complete=final and next_offset >= len(body))

    def terminate(
        self, handle: RunHandle, reason: StopReason, grace_period_s: float | None = None
    ) -> None:
        run_id = self._check(handle)
        if self.status(handle).is_final:
            return
        note = self._stop_note(run_id)
        if note is not None and not note.exists():
            note.write_text(reason.value, encoding="utf-8")
        try:
            self._client.stop_job(run_id)
        except OSError as error:
            raise _unavailable(self.address, error) from error

    def _stop_note(self, run_id: str) -> Path | None:
        return None if self.state_dir is None else self.state_dir / f"{run_id}.stop"

    def _stop_reason(self, run_id: str) -> StopReason:
        note = self._stop_note(run_id)
        if note is not None and note.exists():
            return StopReason(note.read_text(encoding="utf-8").strip())
        return StopReason.CANCEL

    def list_runs(self) -> list[RunHandle]:
        handles = []
        try:
            jobs = self._client.list_jobs()
        except OSError as error:
            raise _unavailable(self.address, error) from error
        for job in jobs:
            if (job.metadata or {}).get(METADATA_KEY) == "1" and job.submission_id:
                handles.append(RunHandle(NAME, job.submission_id, self.address))
        return sorted(handles, key=lambda h: h.run_id)

    def forget(self, handle: RunHandle) -> None:
        run_id = self._check(handle)
        current = self.status(handle)
        if current.state is RunState.LOST:
            return
        if not current.is_final:
            raise InputError(f"run {run_id} has not ended; terminate it first")
        try:
            self._client.delete_job(run_id)
        except OSError as error:
            raise _unavailable(self.address, error) from error
        note = self._stop_note(run_id)
        if note is not None:
            note.unlink(missing_ok=True)
        self._started_at.pop(run_id, None)
        self._ended_logs.pop(run_id, None)


def capacity_from_usage(usage_by_node: Mapping[str, Mapping[str, Any]]) -> dict[str,
                                                                               ChipCapacity]:
    """Chip type -> capacity from Ray's ``usageByNode`` (node -> resource -> ``[used,
    total]``), counting only ``accel:<chip>`` resources (the dashboard camel-cases the
    names of placement groups' shares, ``accel:<chip>Group0<id>``: catalog ids have no
    capitals, so those are left out)."""
    found: dict[str, ChipCapacity] = {}
    for resources in usage_by_node.values():
        for name, pair in resources.items():
            if not name.startswith(RESOURCE_PREFIX):
                continue
            chip = name.removeprefix(RESOURCE_PREFIX)
            if not _CHIP_ID.fullmatch(chip):  # a placement group's share (…Group0<id>)
                continue
            used, total = int(pair[0]), int(pair[1])
            have = found.get(chip, ChipCapacity(0, 0, 0))
            found[chip] = ChipCapacity(have.total + total, have.available + max(0, total - used),
                                       max(have.per_node, total))
    return dict(sorted(found.items()))


_CHIP_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")


def _last_line(raw: bytes) -> str:
    """The driver's last line in a log (why a run ended before it started), shortened."""
    lines = [line for line in raw.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def _unavailable(address: str, error: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(f"Ray job server at {address} unreachable: {error}")


def _without_ray_banner(body: bytes, run_id: str, entrypoint: str) -> bytes:
    """``body`` without the text Ray's job supervisor appends to the log when it starts the
    entrypoint ("Running entrypoint for job <id>: <entrypoint>\\n", the entrypoint may span
    lines). The supervisor writes it with ``O_APPEND`` a few milliseconds after the command
    started, so it lands among the first output lines; bytes before it never move, and bytes
    after it were written after it, so removing it keeps every offset a reader was given valid."""
    banner = f"Running entrypoint for job {run_id}: {entrypoint}\n".encode()
    start = body.find(banner)
    if start < 0:
        return body
    return body[:start] + body[start + len(banner) :]


def wait_for_job_server(address: str, timeout_s: float = 60.0) -> None:
    """Block until the Ray job server at ``address`` answers (a cluster just started)."""
    require("ray", FEATURE)
    from ray.job_submission import JobSubmissionClient

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            JobSubmissionClient(address).list_jobs()
            return
        except Exception:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def _wait_for_nodes(address: str, count: int, timeout_s: float = 60.0) -> None:
    """Block until the cluster's status counts ``count`` nodes (it lags their start)."""
    from ray.job_submission import JobSubmissionClient

    client: Any = JobSubmissionClient(address)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client._do_request("GET", "/api/cluster_status").json()
        usage = body["data"]["clusterStatus"].get("loadMetricsReport", {}).get("usageByNode")
        if len(usage or {}) >= count:
            return
        time.sleep(0.5)
    raise TimeoutError(f"the local Ray cluster did not show {count} nodes in {timeout_s} s")


@contextmanager
def local_ray_head(
    slots_by_chip: Mapping[str, int],
    num_cpus: int = 1,
    object_store_mib: int = 80,
    temp_dir: Path | None = None,
    more_nodes: Sequence[Mapping[str, int]] = (),
    pools: Sequence[str | None] = (),
) -> Iterator[str]:
    """Start a Ray head on this machine with ``accel:<chip>`` resources, and one more raylet
    per item of ``more_nodes`` (its chips), and yield the job server's address
    (``http://127.0.0.1:<port>``); shut them all down on exit. ``pools``: the center's pool
    each node belongs to, the head first (``pool:<id>`` declared; ``None`` or absent: none).

    For tests, benchmarks and demos on one machine (several raylets on one host make a
    multi-node cluster); a real center points the ``ray`` backend at its cluster (for example
    a KubeRay head) instead."""
    require("ray", FEATURE)
    from ray.cluster_utils import Cluster

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])

    def node(chips: Mapping[str, int], index: int) -> dict[str, Any]:
        resources = {chip_resource(chip): float(n) for chip, n in chips.items()}
        pool = pools[index] if index < len(pools) else None
        if pool is not None:
            resources[pool_resource(pool)] = 1.0
        return {"num_cpus": num_cpus, "object_store_memory": object_store_mib << 20,
                "resources": resources}

    head = node(slots_by_chip, 0) | {"include_dashboard": True, "dashboard_host": "127.0.0.1",
                                     "dashboard_port": port}
    if temp_dir is not None:
        head["temp_dir"] = str(temp_dir)
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        for index, chips in enumerate(more_nodes, start=1):
            cluster.add_node(**node(chips, index))
        address = f"http://127.0.0.1:{port}"
        wait_for_job_server(address)
        _wait_for_nodes(address, 1 + len(more_nodes))
        yield address
    finally:
        cluster.shutdown()  # type: ignore[no-untyped-call]
