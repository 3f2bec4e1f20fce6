"""Jobs: a YAML task spec (like a dstack or SkyPilot task) and the job's life cycle.

A spec names its resources as alternatives, ``[{chip: nvidia-h100-sxm, count: 8},
{chip: amd-mi300x, count: 8}]``: the scheduler places the job on whichever fits. Admission
reserves the most the job can cost,

    hold_h100e_h = max over alternatives a of  count_a × r(chip_a, workload) × max_duration_h

and metering charges what it really used; the hold is released when the job ends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import yaml

from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InputError
from aicenter.exchange.licence import Purpose


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
    outputs: tuple[str, ...] = ()
    """Declared output files (relative to the work dir): for a job that read datasets they are
    released only after :mod:`aicenter.exchange.output_check` (see ``services/job.py``)."""

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


NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
SPEC_FIELDS = (
    "name", "command", "workdir", "env", "resources", "max_duration", "priority", "workload",
    "datasets", "max_retries", "purpose", "outputs",
)


def parse_duration_s(value: object, field_name: str = "max_duration") -> int:
    """``90``, ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` → seconds (at least 1)."""
    match = DURATION_RE.match(str(value)) if isinstance(value, int | float | str) else None
    if match is None or isinstance(value, bool):
        raise InputError(f"'{value}' is not a duration like 90s, 30m, 2h or 1d", field=field_name)
    seconds = int(float(match.group(1)) * _UNIT_S[match.group(2)])
    if seconds < 1:
        raise InputError("must be at least 1 second", field=field_name)
    return seconds


def _key_lines(text: str) -> dict[str, int]:
    """Line (1-based) of each top-level key, for error messages."""
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
    name = str(data["name"])
    if not NAME_RE.match(name):
        raise InputError(f"'{name}' is not a name of lowercase letters, digits, '.', '_', '-'",
                         field="name")
    command = data["command"]
    if isinstance(command, list):
        command = "\n".join(str(c) for c in command)
    if not isinstance(command, str):
        raise InputError("must be a string or a list of lines", field="command")
    env = data.get("env") or {}
    if not isinstance(env, dict):
        raise InputError("must be a mapping of NAME: value", field="env")
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
    purpose = str(data.get("purpose", "pre-training"))
    purposes = tuple(p.value for p in Purpose)
    if purpose not in purposes:
        raise InputError(f"'{purpose}' is not one of {', '.join(purposes)}", field="purpose")
    return JobSpec(
        name=name,
        command=command,
        resources=_resources(data["resources"]),
        max_duration_s=parse_duration_s(data.get("max_duration", "1h")),
        workdir=str(workdir) if workdir is not None else None,
        env={str(k): str(v) for k, v in env.items()},
        priority=priority,
        workload=workload,
        datasets=tuple(str(d) for d in datasets),
        max_retries=retries,
        purpose=purpose,
        outputs=_outputs(data.get("outputs")),
    )


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
    )


def parse_job_spec(text: str, file: str | None = None) -> JobSpec:
    """Parse a YAML job spec; errors name the file, the line and the field."""
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
