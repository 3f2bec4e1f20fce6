"""The H100-equivalent unit: each chip's throughput relative to one H100 SXM.

For a chip *c* and workload class *w*, with achievable fraction
``f(c) = achievable_matmul_fraction`` (measured achievable matmul rate / peak; when unmeasured,
:data:`DEFAULT_ACHIEVABLE_FRACTION`):

* compute ratio, training:  ``C(c) = peak_bf16(c)·f(c) / (peak_bf16(H100)·f(H100))``
* compute ratio, inference: ``C8(c) = peak8(c)·f(c) / (peak8(H100)·f(H100))`` where ``peak8`` is
  FP8 TFLOPS, or INT8 TOPS for chips without FP8
* bandwidth ratio: ``B(c) = memory_bw(c) / memory_bw(H100)``

and the relative throughput ``r(c, w)``:

* ``dense-training``: ``r = C``: dense training at scale is matmul-bound.
* ``moe-training``:   ``r = C^0.75 · B^0.25``: at equal active FLOPs a mixture of experts runs
  smaller expert matmuls and moves more weight, optimizer and routing bytes per FLOP, so memory
  bandwidth carries a quarter of the weight (geometric blend, so scaling both by k scales r by k).
* ``inference``:      ``r = C8^0.5 · B^0.5``: prefill is compute-bound, decode is
  bandwidth-bound; equal weights.

Chips that cannot train count 0 for both training classes. A ratio whose input is unknown
(for example no published bandwidth) falls back to the compute ratio alone. Measured values
(from jobs that ran, or a file) replace the estimate for their (chip, class).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from aicenter.catalog.loader import Catalog, unknown_chip_message
from aicenter.domain.accelerator import Accelerator, WorkloadClass
from aicenter.domain.errors import InputError

# Measured achievable fractions in the catalog range 0.51 (MI300X) to 0.99 (Gaudi 2), median
# about 0.80. A chip without a measurement usually has a younger software stack, so the default
# sits below the median.
DEFAULT_ACHIEVABLE_FRACTION = 0.70

MOE_BANDWIDTH_WEIGHT = 0.25
INFERENCE_BANDWIDTH_WEIGHT = 0.5


def achievable_fraction(acc: Accelerator) -> float:
    return acc.achievable_matmul_fraction or DEFAULT_ACHIEVABLE_FRACTION


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None:
        return None
    return value / reference


def _blend(compute: float, bandwidth: float | None, bandwidth_weight: float) -> float:
    if bandwidth is None or compute == 0:
        return compute
    return math.exp(
        (1 - bandwidth_weight) * math.log(compute) + bandwidth_weight * math.log(bandwidth)
    )


def relative_throughput(acc: Accelerator, workload: WorkloadClass, reference: Accelerator) -> float:
    """Estimated throughput of ``acc`` relative to ``reference`` (the H100 SXM) for a class."""
    f, f_ref = achievable_fraction(acc), achievable_fraction(reference)
    bandwidth = _ratio(acc.memory_bw_tbps, reference.memory_bw_tbps)
    if workload.is_training:
        if not acc.can_train or acc.peak_bf16_tflops is None or reference.peak_bf16_tflops is None:
            return 0.0
        compute = (acc.peak_bf16_tflops * f) / (reference.peak_bf16_tflops * f_ref)
        if workload is WorkloadClass.DENSE_TRAINING:
            return compute
        return _blend(compute, bandwidth, MOE_BANDWIDTH_WEIGHT)
    peak8, peak8_ref = acc.low_precision_peak, reference.low_precision_peak
    if peak8 is None:
        peak8 = acc.peak_bf16_tflops
    if peak8 is None or peak8_ref is None:
        return 0.0
    compute8 = (peak8 * f) / (peak8_ref * f_ref)
    return _blend(compute8, bandwidth, INFERENCE_BANDWIDTH_WEIGHT)


@dataclass(frozen=True, slots=True)
class Throughput:
    """A relative throughput with where it came from (``estimated`` or ``measured``)."""

    value: float
    basis: str
    source: str


class PerformanceTable:
    """Relative throughput for every (chip, workload class), measured values taking precedence."""

    def __init__(self, catalog: Catalog, measured: dict[tuple[str, WorkloadClass], Throughput]):
        self.catalog = catalog
        ref = catalog.reference
        self._table: dict[tuple[str, WorkloadClass], Throughput] = {}
        for acc in catalog:
            for workload in WorkloadClass:
                self._table[(acc.id, workload)] = Throughput(
                    relative_throughput(acc, workload, ref), "estimated", "catalog specs"
                )
        for key, value in measured.items():
            if key[0] not in catalog:
                raise InputError(unknown_chip_message(key[0], catalog.ids), field="chip_id")
            self._table[key] = value

    @classmethod
    def from_catalog(
        cls, catalog: Catalog, overrides: Path | str | None = None
    ) -> PerformanceTable:
        measured = read_measured_throughputs(overrides, catalog) if overrides else {}
        return cls(catalog, measured)

    def get(self, chip_id: str, workload: WorkloadClass) -> Throughput:
        self.catalog.get(chip_id)
        return self._table[(chip_id, workload)]

    def ratio(self, chip_id: str, workload: WorkloadClass) -> float:
        return self.get(chip_id, workload).value

    def best_ratio(self, chip_id: str) -> float:
        """A chip's worth at its best use: the largest ratio over the workload classes."""
        return max(self.ratio(chip_id, w) for w in WorkloadClass)


MEASURED_COLUMNS = ("chip_id", "workload_class", "relative_throughput", "source")


def read_measured_throughputs(
    path: Path | str, catalog: Catalog
) -> dict[tuple[str, WorkloadClass], Throughput]:
    """Read a CSV of measured ratios: ``chip_id,workload_class,relative_throughput,source``."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read throughputs: {exc.strerror}", file=str(p)) from None
    reader = csv.DictReader(lines)
    missing = [c for c in MEASURED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"missing columns {', '.join(missing)}", file=str(p), line=1)
    result: dict[tuple[str, WorkloadClass], Throughput] = {}
    for row in reader:
        line = reader.line_num
        chip = row["chip_id"].strip()
        if chip not in catalog:
            raise InputError(
                unknown_chip_message(chip, catalog.ids), file=str(p), line=line, field="chip_id"
            )
        try:
            workload = WorkloadClass(row["workload_class"].strip())
        except ValueError:
            allowed = ", ".join(w.value for w in WorkloadClass)
            raise InputError(
                f"'{row['workload_class']}' is not one of {allowed}",
                file=str(p),
                line=line,
                field="workload_class",
            ) from None
        try:
            value = float(row["relative_throughput"])
        except ValueError:
            value = -1.0
        if not value >= 0 or math.isinf(value):
            raise InputError(
                f"'{row['relative_throughput']}' is not a non-negative number",
                file=str(p),
                line=line,
                field="relative_throughput",
            )
        result[(chip, workload)] = Throughput(value, "measured", row["source"].strip() or str(p))
    return result
