"""Achieved throughput: model FLOPs utilisation (MFU) by chip, model size and cluster size.

Per training step, the hardware FLOPs utilisation of ``N`` chips of type ``c`` training model
``m`` is modelled as

    HFU(c, N, m) = s(c, m) · f(c) · e(c, N) · g(c, m) · ρ(m)

* ``f(c)`` — the chip's achievable-matmul fraction (catalog; measured largest-matmul rate over
  peak; :data:`aicenter.catalog.performance.DEFAULT_ACHIEVABLE_FRACTION` when unmeasured);
* ``e(c, N) = 1 / (1 + a·log2(max(1, N/D)) + b·max(0, BW_ref/BW − 1))`` — parallelism and
  cluster scale: each doubling of the number of scale-up domains (``D`` chips per NVLink/ICI
  domain) adds a share ``a`` of communication time, and a scale-up link slower than NVLink 4
  (``BW_ref`` = 900 GB/s) adds ``b`` per unit of shortfall. ``b = 0.05`` is an assumption; an
  unpublished link bandwidth counts as :data:`FALLBACK_SCALE_UP_GBPS`;
* ``g(c, m) = 1 / (1 + κ·I(c)/h)`` — model shape: the memory-bound work of a layer (norms,
  activations, optimizer) grows like ``h`` while its matmuls grow like ``h²``, so its share
  of step time is ``∝ I(c)/h`` with ``I(c)`` the chip's BF16 peak over memory bandwidth
  (FLOP/byte) and ``h`` the hidden width. It is why 8B models on H100 (I ≈ 295) reach a lower
  MFU than 70B models, and why the effect is small on A100 (I ≈ 156);
* ``ρ(m)`` — MoE routing (all-to-all dispatch, load imbalance): ``ρ`` for MoE models, 1 for
  dense ones;
* sequence length enters through the FLOPs per token (attention term, :mod:`flops`), precision
  through the peak: every plan and calibration run is counted on the BF16 peak, so an FP8 run
  (DeepSeek-V3) shows up as a higher software efficiency of that run, not as a separate
  constant (one FP8 run with reported hours cannot fit one);
* ``s(c, m)`` — software efficiency, calibrated on published runs: for each calibration run
  ``s_i = HFU_step,i / (f(c_i) · e(c_i, N_i) · g(c_i, m_i) · ρ(m_i))``. A chip with
  calibration runs uses their mean weighted by model-size similarity
  ``w_i = exp(−ln²(P/P_i) / (2·ln²4))``; a chip without runs uses the mean over all runs (so
  it is scaled by its own achievable-matmul fraction and FLOP/byte ratio). A chip whose vendor
  has no calibration run is flagged low confidence in every plan.

``a``, ``κ`` and ``ρ`` are fitted together with the calibration: the grid point (``a`` in 0 ..
0.15 by 0.01, ``κ`` in 0 .. 40 by 2, ``ρ`` in 0.6 .. 1.0 by 0.05) that minimises the
coefficient of variation of the runs' ``s_i`` (one chip-independent ``s`` should explain all
runs). With fewer than three runs they stay at their defaults (``a`` =
:data:`DEFAULT_SCALING_COST_PER_DOUBLING`, ``κ`` = 0, ``ρ`` = 1); ``κ`` needs two widths and
``ρ`` an MoE and a dense run. On the packaged 17 calibration runs the fit gives ``a = 0.05``,
``κ = 20``, ``ρ = 1.0`` (DeepSeek-V2's and V3's published rates need no MoE penalty beyond the
dense H800 run's), overhead ``k ≈ 1.094`` and mean ``s ≈ 1.11``; ``plan calibration`` prints
the current values.

``MFU = min(HFU / r, MAX_MFU)`` where ``r = 4/3`` under full activation recomputation (the
forward pass runs twice) and 1 otherwise; the cap of 0.75 keeps small clusters of chips with a
high achievable fraction from extrapolating beyond what any published run reached.

A calibration run's step HFU is its published step MFU converted to the planner's FLOPs basis
when published, else its hours-derived (effective) MFU times the overhead factor when its hours
are logged (throughput-derived hours carry no overhead).

Overhead factor (failures, restarts, evaluation, checkpoints): ``k = mean_i(step_i /
effective_i)`` over calibration runs that publish both a step MFU and logged hours (Llama 3.1
405B, BLOOM-176B). Planned chip-hours are ``F / (peak · MFU · 3600) · k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aicenter.catalog import Catalog
from aicenter.catalog.loader import REFERENCE_CHIP_ID
from aicenter.catalog.performance import achievable_fraction
from aicenter.domain.accelerator import Accelerator
from aicenter.domain.errors import InputError
from aicenter.planner.flops import flops_per_token
from aicenter.planner.model import ModelSpec, Recompute
from aicenter.planner.runs import TrainingRun

DEFAULT_SCALING_COST_PER_DOUBLING = 0.03
SCALING_GRID = tuple(i * 0.01 for i in range(16))  # 0 .. 0.15
DEFAULT_MEMORY_BOUND_COST = 0.0
MEMORY_BOUND_GRID = tuple(float(i) for i in range(0, 42, 2))  # 0 .. 40
DEFAULT_MOE_EFFICIENCY = 1.0
MOE_GRID = tuple(0.6 + i * 0.05 for i in range(9))  # 0.6 .. 1.0
FALLBACK_FLOPS_PER_BYTE = 300.0
INTERCONNECT_PENALTY = 0.05
REFERENCE_SCALE_UP_GBPS = 900.0
FALLBACK_SCALE_UP_GBPS = 400.0
FULL_RECOMPUTE_FACTOR = 4.0 / 3.0
SIZE_SIMILARITY_WIDTH = math.log(4.0)
DEFAULT_OVERHEAD = 1.10  # used only when no calibration run publishes both figures
DEFAULT_SOFTWARE_EFFICIENCY = 0.75  # used only for an empty calibration
MAX_MFU = 0.75


def scaling_efficiency(
    chip: Accelerator, count: int, per_doubling: float = DEFAULT_SCALING_COST_PER_DOUBLING
) -> float:
    """``e(c, N)``: share of step time not lost to communication (see module docstring)."""
    domains = max(1.0, count / max(1, chip.scale_up_domain))
    bandwidth = chip.scale_up_bw_gbps or FALLBACK_SCALE_UP_GBPS
    shortfall = max(0.0, REFERENCE_SCALE_UP_GBPS / bandwidth - 1.0)
    return 1.0 / (1.0 + per_doubling * math.log2(domains) + INTERCONNECT_PENALTY * shortfall)


def flops_per_byte(chip: Accelerator) -> float:
    """``I(c)``: BF16 peak over memory bandwidth (FLOP per byte), the chip's ridge point."""
    if chip.peak_bf16_tflops is None or not chip.memory_bw_tbps:
        return FALLBACK_FLOPS_PER_BYTE
    return chip.peak_bf16_tflops / chip.memory_bw_tbps


def shape_efficiency(chip: Accelerator, model: ModelSpec, per_width: float) -> float:
    """``g(c, m) = 1 / (1 + κ·I(c)/h)``: share of step time in matmuls rather than in the
    memory-bound work (norms, activations, optimizer) whose cost relative to the matmuls
    grows with the chip's FLOP/byte ratio and shrinks with the hidden width ``h``."""
    return 1.0 / (1.0 + per_width * flops_per_byte(chip) / max(1, model.hidden_size))


def routing_efficiency(model: ModelSpec, moe_efficiency: float) -> float:
    """``ρ`` for a mixture-of-experts model (all-to-all dispatch, load imbalance), else 1."""
    return moe_efficiency if model.is_moe else 1.0


def recompute_factor(recompute: Recompute) -> float:
    return FULL_RECOMPUTE_FACTOR if recompute is Recompute.FULL else 1.0


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    """One calibration run reduced to what predictions need."""

    label: str
    chip_id: str
    count: int
    active_params: float
    step_hfu: float
    software_efficiency: float
    effective_mfu: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted software efficiencies and overhead factor, with the runs they came from."""

    points: tuple[CalibrationPoint, ...]
    overhead: float
    overhead_source: str
    global_efficiency: float
    scaling_cost_per_doubling: float = DEFAULT_SCALING_COST_PER_DOUBLING
    memory_bound_cost: float = DEFAULT_MEMORY_BOUND_COST
    moe_efficiency: float = DEFAULT_MOE_EFFICIENCY
    vendors: tuple[str, ...] = ()

    @property
    def run_labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.points)


@dataclass(frozen=True, slots=True)
class MfuEstimate:
    """A predicted step MFU and where it came from."""

    mfu: float
    hfu: float
    software_efficiency: float
    scaling_efficiency: float
    achievable_fraction: float
    source: str
    vendor_measured: bool = True


def predict_mfu(
    model: ModelSpec,
    chip: Accelerator,
    count: int,
    calibration: Calibration,
    recompute: Recompute | None = None,
) -> MfuEstimate:
    """Step MFU of ``model`` on ``count`` × ``chip`` (maths in the module docstring)."""
    same_chip = [p for p in calibration.points if p.chip_id == chip.id]
    if same_chip:
        weights = [
            math.exp(-(math.log(model.active_params / p.active_params) ** 2)
                     / (2 * SIZE_SIMILARITY_WIDTH**2))
            for p in same_chip
        ]
        total = sum(weights)
        if total > 1e-12:
            s = sum(w * p.software_efficiency for w, p in zip(weights, same_chip, strict=True))
            s /= total
        else:
            s = sum(p.software_efficiency for p in same_chip) / len(same_chip)
        source = f"calibrated on {chip.id}: " + ", ".join(p.label for p in same_chip)
    else:
        s = calibration.global_efficiency
        source = (
            f"no published run on {chip.id}: mean software efficiency of "
            f"{len(calibration.points)} calibration runs × its achievable-matmul fraction"
        )
    f = achievable_fraction(chip)
    e = scaling_efficiency(chip, count, calibration.scaling_cost_per_doubling)
    g = shape_efficiency(chip, model, calibration.memory_bound_cost)
    rho = routing_efficiency(model, calibration.moe_efficiency)
    hfu = s * f * e * g * rho
    mfu = min(MAX_MFU, hfu / recompute_factor(recompute or model.recompute))
    measured = not calibration.vendors or chip.vendor_family in calibration.vendors
    return MfuEstimate(mfu, hfu, s, e, f, source, measured)


def fit_calibration(runs: list[TrainingRun], catalog: Catalog) -> Calibration:
    """Fit the overhead factor, the scaling constant and the software efficiencies on the
    ``runs`` marked ``calibrate`` that can be planned (others are ignored)."""
    usable = [
        r
        for r in runs
        if r.calibrate
        and r.plannable
        and r.reported_chip_hours
        and r.model is not None
        and r.chip_id is not None
        and r.tokens is not None
        and r.count is not None
    ]
    # 1) overhead from runs publishing both a step MFU and logged hours
    ratios: list[tuple[str, float]] = []
    for run in usable:
        if run.step_mfu is None or run.hours_basis != "logged":
            continue
        step, effective = _step_and_effective_hfu(run, catalog)
        ratios.append((run.label, step / effective))
    if ratios:
        overhead = sum(r for _, r in ratios) / len(ratios)
        overhead_source = "mean step/effective utilisation of " + ", ".join(
            f"{label} ({ratio:.3f})" for label, ratio in ratios
        )
    else:
        overhead, overhead_source = DEFAULT_OVERHEAD, "default (no calibration run publishes both)"
    # 2) step utilisation per run, then the scaling constant and software efficiencies
    steps: list[tuple[TrainingRun, Accelerator, float, float]] = []
    for run in usable:
        assert run.chip_id is not None
        chip = catalog.get(run.chip_id)
        step, effective = _step_and_effective_hfu(run, catalog)
        if run.step_mfu is None and run.hours_basis == "logged":
            step = effective * overhead
        steps.append((run, chip, step, effective))
    per_doubling, per_width, moe = _fit_constants(steps)
    points: list[CalibrationPoint] = []
    for run, chip, step, effective in steps:
        assert run.model is not None and run.count is not None
        points.append(
            CalibrationPoint(
                run.label,
                chip.id,
                run.count,
                run.model.active_params,
                step,
                step / _explained(run, chip, per_doubling, per_width, moe),
                effective / recompute_factor(run.model.recompute),
            )
        )
    global_s = (
        sum(p.software_efficiency for p in points) / len(points)
        if points
        else DEFAULT_SOFTWARE_EFFICIENCY
    )
    vendors = tuple(sorted({catalog.get(p.chip_id).vendor_family for p in points}))
    return Calibration(tuple(points), overhead, overhead_source, global_s, per_doubling,
                       per_width, moe, vendors)


def _explained(
    run: TrainingRun, chip: Accelerator, per_doubling: float, per_width: float, moe: float
) -> float:
    """``f·e·g·ρ`` of a calibration run: what the constants explain of its step HFU."""
    assert run.model is not None
    return (
        achievable_fraction(chip)
        * scaling_efficiency(chip, run.count or 1, per_doubling)
        * shape_efficiency(chip, run.model, per_width)
        * routing_efficiency(run.model, moe)
    )


def _fit_constants(
    steps: list[tuple[TrainingRun, Accelerator, float, float]],
) -> tuple[float, float, float]:
    """Grid values of ``(a, κ, ρ)`` minimising the coefficient of variation of the ``s_i``
    (one chip-independent software efficiency should explain every run). ``κ`` needs runs of
    at least two widths and ``ρ`` at least one MoE and one dense run; else their defaults."""
    if len(steps) < 3:
        return DEFAULT_SCALING_COST_PER_DOUBLING, DEFAULT_MEMORY_BOUND_COST, DEFAULT_MOE_EFFICIENCY
    widths = {run.model.hidden_size for run, *_ in steps if run.model is not None}
    kinds = {run.model.is_moe for run, *_ in steps if run.model is not None}
    width_grid = MEMORY_BOUND_GRID if len(widths) > 1 else (DEFAULT_MEMORY_BOUND_COST,)
    moe_grid = MOE_GRID if len(kinds) > 1 else (DEFAULT_MOE_EFFICIENCY,)

    def spread(constants: tuple[float, float, float]) -> float:
        values = [step / _explained(run, chip, *constants) for run, chip, step, _ in steps]
        mean = sum(values) / len(values)
        variance = sum((v - mean) ** 2 for v in values) / len(values)
        return math.sqrt(variance) / mean

    grid = [(a, k, r) for a in SCALING_GRID for k in width_grid for r in moe_grid]
    return min(grid, key=spread)


def _step_and_effective_hfu(run: TrainingRun, catalog: Catalog) -> tuple[float, float]:
    """(published step HFU on the planner basis or effective, effective HFU from the hours)."""
    assert run.model is not None and run.chip_id is not None and run.tokens is not None
    assert run.reported_chip_hours is not None
    chip = catalog.get(run.chip_id)
    if chip.peak_bf16_tflops is None:
        raise InputError(f"{chip.id} has no BF16 peak to calibrate on", field="chip_id")
    factor = recompute_factor(run.model.recompute)
    hw_flops_per_token = flops_per_token(run.model) * factor
    peak = chip.peak_bf16_tflops * 1e12
    effective = run.tokens * hw_flops_per_token / (run.reported_chip_hours * 3600.0 * peak)
    if run.step_mfu is None:
        return effective, effective
    basis = run.step_flops_per_token or hw_flops_per_token
    step = run.step_mfu * hw_flops_per_token / basis
    return step, effective


def relative_throughput(model: ModelSpec, chip_id: str, count: int) -> float:
    """Training throughput of ``count`` × ``chip_id`` relative to ``count`` × H100 SXM for
    ``model`` (tokens per second ratio, memory fit not considered; 0.0 for chips that cannot
    train). Uses the packaged calibration: ``peak(c)·MFU(c, N) / (peak(H100)·MFU(H100, N))``.
    """
    from aicenter.catalog import load_catalog
    from aicenter.planner.calibration import default_calibration

    catalog = load_catalog()
    chip, reference = catalog.get(chip_id), catalog.get(REFERENCE_CHIP_ID)
    if not chip.can_train or chip.peak_bf16_tflops is None:
        return 0.0
    calibration = default_calibration()
    ours = chip.peak_bf16_tflops * predict_mfu(model, chip, count, calibration).mfu
    assert reference.peak_bf16_tflops is not None
    theirs = reference.peak_bf16_tflops * predict_mfu(model, reference, count, calibration).mfu
    return ours / theirs

