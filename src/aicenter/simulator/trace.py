"""A workload to replay: jobs in arrival order, with the throughput matrix they need."""

from __future__ import annotations

from dataclasses import dataclass

from aicenter.domain.errors import InputError
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import Job, Tenant


@dataclass(frozen=True, slots=True)
class Trace:
    """Jobs sorted by arrival; ``throughputs`` is ``None`` when the reader has no rates.

    ``tenants`` lists tenants with a weight or quota (others get weight 1 and no quota).
    """

    name: str
    jobs: tuple[Job, ...]
    throughputs: ThroughputMatrix | None = None
    tenants: tuple[Tenant, ...] = ()


def check_arrival(previous_s: float, arrival_s: float, file: str, line: int, field: str) -> None:
    """Arrivals must not go back in time (a shuffled or truncated export)."""
    if arrival_s < previous_s:
        raise InputError(
            f"arrival {arrival_s:g} s is earlier than the previous job's {previous_s:g} s "
            "(arrivals must be non-decreasing)",
            file=file,
            line=line,
            field=field,
        )


def parse_float(text: str, file: str, line: int, field: str, minimum: float | None = 0.0) -> float:
    """A finite number (≥ ``minimum`` when given), or an error naming file, line and field."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"'{text}' is not a number", file=file, line=line, field=field) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"'{text}' is not a finite number", file=file, line=line, field=field)
    if minimum is not None and value < minimum:
        raise InputError(f"{value:g} is below {minimum:g}", file=file, line=line, field=field)
    return value


def parse_int(text: str, file: str, line: int, field: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError(
            f"'{text}' is not a whole number", file=file, line=line, field=field
        ) from None
    if value < minimum:
        raise InputError(f"{value} is below {minimum}", file=file, line=line, field=field)
    return value
