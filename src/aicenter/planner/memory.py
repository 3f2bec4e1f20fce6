"""Does a model fit on N chips of a type, and how many chips does it need at least?

Per chip, in bytes, for mixed-precision Adam training fully sharded (ZeRO-3 / FSDP, with expert
parallelism spreading the experts of a mixture of experts) over ``N`` chips:

* model states: ``16 · P_total / N`` — BF16 weights (2) + BF16 gradients (2) + FP32 master
  weights, Adam first and second moments (4 + 4 + 4) per parameter (ZeRO, arXiv 1910.02054);
* gather buffers: two layers of BF16 active weights in flight, ``2 · 2 · P_active / L / t``;
* activations for one micro-batch sequence of length ``s`` with tensor/sequence parallelism of
  degree ``t = min(8, scale-up domain)`` (Korthikanti et al., arXiv 2205.05198, Table 2):
  - ``selective`` recompute: ``34 · s · h · L / t``
  - ``full`` recompute: ``2 · s · h · L / t + 34 · s · h / t`` (layer inputs + one layer)
  - ``none``: ``(34 · s · h + 5 · a · s²) · L / t`` (attention scores stored)

A model fits when the sum is at most :data:`USABLE_MEMORY_FRACTION` of the chip's memory (the
rest goes to the runtime, allocator fragmentation and communication buffers). The minimum chip
count is the smallest multiple of ``t`` that fits with full recomputation:
``N_min = ceil(16·P_total / (usable − buffers − activations_full))``. Longer-context stages are
assumed to use context parallelism, so memory is checked at the pre-training length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aicenter.domain.accelerator import Accelerator
from aicenter.planner.model import ModelSpec, Recompute

BYTES_PER_PARAM_STATES = 16.0  # 2 weights + 2 gradients + 12 FP32 master/Adam (mixed precision)
BYTES_BF16 = 2.0
ACTIVATION_BYTES_PER_TOKEN_HIDDEN = 34.0  # per layer, selective recompute (Korthikanti Table 2)
USABLE_MEMORY_FRACTION = 0.95
MAX_TENSOR_PARALLEL = 8
GB = 1e9


@dataclass(frozen=True, slots=True)
class MemoryFit:
    """Per-chip memory of a plan, in GB, and whether it fits."""

    chip_id: str
    count: int
    tensor_parallel: int
    recompute: Recompute
    states_gb: float
    buffers_gb: float
    activations_gb: float
    usable_gb: float
    min_chips: int | None
    fits: bool
    reason: str

    @property
    def total_gb(self) -> float:
        return self.states_gb + self.buffers_gb + self.activations_gb


def tensor_parallel_degree(chip: Accelerator) -> int:
    """``t = min(8, scale-up domain)``: tensor parallelism stays inside the fast domain."""
    return max(1, min(MAX_TENSOR_PARALLEL, chip.scale_up_domain))


def activation_bytes(model: ModelSpec, recompute: Recompute, tp: int) -> float:
    """Activation bytes per chip for one sequence at the pre-training length (see module doc)."""
    s, h, layers = float(model.seq_len), float(model.hidden_size), float(model.layers)
    per_layer = ACTIVATION_BYTES_PER_TOKEN_HIDDEN * s * h / tp
    if recompute is Recompute.FULL:
        return BYTES_BF16 * s * h * layers / tp + per_layer
    if recompute is Recompute.NONE:
        scores = 5.0 * model.heads * s * s / tp
        return (per_layer + scores) * layers
    return per_layer * layers


def _buffers_bytes(model: ModelSpec, tp: int) -> float:
    return 2.0 * BYTES_BF16 * model.active_params / model.layers / tp


def minimum_chips(model: ModelSpec, chip: Accelerator) -> int | None:
    """Fewest chips (a multiple of the tensor-parallel degree) that hold the model with full
    recomputation; None when even one layer's working set does not fit."""
    tp = tensor_parallel_degree(chip)
    usable = chip.memory_gb * GB * USABLE_MEMORY_FRACTION
    room = usable - _buffers_bytes(model, tp) - activation_bytes(model, Recompute.FULL, tp)
    if room <= 0:
        return None
    needed = math.ceil(BYTES_PER_PARAM_STATES * model.total_params / room)
    return max(tp, math.ceil(needed / tp) * tp)


def check_memory(model: ModelSpec, chip: Accelerator, count: int) -> MemoryFit:
    """Memory per chip at ``count`` chips with the model's recompute mode.

    When the chosen mode does not fit but full recomputation does, the plan switches to full
    recomputation (it costs compute, which the throughput model charges) and says so.
    """
    tp = tensor_parallel_degree(chip)
    usable = chip.memory_gb * GB * USABLE_MEMORY_FRACTION
    states = BYTES_PER_PARAM_STATES * model.total_params / count
    buffers = _buffers_bytes(model, tp)
    recompute = model.recompute
    activations = activation_bytes(model, recompute, tp)
    reason = ""
    if states + buffers + activations > usable and recompute is not Recompute.FULL:
        full = activation_bytes(model, Recompute.FULL, tp)
        if states + buffers + full <= usable:
            reason = (
                f"{recompute.value} recompute needs {(states + buffers + activations) / GB:.1f} GB"
                f" per chip; switched to full recompute"
            )
            recompute, activations = Recompute.FULL, full
    min_chips = minimum_chips(model, chip)
    fits = states + buffers + activations <= usable
    if not fits:
        total = (states + buffers + activations) / GB
        need = f"{total:.1f} GB per chip of {usable / GB:.1f} usable"
        if min_chips is None:
            floor = (buffers + activation_bytes(model, Recompute.FULL, tp)) / GB
            reason = (
                f"does not fit on any number of {chip.id}: activations and layer buffers alone"
                f" need {floor:.1f} GB per chip even with full recompute, of {usable / GB:.1f}"
                " usable"
            )
        else:
            reason = f"does not fit on {count} × {chip.id}: {need}; needs at least {min_chips}"
    return MemoryFit(
        chip_id=chip.id,
        count=count,
        tensor_parallel=tp,
        recompute=recompute,
        states_gb=states / GB,
        buffers_gb=buffers / GB,
        activations_gb=activations / GB,
        usable_gb=usable / GB,
        min_chips=min_chips,
        fits=fits,
        reason=reason,
    )


def training_refusal(chip: Accelerator) -> str | None:
    """Why a chip cannot train at all (inference-only NPUs, no 16-bit peak), or None."""
    if not chip.training.can_train:
        return (
            f"{chip.id} cannot train: training support is '{chip.training.value}'"
            f" ({chip.software_stack}; inference-only or no mature training stack)"
        )
    if chip.peak_bf16_tflops is None:
        return f"{chip.id} cannot train: no published BF16/FP16 peak"
    return None
