"""/api/v1/compliance: the compliance reports (who read each dataset where and under which
agreement, residency exceptions, PII actions at ingest, compute by chip and country), each
from the database's tables with ``matches`` saying whether its rebuild from the audit log alone
is the same. Operators and auditors read every organisation's; a provider organisation's data
providers and admins their own.

Each report answers JSON, or with ``format=csv`` its rows as CSV (:func:`report_table` says
which rows; the pages' tables and downloads use the same functions)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    ComplianceComputeOut,
    ComplianceOut,
    CompliancePiiOut,
    ComplianceReadOut,
    ComplianceReadsOut,
    ComplianceResidencyOut,
    ComputeUsedOut,
    Month,
    PiiVersionOut,
    ResidencyExceptionOut,
)
from aicenter.ledger.audit.compliance import (
    ComputeRow,
    PiiRow,
    ReadRow,
    ResidencyException,
    ResidencyReport,
)
from aicenter.services import compliance as svc

router = APIRouter(tags=["compliance"])

Org = Annotated[str | None, Query(
    description="Organisation in scope (default: yours; operators and auditors: every one)")]
DatasetId = Annotated[str | None, Query(description="Only this dataset")]
InMonth = Annotated[Month | None, Query(description="YYYY-MM")]
Format = Annotated[Literal["json", "csv"], Query(
    alias="format", description="json (the default), or csv: the report's rows, one header "
    "line (datasets: the reads; residency: the exceptions found in the log; pii: current "
    "and earlier versions; compute: the rows)")]
CSV = "text/csv; charset=utf-8"
AS_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {
    "type": "string"}}}, "description": "The report (JSON), or its rows as CSV"}}


def _head(c: svc.Compared[Any]) -> dict[str, Any]:
    return {"report": c.report, "org_id": c.scope.org_id, "dataset_id": c.scope.dataset_id,
            "month": c.scope.month, "matches": c.matches, "difference": c.difference,
            "log_entries": c.log_entries, "log_head": c.log_head}


def _exception(e: ResidencyException) -> ResidencyExceptionOut:
    return ResidencyExceptionOut(**dataclasses.asdict(e))


def _pii(r: PiiRow) -> PiiVersionOut:
    return PiiVersionOut(
        dataset_id=r.dataset_id, provider_org_id=r.provider_org_id, version=r.version,
        actions=None if r.actions is None else dict(r.actions), records=r.records,
        records_with_pii=r.records_with_pii, counts=dict(r.counts),
        dropped_for_pii=r.dropped_for_pii)


def reads_out(c: svc.Compared[list[ReadRow]]) -> ComplianceReadsOut:
    return ComplianceReadsOut(**_head(c), rows=[ComplianceReadOut(**dataclasses.asdict(r))
                                                for r in c.tables])


def residency_out(c: svc.Compared[ResidencyReport]) -> ComplianceResidencyOut:
    return ComplianceResidencyOut(
        **_head(c), domestic_countries=list(c.log.domestic_countries),
        reads_checked=c.log.reads_checked,
        exceptions=[_exception(e) for e in c.log.exceptions],
        table_exceptions=[_exception(e) for e in c.tables.exceptions])


def pii_out(c: svc.Compared[list[PiiRow]]) -> CompliancePiiOut:
    return CompliancePiiOut(**_head(c), rows=[_pii(r) for r in c.tables],
                            history=[_pii(r) for r in c.history])


def compute_out(c: svc.Compared[list[ComputeRow]]) -> ComplianceComputeOut:
    return ComplianceComputeOut(**_head(c), rows=[
        ComputeUsedOut(org_id=r.org_id, month=r.month, chip=r.chip, country=r.country,
                       chip_hours=str(r.chip_hours), h100e_hours=str(r.h100e_hours),
                       records=r.records) for r in c.tables])


def report_table(out: ComplianceOut) -> tuple[list[str], list[dict[str, Any]]]:
    """The report's rows as one table, its column names and its rows (values as the JSON
    has them): the reads; the residency exceptions found in the log (each naming its entry);
    each dataset's current PII version then its earlier ones (``current`` tells them apart);
    the compute rows."""
    rows: Sequence[BaseModel]
    kind: type[BaseModel]
    if isinstance(out, ComplianceReadsOut):
        rows, kind = out.rows, ComplianceReadOut
    elif isinstance(out, ComplianceResidencyOut):
        rows, kind = out.exceptions, ResidencyExceptionOut
    elif isinstance(out, CompliancePiiOut):
        columns = ["current", *PiiVersionOut.model_fields]
        return columns, ([{"current": True, **r.model_dump()} for r in out.rows]
                         + [{"current": False, **r.model_dump()} for r in out.history])
    elif isinstance(out, ComplianceComputeOut):
        rows, kind = out.rows, ComputeUsedOut
    else:
        raise TypeError(f"not a compliance report: {type(out).__name__}")
    return list(kind.model_fields), [r.model_dump() for r in rows]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def csv_text(out: ComplianceOut) -> str:
    """The rows of :func:`report_table` as CSV (RFC 4180, CRLF line ends)."""
    columns, rows = report_table(out)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def _answer(out: ComplianceOut, fmt: str) -> Any:
    if fmt == "csv":
        return Response(csv_text(out), media_type=CSV, headers={
            "Content-Disposition": f'attachment; filename="compliance-{out.report}.csv"'})
    return out


@router.get("/compliance/datasets", response_model=ComplianceReadsOut, responses=AS_CSV)
def dataset_reads(ctx: Ctx, who: Who, org_id: Org = None, dataset_id: DatasetId = None,
                  month: InMonth = None, fmt: Format = "json") -> Any:
    """Per dataset (of the provider ``org_id``): who read it, when, from which job, on which
    pool, site and country, under which agreement and purpose."""
    return _answer(reads_out(svc.dataset_reads(ctx, who, org_id=org_id, dataset_id=dataset_id,
                                               month=month)), fmt)


@router.get("/compliance/residency", response_model=ComplianceResidencyOut, responses=AS_CSV)
def residency(ctx: Ctx, who: Who, org_id: Org = None, dataset_id: DatasetId = None,
              month: InMonth = None, fmt: Format = "json") -> Any:
    """Reads of domestic datasets outside the domestic countries, each with its reason (none
    expected: a foreign pool gets no data grant), and how many domestic reads were checked."""
    return _answer(residency_out(svc.residency_exceptions(
        ctx, who, org_id=org_id, dataset_id=dataset_id, month=month)), fmt)


@router.get("/compliance/pii", response_model=CompliancePiiOut, responses=AS_CSV)
def pii(ctx: Ctx, who: Who, org_id: Org = None, dataset_id: DatasetId = None,
        fmt: Format = "json") -> Any:
    """The PII actions applied at ingest to each dataset version, with what was found."""
    return _answer(pii_out(svc.pii_actions(ctx, who, org_id=org_id, dataset_id=dataset_id)),
                   fmt)


@router.get("/compliance/compute", response_model=ComplianceComputeOut, responses=AS_CSV)
def compute(ctx: Ctx, who: Who, org_id: Org = None, month: InMonth = None,
            fmt: Format = "json") -> Any:
    """Per organisation and month: chip-hours and h100e-hours by chip type and country."""
    return _answer(compute_out(svc.compute_used(ctx, who, org_id=org_id, month=month)), fmt)
