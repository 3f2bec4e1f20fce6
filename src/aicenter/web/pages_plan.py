"""The planner in the browser: a model preset, training tokens, a chip type and count give the
run's cost on both bases (rental price and owned hardware), its days and its energy; the same
run on every trainable chip type is a table and a bar chart of rental cost and days. A GET
form (nothing changes, so a plan is a link one can share); it calls the service functions of
``POST /plans`` and ``POST /plans/compare``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from aicenter.domain.errors import AicenterError
from aicenter.services import plan as plan_svc
from aicenter.web.chart import bars
from aicenter.web.i18n import gettext as _
from aicenter.web.page_kit import decimal, integer, render
from aicenter.web.session import context_of, page_caller

router = APIRouter(include_in_schema=False)

DEFAULT_MODEL, DEFAULT_TOKENS, DEFAULT_CHIP, DEFAULT_COUNT = (
    "llama-3.1-8b", "1e12", "nvidia-h100-sxm", "64")


def _charts(comparison: plan_svc.Comparison) -> tuple[Markup, Markup]:
    """Rental cost (million KRW) and wall-clock days per chip type, as SVG."""
    cost: list[tuple[str, float | None]] = []
    days: list[tuple[str, float | None]] = []
    for row in comparison.rows:
        rental = row.costs.rental if row.costs else None
        cost.append((row.chip_id, float(rental.krw.amount) / 1e6 if rental else None))
        days.append((row.chip_id, row.plan.wall_days if row.plan else None))
    best = comparison.cheapest_rental.chip_id if comparison.cheapest_rental else None
    return (Markup(bars(cost, _("million KRW"), _("Rental cost per chip type"), best)),
            Markup(bars(days, _("days"), _("Days per chip type"))))


@router.get("/plan")
def plan_page(request: Request, model: Annotated[str | None, Query(max_length=200)] = None,
              tokens: Annotated[str | None, Query(max_length=40)] = None,
              chip: Annotated[str | None, Query(max_length=200)] = None,
              count: Annotated[str | None, Query(max_length=12)] = None) -> HTMLResponse:
    """The form; with a model, the plan on the chip and the comparison across chips."""
    who = page_caller(request)
    ctx = context_of(request)
    form = {"model": model or DEFAULT_MODEL, "tokens": tokens or DEFAULT_TOKENS,
            "chip": chip or DEFAULT_CHIP, "count": count or DEFAULT_COUNT}
    values: dict[str, Any] = {}
    error: AicenterError | None = None
    if model is not None:
        try:
            request_ = plan_svc.PlanRequest(
                form["model"], float(decimal("tokens", form["tokens"])),
                integer("count", form["count"]), form["chip"])
            values["result"] = plan_svc.plan(ctx, who, request_)
            comparison = plan_svc.compare(ctx, who, request_)
            values["comparison"] = comparison
            values["cost_chart"], values["days_chart"] = _charts(comparison)
        except AicenterError as exc:
            error = exc
    return render(request, "plan.html", who, error=error, form=form,
                  models=plan_svc.model_names(ctx, who),
                  chips=[c.id for c in ctx.catalog], **values)
