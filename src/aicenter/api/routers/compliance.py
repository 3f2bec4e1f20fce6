"""/api/v1/compliance: the compliance reports (who read each dataset where and under which
agreement, residency exceptions, PII actions at ingest, compute by chip and country), each
from the database's tables with ``matches`` saying whether its rebuild from the audit log alone
is the same. Operators and auditors read every organisation's; a provider organisation's data
providers and admins their own."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    ComplianceComputeOut,
    CompliancePiiOut,
    ComplianceReadOut,
    ComplianceReadsOut,
    ComplianceResidencyOut,
    ComputeUsedOut,
    Month,
    PiiVersionOut,
    ResidencyExceptionOut,
)
from aicenter.ledger.audit.compliance import PiiRow, ResidencyException
from aicenter.services import compliance as svc

router = APIRouter(tags=["compliance"])

Org = Annotated[str | None, Query(
    description="Organisation in scope (default: yours; operators and auditors: every one)")]
DatasetId = Annotated[str | None, Query(description="Only this dataset")]
InMonth = Annotated[Month | None, Query(description="YYYY-MM")]


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


@router.get("/compliance/datasets")
def dataset_reads(ctx: Ctx, who: Who, org_id: Org = None, dataset_id: DatasetId = None,
                  month: InMonth = None) -> ComplianceReadsOut:
    """Per dataset (of the provider ``org_id``): who read it, when, from which job, on which
    pool, site and country, under which agreement and purpose."""
    c = svc.dataset_reads(ctx, who, org_id=org_id, dataset_id=dataset_id, month=month)
    return ComplianceReadsOut(**_head(c), rows=[ComplianceReadOut(**dataclasses.asdict(r))
                                                for r in c.tables])


@router.get("/compliance/residency")
def residency(ctx: Ctx, who: Who, org_id: Org = None, dataset_id: DatasetId = None,
              month: InMonth = None) -> ComplianceResidencyOut:
    """Reads of domestic datasets outside the domestic countries, each with its reason (none
    expected: a foreign pool gets no data grant), and how many domestic reads were checked."""
    c = svc.residency_exceptions(ctx, who, org_id=org_id, dataset_id=dataset_id, month=month)
    return ComplianceResidencyOut(
        **_head(c), domestic_countries=list(c.log.domestic_countries),
        reads_checked=c.log.reads_checked,
        exceptions=[_exception(e) for e in c.log.exceptions],
        table_exceptions=[_exception(e) for e in c.tables.exceptions])


@router.get("/compliance/pii")
def pii(ctx: Ctx, who: Who, org_id: Org = None, dataset_id: DatasetId = None
        ) -> CompliancePiiOut:
    """The PII actions applied at ingest to each dataset version, with what was found."""
    c = svc.pii_actions(ctx, who, org_id=org_id, dataset_id=dataset_id)
    return CompliancePiiOut(**_head(c), rows=[_pii(r) for r in c.tables],
                            history=[_pii(r) for r in c.history])


@router.get("/compliance/compute")
def compute(ctx: Ctx, who: Who, org_id: Org = None, month: InMonth = None
            ) -> ComplianceComputeOut:
    """Per organisation and month: chip-hours and h100e-hours by chip type and country."""
    c = svc.compute_used(ctx, who, org_id=org_id, month=month)
    return ComplianceComputeOut(**_head(c), rows=[
        ComputeUsedOut(org_id=r.org_id, month=r.month, chip=r.chip, country=r.country,
                       chip_hours=str(r.chip_hours), h100e_hours=str(r.h100e_hours),
                       records=r.records) for r in c.tables])
