"""Published training runs: read a runs CSV and map its free text to catalog chips and presets.

The CSV has the columns of ``../shared/reference/training_runs.csv`` (``model``,
``total_params_b``, ``activated_params_b``, ``training_tokens_t``, ``hardware``, ``num_chips``,
``gpu_hours``, ``scope_of_hours``, ``confidence``, ``notes``, ``source``, ...). The packaged
calibration table adds optional columns that make each row explicit:

* ``chip_id`` — catalog id (else mapped from ``hardware``, e.g. "NVIDIA H800" -> nvidia-h800);
* ``preset`` — model preset (else matched from ``model``, else a shape derived from params);
* ``hours_basis`` — ``logged`` (cumulative accounted hours, which include failures, restarts
  and evaluation) or ``throughput`` (tokens divided by a step throughput, as DeepSeek-V3's
  "180K GPU-h per trillion tokens"); else inferred from the notes;
* ``stages`` — ``+``-separated stage kinds the hours cover (else read from the scope);
* ``step_mfu`` and ``step_flops_per_token`` — a published per-step utilisation and the FLOPs
  per token it was counted with (hardware FLOPs when the run recomputed activations);
* ``calibrate`` — ``yes`` when the row may calibrate the planner (pre-training scope, not low
  confidence).

Cells are free text ("~147000 (R1-Zero ...)", "~8.8M (derived ...)"): the first number is
taken, with K/M/B suffixes. A row that cannot be planned keeps the reason in ``problems``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from aicenter.catalog import Catalog
from aicenter.domain.errors import InputError
from aicenter.planner.model import (
    BILLION,
    ModelSpec,
    StageKind,
    derived_dense_model,
    find_preset,
    presets,
)

REQUIRED_COLUMNS = ("model", "hardware", "num_chips", "gpu_hours", "training_tokens_t")
DEFAULT_COUNT_WHEN_UNPUBLISHED = 1024

# Free-text hardware -> catalog id. Ordered: more specific patterns first (GH200 before H200).
HARDWARE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bgh200\b", "nvidia-gh200"),
    (r"\bgb200\b", "nvidia-gb200"),
    (r"\bh800\b", "nvidia-h800"),
    (r"\bh200\b", "nvidia-h200"),
    (r"\bh100\b", "nvidia-h100-sxm"),
    (r"\bh20\b", "nvidia-h20"),
    (r"\bb200\b", "nvidia-b200"),
    (r"\ba100\b", "nvidia-a100-80gb"),
    (r"\bl40s\b", "nvidia-l40s"),
    (r"\bmi250x?\b", "amd-mi250x"),
    (r"\bmi300x\b", "amd-mi300x"),
    (r"\bmi325x\b", "amd-mi325x"),
    (r"\bmi355x\b", "amd-mi355x"),
    (r"\bgaudi\s*2\b", "intel-gaudi2"),
    (r"\bgaudi\s*3\b", "intel-gaudi3"),
    (r"\btpu\s*v4\b", "google-tpu-v4"),
    (r"\btpu\s*v5e\b", "google-tpu-v5e"),
    (r"\btpu\s*v5p\b", "google-tpu-v5p"),
    (r"\btpu\s*v6e\b|\btrillium\b", "google-tpu-v6e"),
    (r"\btrainium\s*1\b|\btrn1\b", "aws-trainium1"),
    (r"\btrainium\s*2\b|\btrn2\b", "aws-trainium2"),
    (r"\b910b\b", "huawei-ascend-910b"),
    (r"\b910c\b", "huawei-ascend-910c"),
)

_THROUGHPUT_HINTS = ("per trillion tokens", "tokens/s/gpu", "tok/s/gpu", "tokens/s per gpu")


def map_hardware(text: str, catalog: Catalog) -> str | None:
    """The catalog id for free-text hardware ("NVIDIA A100-80GB (400 W)"), or None."""
    lowered = text.lower().replace("-", " ")
    for pattern, chip_id in HARDWARE_PATTERNS:
        if re.search(pattern, lowered) and chip_id in catalog:
            return chip_id
    return None


_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*([kKmMbBtT])?(?![a-zA-Z])")
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def first_number(text: str) -> float | None:
    """The first number in a free-text cell, with a K/M/B/T suffix applied; None if absent."""
    match = _NUMBER.search(text or "")
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    return value * _SUFFIX.get((match.group(2) or "").lower(), 1.0)


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """One published run, ready to be planned (``problems`` empty) or not."""

    label: str
    line: int
    model: ModelSpec | None
    chip_id: str | None
    count: int | None
    tokens: float | None
    reported_chip_hours: float | None
    hours_basis: str
    stages: tuple[StageKind, ...]
    step_mfu: float | None
    step_flops_per_token: float | None
    confidence: str
    calibrate: bool
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    source: str

    @property
    def plannable(self) -> bool:
        return not self.problems


def _stages_from(scope: str, explicit: str) -> tuple[StageKind, ...]:
    if explicit.strip():
        try:
            return tuple(StageKind(s.strip()) for s in explicit.split("+") if s.strip())
        except ValueError:
            allowed = ", ".join(k.value for k in StageKind)
            raise InputError(f"'{explicit}' must be kinds from {allowed} joined by +") from None
    lowered = scope.lower()
    stages = [StageKind.PRETRAIN]
    if "rl" in lowered.split() or lowered.startswith("rl"):
        return (StageKind.RL,)
    if "context" in lowered:
        stages.append(StageKind.CONTEXT_EXTENSION)
    if "post-training" in lowered and not lowered.startswith("post"):
        stages.append(StageKind.POST_TRAINING)
    return tuple(stages)


def _optional_float(row: dict[str, str], key: str) -> float | None:
    cell = (row.get(key) or "").strip()
    return first_number(cell) if cell else None


def parse_runs(path: Path | str, text: str, catalog: Catalog) -> list[TrainingRun]:
    """Parse a runs CSV; a missing column is an error, a bad row only a recorded problem."""
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing columns {', '.join(missing)}", file=str(path), line=1)
    runs: list[TrainingRun] = []
    for row in reader:
        try:
            runs.append(_run_from_row(row, reader.line_num, catalog))
        except InputError as exc:
            raise exc.located(file=str(path), line=reader.line_num) from None
    return runs


def _run_from_row(row: dict[str, str], line: int, catalog: Catalog) -> TrainingRun:
    label = (row.get("model") or "").strip() or f"line {line}"
    problems: list[str] = []
    notes: list[str] = []
    hardware = (row.get("hardware") or "").strip()
    chip_id = (row.get("chip_id") or "").strip() or map_hardware(hardware, catalog)
    if chip_id and chip_id not in catalog:
        problems.append(f"chip id '{chip_id}' is not in the catalog")
        chip_id = None
    elif chip_id is None:
        problems.append(f"hardware '{hardware or '?'}' does not map to a catalog chip")
    preset_name = (row.get("preset") or "").strip()
    model = presets().get(preset_name) if preset_name else find_preset(label)
    if preset_name and model is None:
        raise InputError(f"unknown preset '{preset_name}'", field="preset")
    if model is None:
        total = _optional_float(row, "total_params_b")
        active = _optional_float(row, "activated_params_b") or total
        if total is None or active is None:
            problems.append("no preset and no parameter count")
        else:
            model = derived_dense_model(label, total * BILLION, active * BILLION)
            notes.append("model shape derived from the parameter count")
    tokens_t = _optional_float(row, "training_tokens_t")
    tokens = tokens_t * 1e12 if tokens_t is not None else None
    if tokens is None:
        problems.append("no training-token count")
    count_value = _optional_float(row, "num_chips")
    count = int(count_value) if count_value else None
    if count is None:
        count = DEFAULT_COUNT_WHEN_UNPUBLISHED
        notes.append(f"chip count unpublished; planned on {count}")
    hours = _optional_float(row, "gpu_hours")
    text = " ".join((row.get("notes") or "", row.get("gpu_hours") or "")).lower()
    basis = (row.get("hours_basis") or "").strip()
    if not basis:
        basis = "throughput" if any(h in text for h in _THROUGHPUT_HINTS) else "logged"
    if basis not in ("logged", "throughput"):
        raise InputError(f"'{basis}' is not logged or throughput", field="hours_basis")
    confidence = (row.get("confidence") or "").strip() or "medium"
    calibrate_cell = (row.get("calibrate") or "").strip().lower()
    stages = _stages_from(row.get("scope_of_hours") or "", row.get("stages") or "")
    return TrainingRun(
        label=label,
        line=line,
        model=model,
        chip_id=chip_id,
        count=count,
        tokens=tokens,
        reported_chip_hours=hours,
        hours_basis=basis,
        stages=stages,
        step_mfu=_optional_float(row, "step_mfu"),
        step_flops_per_token=_optional_float(row, "step_flops_per_token"),
        confidence=confidence,
        calibrate=calibrate_cell in ("yes", "true", "1"),
        problems=tuple(problems),
        notes=tuple(notes),
        source=(row.get("source") or "").strip(),
    )


def read_runs(path: Path | str, catalog: Catalog) -> list[TrainingRun]:
    """Read a runs CSV file (columns of ``training_runs.csv``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read runs: {exc.strerror}", file=str(p)) from None
    return parse_runs(p, text, catalog)


CALIBRATION_FILE = "aicenter/planner/data/calibration_runs.csv"


@lru_cache(maxsize=1)
def _calibration_text() -> str:
    return resources.files("aicenter.planner").joinpath("data/calibration_runs.csv").read_text(
        "utf-8"
    )


def calibration_runs(catalog: Catalog) -> list[TrainingRun]:
    """The packaged calibration table (built from ``../shared/reference/training_runs.csv``)."""
    return parse_runs(CALIBRATION_FILE, _calibration_text(), catalog)
