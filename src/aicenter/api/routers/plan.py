"""/api/v1/plans: a training run's cost (rental and owned), time and energy on one chip type,
and the same run compared across every trainable type (everyone signed in; nothing stored)."""

from __future__ import annotations

from fastapi import APIRouter

from aicenter.api.deps import Ctx, Who
from aicenter.client.plan_models import ChipRowOut, CompareIn, CompareOut, CostOut, PlanIn, PlanOut
from aicenter.planner.compare import ChipOption
from aicenter.planner.cost import RunCost
from aicenter.services import plan as svc

router = APIRouter(tags=["plans"])


def cost_out(cost: RunCost | None, missing: str) -> CostOut:
    """A cost on one basis, or why the chip has none on it."""
    if cost is None:
        return CostOut(krw=None, usd=None, energy_kwh=None, note=missing)
    return CostOut(krw=float(cost.krw.rounded()), usd=float(cost.usd.rounded()),
                   energy_kwh=cost.energy_kwh, note=cost.basis)


def plan_out(result: svc.PlanResult) -> PlanOut:
    p, c = result.plan, result.costs
    return PlanOut(model=p.model.name, chip=p.chip.id, count=p.count, fits=p.fits,
                   memory_note=p.memory.reason, min_chips=p.memory.min_chips, flops=p.flops,
                   mfu=p.mfu.mfu, chip_hours=p.chip_hours, wall_days=p.wall_days,
                   energy_kwh=p.cost.energy_kwh, rental=cost_out(c.rental, c.rental_missing),
                   owned=cost_out(c.owned, c.owned_missing), warnings=list(result.warnings))


def row_out(row: ChipOption) -> ChipRowOut:
    p, c = row.plan, row.costs
    return ChipRowOut(
        chip=row.chip_id, count=p.count if p else None, fits=p.fits if p else False,
        mfu=p.mfu.mfu if p else None, chip_hours=p.chip_hours if p else None,
        wall_days=p.wall_days if p else None, energy_kwh=p.cost.energy_kwh if p else None,
        rental=cost_out(c.rental, c.rental_missing) if c else None,
        owned=cost_out(c.owned, c.owned_missing) if c else None,
        meets_deadline=row.meets_deadline, note=row.note)


@router.get("/plans/models")
def models(ctx: Ctx, who: Who) -> list[str]:
    """The model presets a plan may name."""
    return svc.model_names(ctx, who)


@router.post("/plans")
def plan(body: PlanIn, ctx: Ctx, who: Who) -> PlanOut:
    """Cost on both bases, chip-hours, days and energy of the run on ``count`` × ``chip``."""
    return plan_out(svc.plan(ctx, who, svc.PlanRequest(body.model, body.tokens, body.count,
                                                       body.chip)))


@router.post("/plans/compare")
def compare(body: CompareIn, ctx: Ctx, who: Who) -> CompareOut:
    """The run on every trainable chip type; the cheapest on each basis named."""
    result = svc.compare(ctx, who, svc.PlanRequest(body.model, body.tokens, body.count,
                                                   deadline_days=body.deadline_days))
    return CompareOut(
        model=result.model, rows=[row_out(r) for r in result.rows],
        cheapest_rental=result.cheapest_rental.chip_id if result.cheapest_rental else None,
        cheapest_owned=result.cheapest_owned.chip_id if result.cheapest_owned else None)
