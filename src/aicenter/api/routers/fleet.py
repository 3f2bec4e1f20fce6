"""/api/v1/fleet, /api/v1/proposals and /api/v1/procurement: a fleet or proposals scored with
a rubric (per criterion, the points, the maximum and why) and the procurement optimiser's
purchase, from YAML texts in the formats the CLI reads from files. Scoring: everyone signed
in; procurement: operators and auditors (:mod:`aicenter.services.fleet` says why). A problem
in a text is 422 naming the text's name, the line and the field."""

from __future__ import annotations

from fastapi import APIRouter

from aicenter.api.deps import Ctx, Who
from aicenter.client.fleet_models import (
    CriterionOut,
    FleetScoreIn,
    ProcurementIn,
    ProcurementOut,
    ProposalsScoreIn,
    PurchaseLineOut,
    RankedProposalOut,
    RubricPresetOut,
    ScoreOut,
)
from aicenter.fleet.rubric import RubricResult
from aicenter.services import fleet as svc

router = APIRouter(tags=["fleet"])


def score_out(r: RubricResult) -> ScoreOut:
    return ScoreOut(rubric=r.rubric, proposal=r.proposal, total=r.total, max=r.max,
                    criteria=[CriterionOut(id=c.id, type=c.type, points=c.points, max=c.max,
                                           explanation=c.explanation) for c in r.criteria])


def rubric_choice(preset: str | None, text: str | None) -> svc.RubricChoice:
    return svc.RubricChoice(preset, svc.YamlText("rubric.yaml", text) if text else None)


def procurement_out(p: svc.Procurement) -> ProcurementOut:
    return ProcurementOut(
        name=p.name, mix=[PurchaseLineOut(
            offer=line.offer_id, supplier=line.supplier, chip=line.chip_id, chips=line.chips,
            available=line.available, lot=line.lot, h100e=line.h100e,
            cost_krw=str(line.cost_krw), power_mw=line.power_mw) for line in p.lines],
        capacity_h100e=p.capacity_h100e, cost_krw=str(p.cost_krw),
        budget_krw=str(p.budget_krw), power_mw=p.power_mw, power_cap_mw=p.power_cap_mw,
        pue=p.pue, min_score=p.min_score, credited_score=p.credited_score,
        score=score_out(p.scored) if p.scored else None, solve_seconds=p.solve_seconds)


@router.get("/fleet/rubrics")
def rubrics(ctx: Ctx, who: Who) -> list[RubricPresetOut]:
    """The rubric presets shipped with aicenter."""
    return [RubricPresetOut(preset=r.preset, name=r.name, description=r.description,
                            max_points=r.max_points, criteria=[c[0] for c in r.criteria])
            for r in svc.rubric_presets(ctx, who)]


@router.post("/fleet/score")
def score(body: FleetScoreIn, ctx: Ctx, who: Who) -> ScoreOut:
    """One fleet or proposal scored with a rubric preset or a rubric text (``aicenter fleet
    score``)."""
    return score_out(svc.score_fleet(ctx, who, svc.YamlText(body.name, body.fleet),
                                     rubric_choice(body.rubric, body.rubric_yaml)))


@router.post("/proposals/score")
def rank(body: ProposalsScoreIn, ctx: Ctx, who: Who) -> list[RankedProposalOut]:
    """Proposals scored together and ranked by total, best first (``aicenter proposals
    rank``): relative criteria, such as price against the best bid, see every one."""
    ranked = svc.score_proposals(ctx, who, [svc.YamlText(p.name, p.text)
                                            for p in body.proposals],
                                 rubric_choice(body.rubric, body.rubric_yaml))
    return [RankedProposalOut(rank=r.rank, name=r.name, score=score_out(r.result))
            for r in ranked]


@router.post("/procurement")
def procure(body: ProcurementIn, ctx: Ctx, who: Who) -> ProcurementOut:
    """The chip mix maximising dense-training H100-equivalents within the budget, the power
    cap and a minimum rubric score (``aicenter procure``); 409 when no purchase qualifies."""
    rubric = (rubric_choice(body.rubric, body.rubric_yaml)
              if body.rubric is not None or body.rubric_yaml is not None else None)
    return procurement_out(svc.procure(ctx, who, svc.ProcurementRequest(
        svc.YamlText(body.name, body.offers), body.budget_krw, body.power_mw, rubric,
        body.min_score)))
