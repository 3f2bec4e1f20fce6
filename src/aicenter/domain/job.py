"""Jobs: a YAML task spec (like a dstack or SkyPilot task) and the job's life cycle.

A spec names its resources as alternatives, ``[{chip: nvidia-h100-sxm, count: 8},
{chip: amd-mi300x, count: 8}]``: the scheduler places the job on whichever fits. Admission
reserves the most the job can cost,

    hold_h100e_h = max over alternatives a of  count_a × r(chip_a, workload) × max_duration_h

and metering charges what it really used; the hold is released when the job ends.

Everything a backend would refuse is refused here or at admission (HTTP 422) instead, so that
a job that can never launch never sits in the queue holding budget: environment names (POSIX,
none the center sets itself), NUL or text that is not UTF-8 in any field, sizes the kernel's
``execve`` would refuse, a workdir outside the job's own area (:func:`check_workdir`), limits
above the operator's caps (:class:`LimitPolicy`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePath, PurePosixPath
from typing import Any

from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InputError
from aicenter.domain.licence import Purpose
from aicenter.domain.limits import KIB, ResourceLimits, parse_limits
from aicenter.domain.visible_devices import RESERVED_DEVICE_VARIABLES


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class PriorityClass(StrEnum):
    """Chase-team jobs go first; best-effort jobs may be preempted by anything."""

    CHASE_TEAM = "chase-team"
    NORMAL = "normal"
    BEST_EFFORT = "best-effort"


@dataclass(frozen=True, slots=True)
class ResourceAlternative:
    chip: str
    count: int


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    command: str
    resources: tuple[ResourceAlternative, ...]
    max_duration_s: int
    workdir: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    priority: PriorityClass = PriorityClass.NORMAL
    workload: WorkloadClass = WorkloadClass.DENSE_TRAINING
    datasets: tuple[str, ...] = ()
    max_retries: int = 0
    purpose: str = "pre-training"
    """What the job uses its datasets for (an exchange ``Purpose``); agreements are checked
    against it."""
    limits: ResourceLimits | None = None
    outputs: tuple[str, ...] = ()
    """Declared output files (relative to the work dir): for a job that read datasets they are
    released only after :mod:`aicenter.exchange.output_check` (see ``services/job.py``)."""
    estimated_duration_s: int | None = None
    """How long the tenant expects the job to run on its first alternative (at most
    ``max_duration``; None: ``max_duration``). Not enforced: the scheduler's estimate of the
    job's work, which the policies that favour jobs near completion weigh."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "workdir": self.workdir,
            "env": dict(self.env),
            "resources": [{"chip": r.chip, "count": r.count} for r in self.resources],
            "max_duration": f"{self.max_duration_s}s",
            "priority": self.priority.value,
            "workload": self.workload.value,
            "datasets": list(self.datasets),
            "max_retries": self.max_retries,
            "purpose": self.purpose,
            "outputs": list(self.outputs),
            "limits": self.limits.to_dict() if self.limits is not None else None,
            **({"estimated_duration": f"{self.estimated_duration_s}s"}
               if self.estimated_duration_s is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    org_id: str
    person_id: str
    grant_id: str
    spec: JobSpec
    status: JobStatus
    idempotency_key: str | None
    hold_h100e_h: Decimal
    submitted_at: datetime
    chip: str | None = None
    chip_count: int = 0
    backend: str | None = None
    handle: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    metered_until: datetime | None = None
    exit_code: int | None = None
    message: str = ""
    cancel_requested: bool = False
    lost_runs: int = 0
    pool_id: str | None = None
    """The pool the scheduler placed the job on (the last one, once it ended or was
    requeued), with that pool's ``site`` and ``country`` at the time."""
    site: str | None = None
    country: str | None = None
    pending_reason: str | None = None
    """Why a queued job waits (Slurm's Reason: ``Resources``, ``Priority``,
    ``QuotaExhausted``, ``ChipCapReached``, ``Residency``; :mod:`aicenter.scheduler.pending`),
    as of the last scheduling round; None once it runs."""
    launch_failures: int = 0
    """Launches in a row the backend failed with an unforeseen error (not a refusal, not
    busy); back to 0 once a launch succeeds. Past ``launch_retries`` the job fails."""


NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
SPEC_FIELDS = (
    "name", "command", "workdir", "env", "resources", "max_duration", "priority", "workload",
    "datasets", "max_retries", "purpose", "limits", "outputs", "estimated_duration",
)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ENV_ENTRIES = 256
MAX_ENV_VALUE_BYTES = 32 * KIB
MAX_ENV_BYTES = 256 * KIB
MAX_COMMAND_BYTES = 64 * KIB
"""Linux's ``execve`` refuses one argument or variable over 128 KiB and all of them together
over a quarter of the stack limit (2 MiB by default); these bounds keep every job well
inside both, so no job is admitted that could never be started."""
MAX_WORKDIR_CHARS = 4096
"""PATH_MAX on Linux."""
LOADER_VARIABLES = frozenset({"LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH"})
"""Dynamic-loader variables a spec's ``env`` may not set.

They choose the code the loader runs in *every* program started with the job's environment,
before that program's first line: the ``/bin/sh`` the center wraps each command in, and the
center's own helpers where a backend starts them with the job's environment (the Ray backend;
the local backend with isolation off). A job that needs them sets them in its command
(``export LD_LIBRARY_PATH=...``), where they visibly apply to its own programs only.
``PYTHONPATH`` (and the other ``PYTHON*`` variables) stay allowed: jobs legitimately set it,
and the isolation wrapper runs ``python -I`` with an empty environment, which ignores them."""


def parse_duration_s(value: object, field_name: str = "max_duration") -> int:
    """``90``, ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` → seconds (at least 1)."""
    match = DURATION_RE.match(str(value)) if isinstance(value, int | float | str) else None
    if match is None or isinstance(value, bool):
        raise InputError(f"'{value}' is not a duration like 90s, 30m, 2h or 1d", field=field_name)
    seconds_f = float(match.group(1)) * _UNIT_S[match.group(2)]
    if not seconds_f < 2**53:  # inf or beyond exact: no job runs 285 million years
        raise InputError(f"'{_shown(str(value))[:40]}' is far too long a duration",
                         field=field_name)
    seconds = int(seconds_f)
    if seconds < 1:
        raise InputError("must be at least 1 second", field=field_name)
    return seconds


def _key_lines(text: str) -> dict[str, int]:
    """Line (1-based) of each top-level key, for error messages."""
    import yaml  # here, not at the top: the CLI's remote commands start without it

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


def _resources(value: object) -> tuple[ResourceAlternative, ...]:
    items: Sequence[object]
    if isinstance(value, dict):
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise InputError("give a list of {chip, count} alternatives", field="resources")
    if not items:
        raise InputError("give at least one {chip, count} alternative", field="resources")
    result = []
    for i, item in enumerate(items):
        where = f"resources[{i}]"
        if not isinstance(item, dict) or set(item) - {"chip", "count"} or "chip" not in item:
            raise InputError("each alternative is {chip: ID, count: N}", field=where)
        count = item.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4096:
            raise InputError(f"'{count}' is not a chip count from 1 to 4096",
                             field=f"{where}.count")
        result.append(ResourceAlternative(str(item["chip"]), count))
    return tuple(result)


def _shown(text: str) -> str:
    """``text`` with control characters escaped, fit for an error message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _text_problem(text: str) -> str | None:
    """Why a string cannot be stored or passed to a process, if it cannot."""
    if "\0" in text:
        return "must not contain NUL (\\x00): no process argument, variable or path can"
    try:
        text.encode()
    except UnicodeEncodeError:
        return "is not valid text (a lone surrogate cannot be encoded as UTF-8)"
    return None


def _check_text(value: object, path: str = "") -> None:
    """Refuse NUL and unencodable text in any key or string of the spec, naming its path."""
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem:
            raise InputError(problem, field=path or None)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{_shown(str(key))}" if path else _shown(str(key))
            problem = _text_problem(str(key))
            if problem:
                raise InputError(f"the name {problem}", field=where)
            _check_text(item, where)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_text(item, f"{path}[{i}]")


def reserved_env_reason(name: str) -> str | None:
    """Why a spec may not set the variable ``name``, if it may not."""
    if name.startswith("AICENTER_"):
        return ("AICENTER_* variables are set by the center (job, run, chips, data reader); "
                "a spec cannot set them")
    if name in RESERVED_DEVICE_VARIABLES:
        return (f"{name} is set by the center to the devices the job was given "
                "(AICENTER_DEVICE_IDS lists them); a spec cannot set it")
    if name in LOADER_VARIABLES:
        return (f"{name} would apply to the center's programs in the job too; set it in the "
                f"command instead (export {name}=...)")
    return None


def _env(value: object) -> dict[str, str]:
    """The spec's ``env``: POSIX names none of which the center reserves, bounded sizes."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError("must be a mapping of NAME: value", field="env")
    if len(value) > MAX_ENV_ENTRIES:
        raise InputError(f"has {len(value)} variables; the most is {MAX_ENV_ENTRIES}",
                         field="env")
    env: dict[str, str] = {}
    total = 0
    for key, raw in value.items():
        name = str(key)
        where = f"env.{_shown(name)}"
        if not ENV_NAME_RE.match(name):
            raise InputError(f"'{_shown(name)}' is not a variable name: letters, digits and "
                             "'_', not starting with a digit", field=where)
        reason = reserved_env_reason(name)
        if reason:
            raise InputError(reason, field=where)
        if raw is None or isinstance(raw, Mapping | list):
            raise InputError("give a string or a number as the value ('' for an empty one)",
                             field=where)
        text = str(raw)
        size = len(text.encode())
        if size > MAX_ENV_VALUE_BYTES:
            raise InputError(f"the value is {size} bytes long; the most is "
                             f"{MAX_ENV_VALUE_BYTES} (32 KiB)", field=where)
        total += len(name) + size + 2
        env[name] = text
    if total > MAX_ENV_BYTES:
        raise InputError(f"names and values take {total} bytes; the most is {MAX_ENV_BYTES} "
                         "(256 KiB)", field="env")
    return env


def check_workdir(workdir: str | None, org_id: str, project_root: PurePath | None,
                  *, reads_data: bool = False) -> PurePosixPath | None:
    """Where a job of ``org_id`` runs, if its spec's ``workdir`` is inside the job's own area.

    Returns None (the run's own work dir), a relative path (a directory inside the run's work
    dir, which the backend creates) or an absolute path inside the organisation's project
    space ``project_root/org_id`` (None: project spaces are off). Anything else, and any
    ``..`` component, raises :class:`InputError`. A job that ``reads_data`` (names
    datasets) never works in a project space: what it writes there would outlive the check
    of its outputs against the licensed records it read. Pure: the file system is not looked
    at (symbolic links are resolved inside the job's box, with the job's rights).
    """
    if workdir is None or workdir == "":
        return None
    if project_root is None:
        rule = ("use a relative path inside the job's work directory, or a path inside your "
                "organisation's project space <root>/<org> (project spaces are off on this "
                "center)")
    else:
        rule = ("use a relative path inside the job's work directory, or a path inside your "
                f"organisation's project space {PurePosixPath(project_root) / org_id}")
    problem = _text_problem(workdir)
    if problem or len(workdir) > MAX_WORKDIR_CHARS:
        raise InputError(problem or f"is longer than {MAX_WORKDIR_CHARS} characters",
                         field="workdir")
    path = PurePosixPath(workdir)
    if ".." in path.parts:
        raise InputError(f"'{workdir}' has a '..' component: {rule}", field="workdir")
    if not path.is_absolute():
        return None if path == PurePosixPath(".") else path
    if reads_data:
        raise InputError(f"'{workdir}': a job that reads datasets works only inside its own "
                         "work directory (a relative workdir), whose outputs are checked before "
                         "release", field="workdir")
    if project_root is not None:
        space = PurePosixPath(project_root) / org_id
        if space.is_absolute() and (path == space or space in path.parents):
            return path
    raise InputError(f"'{workdir}' is outside the job's area: {rule}", field="workdir")


def _outputs(value: object) -> tuple[str, ...]:
    """The declared output files: at most 64 relative paths that stay inside the work dir."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 64:
        raise InputError("must be a list of at most 64 paths relative to the work dir",
                         field="outputs")
    paths = []
    for i, item in enumerate(value):
        path = str(item)
        if (not path or path.startswith("/") or "\0" in path
                or ".." in path.split("/")):
            raise InputError(f"'{path}' is not a relative path inside the work dir",
                             field=f"outputs[{i}]")
        paths.append(path)
    return tuple(paths)


def spec_from_mapping(data: Mapping[str, Any]) -> JobSpec:
    """Validate a parsed spec; raises :class:`InputError` naming the field."""
    unknown = sorted(set(data) - set(SPEC_FIELDS))
    if unknown:
        raise InputError(f"unknown field (allowed: {', '.join(SPEC_FIELDS)})", field=unknown[0])
    for required in ("name", "command", "resources"):
        if data.get(required) in (None, "", []):
            raise InputError("is required", field=required)
    _check_text(data)
    name = str(data["name"])
    if not NAME_RE.match(name):
        raise InputError(f"'{name}' is not a name of lowercase letters, digits, '.', '_', '-'",
                         field="name")
    command = data["command"]
    if isinstance(command, list):
        command = "\n".join(str(c) for c in command)
    if not isinstance(command, str):
        raise InputError("must be a string or a list of lines", field="command")
    if len(command.encode()) > MAX_COMMAND_BYTES:
        raise InputError(f"is {len(command.encode())} bytes long; the most is "
                         f"{MAX_COMMAND_BYTES} (64 KiB): put a longer script in a file the "
                         "command runs", field="command")
    env = _env(data.get("env"))
    datasets = data.get("datasets") or []
    if not isinstance(datasets, list):
        raise InputError("must be a list of dataset ids", field="datasets")
    try:
        priority = PriorityClass(str(data.get("priority", "normal")))
    except ValueError:
        allowed = ", ".join(p.value for p in PriorityClass)
        raise InputError(f"'{data.get('priority')}' is not one of {allowed}",
                         field="priority") from None
    try:
        workload = WorkloadClass(str(data.get("workload", "dense-training")))
    except ValueError:
        allowed = ", ".join(w.value for w in WorkloadClass)
        raise InputError(f"'{data.get('workload')}' is not one of {allowed}",
                         field="workload") from None
    retries = data.get("max_retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
        raise InputError(f"'{retries}' is not a number from 0 to 10", field="max_retries")
    workdir = data.get("workdir")
    if workdir is not None and not isinstance(workdir, str | int):
        raise InputError("must be a path", field="workdir")
    if workdir is not None and len(str(workdir)) > MAX_WORKDIR_CHARS:
        raise InputError(f"is longer than {MAX_WORKDIR_CHARS} characters", field="workdir")
    purpose = str(data.get("purpose", "pre-training"))
    purposes = tuple(p.value for p in Purpose)
    if purpose not in purposes:
        raise InputError(f"'{purpose}' is not one of {', '.join(purposes)}", field="purpose")
    max_duration_s = parse_duration_s(data.get("max_duration", "1h"))
    estimated_s = _estimated_duration_s(data.get("estimated_duration"), max_duration_s)
    return JobSpec(
        name=name,
        command=command,
        resources=_resources(data["resources"]),
        max_duration_s=max_duration_s,
        workdir=str(workdir) if workdir not in (None, "") else None,
        env=env,
        priority=priority,
        workload=workload,
        datasets=tuple(str(d) for d in datasets),
        max_retries=retries,
        purpose=purpose,
        outputs=_outputs(data.get("outputs")),
        limits=parse_limits(data.get("limits")),
        estimated_duration_s=estimated_s,
    )


def _estimated_duration_s(value: object, max_duration_s: int) -> int | None:
    """The optional ``estimated_duration``: a duration like ``max_duration``, no longer."""
    if value is None:
        return None
    seconds = parse_duration_s(value, "estimated_duration")
    if seconds > max_duration_s:
        raise InputError(f"{seconds}s is longer than max_duration ({max_duration_s}s), which "
                         "stops the job", field="estimated_duration")
    return seconds


def spec_from_stored(data: Mapping[str, Any]) -> JobSpec:
    """Rebuild a spec that was validated on admission and stored by :meth:`JobSpec.to_dict`
    (no re-validation: the scheduling loop reads thousands of them each round)."""
    return JobSpec(
        name=data["name"],
        command=data["command"],
        resources=tuple(ResourceAlternative(r["chip"], r["count"]) for r in data["resources"]),
        max_duration_s=int(str(data["max_duration"]).rstrip("s")),
        workdir=data.get("workdir"),
        env=dict(data.get("env") or {}),
        priority=PriorityClass(data.get("priority", "normal")),
        workload=WorkloadClass(data.get("workload", "dense-training")),
        datasets=tuple(data.get("datasets") or ()),
        max_retries=int(data.get("max_retries", 0)),
        purpose=str(data.get("purpose", "pre-training")),
        outputs=tuple(data.get("outputs") or ()),
        limits=parse_limits(data.get("limits")),  # absent in specs stored before limits
        estimated_duration_s=int(str(data["estimated_duration"]).rstrip("s"))
        if data.get("estimated_duration") else None,
    )


def parse_job_spec(text: str, file: str | None = None) -> JobSpec:
    """Parse a YAML job spec; errors name the file, the line and the field."""
    import yaml  # only when a spec is parsed (see _key_lines)

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                         line=line) from None
    if not isinstance(data, dict):
        raise InputError("a job spec is a mapping of fields", file=file, line=1)
    try:
        return spec_from_mapping(data)
    except InputError as exc:
        top = (exc.field or "").split(".")[0].split("[")[0]
        raise exc.located(file=file, line=_key_lines(text).get(top)) from None
