"""Plan a training run: FLOPs, chip-hours, wall-clock, energy and cost on one chip type.

For each line item (stage) ``j`` with ``D_j`` tokens at length ``T_j``:

    F_j       = D_j · F(T_j)                                   (model FLOPs, flops.py)
    ideal_j   = F_j / (peak_BF16 · MFU · 3600)                  chip-hours at step throughput
    RL stages add rollouts at decode speed: ideal_j += D_j · (2/3)F(T_j) / (peak · MFU · ρ)
    hours_j   = ideal_j · k                                     (k: overhead, throughput.py)
    wall_days = Σ hours_j / N / 24

Energy and money come from :mod:`aicenter.planner.cost`. A chip that cannot train raises
:class:`InfeasibleError`; a model that does not fit at ``N`` chips is planned anyway with
``fits = False`` and the reason, so a table can show both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aicenter.catalog import Catalog
from aicenter.domain.accelerator import Accelerator, TrainingSupport
from aicenter.domain.errors import InfeasibleError, InputError
from aicenter.planner.cost import CostAssumptions, RunCost, run_cost
from aicenter.planner.flops import flops_basis, flops_per_token, rl_rollout_flops_per_token
from aicenter.planner.memory import MemoryFit, check_memory, training_refusal
from aicenter.planner.model import ModelSpec, StageKind, StageSpec
from aicenter.planner.throughput import MAX_MFU, Calibration, MfuEstimate, predict_mfu

DEFAULT_RL_ROLLOUT_EFFICIENCY = 0.3  # decode runs at ~30% of training MFU (assumption)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Knobs of the throughput model that a user may override (None = calibrated)."""

    mfu: float | None = None
    overhead: float | None = None
    rl_rollout_efficiency: float = DEFAULT_RL_ROLLOUT_EFFICIENCY

    def __post_init__(self) -> None:
        if self.mfu is not None and not 0 < self.mfu <= 1:
            raise InputError(f"{self.mfu} must be in (0, 1]", field="mfu")
        if self.overhead is not None and self.overhead < 1:
            raise InputError(f"{self.overhead} must be at least 1", field="overhead")
        if not 0 < self.rl_rollout_efficiency <= 1:
            raise InputError(
                f"{self.rl_rollout_efficiency} must be in (0, 1]", field="rl_rollout_efficiency"
            )


@dataclass(frozen=True, slots=True)
class StagePlan:
    """One line item of a plan."""

    name: str
    kind: StageKind
    tokens: float
    seq_len: int
    flops: float
    ideal_chip_hours: float
    chip_hours: float


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned run on ``count`` chips of one type."""

    model: ModelSpec
    chip: Accelerator
    count: int
    stages: tuple[StagePlan, ...]
    mfu: MfuEstimate
    mfu_overridden: bool
    overhead: float
    overhead_source: str
    memory: MemoryFit
    cost: RunCost
    assumptions: CostAssumptions
    skipped_stages: tuple[str, ...] = field(default=())

    @property
    def flops(self) -> float:
        return sum(s.flops for s in self.stages)

    @property
    def chip_hours(self) -> float:
        return sum(s.chip_hours for s in self.stages)

    @property
    def ideal_chip_hours(self) -> float:
        return sum(s.ideal_chip_hours for s in self.stages)

    @property
    def wall_days(self) -> float:
        return self.chip_hours / self.count / 24.0

    @property
    def fits(self) -> bool:
        return self.memory.fits


def stages_for(
    model: ModelSpec,
    tokens: float,
    include: tuple[StageKind, ...] = (),
    extra: tuple[StageSpec, ...] = (),
) -> tuple[list[StageSpec], list[str]]:
    """The line items to plan: the model's default stage with ``tokens``, the preset's stages
    of the kinds in ``include`` that publish tokens, then ``extra``. Returns (stages, notes
    about stages left out because they publish no token count)."""
    if not tokens > 0:
        raise InputError(f"{tokens} must be a positive number of tokens", field="tokens")
    seq = model.seq_len
    main = StageSpec(model.default_stage.value, model.default_stage, tokens, seq)
    chosen, skipped = [main], []
    for stage in model.stages:
        if stage.kind not in include or stage.kind is model.default_stage:
            continue
        if stage.tokens is None:
            skipped.append(f"{stage.name}: no published token count ({stage.note or 'pass it'})")
            continue
        chosen.append(stage)
    chosen.extend(extra)
    return chosen, skipped


def plan_run(
    model: ModelSpec,
    chip: Accelerator,
    count: int,
    stages: list[StageSpec],
    calibration: Calibration,
    catalog: Catalog,
    assumptions: CostAssumptions | None = None,
    options: PlanOptions | None = None,
    skipped: list[str] | None = None,
) -> Plan:
    """Plan ``stages`` of ``model`` on ``count`` × ``chip`` (maths in the module docstring)."""
    assumptions = assumptions or CostAssumptions()
    options = options or PlanOptions()
    if count < 1:
        raise InputError(f"{count} must be at least 1 chip", field="count")
    refusal = training_refusal(chip)
    if refusal:
        raise InfeasibleError(refusal)
    assert chip.peak_bf16_tflops is not None
    memory = check_memory(model, chip, count)
    estimate = predict_mfu(model, chip, count, calibration, memory.recompute)
    if options.mfu is not None:
        estimate = MfuEstimate(options.mfu, options.mfu, estimate.software_efficiency,
                               estimate.scaling_efficiency, estimate.achievable_fraction,
                               "given on the command line", True)
    overhead = options.overhead if options.overhead is not None else calibration.overhead
    overhead_source = (
        "given on the command line" if options.overhead is not None
        else calibration.overhead_source
    )
    peak_flops = chip.peak_bf16_tflops * 1e12
    rate = peak_flops * estimate.mfu * 3600.0  # model FLOPs per chip-hour
    planned: list[StagePlan] = []
    for stage in stages:
        assert stage.tokens is not None
        flops = stage.tokens * flops_per_token(model, stage.seq_len)
        ideal = flops / rate
        if stage.kind is StageKind.RL:
            rollout = stage.tokens * rl_rollout_flops_per_token(model, stage.seq_len)
            flops += rollout
            ideal += rollout / (rate * options.rl_rollout_efficiency)
        planned.append(
            StagePlan(stage.name, stage.kind, stage.tokens, stage.seq_len, flops, ideal,
                      ideal * overhead)
        )
    chip_hours = sum(s.chip_hours for s in planned)
    cost = run_cost(chip, chip_hours, assumptions, catalog)
    return Plan(
        model=model,
        chip=chip,
        count=count,
        stages=tuple(planned),
        mfu=estimate,
        mfu_overridden=options.mfu is not None,
        overhead=overhead,
        overhead_source=overhead_source,
        memory=memory,
        cost=cost,
        assumptions=assumptions,
        skipped_stages=tuple(skipped or ()),
    )


def plan_warnings(plan: Plan) -> list[str]:
    """Caveats a reader of the plan should see next to the figures."""
    warnings = []
    if plan.chip.training is TrainingSupport.LIMITED:
        warnings.append(
            f"{plan.chip.id} has limited training support: small models and fine-tuning"
        )
    if plan.model.derived:
        warnings.append("model shape derived from the parameter count: attention term approximate")
    if plan.memory.reason and plan.memory.fits:
        warnings.append(plan.memory.reason)
    if not plan.mfu.vendor_measured:
        warnings.append(low_confidence_note(plan))
    if plan.mfu.mfu >= MAX_MFU and not plan.mfu_overridden:
        warnings.append(f"MFU capped at {MAX_MFU}")
    return warnings


def low_confidence_note(plan: Plan) -> str:
    """Why a plan on a vendor without a calibration run is low confidence."""
    return (
        f"low confidence: no published run with reported hours on {plan.chip.vendor} chips "
        "calibrates the planner; its MFU is extrapolated from other vendors' runs scaled by "
        f"{plan.chip.id}'s achievable-matmul fraction"
    )


def plan_record(plan: Plan) -> dict[str, Any]:
    """The JSON form of a plan (keys of the issue's contract first, then the details)."""
    a, m, mem = plan.assumptions, plan.mfu, plan.memory
    return {
        "flops": plan.flops,
        "chip_hours": plan.chip_hours,
        "wall_days": plan.wall_days,
        "energy_kwh": plan.cost.energy_kwh,
        "cost": {
            "krw": float(plan.cost.krw.rounded()),
            "usd": float(plan.cost.usd.rounded()),
            "basis": plan.cost.basis,
            "electricity_krw": float(plan.cost.electricity_krw.rounded()),
            "capex_krw": float(plan.cost.capex_krw.rounded()),
            "price_usd_per_chip_hour": plan.cost.price_usd_per_chip_hour,
        },
        "fits": plan.fits,
        "model": plan.model.name,
        "chip": plan.chip.id,
        "count": plan.count,
        "ideal_chip_hours": plan.ideal_chip_hours,
        "ideal_wall_days": plan.ideal_chip_hours / plan.count / 24.0,
        "line_items": [
            {
                "stage": s.name,
                "kind": s.kind.value,
                "tokens": s.tokens,
                "seq_len": s.seq_len,
                "flops": s.flops,
                "ideal_chip_hours": s.ideal_chip_hours,
                "chip_hours": s.chip_hours,
            }
            for s in plan.stages
        ],
        "skipped_line_items": list(plan.skipped_stages),
        "memory": {
            "fits": mem.fits,
            "reason": mem.reason,
            "per_chip_gb": round(mem.total_gb, 2),
            "states_gb": round(mem.states_gb, 2),
            "buffers_gb": round(mem.buffers_gb, 2),
            "activations_gb": round(mem.activations_gb, 2),
            "usable_gb": round(mem.usable_gb, 2),
            "tensor_parallel": mem.tensor_parallel,
            "recompute": mem.recompute.value,
            "min_chips": mem.min_chips,
        },
        "assumptions": {
            "flops_per_token": flops_per_token(plan.model),
            "flops_basis": flops_basis(plan.model),
            "mfu": m.mfu,
            "mfu_source": m.source,
            "mfu_confidence": "measured vendor" if m.vendor_measured else "low",
            "hfu": m.hfu,
            "software_efficiency": m.software_efficiency,
            "scaling_efficiency": m.scaling_efficiency,
            "achievable_matmul_fraction": m.achievable_fraction,
            "overhead_factor": plan.overhead,
            "overhead_source": plan.overhead_source,
            "peak_bf16_tflops": plan.chip.peak_bf16_tflops,
            "average_power_w": plan.cost.average_power_w,
            "power_source": plan.cost.power_source,
            "average_power_fraction": a.average_power_fraction,
            "node_factor": a.node_factor,
            "pue": a.pue,
            "tariff_krw_per_kwh": a.tariff_krw_per_kwh,
            "krw_per_usd": a.krw_per_usd,
            "ownership": a.ownership.value,
            "capex_usd_per_chip": a.capex_usd_per_chip,
            "amortisation_years": a.amortisation_years,
            "utilisation": a.utilisation,
        },
        "warnings": plan_warnings(plan),
        "model_notes": list(plan.model.notes),
        "model_source": plan.model.source,
    }
