"""Guards that run before any route reads a request: body size, NUL, a bearer token.

Bad input must fail alone and cheaply, before it costs memory or reaches the database:

* **Size.** A request whose ``Content-Length`` exceeds its route's limit (JSON bodies
  :data:`JSON_MAX_BYTES`; the dataset upload, through the API or the portal's form, its own
  larger limit) is answered 413 without a byte of its body read. A body without a length
  (chunked) is counted as it arrives and refused (413) on the chunk that crosses the limit;
  the route sees an ``HTTPException`` from its ``receive`` and cleans up what it wrote
  (:mod:`aicenter.api.routers.dataset`).
* **NUL.** PostgreSQL cannot store NUL in text: a ``%00`` in the path or the query string is
  refused (422 naming the parameter) before routing, so no service ever sees one.
* **A bearer token before a body.** FastAPI parses a JSON body before it runs the dependency
  that checks the token. So that nobody without a token can make the center read (up to the
  limit) and parse a body, a request with a body to ``/api/v1`` must carry a well-formed
  ``Authorization: Bearer aic_...`` header or get 401 unread; whether the token is known is
  checked right after the (at most 1 MiB) body is parsed. The upload route declares no body
  parameter, so there the token and the permission are both checked before it reads a byte.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException

from aicenter.domain.token import TOKEN_PREFIX

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_MAX_BYTES = 1 << 20
"""Largest JSON (or form) body of any route but the upload: a job spec is at most ~320 KiB."""
UPLOAD_MAX_BYTES = 64 << 30
"""Largest dataset upload (the raw, possibly compressed file)."""
UPLOAD_ROUTES = frozenset({("POST", "/api/v1/datasets"), ("POST", "/uploads")})
"""The routes that take a dataset file as their body: the API's upload and the portal's upload
form (which posts the same raw body to a page route, under the same limit)."""
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_MAX_TOKEN_CHARS = 256


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The largest request body, in bytes, per kind of route."""

    json_max_bytes: int = JSON_MAX_BYTES
    upload_max_bytes: int = UPLOAD_MAX_BYTES

    def for_route(self, method: str, path: str) -> int:
        if (method, path.rstrip("/")) in UPLOAD_ROUTES:
            return self.upload_max_bytes
        return self.json_max_bytes


def error_body(kind: str, detail: str, field: str | None = None) -> dict[str, str]:
    """The one error body of the API: ``{"error", "detail", "field"?}``."""
    body = {"error": kind, "detail": detail}
    if field:
        body["field"] = field
    return body


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body is larger than this route's limit of "
                              f"{limit} bytes")


class RequestGuard:
    """ASGI middleware applying the checks of this module to every HTTP request."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_route(scope["method"], scope["path"])
        refusal = _refusal(scope, limit)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except HTTPException as exc:  # raised by `counted` outside any route's handlers
            if started or exc.status_code != 413:
                raise
            await _answer(send, 413, error_body("too-large", str(exc.detail)))


def _refusal(scope: Scope, limit: int) -> tuple[int, dict[str, str]] | None:
    """Status and body to answer ``scope`` with at once, or None to let it through."""
    if "\0" in scope["path"]:
        return 422, error_body("invalid-input", "must not contain NUL (\\x00)", "path")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, encoding="utf-8",
                                 errors="replace"):
        if "\0" in name or "\0" in value:
            return 422, error_body("invalid-input", "must not contain NUL (\\x00)",
                                   name.replace("\0", "\\x00") or "query")
    headers = dict(scope.get("headers") or [])
    if scope["method"] in _BODY_METHODS and scope["path"].startswith("/api/v1/"):
        authorization = headers.get(b"authorization")
        if not authorization:
            return 401, error_body("unauthenticated", "no API token: send 'Authorization: "
                                   "Bearer TOKEN' (the CLI reads AICENTER_TOKEN)")
        if not _bearer_well_formed(authorization):
            return 401, error_body("unauthenticated",
                                   "the API token is unknown, expired or revoked")
    length = headers.get(b"content-length")
    if length is not None:
        if not length.isdigit():
            return 400, error_body("invalid-input", "Content-Length is not a number",
                                   "Content-Length")
        if int(length) > limit:
            return 413, error_body("too-large", str(too_large(limit).detail))
    return None


def _bearer_well_formed(value: bytes) -> bool:
    """An ``Authorization`` header that can hold one of the center's tokens (not yet checked
    against the database)."""
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()
    return (scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX)
            and len(token) <= _MAX_TOKEN_CHARS)


async def _answer(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if status == 413:
        headers.append((b"connection", b"close"))  # the unread body is not worth draining
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
