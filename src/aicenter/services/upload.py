"""Uploads through the API: accepted at once, ingested in the background, resumed after a crash.

An upload is checked before its bytes are stored (permission, name, licence, format), then
its file waits under ``HOME/uploads/<upload id>/`` with a row in ``uploads`` (``queued``). The
:class:`UploadRunner` — one thread beside the scheduling loop, so one per center — claims
uploads in arrival order (``queued``/``ingesting`` → ``ingesting``, a conditional update) and
runs the same ingest as ``aicenter dataset ingest``. The ingest checkpoints after every committed
part, so after a kill -9 the next runner resumes where the last one stopped: the dataset
version is the same as an uninterrupted ingest's, nothing counted twice. The file is deleted
once the upload has succeeded or failed; the client polls ``GET /uploads/{id}``.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

from aicenter.domain.errors import AicenterError, NotFoundError
from aicenter.domain.upload import Upload, UploadStatus
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.dataset import UploadRequest, check_upload, ingest_upload
from aicenter.services.errors import guaranteed

log = logging.getLogger(__name__)
UNFINISHED = (UploadStatus.QUEUED, UploadStatus.INGESTING)


def upload_folder(ctx: ServiceContext, upload_id: str) -> Path:
    return ctx.settings.home / "uploads" / upload_id


def new_upload_id() -> str:
    return new_id("upl")


def accept(ctx: ServiceContext, caller: Caller, upload_id: str, request: UploadRequest,
           source: Path) -> Upload:
    """Queue ``source`` (already stored in :func:`upload_folder`) for ingest."""
    org_id = check_upload(ctx, caller, request)
    row = Upload(upload_id, request.name, org_id, caller.person.id, str(source),
                 UploadStatus.QUEUED, ctx.clock.now(),
                 request=dataclasses.asdict(request) | {"org_id": org_id})
    with ctx.db.transaction() as tx:
        tx.uploads.add(row)
        audit.changed(ctx, tx, caller, "upload.accepted", "upload", upload_id, org_id,
                      dataset=request.name, file=request.filename)
    if ctx.wake_uploads is not None:
        ctx.wake_uploads()
    return row


def get_upload(ctx: ServiceContext, caller: Caller, upload_id: str) -> Upload:
    with ctx.db.transaction(write=False) as tx:
        row: Upload | None = tx.uploads.get(upload_id)
    # Unknown and foreign look the same: no probing for other providers' uploads.
    caller.check(ctx, "upload:read", Resource("Upload", upload_id,
                                              row.provider_org_id if row else None))
    if row is None:
        raise NotFoundError(f"upload {upload_id} not found")
    return row


def list_uploads(ctx: ServiceContext, caller: Caller) -> list[Upload]:
    org_id = None if caller.sees_all else caller.org_id
    caller.check(ctx, "upload:read", Resource("Upload", "any", org_id))
    with ctx.db.transaction(write=False) as tx:
        rows: list[Upload] = tx.uploads.list(org_id)
    return rows


def run_upload(ctx: ServiceContext, upload_id: str) -> Upload | None:
    """Claim one unfinished upload and ingest it (resuming its checkpoint); None if another
    runner finished it meanwhile."""
    with ctx.db.transaction() as tx:
        row: Upload | None = tx.uploads.get(upload_id)
        if row is None or not tx.uploads.move(upload_id, UNFINISHED, UploadStatus.INGESTING):
            return None
        audit.changed(ctx, tx, None, "upload.ingest_started", "upload", upload_id,
                      row.provider_org_id, resumed=row.status is not UploadStatus.QUEUED)
    request = _request(row.request)
    source = Path(row.source_path)
    try:
        if not source.exists():
            raise NotFoundError(f"the uploaded file {source.name} is gone from the center's "
                                "disk; upload it again")
        # A first attempt starts afresh (whatever an abandoned ingest of this dataset left);
        # an upload found mid-ingest was interrupted by a crash and resumes its checkpoint.
        dataset = ingest_upload(ctx, row.provider_org_id, request, source,
                                restart=row.status is UploadStatus.QUEUED)
    except AicenterError as exc:  # name the provider's file, not the center's disk
        return _finish(ctx, row, UploadStatus.FAILED,
                       str(exc).replace(str(source), request.filename))
    except Exception as exc:  # a crash of the ingest fails this upload only
        log.exception("ingest of upload %s failed", upload_id)
        return _finish(ctx, row, UploadStatus.FAILED, f"ingest failed: {exc}")
    return _finish(ctx, row, UploadStatus.SUCCEEDED,
                   f"dataset {dataset.id} version {dataset.version}", dataset.version)


def _finish(ctx: ServiceContext, row: Upload, status: UploadStatus, message: str,
            version: str | None = None) -> Upload:
    with ctx.db.transaction() as tx:
        if tx.uploads.move(row.id, (UploadStatus.INGESTING,), status, message=message,
                           version=version, finished_at=ctx.clock.now()):
            audit.changed(ctx, tx, None, f"upload.{status.value}", "upload", row.id,
                          row.provider_org_id, message=message, version=version)
        done = guaranteed(tx.uploads.get(row.id), f"upload {row.id}")
    shutil.rmtree(Path(row.source_path).parent, ignore_errors=True)
    return done


def _request(stored: dict[str, Any]) -> UploadRequest:
    fields = {f.name for f in dataclasses.fields(UploadRequest)}
    values = {k: v for k, v in stored.items() if k in fields}
    values["pii_actions"] = tuple(values.get("pii_actions", ()))
    values["tdm_covered"] = tuple(values.get("tdm_covered", ()))
    return UploadRequest(**values)


def run_pending(ctx: ServiceContext) -> list[Upload]:
    """Ingest every unfinished upload, oldest first."""
    with ctx.db.transaction(write=False) as tx:
        pending: list[Upload] = tx.uploads.list(statuses=UNFINISHED)
    done = [run_upload(ctx, row.id) for row in pending]
    return [d for d in done if d is not None]


class UploadRunner:
    """Runs :func:`run_pending` in a daemon thread: at once when woken by an upload accepted in
    this process, else every ``poll_s`` (uploads accepted by other server workers)."""

    def __init__(self, ctx: ServiceContext, poll_s: float = 1.0) -> None:
        self.ctx = ctx
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="aicenter-uploads", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop between uploads; an ingest under way is left to its checkpoint (a thread
        cannot be interrupted) and resumes at the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_pending(self.ctx)
            except Exception:  # keep the runner alive; the next pass retries
                log.exception("upload runner pass failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()
