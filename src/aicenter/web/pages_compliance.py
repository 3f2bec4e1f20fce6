"""The compliance reports in the browser: who read each dataset where and under which
agreement, residency exceptions, the PII actions at ingest, and compute by chip type and
country, each with the API's filters (organisation, dataset, month) as a table, whether the
report from the tables equals its rebuild from the audit log, and the whole report to download
as CSV or JSON (the bodies ``GET /compliance/{report}`` answers, built by the same functions).
Operators and auditors see every organisation's; a provider organisation's data providers
and admins their own (the service decides)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aicenter.api.routers import compliance as compliance_api
from aicenter.api.schemas import ComplianceOut
from aicenter.domain.errors import InputError
from aicenter.services import compliance as compliance_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.web.i18n import current, format_number, format_when
from aicenter.web.i18n import gettext as _
from aicenter.web.page_kit import N_, Page, paginate, render
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

REPORTS = {"datasets": N_("Dataset reads"), "residency": N_("Residency exceptions"),
           "pii": N_("PII at ingest"), "compute": N_("Compute used")}
"""The reports in the order of their tabs, with their titles."""
FILTERS = {"datasets": ("org_id", "dataset_id", "month"),
           "residency": ("org_id", "dataset_id", "month"),
           "pii": ("org_id", "dataset_id"), "compute": ("org_id", "month")}
"""The filters each report takes (those of its API route)."""
COLUMNS = {
    "current": N_("Current version"), "dataset_id": N_("Dataset"),
    "provider_org_id": N_("Provider"), "org_id": N_("Organisation"),
    "person_id": N_("Submitted by"), "job_id": N_("Job"), "agreement_id": N_("Agreement"),
    "purpose": N_("Purpose"), "pool_id": N_("Pool"), "site": N_("Site"),
    "country": N_("Country"), "domestic": N_("Domestic"), "records": N_("Records"),
    "bytes": N_("Bytes"), "tokens": N_("Tokens"), "recorded_at": N_("Recorded"),
    "reason": N_("Reason"), "seq": N_("Log entry"), "version": N_("Version"),
    "actions": N_("Actions"), "records_with_pii": N_("Records with PII"),
    "counts": N_("Findings"), "dropped_for_pii": N_("Dropped for PII"), "month": N_("Month"),
    "chip": N_("Chip type"), "chip_hours": N_("Chip-hours"),
    "h100e_hours": N_("H100e-hours"),
}
"""Column headings of the reports' tables (the CSV keeps the API's field names)."""
NUMERIC = {"records", "bytes", "tokens", "seq", "records_with_pii", "dropped_for_pii",
           "chip_hours", "h100e_hours"}

Filter = Annotated[str | None, Query(max_length=80)]


def report_of(ctx: ServiceContext, who: Caller, report: str, filters: dict[str, str]
              ) -> ComplianceOut:
    """The report as the API answers it, for the filters it takes."""
    org_id = filters.get("org_id") or None
    dataset_id = filters.get("dataset_id") or None
    month = filters.get("month") or None
    if report == "datasets":
        return compliance_api.reads_out(compliance_svc.dataset_reads(
            ctx, who, org_id=org_id, dataset_id=dataset_id, month=month))
    if report == "residency":
        return compliance_api.residency_out(compliance_svc.residency_exceptions(
            ctx, who, org_id=org_id, dataset_id=dataset_id, month=month))
    if report == "pii":
        return compliance_api.pii_out(compliance_svc.pii_actions(
            ctx, who, org_id=org_id, dataset_id=dataset_id))
    return compliance_api.compute_out(compliance_svc.compute_used(ctx, who, org_id=org_id,
                                                                  month=month))


def cell(column: str, value: Any) -> str:
    """One value as the page shows it, in the request's locale."""
    locale = current()
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return format_when(value, locale)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "–"
    if column in NUMERIC:
        try:
            return format_number(Decimal(str(value)), locale)
        except InvalidOperation:
            return str(value)
    return str(value)


@router.get("/compliance", response_model=None)
def compliance_page(request: Request,
                    report: Annotated[Literal["datasets", "residency", "pii", "compute"],
                                      Query()] = "datasets",
                    org_id: Filter = None, dataset_id: Filter = None, month: Filter = None,
                    fmt: Annotated[Literal["csv", "json"] | None, Query(alias="format")] = None,
                    page: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The report's table a page at a time; ``format`` downloads the whole of it."""
    who = page_caller(request)
    ctx = context_of(request)
    given = {"org_id": org_id or "", "dataset_id": dataset_id or "", "month": month or ""}
    filters = {k: v for k, v in given.items() if k in FILTERS[report]}
    error: InputError | None = None
    with page_errors(reading=False):  # a report out of the caller's scope is refused
        orgs = sorted(org_svc.list_orgs(ctx, who), key=lambda o: o.name)
        try:
            out: ComplianceOut | None = report_of(ctx, who, report, filters)
        except InputError as exc:  # a bad filter: shown above the form that has it
            if fmt is not None:
                raise
            out, error = None, exc
    query = {"report": report, **{k: v for k, v in filters.items() if v}}
    values: dict[str, Any] = {"report": report, "reports": REPORTS, "filters": filters,
              "takes": FILTERS[report], "orgs": orgs, "query": query}
    if out is None:
        return render(request, "compliance.html", who, error=error, out=None, **values)
    if fmt is not None:
        body = compliance_api.csv_text(out) if fmt == "csv" else out.model_dump_json(indent=2)
        return Response(body, media_type=compliance_api.CSV if fmt == "csv"
                        else "application/json", headers={
                            "Content-Disposition":
                                f'attachment; filename="compliance-{report}.{fmt}"'})
    columns, rows = compliance_api.report_table(out)
    cut = paginate(rows, page)  # only the page's rows are formatted for the locale
    shown = Page([[cell(c, row.get(c)) for c in columns] for row in cut.items],
                 cut.number, cut.pages, cut.total)
    return render(request, "compliance.html", who, out=out,
                  headings=[_(COLUMNS.get(c, c)) for c in columns],
                  numeric=[c in NUMERIC for c in columns], page=shown, **values)
