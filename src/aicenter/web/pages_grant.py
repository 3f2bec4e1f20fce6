"""A grant's balance and history, and the monthly bill, in the browser. The grant page shows
the ledger's figures (available = budget − held − used − reclaimed) and what used them: the
metered usage records charged to the grant, per job. The bill is the month's statement in KRW
per chip type: market value, what the organisation pays under its call's price rule, and the
subsidy. Both read the services their API routes call (``GET /grants/{id}``, ``GET /usage``,
``GET /orgs/{id}/statements/{month}``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from aicenter.services import grant as grant_svc
from aicenter.services import org as org_svc
from aicenter.services import usage as usage_svc
from aicenter.web.page_kit import paginate, render
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class JobUse:
    """What one job used of a grant: metered H100e-hours and the span of its records."""

    job_id: str
    chip_id: str
    h100e_h: Decimal
    first: datetime
    last: datetime


@router.get("/grants/{grant_id}")
def grant_page(request: Request, grant_id: str,
               page: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        view = grant_svc.get_grant(ctx, who, grant_id)
        records = [r for r in usage_svc.list_usage(ctx, who, view.grant.org_id)
                   if r.grant_id == grant_id]
    jobs: dict[str, JobUse] = {}
    for r in records:
        seen = jobs.get(r.job_id)
        jobs[r.job_id] = JobUse(
            r.job_id, r.chip_id, (seen.h100e_h if seen else Decimal(0)) + r.h100e_hours,
            min(seen.first, r.interval_start) if seen else r.interval_start,
            max(seen.last, r.interval_end) if seen else r.interval_end)
    history = sorted(jobs.values(), key=lambda j: j.last, reverse=True)
    return render(request, "grant.html", who, view=view, page=paginate(history, page))


@router.get("/bill")
def bill(request: Request, month: Annotated[str | None, Query(max_length=7)] = None,
         org_id: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    """The month's statement of the caller's organisation (operators choose one)."""
    who = page_caller(request)
    ctx = context_of(request)
    month = month or ctx.clock.now().strftime("%Y-%m")
    with page_errors():
        statement = usage_svc.statement(ctx, who, org_id or who.org_id, month)
        orgs = org_svc.list_orgs(ctx, who) if who.sees_all else []
    return render(request, "bill.html", who, statement=statement, month=month, orgs=orgs)
