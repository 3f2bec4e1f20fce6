"""Resource limits of a job besides its chips: memory, CPUs, processes (``limits:`` in a spec).

A spec may ask for its own limits; the operator's :class:`LimitPolicy` (settings ``job_*``)
gives the defaults and refuses a spec above its caps at admission (HTTP 422). Backends turn
the effective limits into cgroup settings; this module knows nothing of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aicenter.domain.errors import InputError

KIB = 1024
MIB = KIB * 1024
GIB = MIB * 1024
_SIZE_UNITS = {"": 1, "B": 1, "KiB": KIB, "MiB": MIB, "GiB": GIB, "TiB": GIB * 1024}
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?\s*$")
LIMIT_FIELDS = ("memory", "cpus", "pids")
MIN_MEMORY_BYTES = MIB
MIN_CPU_MILLIS = 10
"""cgroup v2 ``cpu.max`` takes at least 1 ms of CPU time per 100 ms period: 0.01 CPU."""
MIN_PIDS = 8
"""The shell, the center's wrapper and the command itself need a few processes."""


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    """What a job may use of the machine besides its chips (``limits:`` in the spec); None:
    the operator's default (:class:`LimitPolicy`)."""

    memory_bytes: int | None = None
    cpu_millis: int | None = None
    """Thousandths of a CPU: ``cpus: 1.5`` is 1500."""
    pids: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec's form (read back by :func:`parse_limits`): only the limits set."""
        out: dict[str, Any] = {}
        if self.memory_bytes is not None:
            out["memory"] = format_size(self.memory_bytes)
        if self.cpu_millis is not None:
            cpus = Decimal(self.cpu_millis) / 1000
            out["cpus"] = int(cpus) if cpus == int(cpus) else float(cpus)
        if self.pids is not None:
            out["pids"] = self.pids
        return out


def format_size(size_bytes: int) -> str | int:
    """The largest unit that says ``size_bytes`` exactly (``8GiB``), else plain bytes."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        if size_bytes % _SIZE_UNITS[unit] == 0:
            return f"{size_bytes // _SIZE_UNITS[unit]}{unit}"
    return size_bytes


def parse_size_bytes(value: object, field_name: str) -> int:
    """``8GiB``, ``512MiB``, ``1.5GiB``, ``1073741824`` (bytes) → bytes. Binary units only:
    ``8G`` or ``8GB`` could mean either, so they are refused rather than guessed."""
    match = SIZE_RE.match(str(value)) if isinstance(value, int | str) else None
    if match is None or isinstance(value, bool):
        raise InputError(f"'{value}' is not a size like 8GiB, 512MiB or 1073741824 (bytes)",
                         field=field_name)
    return int(Decimal(match.group(1)) * _SIZE_UNITS[match.group(2) or ""])


def parse_limits(value: object) -> ResourceLimits | None:
    """The spec's ``limits: {memory: 8GiB, cpus: 2, pids: 1024}``; each may be left out."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError("must be a mapping like {memory: 8GiB, cpus: 2, pids: 1024}",
                         field="limits")
    unknown = sorted(str(k) for k in value if k not in LIMIT_FIELDS)
    if unknown:
        raise InputError(f"unknown limit (allowed: {', '.join(LIMIT_FIELDS)})",
                         field=f"limits.{unknown[0]}")
    memory = cpus = pids = None
    if value.get("memory") is not None:
        memory = parse_size_bytes(value["memory"], "limits.memory")
        if memory < MIN_MEMORY_BYTES:
            raise InputError(f"'{value['memory']}' is less than the least a job can run "
                             "in, 1MiB", field="limits.memory")
    if value.get("cpus") is not None:
        raw = value["cpus"]
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise InvalidOperation
            millis = Decimal(str(raw).strip()) * 1000
        except InvalidOperation:
            raise InputError(f"'{raw}' is not a number of CPUs like 2 or 0.5",
                             field="limits.cpus") from None
        if not millis.is_finite() or millis != millis.to_integral_value() or \
                millis < MIN_CPU_MILLIS:
            raise InputError(f"'{raw}' is not a number of CPUs of at least 0.01 in steps of "
                             "0.001", field="limits.cpus")
        cpus = int(millis)
    if value.get("pids") is not None:
        pids = value["pids"]
        if not isinstance(pids, int) or isinstance(pids, bool) or pids < MIN_PIDS:
            raise InputError(f"'{pids}' is not a whole number of processes of at least "
                             f"{MIN_PIDS}", field="limits.pids")
    return ResourceLimits(memory, cpus, pids)


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """The operator's defaults and caps for jobs' limits (settings ``job_*``).

    A job's effective limits, placed on ``n`` chips:

        memory = spec's, else min(memory_per_chip × n, max_memory)
        cpus   = spec's, else min(cpus_per_chip × n, max_cpus)
        pids   = spec's, else max_pids

    and a spec above a cap is refused at admission (:meth:`check`)."""

    memory_per_chip_bytes: int
    cpu_millis_per_chip: int
    max_memory_bytes: int
    max_cpu_millis: int
    max_pids: int

    def check(self, limits: ResourceLimits | None) -> None:
        """Refuse limits above the caps, naming the field."""
        if limits is None:
            return
        if limits.memory_bytes is not None and limits.memory_bytes > self.max_memory_bytes:
            raise InputError(f"{format_size(limits.memory_bytes)} is more than this center "
                             f"allows one job ({format_size(self.max_memory_bytes)})",
                             field="limits.memory")
        if limits.cpu_millis is not None and limits.cpu_millis > self.max_cpu_millis:
            raise InputError(f"{limits.cpu_millis / 1000:g} CPUs is more than this center "
                             f"allows one job ({self.max_cpu_millis / 1000:g})",
                             field="limits.cpus")
        if limits.pids is not None and limits.pids > self.max_pids:
            raise InputError(f"{limits.pids} processes is more than this center allows one "
                             f"job ({self.max_pids})", field="limits.pids")

    def effective(self, limits: ResourceLimits | None, chip_count: int) -> ResourceLimits:
        """The limits the job runs with on ``chip_count`` chips (formula above)."""
        asked = limits or ResourceLimits()
        chips = max(chip_count, 1)
        return ResourceLimits(
            asked.memory_bytes if asked.memory_bytes is not None else
            min(self.memory_per_chip_bytes * chips, self.max_memory_bytes),
            asked.cpu_millis if asked.cpu_millis is not None else
            min(self.cpu_millis_per_chip * chips, self.max_cpu_millis),
            asked.pids if asked.pids is not None else self.max_pids)
