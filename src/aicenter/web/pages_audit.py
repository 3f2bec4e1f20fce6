"""The audit log in the browser (operators and auditors): entries in sequence order with the
API's filters (organisation, object type and id, action), a page at a time by sequence number
(the log only grows, so "after seq N" is a stable page), and the whole-log verification on
request. Both call the service functions of ``GET /audit`` and ``GET /audit/verify``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from aicenter.ledger.audit import AuditFilter
from aicenter.services import audit as audit_svc
from aicenter.web.page_kit import PER_PAGE, render
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

Filter = Annotated[str | None, Query(max_length=80)]


@router.get("/audit")
def audit_page(request: Request, org: Filter = None, object_type: Filter = None,
               object_id: Filter = None, action: Filter = None,
               after: Annotated[int, Query(ge=0, le=2**62)] = 0,
               verify: Annotated[bool, Query()] = False) -> HTMLResponse:
    """A page of entries after ``after``; ``verify`` adds the chain and tree check."""
    who = page_caller(request)
    ctx = context_of(request)
    filters = {"org": org or "", "object_type": object_type or "",
               "object_id": object_id or "", "action": action or ""}
    with page_errors(reading=False):  # the page, not one entry, is refused
        rows = audit_svc.list_entries(ctx, who, AuditFilter(
            org or None, object_type or None, object_id or None, action or None, None, None,
            after, PER_PAGE + 1))
        verification = audit_svc.verify(ctx, who) if verify else None
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    return render(request, "audit.html", who, entries=rows, filters=filters,
                  next_after=rows[-1].seq if more and rows else None,
                  verification=verification)
