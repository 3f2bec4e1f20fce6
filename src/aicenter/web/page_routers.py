"""Every page module with actions, in one list that :func:`aicenter.web.mount` adds to
the app (a new module adds its router here)."""

from __future__ import annotations

from fastapi import APIRouter

from aicenter.web import (
    pages_audit,
    pages_call,
    pages_compliance,
    pages_dataset,
    pages_fleet,
    pages_grant,
    pages_identity,
    pages_job,
    pages_licence,
    pages_org,
    pages_plan,
    pages_pool,
    pages_reclaim,
    pages_upload,
)

ROUTERS: list[APIRouter] = [pages_call.router, pages_pool.router, pages_org.router,
                             pages_dataset.router, pages_upload.router, pages_licence.router,
                             pages_grant.router, pages_job.router, pages_plan.router,
                             pages_audit.router, pages_fleet.router,
                             pages_compliance.router, pages_reclaim.router,
                             pages_identity.router]
