"""The packaged calibration: software efficiencies and overhead fitted on published runs.

``data/calibration_runs.csv`` holds the rows of ``../shared/reference/training_runs.csv`` with
explicit columns added (catalog chip, preset, hours basis, stages, published step MFU and its
FLOPs basis, whether the row calibrates). Only pre-training rows that are not low-confidence
calibrate; the rest are validation-only.
"""

from __future__ import annotations

from functools import lru_cache

from aicenter.catalog import Catalog, load_catalog
from aicenter.planner.runs import TrainingRun, calibration_runs
from aicenter.planner.throughput import Calibration, fit_calibration


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """Calibration fitted on the packaged table with the packaged catalog."""
    catalog = load_catalog()
    return fit_calibration(list(calibration_runs(catalog)), catalog)


def calibrate_excluding(
    runs: list[TrainingRun], catalog: Catalog, excluded_labels: set[str]
) -> Calibration:
    """Fit on ``runs`` minus ``excluded_labels`` (held-out validation)."""
    kept = [r for r in runs if r.label not in excluded_labels]
    return fit_calibration(kept, catalog)
