"""Server-rendered pages (Jinja2 + htmx) mounted at ``/`` of the API app: sign-in, overview,
jobs with logs, grants, usage with a bar chart (:mod:`aicenter.web.pages`), and the pages with
actions of each role (:mod:`aicenter.web.page_routers`)."""

from fastapi import FastAPI

from aicenter.web import pages


def mount(app: FastAPI) -> None:
    """Add every page, its static files, sessions and error pages to ``app``."""
    from aicenter.web.page_routers import ROUTERS  # lazy: page modules import this package

    pages.mount(app)
    for router in ROUTERS:
        app.include_router(router)


__all__ = ["mount"]
