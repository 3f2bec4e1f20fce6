"""A fleet's capacity in H100-equivalents, by vendor and by vendor country.

``capacity = Σ_pools count × r(chip, basis)`` where ``r`` is the chip's throughput relative to
an H100 SXM (:mod:`aicenter.catalog.performance`). The basis is a workload class, or ``best``:
each chip counted at its best use (max over classes), so an inference NPU counts at its
inference worth and an H100 at 1.0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from aicenter.catalog import PerformanceTable
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.fleet import Proposal


class CapacityBasis(StrEnum):
    DENSE_TRAINING = "dense-training"
    MOE_TRAINING = "moe-training"
    INFERENCE = "inference"
    BEST = "best"


@dataclass(frozen=True, slots=True)
class FleetCapacity:
    """Capacity of one fleet on one basis, with the cost of its priced pools."""

    basis: CapacityBasis
    total_h100e: float
    by_vendor: dict[str, float]
    by_country: dict[str, float]
    hourly_cost_krw: Decimal
    priced_h100e: float
    chips: int

    @property
    def price_krw_per_h100e_h(self) -> float | None:
        """Cost of the priced pools per H100-equivalent hour they deliver."""
        if self.priced_h100e <= 0:
            return None
        return float(self.hourly_cost_krw) / self.priced_h100e


class CapacityCalculator:
    """Computes :class:`FleetCapacity` with the per-chip ratios looked up once."""

    def __init__(self, perf: PerformanceTable) -> None:
        self.perf = perf
        self._ratio: dict[tuple[str, CapacityBasis], float] = {}
        self._vendor: dict[str, tuple[str, str]] = {}
        for acc in perf.catalog:
            self._vendor[acc.id] = (acc.vendor_family, acc.vendor_country)
            for workload in WorkloadClass:
                self._ratio[(acc.id, CapacityBasis(workload.value))] = perf.ratio(acc.id, workload)
            self._ratio[(acc.id, CapacityBasis.BEST)] = perf.best_ratio(acc.id)

    def ratio(self, chip_id: str, basis: CapacityBasis) -> float:
        return self._ratio[(chip_id, basis)]

    def vendor_of(self, chip_id: str) -> str:
        return self._vendor[chip_id][0]

    def country_of(self, chip_id: str) -> str:
        return self._vendor[chip_id][1]

    def capacity(self, proposal: Proposal, basis: CapacityBasis) -> FleetCapacity:
        by_vendor: dict[str, float] = defaultdict(float)
        by_country: dict[str, float] = defaultdict(float)
        cost = Decimal(0)
        priced = 0.0
        chips = 0
        for pool in proposal.pools:
            h100e = pool.count * self._ratio[(pool.chip_id, basis)]
            vendor, country = self._vendor[pool.chip_id]
            by_vendor[vendor] += h100e
            by_country[country] += h100e
            chips += pool.count
            hourly = pool.hourly_cost_krw_per_chip
            if hourly is not None:
                cost += hourly * pool.count
                priced += h100e
        return FleetCapacity(
            basis=basis,
            total_h100e=sum(by_vendor.values()),
            by_vendor=dict(by_vendor),
            by_country=dict(by_country),
            hourly_cost_krw=cost,
            priced_h100e=priced,
            chips=chips,
        )
