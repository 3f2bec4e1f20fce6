"""What protects every page: the session looked up once per request, CSRF on every form and
htmx request, and the security headers.

:class:`PageGuard` is ASGI middleware over the whole app that leaves ``/api/`` alone (the API
authenticates each request with its bearer token, never with a cookie, so cross-site requests
cannot ride on a browser's credentials there). For every other request it:

* resumes the session from the cookie (``request.state.caller``, ``web_session`` and
  ``csrf_token``; the caller is None when signed out);
* refuses a POST, PUT, PATCH or DELETE whose CSRF token does not match with 403: the token
  comes from the ``X-CSRF-Token`` header (htmx sends it: the layout's ``hx-headers``) or the
  ``csrf_token`` field of a URL-encoded form. Signed out (the sign-in form), the expected token
  is the random ``aicenter_csrf`` cookie the form set (double submit);
* adds CSP (scripts only from this server: no inline script, no eval), frame-ancestors
  'none' and X-Frame-Options DENY, nosniff and a same-origin Referrer-Policy."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aicenter.domain.web_session import WebSession
from aicenter.services import web_session as session_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError

SESSION_COOKIE = "aicenter_session"
PRE_SESSION_COOKIE = "aicenter_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FORM_BYTES = 2_000_000
"""A URL-encoded form is read whole to find its token; larger ones are refused (pages that
post big bodies, such as uploads, send the header instead)."""

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # style attributes (the chart's legend swatches, Swagger UI) but no style from elsewhere
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self' blob:",  # ReDoc parses the schema in a worker
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def new_pre_session_token() -> str:
    return secrets.token_urlsafe(32)


class PageGuard:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, refuse: Callable[[Scope], ASGIApp]) -> None:
        self.app = app
        self.refuse = refuse
        """Builds the 403 answer to a request whose CSRF token is wrong (a page)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        state = scope.setdefault("state", {})
        caller, session = await run_in_threadpool(
            _resume, conn.app.state.ctx, conn.cookies.get(SESSION_COOKIE))
        state["caller"] = caller
        state["web_session"] = session
        state["csrf_token"] = session.csrf_secret if session else None

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        if scope["method"] in UNSAFE:
            expected = state["csrf_token"] or conn.cookies.get(PRE_SESSION_COOKIE)
            given = conn.headers.get(CSRF_HEADER)
            body: list[Message] = []
            if given is None and conn.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                body, given = await _form_token(receive)
            if not expected or not given or not hmac.compare_digest(
                    given.encode(), expected.encode()):
                await self.refuse(scope)(scope, receive, with_headers)
                return
            if body:
                receive = _replay(body, receive)
        await self.app(scope, receive, with_headers)


def _resume(ctx: ServiceContext, secret: str | None
            ) -> tuple[Caller | None, WebSession | None]:
    if not secret:
        return None, None
    try:
        return session_svc.resume(ctx, secret)
    except AuthenticationError:
        return None, None


async def _form_token(receive: Receive) -> tuple[list[Message], str | None]:
    """Read the whole URL-encoded body (kept for the handler) and its CSRF field."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > MAX_FORM_BYTES:
            return messages, None
        if not message.get("more_body", False):
            break
    raw = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    values = parse_qs(raw.decode("utf-8", errors="replace")).get(CSRF_FIELD)
    return messages, values[0] if values else None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
