"""Uploads in the browser: the provider's uploads with their ingest state, the form that sends a
dataset file, and one upload's page with the reports of its scan (personal data, TDM
reservations, duplicates) once the ingest is done.

The form is sent by ``static/upload.js`` (no inline script: the pages' CSP forbids it), in
two requests with the session's CSRF token in the ``X-CSRF-Token`` header (the session layer
checks it; the file body is never parsed as a form):

1. ``POST /uploads/check?…`` with the form's fields and no body: everything the API refuses
   before a byte of a file is read (permission, name, licence, format) is refused here too,
   at once, so a mistyped name does not cost a large transfer;
2. ``POST /uploads?…`` with the same fields and the raw file as the body, with a progress
   bar. The API's upload code receives it (:func:`aicenter.api.routers.dataset.
   receive_upload`: checked again, streamed to disk, queued) under the API's size limit for
   uploads (:mod:`aicenter.api.limits`: 413 before the body is read when it is larger; the
   page also tells the script the limit, which refuses such a file without sending it).

Both answer JSON (the API's error body on a refusal); the script then opens the upload's page,
which refreshes itself (htmx) until the ingest has finished."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from aicenter.api.limits import BodyLimits
from aicenter.api.routers.dataset import receive_upload, upload_request
from aicenter.domain.errors import AicenterError
from aicenter.domain.upload import UploadStatus
from aicenter.exchange.file_formats import RecordFormat
from aicenter.exchange.pii.base import Action, PiiType
from aicenter.exchange.pseudonymise import DEFAULT_ACTIONS
from aicenter.services import dataset as dataset_svc
from aicenter.services import org as org_svc
from aicenter.services import upload as upload_svc
from aicenter.services.dataset import UploadRequest
from aicenter.web.dataset_reports import reports_of
from aicenter.web.page_kit import paginate, render
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

UPLOADERS = ("operator", "org-admin", "data-provider")
"""Roles the upload form is shown to (the policies decide; others would be refused)."""


def _limit(request: Request) -> int:
    limits = getattr(request.app.state, "body_limits", None)
    return (limits if isinstance(limits, BodyLimits) else BodyLimits()).upload_max_bytes


def size_text(n_bytes: int) -> str:
    """A size in binary units, at most one decimal: ``64 GiB``, ``1.5 MiB``, ``900 bytes``."""
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    value = n_bytes / 1024
    units = ["KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{value:.1f}".removesuffix(".0") + f" {units[0]}"


@router.get("/uploads")
def uploads(request: Request, page: Annotated[int | None, Query(ge=1)] = None
            ) -> HTMLResponse:
    """The provider's uploads, newest first, with their ingest state and message; a page
    with one still ingesting refreshes itself (htmx) until none is. Above them, the form
    that uploads a file (for those who may)."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        rows = sorted(upload_svc.list_uploads(ctx, who), key=lambda u: u.created_at,
                      reverse=True)
        orgs = org_svc.list_orgs(ctx, who) if who.sees_all else []
    busy = any(u.finished_at is None for u in rows)
    may_upload = who.can_write and who.person.role.value in UPLOADERS  # the service decides
    return render(request, "uploads.html", who, page=paginate(rows, page), busy=busy,
                  may_upload=may_upload, max_bytes=_limit(request),
                  max_size=size_text(_limit(request)), orgs=orgs,
                  formats=[f.value for f in RecordFormat],
                  pii_types=[(t.value, DEFAULT_ACTIONS[t].value) for t in PiiType
                             if t in DEFAULT_ACTIONS],
                  actions=[a.value for a in Action])


def _wanted(request: Request) -> UploadRequest:
    """The upload's fields from the query string, as the API's route reads its own."""
    q = request.query_params
    covered = [line.strip() for line in q.get("tdm_covered", "").splitlines() if line.strip()]
    return upload_request(
        q.get("name", "").strip(), q.get("licence", "").strip(), q.get("filename", ""),
        org_id=q.get("org_id") or None, domestic=q.get("domestic") in ("1", "true", "on"),
        description=q.get("description", "").strip(), field=q.get("field", "").strip() or "text",
        input_format=q.get("format") or None, pii_action=q.getlist("pii_action"),
        tdm_covered=covered)


@router.post("/uploads/check")
def check(request: Request) -> JSONResponse:
    """Refuse now what the upload would be refused for before its body is read."""
    who = page_caller(request)
    org_id = dataset_svc.check_upload(context_of(request), who, _wanted(request))
    return JSONResponse({"ok": True, "org_id": org_id})


@router.post("/uploads")
async def upload(request: Request) -> JSONResponse:
    """The file as the raw body, received by the API's upload code; answers where the
    upload's page is."""
    who = page_caller(request)
    row = await receive_upload(request, context_of(request), who, _wanted(request))
    url = f"/uploads/{row.id}?ok=upload-accepted"
    return JSONResponse({"id": row.id, "status": row.status.value, "url": url},
                        status_code=201, headers={"Location": url})


@router.get("/uploads/{upload_id}")
def upload_page(request: Request, upload_id: str) -> HTMLResponse:
    """One upload: what was sent, its state, and once it succeeded the reports of the
    dataset version it made (the dataset's current version; the page says when a later
    upload has replaced it)."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        row = upload_svc.get_upload(ctx, who, upload_id)
    dataset = None
    if row.status is UploadStatus.SUCCEEDED:
        try:
            dataset = dataset_svc.get_dataset(ctx, who, row.dataset_id)
        except AicenterError:
            dataset = None  # removed since: the upload's own state still shows
    asked = row.request
    return render(request, "upload.html", who, upload=row, dataset=dataset,
                  reports=reports_of(dataset) if dataset is not None else None,
                  filename=str(asked.get("filename", "")),
                  licence=str(asked.get("licence_text", "")),
                  domestic=bool(asked.get("domestic", True)),
                  tdm_covered=[str(c) for c in asked.get("tdm_covered", ()) or ()],
                  pii_overrides=[str(a) for a in asked.get("pii_actions", ()) or ()],
                  busy=not row.status.finished)
