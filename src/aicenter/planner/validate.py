"""Check the planner against published runs: predicted versus reported chip-hours.

For each run with reported hours the planner plans the stages the hours cover, on the
published chip and count, and compares like with like: throughput-derived reports against the
ideal (overhead-free) chip-hours, logged reports against chip-hours with the overhead factor.

    error_i = (predicted_i − reported_i) / reported_i · 100,    MAPE = mean_i |error_i|

Bias of a group (a model-size band or a chip vendor) is the mean signed error of its runs:
``bias_g = mean_{i∈g} error_i``; a group whose bias exceeds ±15 % is systematically off.

In-sample mode uses one calibration for all runs. Held-out mode (:func:`validate_held_out`)
refits the calibration without the run being predicted — and without any other row of the same
run (same model on the same chip, e.g. DeepSeek-V3's pre-training and total rows) — so no run
is on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aicenter.catalog import Catalog
from aicenter.domain.errors import AicenterError
from aicenter.planner.plan import plan_run, stages_for
from aicenter.planner.runs import TrainingRun
from aicenter.planner.throughput import Calibration, fit_calibration


@dataclass(frozen=True, slots=True)
class RunCheck:
    """One validated run."""

    label: str
    chip_id: str
    count: int
    predicted_chip_hours: float
    reported_chip_hours: float
    hours_basis: str
    mfu: float
    calibrated_on: tuple[str, ...]
    notes: tuple[str, ...]
    total_params: float = 0.0
    vendor: str = ""
    calibrates: bool = False

    @property
    def size_band(self) -> str:
        return size_band(self.total_params)

    @property
    def error_pct(self) -> float:
        reported = self.reported_chip_hours
        return (self.predicted_chip_hours - reported) / reported * 100


@dataclass(frozen=True, slots=True)
class Validation:
    runs: tuple[RunCheck, ...]
    skipped: tuple[tuple[str, str], ...]  # (label, reason)
    mode: str

    @property
    def mape_pct(self) -> float:
        if not self.runs:
            return float("nan")
        return sum(abs(r.error_pct) for r in self.runs) / len(self.runs)

    @property
    def calibrating_mape_pct(self) -> float:
        """MAPE over the runs that may calibrate (pre-training, not low confidence)."""
        errors = [abs(r.error_pct) for r in self.runs if r.calibrates]
        return sum(errors) / len(errors) if errors else float("nan")

    def bias_by(self, key: Callable[[RunCheck], str]) -> dict[str, tuple[float, int]]:
        """``{group: (mean signed error %, runs)}`` for the groups ``key`` puts runs in."""
        groups: dict[str, list[float]] = {}
        for check in self.runs:
            groups.setdefault(key(check), []).append(check.error_pct)
        return {g: (sum(v) / len(v), len(v)) for g, v in sorted(groups.items())}

    @property
    def bias_by_size_band(self) -> dict[str, tuple[float, int]]:
        return self.bias_by(lambda c: c.size_band)

    @property
    def bias_by_vendor(self) -> dict[str, tuple[float, int]]:
        return self.bias_by(lambda c: c.vendor)


SIZE_BANDS = ((10e9, "<10B"), (50e9, "10-50B"), (200e9, "50-200B"))


def size_band(total_params: float) -> str:
    """The model-size family a run belongs to (total parameters)."""
    for upper, name in SIZE_BANDS:
        if total_params < upper:
            return name
    return ">=200B"


def run_identity(run: TrainingRun) -> str:
    """Rows of the same run share this key: the model and the chip it ran on."""
    model = run.model.name if run.model is not None else run.label
    return f"{model}@{run.chip_id}"


def check_run(run: TrainingRun, calibration: Calibration, catalog: Catalog) -> RunCheck:
    """Plan one run as published and compare with its reported hours."""
    assert run.model is not None and run.chip_id is not None and run.count is not None
    assert run.tokens is not None and run.reported_chip_hours is not None
    stages, skipped = stages_for(run.model, run.tokens, include=run.stages)
    plan = plan_run(run.model, catalog.get(run.chip_id), run.count, stages, calibration, catalog,
                    skipped=skipped)
    predicted = plan.ideal_chip_hours if run.hours_basis == "throughput" else plan.chip_hours
    notes = list(run.notes) + list(skipped)
    if not plan.fits:
        notes.append(plan.memory.reason)
    return RunCheck(
        label=run.label,
        chip_id=run.chip_id,
        count=run.count,
        predicted_chip_hours=predicted,
        reported_chip_hours=run.reported_chip_hours,
        hours_basis=run.hours_basis,
        mfu=plan.mfu.mfu,
        calibrated_on=calibration.run_labels,
        notes=tuple(notes),
        total_params=run.model.total_params,
        vendor=catalog.get(run.chip_id).vendor_family,
        calibrates=run.calibrate,
    )


def _validate(
    runs: list[TrainingRun],
    catalog: Catalog,
    calibration_for: Callable[[TrainingRun], Calibration],
    mode: str,
    progress: Callable[[], None] | None = None,
) -> Validation:
    checks: list[RunCheck] = []
    skipped: list[tuple[str, str]] = []
    for run in runs:
        if progress:
            progress()
        if not run.reported_chip_hours:
            skipped.append((run.label, "no reported GPU-hours"))
            continue
        if not run.plannable:
            skipped.append((run.label, "; ".join(run.problems)))
            continue
        try:
            checks.append(check_run(run, calibration_for(run), catalog))
        except AicenterError as exc:
            skipped.append((run.label, f"cannot be planned: {exc}"))
    return Validation(tuple(checks), tuple(skipped), mode)


def validate_runs(
    runs: list[TrainingRun],
    catalog: Catalog,
    calibration: Calibration,
    progress: Callable[[], None] | None = None,
) -> Validation:
    """Every run against one calibration (in-sample for the packaged table)."""
    return _validate(runs, catalog, lambda _run: calibration, "in-sample", progress)


def validate_held_out(
    runs: list[TrainingRun],
    catalog: Catalog,
    calibration_runs: list[TrainingRun],
    progress: Callable[[], None] | None = None,
) -> Validation:
    """Leave-one-run-out: each run is predicted by a calibration fitted without it."""

    def calibration_for(run: TrainingRun) -> Calibration:
        key = run_identity(run)
        kept = [r for r in calibration_runs if run_identity(r) != key]
        return fit_calibration(kept, catalog)

    return _validate(runs, catalog, calibration_for, "leave-one-run-out", progress)
