"""Sessions of the pages: sign in (with an API token, or as a person the OIDC sign-in
resolved), resume from the cookie, sign out.

These are the one exception to "every page use case is in the API" (DESIGN rule 2): the API
authenticates each request with its bearer token and has no session to start or end.

A session lasts :data:`IDLE_S` after the last request and never longer than
:data:`LIFETIME_S` after sign-in. A session signed in with a token keeps its rights and ends
when the token is revoked or expires. Sign-in and sign-out are entries in the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from aicenter.domain.identity import IdentityRequest, IdentityStatus
from aicenter.domain.person import Person
from aicenter.domain.token import hash_token
from aicenter.domain.web_session import WebSession
from aicenter.services.audit import record_change
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError
from aicenter.services.identity import request_access
from aicenter.services.org import authenticate

IDLE_S = 2 * 3600
LIFETIME_S = 12 * 3600
TOUCH_S = 60
"""Last-seen is written at most once a minute per session, not on every request."""

SECRET_BYTES = 32
"""256 random bits in the cookie (at least 128 are needed against guessing)."""


def session_id(secret: str) -> str:
    """What the table stores for a cookie secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start(ctx: ServiceContext, person: Person, *, token_id: str | None, can_write: bool,
          method: str) -> tuple[str, WebSession]:
    """A new session for ``person``: the cookie secret (shown once) and the session."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    now = ctx.clock.now()
    session = WebSession(session_id(secret), person.id, token_id, can_write,
                         secrets.token_urlsafe(32), now, now,
                         now + timedelta(seconds=min(IDLE_S, LIFETIME_S)))
    caller = Caller(person, can_write)
    with ctx.db.transaction() as tx:
        tx.web_sessions.delete_expired(now)
        tx.web_sessions.add(session)
        record_change(tx, now, caller, "session.started", "Person", person.id, person.org_id,
                      {"method": method, "token_id": token_id})
    return secret, session


def sign_in_with_token(ctx: ServiceContext, token_secret: str) -> tuple[str, WebSession]:
    """Check the API token (AuthenticationError if unknown, expired or revoked) and start a
    session with its rights; the token itself is not kept anywhere."""
    caller = authenticate(ctx, token_secret)
    with ctx.db.transaction(write=False) as tx:
        found = tx.tokens.with_owner(hash_token(token_secret))
    token_id = found[0].id if found else None
    return start(ctx, caller.person, token_id=token_id, can_write=caller.can_write,
                 method="token")


def sign_in_identity(ctx: ServiceContext, issuer: str, subject: str, claims: dict[str, Any]
                     ) -> tuple[str, WebSession] | IdentityRequest:
    """A session for the person an approved OpenID Connect identity is linked to; for one
    not (yet) approved, its request (created pending on the first sign-in)."""
    request = request_access(ctx, issuer, subject, claims)
    if request.status is not IdentityStatus.APPROVED or request.person_id is None:
        return request
    with ctx.db.transaction(write=False) as tx:
        person = tx.people.get(request.person_id)
    if person is None:
        raise AuthenticationError("the person this identity was approved as is gone")
    return start(ctx, person, token_id=None, can_write=True, method="oidc")


def resume(ctx: ServiceContext, secret: str | None) -> tuple[Caller, WebSession]:
    """The caller of a live session (AuthenticationError otherwise), its expiry slid on."""
    if not secret:
        raise AuthenticationError("not signed in")
    now = ctx.clock.now()
    with ctx.db.transaction(write=False) as tx:
        session = tx.web_sessions.get(session_id(secret))
        person = tx.people.get(session.person_id) if session else None
        token = tx.tokens.get(session.token_id) if session and session.token_id else None
    if session is None or person is None or not session.live_at(now):
        raise AuthenticationError("the session has ended: sign in again")
    if session.token_id is not None and (token is None or not token.usable_at(now)):
        raise AuthenticationError("the token this session signed in with is no longer valid")
    if (now - session.last_seen_at).total_seconds() >= TOUCH_S:
        expires = min(now + timedelta(seconds=IDLE_S),
                      session.created_at + timedelta(seconds=LIFETIME_S))
        with ctx.db.transaction() as tx:
            tx.web_sessions.touch(session.id, now, expires)
    return Caller(person, session.can_write), session


def end(ctx: ServiceContext, secret: str | None) -> None:
    """Forget the session (nothing happens for an unknown or empty secret)."""
    if not secret:
        return
    now = ctx.clock.now()
    with ctx.db.transaction() as tx:
        session = tx.web_sessions.get(session_id(secret))
        if session is None:
            return
        person = tx.people.get(session.person_id)
        tx.web_sessions.delete(session.id)
        if person is not None:
            record_change(tx, now, Caller(person, session.can_write), "session.ended",
                          "Person", person.id, person.org_id, {})
