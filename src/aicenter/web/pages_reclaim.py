"""Reclaim notices in the browser: the grants the idle sweep noticed (unused for
``idle_reclaim_days``), each with the day it is reclaimed if still unused
(``reclaim_notice_days`` after the notice) and what would go back to its call, and those
already reclaimed. A tenant sees its own organisation's, operators and auditors every one.
The notices are issued by the sweep alone (the server runs it hourly); an operator may run it
now from the page, which shows what it noticed, reclaimed and expired. Both call the services
of ``GET /reclaim-notices`` and ``POST /grants/reclaim``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aicenter.domain.errors import AicenterError
from aicenter.services import grant as grant_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import form_of, paged, render
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Caller, number: int | None, *,
          error: AicenterError | None = None,
          swept: grant_svc.ReclaimReport | None = None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        page = paged(number, grant_svc.count_reclaim_notices(ctx, who), lambda limit, offset:
                     grant_svc.reclaim_notices(ctx, who, limit=limit, offset=offset))
        ids = {n.view.grant.org_id for n in page.items}
        names = {o.id: o.name for o in org_svc.list_orgs(ctx, who, ids=ids)} if ids else {}
    return render(request, "reclaims.html", who, error=error, swept=swept,
                  page=page, names=names, now=ctx.clock.now(),
                  idle_days=ctx.settings.idle_reclaim_days,
                  notice_days=ctx.settings.reclaim_notice_days,
                  operator=who.person.role.value == "operator")


@router.get("/reclaims")
def reclaims(request: Request, page: Annotated[int | None, Query(ge=1)] = None
             ) -> HTMLResponse:
    return _page(request, page_caller(request), page)


@router.post("/reclaims/sweep")
async def sweep(request: Request) -> Response:
    """Run the idle sweep now (operators); the page shows what it did."""
    who = page_caller(request)
    await form_of(request)
    try:
        report = grant_svc.reclaim_idle(context_of(request), who)
    except AicenterError as exc:
        return _page(request, who, None, error=exc)
    return _page(request, who, None, swept=report)
