"""Signing in to the pages: the API token, checked by the service's ``authenticate``, kept in
an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), so pages act with exactly the rights
of that token, as the API would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from fastapi.responses import RedirectResponse

from aicenter.api.errors import STATUS
from aicenter.domain.errors import AicenterError
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError
from aicenter.services.org import authenticate

COOKIE = "aicenter_token"
MAX_AGE_S = 8 * 3600
"""The cookie lasts a working day; the token's own expiry and revocation still apply."""


class LoginRequired(Exception):
    """No valid token in the cookie: the page redirects to the login form."""


class PageError(Exception):
    """A service refused or failed: the page shows ``message`` with HTTP ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def context_of(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def page_caller(request: Request) -> Caller:
    """The signed-in caller, or :class:`LoginRequired`."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise LoginRequired
    try:
        return authenticate(context_of(request), secret)
    except AuthenticationError:
        raise LoginRequired from None


@contextmanager
def page_errors() -> Iterator[None]:
    """Turn a service error into a :class:`PageError` with the API's status for it."""
    try:
        yield
    except AicenterError as exc:
        status = next((code for cls, code, _ in STATUS if isinstance(exc, cls)), 400)
        raise PageError(status, str(exc)) from exc


def sign_in(request: Request, secret: str, to: str = "/") -> RedirectResponse:
    """Check ``secret`` (raises AuthenticationError) and set the cookie."""
    authenticate(context_of(request), secret)
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(COOKIE, secret, max_age=MAX_AGE_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


def sign_out() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
