"""The FastAPI application factory: the API under /api/v1 and its health route. The pages
(:mod:`aicenter.web`, a layer above) are mounted on it by the server, :mod:`aicenter.server`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aicenter import __version__
from aicenter.api import errors
from aicenter.api.admissions import Admissions, AdmitEach
from aicenter.api.limits import BodyLimits, RequestGuard
from aicenter.api.routers import (
    audit,
    call,
    compliance,
    dataset,
    fleet,
    grant,
    identity,
    job,
    licence,
    model,
    org,
    plan,
    policy,
    pool,
    share,
    usage,
)
from aicenter.services.context import ServiceContext

API_PREFIX = "/api/v1"


def create_app(ctx: ServiceContext, *, on_start: Callable[[], None] | None = None,
               on_stop: Callable[[], None] | None = None,
               body_limits: BodyLimits | None = None,
               admissions: Admissions | None = None) -> FastAPI:
    """An app serving ``ctx``; ``on_start``/``on_stop`` run the background loop's life;
    ``body_limits`` bound request bodies (:mod:`aicenter.api.limits`); ``admissions`` takes
    the job submissions (the server's batcher; default: each admitted alone)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if on_start:
            on_start()
        try:
            yield
        finally:
            app.state.admissions.close()
            if on_stop:
                on_stop()

    app = FastAPI(
        title="aicenter",
        version=__version__,
        description="API of a national AI computing center: organisations, allocation calls "
        "and grants, jobs on multi-vendor accelerators, metering and bills. Authenticate with "
        "'Authorization: Bearer TOKEN'.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.admissions = admissions if admissions is not None else AdmitEach(ctx)
    errors.install(app)
    app.state.body_limits = body_limits or BodyLimits()  # the pages show the upload limit
    app.add_middleware(RequestGuard, limits=app.state.body_limits)
    for module in (org, pool, share, call, grant, job, usage, dataset, licence, audit,
                   model, compliance, policy, identity, plan, fleet):
        app.include_router(module.router, prefix=API_PREFIX, responses=errors.ERROR_RESPONSES)

    @app.get(f"{API_PREFIX}/health", tags=["health"], responses=errors.ERROR_RESPONSES)
    def health() -> dict[str, str]:
        """Liveness: answers without a token. Also names the worker process that answered
        and its part in scheduling: ``leader`` (runs the loop), ``standby`` (one of several
        workers, ready to take over) or ``off``."""
        role = getattr(app.state, "scheduler_role", None)
        return {"status": "ok", "version": __version__, "worker": str(os.getpid()),
                "scheduler": role() if role is not None else "off"}

    return app
