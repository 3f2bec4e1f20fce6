"""/api/v1/datasets and /api/v1/dataset-reads: upload (raw request body), catalogue, metered
reads. There is deliberately no route that returns records."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import DatasetDetailOut, DatasetOut, DatasetReadOut
from aicenter.domain.errors import InputError
from aicenter.policy import Resource
from aicenter.services import dataset as svc
from aicenter.storage.repositories.dataset import DatasetRow

router = APIRouter(tags=["datasets"])


def dataset_out(d: DatasetRow) -> DatasetOut:
    return DatasetOut(**_fields(d))


def _fields(d: DatasetRow) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "provider_org_id": d.provider_org_id,
            "version": d.version, "manifest_sha256": d.manifest_sha256, "domestic": d.domestic,
            "licence": d.licence_text, "description": d.description,
            "records": int(d.stats.get("records", 0)), "bytes": int(d.stats.get("bytes", 0)),
            "created_at": d.created_at}


@router.post("/datasets", status_code=201)
async def upload(
    request: Request, ctx: Ctx, who: Who,
    name: Annotated[str, Query(description="Dataset name (lowercase, digits, . _ -)")],
    licence: Annotated[str, Query(description="Licence of the data")],
    filename: Annotated[str, Query(description="Original file name; its suffix sets the "
                                   "format (.jsonl, .csv, .parquet, .txt; .gz/.zst)")],
    org_id: Annotated[str | None, Query(description="Provider organisation")] = None,
    domestic: Annotated[bool, Query(description="Readable only on domestic pools")] = True,
    description: str = "",
    field: Annotated[str, Query(description="Text field of JSONL/CSV/Parquet rows")] = "text",
    input_format: Annotated[str | None, Query(alias="format")] = None,
    pii_action: Annotated[list[str] | None, Query(description="TYPE=drop|redact|pseudonymise")
                          ] = None,
) -> DatasetOut:
    """Upload a file as the request body (streamed to the center's disk); the server ingests
    it into the dataset store and answers with the dataset's metadata."""
    who.check(ctx, "dataset:upload", Resource("Dataset", "new", org_id or who.org_id))
    safe = filename.replace("/", "_").replace("\\", "_").lstrip(".")
    if not safe:
        raise InputError("give the file's name", field="filename")
    folder = ctx.settings.home / "uploads" / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe
    try:
        with path.open("wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
        row = await run_in_threadpool(
            svc.upload, ctx, who,
            svc.UploadRequest(name, safe, org_id, domestic, licence, description, field,
                              input_format, tuple(pii_action or ())), path)
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()
    return dataset_out(row)


@router.get("/datasets")
def list_datasets(ctx: Ctx, who: Who, provider_org_id: str | None = None) -> list[DatasetOut]:
    """The catalogue: every dataset's metadata."""
    return [dataset_out(d) for d in svc.list_datasets(ctx, who, provider_org_id)]


@router.get("/datasets/{dataset_id}")
def show_dataset(dataset_id: str, ctx: Ctx, who: Who) -> DatasetDetailOut:
    """Metadata, statistics, PII report and Croissant document (never records)."""
    d = svc.get_dataset(ctx, who, dataset_id)
    return DatasetDetailOut(**_fields(d), stats=d.stats, pii_report=d.pii_report,
                            croissant=d.croissant)


@router.get("/dataset-reads")
def list_reads(ctx: Ctx, who: Who, org_id: str | None = None,
               dataset_id: str | None = None) -> list[DatasetReadOut]:
    """Metered reads per job and dataset: your jobs' reads, and reads of datasets you provide."""
    return [DatasetReadOut(job_id=r.job_id, dataset_id=r.dataset_id, org_id=r.org_id,
                           agreement_id=r.agreement_id, records=r.usage.records,
                           bytes=r.usage.bytes, tokens=r.usage.tokens, updated_at=r.updated_at)
            for r in svc.usage(ctx, who, org_id=org_id, dataset_id=dataset_id)]
