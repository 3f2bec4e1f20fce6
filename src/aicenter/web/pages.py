"""The pages: thin handlers that authenticate from the cookie, call the same service functions
the API routers call (so the same Cedar policies decide what a caller sees), and render
Jinja2 templates. Read-only apart from signing in and out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from aicenter.domain.job import Job, JobStatus
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import usage as usage_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError
from aicenter.web.chart import colour, stacked_bars
from aicenter.web.session import (
    COOKIE,
    LoginRequired,
    PageError,
    context_of,
    page_caller,
    page_errors,
    sign_in,
    sign_out,
)

HERE = Path(__file__).parent
JOBS_SHOWN = 200
LOG_POLL_S = 2

templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])))
router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, who: Caller | None, code: int = 200,
            **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"who": who, **values},
                                      status_code=code)


def _org_names(ctx: ServiceContext, who: Caller) -> dict[str, str]:
    return {o.id: o.name for o in org_svc.list_orgs(ctx, who)}


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _render(request, "login.html", None)


@router.post("/login")
async def login(request: Request) -> Response:
    """Form field ``token`` (URL-encoded body, parsed here: no multipart dependency)."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    secret = (form.get("token") or [""])[0].strip()
    try:
        return sign_in(request, secret)
    except AuthenticationError as exc:
        return _render(request, "login.html", None, code=401, error=str(exc))


@router.post("/logout")
def logout() -> Response:
    return sign_out()


@router.get("/")
def overview(request: Request) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        center = pool_svc.occupancy(ctx, who)
        running = job_svc.list_jobs(ctx, who, status=JobStatus.RUNNING, limit=JOBS_SHOWN)
        names = _org_names(ctx, who)
    return _render(request, "overview.html", who, center=center, running=running,
                   names=names)


@router.get("/jobs")
def jobs(request: Request, status: JobStatus | None = None) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        newest: list[Job] = job_svc.list_jobs(ctx, who, status=status, limit=JOBS_SHOWN,
                                              newest_first=True)
        total = job_svc.count_jobs(ctx, who, status=status)
        names = _org_names(ctx, who)
    return _render(request, "jobs.html", who, jobs=newest, total=total, status=status,
                   statuses=list(JobStatus), names=names)


def _log_values(ctx: ServiceContext, who: Caller, job_id: str) -> dict[str, Any]:
    part = job_svc.logs(ctx, who, job_id)
    return {"job_id": job_id, "text": part.text, "complete": part.complete,
            "poll_s": LOG_POLL_S}


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        job = job_svc.get_job(ctx, who, job_id)
        log = _log_values(ctx, who, job_id)
        names = _org_names(ctx, who)
    return _render(request, "job.html", who, job=job, log=log, names=names)


@router.get("/jobs/{job_id}/log")
def job_log(request: Request, job_id: str) -> HTMLResponse:
    """The log block alone: htmx swaps it in every few seconds until the job has ended."""
    who = page_caller(request)
    with page_errors():
        log = _log_values(context_of(request), who, job_id)
    return _render(request, "log.html", who, log=log)


@router.get("/grants")
def grants(request: Request) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        views = grant_svc.list_grants(ctx, who)
        names = _org_names(ctx, who)
    return _render(request, "grants.html", who, grants=views, names=names)


def _month_days(month: str) -> list[date]:
    start, end = usage_svc.month_bounds(month)
    return [(start + timedelta(days=i)).date() for i in range((end - start).days)]


@router.get("/usage")
def usage(request: Request,
          month: Annotated[str | None, Query(max_length=7)] = None) -> HTMLResponse:
    """h100e-hours per organisation per UTC day of one month, as a table and a chart."""
    who = page_caller(request)
    ctx = context_of(request)
    now: datetime = ctx.clock.now().astimezone(UTC)
    month = month or now.strftime("%Y-%m")
    with page_errors():
        totals = usage_svc.daily_usage(ctx, who, month)
        # records count in the month they start, as on statements: the share of one that
        # runs past the month's last midnight shows on the day after
        days = sorted(set(_month_days(month)) | {day for day, _ in totals})
        names = _org_names(ctx, who)
    org_ids = sorted({org for _, org in totals}, key=lambda o: names.get(o, o))
    series = [(names.get(o, o), {d: v for (d, org), v in totals.items() if org == o})
              for o in org_ids]
    rows = [(d, [totals.get((d, o), Decimal(0)) for o in org_ids]) for d in days
            if any((d, o) in totals for o in org_ids)]
    by_org = [sum((v for (_, org), v in totals.items() if org == o), Decimal(0))
              for o in org_ids]
    chart = Markup(stacked_bars(days, series))  # every text in it went through html.escape
    legend = [(names.get(o, o), colour(i)) for i, o in enumerate(org_ids)]
    return _render(request, "usage.html", who, month=month, chart=chart, legend=legend,
                   orgs=[names.get(o, o) for o in org_ids], rows=rows, by_org=by_org)


def mount(app: FastAPI) -> None:
    """Add the pages, their static files and their error handling to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, _exc: LoginRequired) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.exception_handler(PageError)
    async def _error(request: Request, exc: PageError) -> Response:
        return _render(request, "error.html", None, code=exc.status, message=exc.message)
