"""Signing in to the pages: a server-side session (:mod:`aicenter.services.web_session`)
whose random id is the cookie (HttpOnly, SameSite=Lax, Secure over HTTPS); the API token
used to sign in is checked and never stored in the browser. :class:`~aicenter.web.security.
PageGuard` resumes the session once per request; handlers read it with :func:`page_caller`.

SameSite=Lax rather than Strict: the OpenID Connect provider's redirect back to the center
is a cross-site navigation, and a Strict cookie would be missing on it (the CSRF token, not
the cookie's SameSite, protects every form)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from fastapi.responses import RedirectResponse

from aicenter.api.errors import STATUS
from aicenter.domain.errors import AicenterError
from aicenter.policy import PermissionDeniedError
from aicenter.services import web_session as session_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.web.i18n import gettext
from aicenter.web.security import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    new_pre_session_token,
)

COOKIE = SESSION_COOKIE
MAX_AGE_S = session_svc.LIFETIME_S
"""The cookie lives as long as a session can; the server ends it sooner when idle."""


class LoginRequired(Exception):
    """No live session: the page redirects to the sign-in form."""


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
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise LoginRequired
    return caller


def csrf_token(request: Request) -> str | None:
    """The token forms must carry: the session's, or before sign-in the pre-session one."""
    token = getattr(request.state, "csrf_token", None)
    return token if isinstance(token, str) else None


@contextmanager
def page_errors(*, reading: bool = True) -> Iterator[None]:
    """Turn a service error into a :class:`PageError` with the API's status for it. While
    ``reading``, a refusal reads as not found, like a missing thing (the services check the
    policies before they look, so a missing job is refused to a member): a page never tells
    whether another organisation's job exists. An action refused stays 403."""
    try:
        yield
    except PermissionDeniedError as exc:
        if not reading:
            raise PageError(403, str(exc)) from exc
        raise PageError(404, gettext("Not found: there is nothing here, or not for you.")
                        ) from exc
    except AicenterError as exc:
        status = next((code for cls, code, _ in STATUS if isinstance(exc, cls)), 400)
        raise PageError(status, str(exc)) from exc


def set_session_cookie(request: Request, response: RedirectResponse, secret: str) -> None:
    response.set_cookie(COOKIE, secret, max_age=MAX_AGE_S, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")


def sign_in(request: Request, token_secret: str, to: str = "/") -> RedirectResponse:
    """Check the API token (raises AuthenticationError), start a session, set its cookie."""
    secret, _ = session_svc.sign_in_with_token(context_of(request), token_secret)
    response = RedirectResponse(to, status_code=303)
    set_session_cookie(request, response, secret)
    return response


def sign_out(request: Request) -> RedirectResponse:
    """End the session on the server, then forget the cookie."""
    session_svc.end(context_of(request), request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def pre_session_token(request: Request) -> tuple[str, bool]:
    """The sign-in form's CSRF token (double submit: the same value in a cookie) and whether
    the cookie must be set on this response."""
    existing = request.cookies.get(PRE_SESSION_COOKIE)
    if existing:
        return existing, False
    return new_pre_session_token(), True


def set_pre_session_cookie(request: Request, response: object, token: str) -> None:
    set_cookie = getattr(response, "set_cookie")  # noqa: B009 (any Starlette response)
    set_cookie(PRE_SESSION_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
               secure=request.url.scheme == "https", path="/")
