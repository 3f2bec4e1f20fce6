"""A fleet's capacity in H100-equivalents, by vendor and by vendor country.

``capacity = Σ_pools count × r(chip, basis)`` where ``r`` is the chip's throughput relative to
an H100 SXM (:mod:`aicenter.catalog.performance`). The basis is a workload class, or ``best``:
each chip counted at its best use (max over classes), so an inference NPU counts at its
inference worth and an H100 at 1.0.

Owned pools (capex) carry no electricity in their price, rented ones do; so that both compare
fairly, the capacity also records the power drawn by owned pools (per chip ``power_w``, or the
chip's TDP × :data:`DEFAULT_HOST_POWER_FACTOR`, times the site's PUE), which the price
criterion charges at a tariff.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from aicenter.catalog import PerformanceTable
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.fleet import Proposal

DEFAULT_HOST_POWER_FACTOR = 1.35  # host CPUs, memory, NICs and switches per accelerator watt


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
    owned_power_kw: float = 0.0

    def price_krw_per_h100e_h(self, tariff_krw_per_kwh: float) -> float | None:
        """``(Σ hourly cost + tariff × owned kW) / h100e`` over the priced pools."""
        if self.priced_h100e <= 0:
            return None
        hourly = float(self.hourly_cost_krw) + tariff_krw_per_kwh * self.owned_power_kw
        return hourly / self.priced_h100e


class CapacityCalculator:
    """Computes :class:`FleetCapacity` with the per-chip ratios looked up once."""

    def __init__(self, perf: PerformanceTable) -> None:
        self.perf = perf
        self._ratio: dict[tuple[str, CapacityBasis], float] = {}
        self._vendor: dict[str, tuple[str, str]] = {}
        self._tdp_w: dict[str, float | None] = {}
        for acc in perf.catalog:
            self._vendor[acc.id] = (acc.vendor_family, acc.vendor_country)
            self._tdp_w[acc.id] = acc.tdp_w
            for workload in WorkloadClass:
                self._ratio[(acc.id, CapacityBasis(workload.value))] = perf.ratio(acc.id, workload)
            self._ratio[(acc.id, CapacityBasis.BEST)] = perf.best_ratio(acc.id)

    def ratio(self, chip_id: str, basis: CapacityBasis) -> float:
        return self._ratio[(chip_id, basis)]

    def vendor_of(self, chip_id: str) -> str:
        return self._vendor[chip_id][0]

    def country_of(self, chip_id: str) -> str:
        return self._vendor[chip_id][1]

    def power_w(self, chip_id: str, given_w: float | None) -> float:
        """Power per chip incl. host share: as given, else TDP × host factor (0 if unknown)."""
        if given_w is not None:
            return given_w
        tdp = self._tdp_w[chip_id]
        return tdp * DEFAULT_HOST_POWER_FACTOR if tdp is not None else 0.0

    def capacity(self, proposal: Proposal, basis: CapacityBasis) -> FleetCapacity:
        by_vendor: dict[str, float] = defaultdict(float)
        by_country: dict[str, float] = defaultdict(float)
        cost = Decimal(0)
        priced = 0.0
        chips = 0
        owned_w = 0.0
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
                if pool.owned:
                    owned_w += pool.count * self.power_w(pool.chip_id, pool.power_w)
        return FleetCapacity(
            basis=basis,
            total_h100e=sum(by_vendor.values()),
            by_vendor=dict(by_vendor),
            by_country=dict(by_country),
            hourly_cost_krw=cost,
            priced_h100e=priced,
            chips=chips,
            owned_power_kw=owned_w * proposal.site.pue / 1000.0,
        )
