"""Submitting and cancelling jobs in the browser. A job is submitted either from a small form
(name, command, chip type and count, longest run, priority: the page builds the same mapping a
job YAML holds) or from pasted YAML; both go through the API's admission path
(``app.state.admissions``, the batcher ``POST /jobs`` uses) and the spec's own validation, so
an error names the field as the CLI and API do. Cancelling calls the service
``POST /jobs/{id}/cancel`` calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from aicenter.api.admissions import Admissions
from aicenter.domain.errors import AicenterError
from aicenter.domain.job import PriorityClass, parse_job_spec, spec_from_mapping
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services.admission import Submission
from aicenter.services.context import Caller
from aicenter.web.page_kit import done, form_of, integer, render, status_of, text
from aicenter.web.session import PageError, context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)


def _submit_page(request: Request, who: Caller, *, error: AicenterError | None = None,
                 form: dict[str, list[str]] | None = None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        grants = [g for g in grant_svc.list_grants(ctx, who, who.org_id)
                  if g.grant.status.value == "active"]
    return render(request, "submit.html", who, error=error, grants=grants,
                  chips=sorted(ctx.catalog.ids), priorities=list(PriorityClass),
                  form=form or {})


@router.get("/submit")
def submit_form(request: Request) -> HTMLResponse:
    return _submit_page(request, page_caller(request))


def spec_mapping(form: dict[str, list[str]]) -> dict[str, Any]:
    """The form's fields as the mapping a job YAML holds."""
    return {"name": text(form, "name"), "command": text(form, "command"),
            "resources": [{"chip": text(form, "chip"),
                           "count": integer("count", text(form, "count"))}],
            "max_duration": text(form, "max_duration"),
            "priority": text(form, "priority", required=False) or "normal"}


@router.post("/submit")
async def submit(request: Request) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        pasted = text(form, "yaml", required=False)
        spec = (parse_job_spec(pasted, "pasted YAML") if pasted
                else spec_from_mapping(spec_mapping(form)))
        admissions: Admissions = request.app.state.admissions
        admitted = await admissions.submit(Submission(
            spec, caller=who, grant_id=text(form, "grant_id", required=False) or None))
    except AicenterError as exc:
        return _submit_page(request, who, error=exc, form=form)
    return done(f"/jobs/{admitted.job.id}", "job-submitted")


@router.post("/jobs/{job_id}/cancel")
async def cancel(request: Request, job_id: str) -> Response:
    who = page_caller(request)
    await form_of(request)
    try:
        job_svc.cancel(context_of(request), who, job_id)
    except AicenterError as exc:
        raise PageError(status_of(exc), str(exc)) from exc
    return done(f"/jobs/{job_id}", "job-cancelled")
