"""aicenter's own trace format, CSV or YAML.

CSV columns (header required; the last five optional)::

    id,tenant,job_class,demand,total_work,arrival_s,programme,priority_class,weight,deadline_s,residency

``demand`` lists alternatives separated by ``|``: ``CHIP:COUNT`` (``v100:4``) or
``any>=GIB:COUNT`` (``any>=80:8``, any chip with at least 80 GiB). ``priority_class`` is
``best_effort``, ``standard`` (default) or ``chase``. ``total_work`` is in the units of the job
class (steps for Gavel's classes, H100-seconds for the catalog's ``dense-training``,
``moe-training`` and ``inference``).

YAML: ``{tenants: [{id, weight, quota_h100e_h, programme}], jobs: [{...same fields...}]}``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from aicenter.domain.errors import InputError
from aicenter.domain.units import H100eHours
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import AnyChipDemand, ChipDemand, Demand, Job, PriorityClass, Tenant
from aicenter.simulator.trace import Trace, check_arrival, parse_float, parse_int

REQUIRED = ("id", "tenant", "job_class", "demand", "total_work", "arrival_s")
OPTIONAL = ("programme", "priority_class", "weight", "deadline_s", "residency")
PRIORITY_NAMES = {p.name.lower(): p for p in PriorityClass}


def parse_demand(text: str, file: str, line: int) -> tuple[Demand, ...]:
    """``v100:4|p100:4`` or ``any>=80:8`` → demand alternatives."""
    alternatives: list[Demand] = []
    for part in (p.strip() for p in text.split("|")):
        chip, sep, count_text = part.rpartition(":")
        if not sep or not chip:
            raise InputError(
                f"'{part}' is not CHIP:COUNT or any>=GIB:COUNT", file=file, line=line,
                field="demand",
            )
        count = parse_int(count_text, file, line, "demand")
        if chip.startswith("any>="):
            memory = parse_float(chip[len("any>="):], file, line, "demand")
            alternatives.append(AnyChipDemand(memory, count))
        else:
            alternatives.append(ChipDemand(chip, count))
    return tuple(alternatives)


def _job_from_row(
    row: Mapping[str, Any], file: str, line: int, matrix: ThroughputMatrix | None
) -> Job:
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise InputError("missing value", file=file, line=line, field=name)
    job_class = str(row["job_class"])
    if matrix is not None and not matrix.knows(job_class):
        raise InputError(
            f"unknown job class '{job_class}' (not in the throughputs)", file=file, line=line,
            field="job_class",
        )
    priority_text = str(row.get("priority_class") or "standard").strip().lower()
    if priority_text not in PRIORITY_NAMES:
        raise InputError(
            f"'{priority_text}' is not one of {', '.join(PRIORITY_NAMES)}", file=file, line=line,
            field="priority_class",
        )
    deadline = row.get("deadline_s")
    return Job(
        id=str(row["id"]),
        tenant=str(row["tenant"]),
        job_class=job_class,
        demand=parse_demand(str(row["demand"]), file, line),
        total_work=parse_float(str(row["total_work"]), file, line, "total_work"),
        arrival_s=parse_float(str(row["arrival_s"]), file, line, "arrival_s"),
        programme=str(row["programme"]) if row.get("programme") else None,
        priority_class=PRIORITY_NAMES[priority_text],
        weight=parse_float(str(row.get("weight") or 1.0), file, line, "weight"),
        deadline_s=(
            parse_float(str(deadline), file, line, "deadline_s") if deadline not in (None, "")
            else None
        ),
        residency=str(row["residency"]) if row.get("residency") else None,
    )


def _tenants(items: Any, file: str) -> tuple[Tenant, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise InputError("'tenants' must be a list", file=file, field="tenants")
    tenants: list[Tenant] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item:
            raise InputError("each tenant needs an 'id'", file=file, field=f"tenants[{i}]")
        quota = item.get("quota_h100e_h")
        tenants.append(
            Tenant(
                id=str(item["id"]),
                weight=float(item.get("weight", 1.0)),
                quota=H100eHours(float(quota)) if quota is not None else None,
                programme=item.get("programme"),
            )
        )
    return tuple(tenants)


def read_native_trace(path: Path | str, matrix: ThroughputMatrix | None = None) -> Trace:
    """Read a native CSV or YAML trace (by extension); ``matrix`` checks the job classes."""
    p = Path(path)
    file = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=file) from None
    jobs: list[Job] = []
    tenants: tuple[Tenant, ...] = ()
    previous = float("-inf")
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(
                "not valid YAML", file=file, line=mark.line + 1 if mark else None
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise InputError("expected a mapping with a 'jobs' list", file=file)
        tenants = _tenants(data.get("tenants"), file)
        for i, item in enumerate(data["jobs"]):
            if not isinstance(item, dict):
                raise InputError("each job must be a mapping", file=file, field=f"jobs[{i}]")
            try:
                job = _job_from_row(item, file, i + 1, matrix)
            except InputError as exc:
                raise InputError(
                    exc.message, file=file, field=f"jobs[{i}].{exc.field or ''}".rstrip(".")
                ) from None
            check_arrival(previous, job.arrival_s, file, i + 1, f"jobs[{i}].arrival_s")
            previous = job.arrival_s
            jobs.append(job)
    else:
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"missing columns {', '.join(missing)}", file=file, line=1)
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise InputError(
                    f"expected {len(reader.fieldnames or [])} fields", file=file, line=line
                )
            job = _job_from_row(row, file, line, matrix)
            check_arrival(previous, job.arrival_s, file, line, "arrival_s")
            previous = job.arrival_s
            jobs.append(job)
    return Trace(p.stem, tuple(jobs), None, tenants)


def write_native_csv(trace: Trace, path: Path) -> Path:
    """Write a trace in the native CSV format (round-trips through :func:`read_native_trace`)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*REQUIRED, *OPTIONAL])
        for j in trace.jobs:
            demand = "|".join(
                f"{d.chip_type}:{d.count}" if isinstance(d, ChipDemand)
                else f"any>={d.min_memory_gib:g}:{d.count}"
                for d in j.demand
            )
            writer.writerow([
                j.id, j.tenant, j.job_class, demand, repr(j.total_work), repr(j.arrival_s),
                j.programme or "", j.priority_class.name.lower(), repr(j.weight),
                "" if j.deadline_s is None else repr(j.deadline_s), j.residency or "",
            ])
    return path
