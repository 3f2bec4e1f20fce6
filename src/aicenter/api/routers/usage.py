"""/api/v1/usage: usage records, their daily sums, and monthly statements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from aicenter.api.convert import statement_out, usage_out
from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import DailyUsageOut, Month, StatementOut, UsageOut
from aicenter.services import usage as svc

router = APIRouter(tags=["usage"])


@router.get("/usage")
def list_usage(ctx: Ctx, who: Who, org_id: str | None = None, job_id: str | None = None,
               month: Annotated[Month | None, Query(description="YYYY-MM")] = None
               ) -> list[UsageOut]:
    """Usage records (per job per metering interval)."""
    return [usage_out(r) for r in svc.list_usage(ctx, who, org_id, job_id, month)]


@router.get("/usage/daily")
def daily_usage(ctx: Ctx, who: Who, month: Annotated[Month, Query(description="YYYY-MM")],
                org_id: str | None = None) -> list[DailyUsageOut]:
    """Charged h100e-hours per UTC day and organisation in a month (the usage page's chart),
    by day then organisation; records that cross midnight are split over their days."""
    totals = svc.daily_usage(ctx, who, month, org_id)
    return [DailyUsageOut(day=day, org_id=org, h100e_h=str(value))
            for (day, org), value in sorted(totals.items())]


@router.get("/orgs/{org_id}/statements/{month}")
def statement(org_id: str, month: Annotated[Month, Path(description="YYYY-MM")], ctx: Ctx,
              who: Who) -> StatementOut:
    """The monthly statement: usage by chip type, market value, payable and subsidy."""
    return statement_out(svc.statement(ctx, who, org_id, month))
