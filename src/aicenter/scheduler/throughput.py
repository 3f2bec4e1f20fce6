"""The throughput matrix: how fast each job class runs on each chip type.

``rate(job_class, chip_type, count)`` is work units per second of a job of that class on a gang
of ``count`` chips. Lookup order:

1. a measured value for exactly ``(class, chip, count)`` (Gavel's file, or jobs that ran);
2. the planner's estimate for exactly ``(model, chip, count)`` when the class is a planner
   model (it knows MFU and scaling per chip and size):
   ``count · relative_throughput(model, chip, count)``;
3. a measured value at another count ``k``, scaled linearly: ``rate(k) · count / k``;
4. an estimate per chip ``e(class, chip)`` (from the catalog's H100-equivalent ratios), times
   ``count``.

A rate of 0 means the job cannot run on that chip (an inference NPU for a training job).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aicenter.catalog.performance import PerformanceTable
from aicenter.domain.accelerator import WorkloadClass
from aicenter.planner.model import ModelSpec
from aicenter.planner.throughput import relative_throughput


class ThroughputMatrix:
    """Job class × chip type × gang size → work units per second, measured over estimated."""

    def __init__(
        self,
        measured: Mapping[tuple[str, str, int], float] | None = None,
        estimated_per_chip: Mapping[tuple[str, str], float] | None = None,
        planned: Mapping[tuple[str, str, int], float] | None = None,
    ) -> None:
        self._measured: dict[tuple[str, str, int], float] = dict(measured or {})
        self._estimated = dict(estimated_per_chip or {})
        self._planned: dict[tuple[str, str, int], float] = dict(planned or {})
        self._by_class_chip: dict[tuple[str, str], list[tuple[int, float]]] = {}
        for (cls, chip, count), value in self._measured.items():
            self._by_class_chip.setdefault((cls, chip), []).append((count, value))

    @classmethod
    def from_performance(
        cls, perf: PerformanceTable, chip_ids: Iterable[str] | None = None
    ) -> ThroughputMatrix:
        """Estimates from the catalog: one unit of work is one H100-second of that class."""
        chips = list(chip_ids) if chip_ids is not None else perf.catalog.ids
        est = {(w.value, chip): perf.ratio(chip, w) for w in WorkloadClass for chip in chips}
        return cls(estimated_per_chip=est)

    def with_measured(self, values: Mapping[tuple[str, str, int], float]) -> ThroughputMatrix:
        """A copy where ``values`` replace whatever was there (measured beats estimated)."""
        merged = dict(self._measured)
        merged.update(values)
        return ThroughputMatrix(merged, self._estimated, self._planned)

    def with_planner(
        self, models: Iterable[ModelSpec], chip_ids: Iterable[str], counts: Iterable[int]
    ) -> ThroughputMatrix:
        """A copy with the planner's estimates for these models (job class = model name) on
        these catalog chips and gang sizes; one unit of work is one H100-second."""
        planned = dict(self._planned)
        chips, sizes = list(chip_ids), list(counts)
        for model in models:
            for chip in chips:
                for n in sizes:
                    planned[(model.name, chip, n)] = n * relative_throughput(model, chip, n)
        return ThroughputMatrix(self._measured, self._estimated, planned)

    def merged(self, other: ThroughputMatrix) -> ThroughputMatrix:
        """A copy with ``other``'s measured values and estimates laid over this one's."""
        measured = {**self._measured, **other._measured}
        estimated = {**self._estimated, **other._estimated}
        planned = {**self._planned, **other._planned}
        return ThroughputMatrix(measured, estimated, planned)

    def with_default_rate(
        self, job_class: str, chip_types: Iterable[str], rate_per_chip: float
    ) -> ThroughputMatrix:
        """A copy where chips with no rate for ``job_class`` get ``rate_per_chip`` (treated
        alike: used for Slurm GPU names that neither the catalog nor a file knows)."""
        extra = {
            (job_class, chip): rate_per_chip
            for chip in chip_types
            if self.rate(job_class, chip, 1) <= 0
        }
        return ThroughputMatrix(self._measured, {**self._estimated, **extra}, self._planned)

    def job_classes(self) -> set[str]:
        return (
            {k[0] for k in self._by_class_chip}
            | {k[0] for k in self._estimated}
            | {k[0] for k in self._planned}
        )

    def knows(self, job_class: str) -> bool:
        return job_class in self.job_classes()

    @property
    def chip_types(self) -> set[str]:
        return (
            {k[1] for k in self._by_class_chip}
            | {k[1] for k in self._estimated}
            | {k[1] for k in self._planned}
        )

    def rate(self, job_class: str, chip_type: str, count: int) -> float:
        """Work units per second on ``count`` chips; 0.0 when nothing is known."""
        exact = self._measured.get((job_class, chip_type, count))
        if exact is None:
            exact = self._planned.get((job_class, chip_type, count))
        if exact is not None:
            return exact
        near = self._by_class_chip.get((job_class, chip_type))
        if near:
            k, value = min(near, key=lambda kv: abs(kv[0] - count))
            return value * count / k
        return self._estimated.get((job_class, chip_type), 0.0) * count
