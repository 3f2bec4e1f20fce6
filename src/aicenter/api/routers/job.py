"""/api/v1/jobs: submit (idempotent), list, count, show, cancel, logs (one-shot or streamed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from aicenter.api.admissions import Admissions
from aicenter.api.convert import job_out
from aicenter.api.deps import Ctx, Who, bearer_secret
from aicenter.api.schemas import JobCountOut, JobIn, JobOut, LogOut
from aicenter.domain.job import JobStatus, spec_from_mapping
from aicenter.services import job as svc
from aicenter.services.admission import Submission

router = APIRouter(tags=["jobs"])


@router.post("/jobs", status_code=201)
async def submit(body: JobIn, request: Request, response: Response,
                 authorization: Annotated[str | None, Header(
                     description="Bearer API token")] = None,
                 idempotency_key: Annotated[str | None, Header(max_length=200)] = None
                 ) -> JobOut:
    """Submit a job. Retrying with the same ``Idempotency-Key`` returns the first job (200).

    Admitted together with the submissions that arrive meanwhile, in one transaction
    (:mod:`aicenter.api.admissions`); the token is checked inside it."""
    spec = spec_from_mapping(body.spec)
    admissions: Admissions = request.app.state.admissions
    admitted = await admissions.submit(Submission(
        spec, secret=bearer_secret(authorization), org_id=body.org_id,
        grant_id=body.grant_id, idempotency_key=idempotency_key))
    if not admitted.created:
        response.status_code = 200
    return job_out(admitted.job, svc.containment_notes(request.app.state.ctx, admitted.job))


@router.get("/jobs")
def list_jobs(ctx: Ctx, who: Who, org_id: str | None = None, status: JobStatus | None = None,
              limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
              newest_first: bool = False,
              offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> list[JobOut]:
    """Jobs in submission order; ``newest_first`` to have the limit keep the latest;
    ``offset`` skips that many (a page of ``limit``; ``GET /jobs/count`` is the total)."""
    jobs = svc.list_jobs(ctx, who, org_id=org_id, status=status, limit=limit,
                         newest_first=newest_first, offset=offset)
    return [job_out(j, svc.containment_notes(ctx, j)) for j in jobs]


@router.get("/jobs/count")
def count_jobs(ctx: Ctx, who: Who, org_id: str | None = None,
               status: JobStatus | None = None) -> JobCountOut:
    """How many jobs ``GET /jobs`` lists with the same filters and no limit (a pager's total)."""
    return JobCountOut(count=svc.count_jobs(ctx, who, org_id=org_id, status=status))


@router.get("/jobs/{job_id}")
def get_job(job_id: str, ctx: Ctx, who: Who) -> JobOut:
    job = svc.get_job(ctx, who, job_id)
    return job_out(job, svc.containment_notes(ctx, job))


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: str, ctx: Ctx, who: Who) -> JobOut:
    """Cancel: queued jobs end now; running ones get SIGTERM, a grace period, then SIGKILL."""
    job = svc.cancel(ctx, who, job_id)
    return job_out(job, svc.containment_notes(ctx, job))


@router.get("/jobs/{job_id}/logs")
def logs(job_id: str, ctx: Ctx, who: Who,
         offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> LogOut:
    """Log text from a byte offset; ask again from ``next_offset`` for more."""
    part = svc.logs(ctx, who, job_id, offset)
    return LogOut(text=part.text, next_offset=part.next_offset, complete=part.complete)


@router.get("/jobs/{job_id}/logs/stream", response_class=StreamingResponse)
def stream_logs(job_id: str, ctx: Ctx, who: Who,
                offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> StreamingResponse:
    """The log as a plain-text stream that follows the job until it ends."""
    first = svc.logs(ctx, who, job_id, offset)  # authorises and fails early

    def body() -> Iterator[bytes]:
        part = first
        while True:
            if part.text:
                yield part.text.encode("utf-8")
            if part.complete:
                return
            time.sleep(0.2)
            part = svc.logs(ctx, who, job_id, part.next_offset)

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")
