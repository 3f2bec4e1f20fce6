"""Fixtures of the planner tests: the packaged calibration and a planning shortcut."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aicenter.catalog import Catalog
from aicenter.planner.calibration import default_calibration
from aicenter.planner.model import presets
from aicenter.planner.plan import Plan, plan_run, stages_for
from aicenter.planner.throughput import Calibration


@pytest.fixture(scope="session")
def calibration() -> Calibration:
    return default_calibration()


@pytest.fixture
def plan_of(catalog: Catalog, calibration: Calibration) -> Callable[..., Plan]:
    """``plan_of("llama-3.1-8b", 1e12, "nvidia-h100-sxm", 64)`` -> a Plan of the main stage."""

    def make(model: str, tokens: float, chip: str, count: int) -> Plan:
        spec = presets()[model]
        stages, skipped = stages_for(spec, tokens)
        return plan_run(spec, catalog.get(chip), count, stages, calibration, catalog,
                        skipped=skipped)

    return make
