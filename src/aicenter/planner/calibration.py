"""The packaged calibration: software efficiencies and overhead fitted on published runs.

``data/calibration_runs.csv`` holds the rows of ``../shared/reference/training_runs.csv`` with
explicit columns added (catalog chip, preset, hours basis, stages, published step MFU and its
FLOPs basis, whether the row calibrates). Only pre-training rows that are not low-confidence
calibrate; the rest are validation-only.
"""

from __future__ import annotations

from functools import lru_cache

from aicenter.catalog import load_catalog
from aicenter.planner.runs import calibration_runs
from aicenter.planner.throughput import Calibration, fit_calibration


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """Calibration fitted on the packaged table with the packaged catalog."""
    catalog = load_catalog()
    return fit_calibration(calibration_runs(catalog), catalog)

