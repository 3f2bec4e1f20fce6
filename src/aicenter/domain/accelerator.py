"""Accelerators: one chip type with its published specifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class TrainingSupport(StrEnum):
    """Whether a chip can train models.

    ``limited`` chips train small models or fine-tune (H20, L40S, TPU v5e); ``experimental``
    ones have no mature training stack yet and are counted as not trainable.
    """

    YES = "yes"
    LIMITED = "limited"
    EXPERIMENTAL = "experimental"
    NO = "no"

    @property
    def can_train(self) -> bool:
        return self in (TrainingSupport.YES, TrainingSupport.LIMITED)


class WorkloadClass(StrEnum):
    """Workload classes the H100-equivalent unit is defined for."""

    DENSE_TRAINING = "dense-training"
    MOE_TRAINING = "moe-training"
    INFERENCE = "inference"

    @property
    def is_training(self) -> bool:
        return self is not WorkloadClass.INFERENCE


@dataclass(frozen=True, slots=True)
class Accelerator:
    """A chip type of the catalog. Peaks are dense (not sparse) figures per chip."""

    id: str
    vendor: str
    vendor_family: str
    model: str
    year: int
    vendor_country: str
    peak_bf16_tflops: float | None
    peak_fp8_tflops: float | None
    peak_int8_tops: float | None
    memory_gb: float
    memory_bw_tbps: float | None
    tdp_w: float | None
    scale_up_link: str
    scale_up_bw_gbps: float | None
    scale_up_domain: int
    training: TrainingSupport
    software_stack: str
    achievable_matmul_fraction: float | None
    price_usd_per_chip_hour: float | None
    confidence: str
    notes: str
    source: str
    retrieved: date

    @property
    def can_train(self) -> bool:
        return self.training.can_train and self.peak_bf16_tflops is not None

    @property
    def low_precision_peak(self) -> float | None:
        """The fastest 8-bit rate: FP8 TFLOPS, or INT8 TOPS where the chip has no FP8."""
        return self.peak_fp8_tflops if self.peak_fp8_tflops is not None else self.peak_int8_tops
