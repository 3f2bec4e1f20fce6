"""Readers for Gavel's inputs (Narayanan et al., OSDI 2020; stanford-futuredata/gavel).

Trace: one job per line, 10 TAB-separated fields ``job_type, command, working_dir,
num_steps_arg, needs_data_dir, total_steps, scale_factor, priority_weight, slo,
arrival_time_s``; only the job type, total steps, scale factor, priority weight and arrival
matter, and ``slo`` when positive (``-1`` = none): as in Gavel's scheduler, the job's deadline is
``arrival + slo × duration``, its duration being the time it takes alone on ``scale_factor``
V100s (``total_steps / rate(v100)``; on the fastest type the matrix has when it has no V100).
Job ``i`` (0-based line index) becomes ``Job(id="job<i>", tenant="job<i>")``: Gavel has
no tenants, so every job is its own (fairness is then measured across jobs).

Throughputs: Gavel's ``simulation_throughputs.json`` (``{gpu: {"('<type>', <sf>)": {"null":
steps/s, ...}}}``; co-location pairs and ``*_unconsolidated`` keys are ignored) or the packaged
CSV copy ``job_type,chip_type,scale_factor,steps_per_s,source``.
"""

from __future__ import annotations

import ast
import csv
import json
from importlib import resources
from pathlib import Path

from aicenter.domain.errors import InputError
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import ChipDemand, Job
from aicenter.simulator.trace import Trace, check_arrival, parse_float, parse_int

GAVEL_FIELDS = (
    "job_type",
    "command",
    "working_dir",
    "num_steps_arg",
    "needs_data_dir",
    "total_steps",
    "scale_factor",
    "priority_weight",
    "slo",
    "arrival_time",
)
PACKAGED_THROUGHPUTS = "gavel_throughputs.csv"
REFERENCE_GPU = "v100"
"""The GPU type Gavel's durations (and so its SLO deadlines) are stated on."""

Rates = dict[tuple[str, str, int], float]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None


def _rates_from_json(text: str, file: str) -> Rates:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", file=file, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError("expected an object of GPU types", file=file)
    rates: Rates = {}
    for gpu, entries in data.items():
        if gpu.endswith("_unconsolidated") or not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            try:
                job_type, scale = ast.literal_eval(key)
                steps = float(value["null"])
            except (ValueError, SyntaxError, TypeError, KeyError):
                raise InputError(
                    f"bad entry {key!r}: expected \"('<job type>', <scale factor>)\" with a "
                    "'null' throughput",
                    file=file,
                    field=gpu,
                ) from None
            rates[(str(job_type), gpu, int(scale))] = steps
    return rates


def _rates_from_csv(text: str, file: str) -> Rates:
    reader = csv.DictReader(text.splitlines())
    wanted = ("job_type", "chip_type", "scale_factor", "steps_per_s")
    missing = [c for c in wanted if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"missing columns {', '.join(missing)}", file=file, line=1)
    rates: Rates = {}
    for row in reader:
        line = reader.line_num
        scale = parse_int(row["scale_factor"], file, line, "scale_factor")
        steps = parse_float(row["steps_per_s"], file, line, "steps_per_s")
        rates[(row["job_type"], row["chip_type"], scale)] = steps
    return rates


def read_gavel_throughputs(path: Path | str | None = None) -> ThroughputMatrix:
    """Gavel's measured throughputs (JSON or CSV); ``None`` reads the packaged copy."""
    if path is None:
        packaged = resources.files("aicenter.simulator").joinpath("data")
        packaged_text = packaged.joinpath(PACKAGED_THROUGHPUTS).read_text(encoding="utf-8")
        return ThroughputMatrix(_rates_from_csv(packaged_text, "packaged"))
    p = Path(path)
    text = _read_text(p)
    if text.lstrip().startswith("{"):
        return ThroughputMatrix(_rates_from_json(text, str(p)))
    return ThroughputMatrix(_rates_from_csv(text, str(p)))


def read_gavel_trace(path: Path | str, throughputs: ThroughputMatrix | None = None) -> Trace:
    """Read a Gavel ``.trace``; every job type must be in ``throughputs`` (default: packaged)."""
    p = Path(path)
    matrix = throughputs or read_gavel_throughputs()
    file = str(p)
    jobs: list[Job] = []
    previous = 0.0
    chips = sorted(matrix.chip_types)
    for index, raw in enumerate(_read_text(p).splitlines()):
        line = index + 1
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if len(fields) != len(GAVEL_FIELDS):
            raise InputError(
                f"expected {len(GAVEL_FIELDS)} TAB-separated fields "
                f"({', '.join(GAVEL_FIELDS)}), found {len(fields)}",
                file=file,
                line=line,
            )
        job_type = fields[0]
        if not matrix.knows(job_type):
            raise InputError(
                f"unknown job type '{job_type}' (not in the throughput file)",
                file=file,
                line=line,
                field="job_type",
            )
        steps = parse_float(fields[5], file, line, "total_steps")
        scale = parse_int(fields[6], file, line, "scale_factor")
        weight = parse_float(fields[7], file, line, "priority_weight")
        if weight <= 0:
            raise InputError("must be positive", file=file, line=line, field="priority_weight")
        slo = parse_float(fields[8], file, line, "slo", minimum=None)
        arrival = parse_float(fields[9], file, line, "arrival_time")
        check_arrival(previous, arrival, file, line, "arrival_time")
        previous = arrival
        if not any(matrix.rate(job_type, c, scale) > 0 for c in chips):
            raise InputError(
                f"job type '{job_type}' has no throughput on {scale} GPUs of any type",
                file=file,
                line=line,
                field="scale_factor",
            )
        deadline = None
        if slo > 0:
            reference = matrix.rate(job_type, REFERENCE_GPU, scale) or max(
                matrix.rate(job_type, c, scale) for c in chips)
            deadline = arrival + slo * steps / reference
        jid = f"job{len(jobs)}"
        jobs.append(
            Job(
                id=jid,
                tenant=jid,
                job_class=job_type,
                demand=tuple(ChipDemand(c, scale) for c in chips),
                total_work=steps,
                arrival_s=arrival,
                weight=weight,
                deadline_s=deadline,
            )
        )
    return Trace(p.stem, tuple(jobs), matrix)
