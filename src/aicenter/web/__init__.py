"""Server-rendered pages (Jinja2 + htmx) mounted at ``/`` of the API app: login with an API
token kept in a cookie, overview, jobs with logs, grants, usage with a bar chart."""

from aicenter.web.pages import mount

__all__ = ["mount"]
