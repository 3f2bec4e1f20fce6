"""The pages: thin handlers that authenticate from the cookie, call the same service functions
the API routers call (so the same Cedar policies decide what a caller sees), and render
Jinja2 templates. Read-only apart from signing in and out."""

from __future__ import annotations

import inspect
from collections.abc import Collection
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
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Scope

from aicenter.domain.job import Job, JobStatus
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import usage as usage_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError
from aicenter.web import i18n, oidc
from aicenter.web.chart import colour, stacked_bars
from aicenter.web.i18n import gettext as _
from aicenter.web.paging import PER_PAGE, Page, paged
from aicenter.web.security import CSRF_FIELD, PageGuard, is_api
from aicenter.web.session import (
    COOKIE,
    LoginRequired,
    PageError,
    context_of,
    csrf_token,
    page_caller,
    page_errors,
    pre_session_token,
    set_pre_session_cookie,
    sign_in,
    sign_out,
)

HERE = Path(__file__).parent
JOBS_SHOWN = PER_PAGE
"""Running jobs on the overview (the newest; /jobs?status=running pages through all)."""
LOG_POLL_S = 2

templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])))
i18n.install(templates.env)


def csrf_field(token: str | None) -> Markup:
    """The hidden field every form carries: ``{{ csrf_field(csrf_token) }}``."""
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


templates.env.globals["csrf_field"] = csrf_field
router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, who: Caller | None, code: int = 200,
            **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"who": who, "csrf_token": csrf_token(request), **values},
        status_code=code)


def _org_names(ctx: ServiceContext, who: Caller, ids: Collection[str]) -> dict[str, str]:
    """Names of the organisations a page shows (those the caller may see)."""
    if not ids:
        return {}
    return {o.id: o.name for o in org_svc.list_orgs(ctx, who, ids=ids)}


def _login_page(request: Request, code: int = 200, error: str | None = None) -> Response:
    """The sign-in form with its pre-session CSRF token (double submit)."""
    token, new = pre_session_token(request)
    response = templates.TemplateResponse(
        request, "login.html", {"who": None, "csrf_token": token, "error": error,
                                "oidc": getattr(request.app.state, "oidc", None)},
        status_code=code)
    if new:
        set_pre_session_cookie(request, response, token)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Form field ``token`` (URL-encoded body, parsed here: no multipart dependency)."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    secret = (form.get("token") or [""])[0].strip()
    try:
        return await run_in_threadpool(sign_in, request, secret)
    except AuthenticationError:
        return _login_page(request, 401, _("The API token is unknown, expired or revoked."))


@router.post("/logout")
def logout(request: Request) -> Response:
    return sign_out(request)


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    """Remember the chosen language (a year) and go back to the page it was chosen on."""
    to = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(to, status_code=303)
    if code in i18n.LOCALES:
        response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="lax",
                            secure=request.url.scheme == "https", path="/")
    return response


@router.get("/")
def overview(request: Request) -> HTMLResponse:
    """The pools' use and the latest running jobs (all of them on /jobs?status=running)."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        center = pool_svc.occupancy(ctx, who)
        running = job_svc.list_jobs(ctx, who, status=JobStatus.RUNNING, limit=JOBS_SHOWN,
                                    newest_first=True)
        running_total = job_svc.count_jobs(ctx, who, status=JobStatus.RUNNING)
        names = _org_names(ctx, who, {j.org_id for j in running})
    return _render(request, "overview.html", who, center=center, running=running,
                   running_total=running_total, names=names)


@router.get("/jobs")
def jobs(request: Request, status: JobStatus | None = None,
         page: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    """The jobs, newest first, a page at a time (read from the database a page at a time)."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        total = job_svc.count_jobs(ctx, who, status=status)
        shown: Page[Job] = paged(page, total, lambda limit, offset: job_svc.list_jobs(
            ctx, who, status=status, limit=limit, offset=offset, newest_first=True))
        names = _org_names(ctx, who, {j.org_id for j in shown.items})
    base = f"/jobs?status={status.value}" if status else "/jobs"
    return _render(request, "jobs.html", who, jobs=shown.items, page=shown, base=base,
                   total=total, status=status, statuses=list(JobStatus), names=names)


def _log_values(ctx: ServiceContext, who: Caller, job: Job) -> dict[str, Any]:
    """The log block's values; a job reading licensed data shows none until it has ended
    and its output was checked (the service refuses its log meanwhile: 409)."""
    if job.spec.datasets and not job.status.finished:
        return {"job_id": job.id, "text": "", "complete": False, "held": True,
                "poll_s": LOG_POLL_S}
    part = job_svc.logs(ctx, who, job.id)
    return {"job_id": job.id, "text": part.text, "complete": part.complete, "held": False,
            "poll_s": LOG_POLL_S}


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        job = job_svc.get_job(ctx, who, job_id)
        log = _log_values(ctx, who, job)
        names = _org_names(ctx, who, {job.org_id})
    return _render(request, "job.html", who, job=job, log=log, names=names)


@router.get("/jobs/{job_id}/log")
def job_log(request: Request, job_id: str) -> HTMLResponse:
    """The log block alone: htmx swaps it in every few seconds until the job has ended."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        log = _log_values(ctx, who, job_svc.get_job(ctx, who, job_id))
    return _render(request, "log.html", who, log=log)


@router.get("/grants")
def grants(request: Request, page: Annotated[int | None, Query(ge=1)] = None
           ) -> HTMLResponse:
    """The grants with their ledger figures, a page at a time."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        shown = paged(page, grant_svc.count_grants(ctx, who), lambda limit, offset:
                      grant_svc.list_grants(ctx, who, limit=limit, offset=offset))
        names = _org_names(ctx, who, {v.grant.org_id for v in shown.items})
    return _render(request, "grants.html", who, grants=shown.items, page=shown,
                   base="/grants", names=names)


def _month_days(month: str) -> list[date]:
    start, end = usage_svc.month_bounds(month)
    return [(start + timedelta(days=i)).date() for i in range((end - start).days)]


SHOWN_ORGS = 7
"""Organisations the usage page draws and tabulates one by one (those that used the most in
the month); the others are summed in one column, so a center of a thousand organisations
gets a chart of eight series (the palette's colours) and a table that fits the page."""
OTHERS = ""
"""The key of the other organisations' sums (no organisation's id is empty)."""


def top_orgs(totals: dict[tuple[date, str], Decimal], shown: int = SHOWN_ORGS
             ) -> tuple[dict[tuple[date, str], Decimal], int]:
    """``totals`` per (day, organisation) with all but the ``shown`` organisations of the
    most hours summed per day under :data:`OTHERS`; and how many were summed there."""
    by_org: dict[str, Decimal] = {}
    for (_day, org), value in totals.items():
        by_org[org] = by_org.get(org, Decimal(0)) + value
    ranked = sorted(by_org, key=lambda o: (-by_org[o], o))
    rest = set(ranked[shown:])
    if not rest:
        return totals, 0
    folded: dict[tuple[date, str], Decimal] = {}
    for (day, org), value in totals.items():
        key = (day, OTHERS if org in rest else org)
        folded[key] = folded.get(key, Decimal(0)) + value
    return folded, len(rest)


@router.get("/usage")
def usage(request: Request,
          month: Annotated[str | None, Query(max_length=7)] = None) -> HTMLResponse:
    """h100e-hours per organisation per UTC day of one month, as a table and a chart (the
    organisations that used the most, the others summed: :func:`top_orgs`)."""
    who = page_caller(request)
    ctx = context_of(request)
    now: datetime = ctx.clock.now().astimezone(UTC)
    month = month or now.strftime("%Y-%m")
    with page_errors():
        totals, others = top_orgs(usage_svc.daily_usage(ctx, who, month))
        # records count in the month they start, as on statements: the share of one that
        # runs past the month's last midnight shows on the day after
        days = sorted(set(_month_days(month)) | {day for day, _ in totals})
        names = _org_names(ctx, who, {org for _, org in totals} - {OTHERS})
    if others:
        names[OTHERS] = _("Other organisations (%(n)s)", n=others)
    org_ids = sorted({org for _, org in totals}, key=lambda o: (o == OTHERS, names.get(o, o)))
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


def _api_docs(request: Request, kind: str) -> HTMLResponse:
    title = "aicenter API" if kind == "swagger" else "aicenter API · ReDoc"
    return templates.TemplateResponse(
        request, "apidocs.html", {"kind": kind, "title": title, "lang": i18n.current(),
                                  "openapi_url": request.app.openapi_url})


def _swagger(request: Request) -> HTMLResponse:
    return _api_docs(request, "swagger")


def _redoc(request: Request) -> HTMLResponse:
    return _api_docs(request, "redoc")


def _csrf_refused(scope: Scope) -> ASGIApp:
    """403 inside the layout for a form whose CSRF token is missing or wrong."""
    state = scope.get("state", {})
    html = templates.env.get_template("error.html").render(
        who=state.get("caller"), csrf_token=state.get("csrf_token"), status=403,
        message=_("The form expired or did not come from this site: reload the page and "
                  "try again."))
    return HTMLResponse(html, status_code=403)


DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def mount(app: FastAPI) -> None:
    """Add the pages, their static files, sessions and CSRF (:class:`PageGuard`), the
    request's locale, and their error pages to ``app``; replace FastAPI's /docs and /redoc
    (which load Swagger UI and ReDoc from a CDN, with an inline script) by pages that load
    the center's own copies."""
    app.router.routes[:] = [r for r in app.router.routes
                            if getattr(r, "path", None) not in DOC_PATHS]
    app.include_router(router)
    app.include_router(oidc.router)
    app.state.oidc = oidc.provider_of(app.state.ctx.settings)
    app.add_api_route("/docs", _swagger, include_in_schema=False,
                      response_class=HTMLResponse)
    app.add_api_route("/redoc", _redoc, include_in_schema=False, response_class=HTMLResponse)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(PageGuard, refuse=_csrf_refused)
    app.add_middleware(i18n.LocaleMiddleware)  # outermost: every answer has its locale
    api_http_error = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, _exc: LoginRequired) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.exception_handler(PageError)
    async def _error(request: Request, exc: PageError) -> Response:
        return _render(request, "error.html", _signed_in(request), code=exc.status,
                       message=exc.message, status=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """A path with no page (404) or a method a page does not take (405) answers inside
        the layout; under /api/ the API's JSON error stays."""
        if is_api(request.url.path) or exc.status_code not in (404, 405):
            if api_http_error is None:
                raise exc
            answer = api_http_error(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        message = (_("There is no page at this address.") if exc.status_code == 404
                   else _("This page does not take that request."))
        return _render(request, "error.html", _signed_in(request), code=exc.status_code,
                       message=message, status=exc.status_code)


def _signed_in(request: Request) -> Caller | None:
    caller = getattr(request.state, "caller", None)
    return caller if isinstance(caller, Caller) else None
