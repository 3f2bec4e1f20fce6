"""The H100-equivalent unit: estimates from specs, zero for non-training chips, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicenter.catalog import Catalog, PerformanceTable
from aicenter.catalog.performance import DEFAULT_ACHIEVABLE_FRACTION
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InputError

W = WorkloadClass


def test_reference_is_one(perf: PerformanceTable) -> None:
    for workload in W:
        assert perf.ratio("nvidia-h100-sxm", workload) == pytest.approx(1.0)


def test_dense_training_is_peak_times_achievable_fraction(perf: PerformanceTable) -> None:
    # MI300X: 1307.4 TFLOPS at 51.4 % achievable vs H100 989 at 80.3 %.
    expected = 1307.4 * 0.514 / (989 * 0.803)
    assert perf.ratio("amd-mi300x", W.DENSE_TRAINING) == pytest.approx(expected)
    # B200 has no measured fraction: the documented default applies.
    expected_b200 = 2250 * DEFAULT_ACHIEVABLE_FRACTION / (989 * 0.803)
    assert perf.ratio("nvidia-b200", W.DENSE_TRAINING) == pytest.approx(expected_b200)


def test_inference_npus_count_zero_for_training(catalog: Catalog, perf: PerformanceTable) -> None:
    for acc in catalog:
        if not acc.training.can_train:
            assert perf.ratio(acc.id, W.DENSE_TRAINING) == 0.0
            assert perf.ratio(acc.id, W.MOE_TRAINING) == 0.0
            assert perf.ratio(acc.id, W.INFERENCE) > 0.0
    assert perf.ratio("rebellions-rebel-quad", W.INFERENCE) > 1.0
    assert perf.ratio("furiosa-warboy", W.INFERENCE) < 0.05


def test_bandwidth_raises_moe_and_inference_not_dense(perf: PerformanceTable) -> None:
    # H200 = H100 compute with 4.8 vs 3.35 TB/s.
    assert perf.ratio("nvidia-h200", W.DENSE_TRAINING) == pytest.approx(1.0)
    assert perf.ratio("nvidia-h200", W.MOE_TRAINING) == pytest.approx((4.8 / 3.35) ** 0.25)
    assert perf.ratio("nvidia-h200", W.INFERENCE) == pytest.approx((4.8 / 3.35) ** 0.5)


def test_measured_values_override_estimates(tmp_path: Path, catalog: Catalog) -> None:
    f = tmp_path / "measured.csv"
    f.write_text(
        "chip_id,workload_class,relative_throughput,source\n"
        "amd-mi300x,dense-training,0.93,job 17 on pool p2\n"
    )
    table = PerformanceTable.from_catalog(catalog, f)
    got = table.get("amd-mi300x", W.DENSE_TRAINING)
    assert (got.value, got.basis, got.source) == (0.93, "measured", "job 17 on pool p2")
    assert table.get("amd-mi300x", W.INFERENCE).basis == "estimated"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("nvidia-h1000,dense-training,1.0,x", "did you mean"),
        ("amd-mi300x,training,1.0,x", "not one of"),
        ("amd-mi300x,inference,-2,x", "non-negative"),
    ],
)
def test_bad_measured_rows(tmp_path: Path, catalog: Catalog, row: str, message: str) -> None:
    f = tmp_path / "m.csv"
    f.write_text("chip_id,workload_class,relative_throughput,source\n" + row + "\n")
    with pytest.raises(InputError, match=message) as info:
        PerformanceTable.from_catalog(catalog, f)
    assert ":2" in str(info.value)
