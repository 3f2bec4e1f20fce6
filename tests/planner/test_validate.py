"""Validation against published runs, in-sample and held out (never the same run on both
sides)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aicenter.catalog import Catalog
from aicenter.planner.runs import TrainingRun, calibration_runs, read_runs
from aicenter.planner.throughput import Calibration, fit_calibration
from aicenter.planner.validate import (
    run_identity,
    validate_held_out,
    validate_runs,
)
from tests.conftest import SHARED

REFERENCE = SHARED / "reference" / "training_runs.csv"


def test_in_sample_mape_over_reference_runs(catalog: Catalog, calibration: Calibration) -> None:
    result = validate_runs(calibration_runs(catalog), catalog, calibration)
    labels = {r.label for r in result.runs}
    assert {"DeepSeek-V3 (pre-training only)", "Llama 3.1 405B", "BLOOM-176B",
            "OpenEuroLLM datamix 2.15B (4T)", "Apertus 70B"} <= labels
    assert len(result.runs) == 20
    assert result.mape_pct <= 10.0
    skipped = dict(result.skipped)
    assert skipped["DeepSeek-R1 (RL post-training on V3 base)"] == "no training-token count"
    assert skipped["OPT-175B"] == "no reported GPU-hours"


def test_leave_one_run_out_generalises(catalog: Catalog) -> None:
    runs = calibration_runs(catalog)
    result = validate_held_out(runs, catalog, runs)
    by_label = {r.label: r for r in result.runs}
    for check in result.runs:
        run = next(r for r in runs if r.label == check.label)
        # the held-out run, and every other row of the same run, is absent from the fit
        same = {r.label for r in runs if run_identity(r) == run_identity(run)}
        assert not same & set(check.calibrated_on), check.label
    calibrating = [by_label[r.label] for r in runs if r.calibrate]
    assert len(calibrating) == 17
    for check in calibrating:
        # worst: Llama 3.1 8B on H100 (its twin Llama 3 8B leaves the fit with it)
        assert abs(check.error_pct) <= 35.0, (check.label, check.error_pct)
    held_out_mape = sum(abs(c.error_pct) for c in calibrating) / len(calibrating)
    assert held_out_mape <= 12.0
    assert result.calibrating_mape_pct == pytest.approx(held_out_mape)
    for band, (bias, n) in result.bias_by_size_band.items():
        assert abs(bias) <= 15.0 and n >= 1, band


def _split(
    runs: list[TrainingRun], chips: set[str]
) -> tuple[list[TrainingRun], list[TrainingRun]]:
    train = [r for r in runs if r.chip_id in chips]
    test = [r for r in runs if r.chip_id not in chips and r.calibrate]
    return train, test


@pytest.mark.parametrize(
    "train_chips",
    [{"nvidia-a100-80gb"}, {"nvidia-h100-sxm", "nvidia-h800"}],
)
def test_calibrate_on_one_chip_family_predict_the_other(
    catalog: Catalog, train_chips: set[str]
) -> None:
    runs = calibration_runs(catalog)
    train, test = _split(runs, train_chips)
    fit = fit_calibration(train, catalog)
    assert fit.points and not {r.label for r in test} & set(fit.run_labels)
    result = validate_runs(test, catalog, fit)
    assert len(result.runs) == len(test) >= 2
    # across chip generations the planner is weaker (A100 alone underestimates H100 runs of
    # 8B models by ~50 %): the bound states what it achieves, not the in-family target
    assert result.mape_pct <= 30.0


def test_packaged_table_is_the_reference_table_plus_columns() -> None:
    shared = list(csv.DictReader(REFERENCE.open(encoding="utf-8")))
    packaged_path = (
        Path(__file__).resolve().parents[2] / "src/aicenter/planner/data/calibration_runs.csv"
    )
    packaged = list(csv.DictReader(packaged_path.open(encoding="utf-8")))
    # the packaged table starts with the reference rows; rows after them are added runs
    # with reported hours, each with its source
    assert len(packaged) > len(shared)
    for extra in packaged[len(shared):]:
        assert extra["source"] and extra["gpu_hours"] and extra["calibrate"] in ("yes", "no")
    for ours, theirs in zip(packaged[: len(shared)], shared, strict=True):
        assert {k: ours[k] for k in theirs} == theirs
        assert ours["calibrate"] in ("yes", "no")
        if ours["calibrate"] == "yes":
            assert ours["confidence"] != "low" and ours["stages"] == "pretrain"


def test_reference_csv_runs_directly(catalog: Catalog, calibration: Calibration) -> None:
    runs = read_runs(REFERENCE, catalog)
    result = validate_runs(runs, catalog, calibration)
    assert len(result.runs) == 8  # the reference table alone
    by_label = {r.label: r for r in result.runs}
    # without the explicit columns the basis is read from the notes
    assert by_label["DeepSeek-V3 (pre-training only)"].hours_basis == "throughput"
    assert by_label["Llama 3.1 405B"].hours_basis == "logged"
    assert result.mape_pct <= 20.0
