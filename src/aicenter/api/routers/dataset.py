"""/api/v1/datasets, /api/v1/uploads and /api/v1/dataset-reads: upload (raw request body,
ingested in the background), catalogue, metered reads. There is deliberately no route that
returns records."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import DatasetDetailOut, DatasetOut, DatasetReadOut, UploadOut
from aicenter.domain.dataset import Dataset
from aicenter.domain.errors import InputError
from aicenter.domain.upload import Upload
from aicenter.services import dataset as svc
from aicenter.services import upload as uploads
from aicenter.services.context import Caller, ServiceContext

router = APIRouter(tags=["datasets"])


def dataset_out(d: Dataset) -> DatasetOut:
    return DatasetOut(**_fields(d))


def _fields(d: Dataset) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "provider_org_id": d.provider_org_id,
            "version": d.version, "manifest_sha256": d.manifest_sha256, "domestic": d.domestic,
            "licence": d.licence_text, "description": d.description,
            "records": int(d.stats.get("records", 0)), "bytes": int(d.stats.get("bytes", 0)),
            "created_at": d.created_at}


@router.post("/datasets", status_code=202)
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
    tdm_covered: Annotated[list[str] | None, Query(
        description="Publisher or TDMRep policy URL your licence covers (repeatable): its "
        "TDM-reserved records are ingested instead of excluded")] = None,
) -> UploadOut:
    """Upload a file as the request body (streamed to the center's disk). The upload is
    checked before the body is read (token, permission, name, licence, format, size: 413
    over the limit), then queued: the center ingests it in the background
    (resuming after a crash); follow it with ``GET /uploads/{id}``."""
    wanted = upload_request(name, licence, filename, org_id=org_id, domestic=domestic,
                            description=description, field=field, input_format=input_format,
                            pii_action=pii_action or (), tdm_covered=tdm_covered or ())
    return upload_out(await receive_upload(request, ctx, who, wanted))


def upload_request(name: str, licence: str, filename: str, *, org_id: str | None = None,
                   domestic: bool = True, description: str = "", field: str = "text",
                   input_format: str | None = None, pii_action: Sequence[str] = (),
                   tdm_covered: Sequence[str] = ()) -> svc.UploadRequest:
    """What an upload asks for, from its parameters; the file's name is made safe to store
    (no directory, no leading dot)."""
    safe = filename.replace("/", "_").replace("\\", "_").lstrip(".")
    if not safe:
        raise InputError("give the file's name", field="filename")
    return svc.UploadRequest(name, safe, org_id, domestic, licence, description, field,
                             input_format, tuple(pii_action), tuple(tdm_covered))


def check_before_body(ctx: ServiceContext, who: Caller, wanted: svc.UploadRequest) -> str:
    """Everything refused before a byte of the body is read; the provider organisation."""
    return svc.check_upload(ctx, who, wanted)


async def receive_upload(request: Request, ctx: ServiceContext, who: Caller,
                         wanted: svc.UploadRequest) -> Upload:
    """Check the upload, stream the request's body to the center's disk and queue it for
    ingest. The size limit (:mod:`aicenter.api.limits`) is enforced around this: 413 before
    the body is read when its length is declared, else on the chunk that crosses it. Cut
    off, too large or refused: nothing of it is kept (file, row or queue entry). The API
    route and the portal's upload form (the same raw body, the CSRF token in a header) both
    land here."""
    await run_in_threadpool(check_before_body, ctx, who, wanted)
    upload_id = uploads.new_upload_id()
    folder = uploads.upload_folder(ctx, upload_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / wanted.filename
    try:
        with path.open("wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
        row: Upload = await run_in_threadpool(uploads.accept, ctx, who, upload_id, wanted,
                                              path)
    except ClientDisconnect:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(400, "the upload was cut off before its end; nothing was "
                                 "kept") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return row


@router.get("/uploads")
def list_uploads(ctx: Ctx, who: Who) -> list[UploadOut]:
    """Uploads of your organisation (every organisation's for operators and auditors)."""
    return [upload_out(u) for u in uploads.list_uploads(ctx, who)]


@router.get("/uploads/{upload_id}")
def get_upload(upload_id: str, ctx: Ctx, who: Who) -> UploadOut:
    """An upload's status: queued, ingesting, succeeded (with the version) or failed (why)."""
    return upload_out(uploads.get_upload(ctx, who, upload_id))


def upload_out(u: Upload) -> UploadOut:
    return UploadOut(id=u.id, dataset_id=u.dataset_id, provider_org_id=u.provider_org_id,
                     status=u.status.value, message=u.message, version=u.version,
                     created_at=u.created_at, finished_at=u.finished_at)


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
