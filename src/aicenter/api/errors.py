"""Every error becomes one JSON body, :class:`ErrorOut`: ``{"error", "detail", "field"?}``.

InputError → 422, NotFoundError → 404, PermissionDeniedError → 403, AuthenticationError → 401,
ConflictError → 409, InfeasibleError → 409, AccessDeniedError (no agreement for a dataset)
→ 403; FastAPI's own validation errors → 422 with the failing fields named; a body over its
route's limit → 413 (:mod:`aicenter.api.limits`); a value the database refuses (out of its
range) → 422 for that request alone. :data:`ERROR_RESPONSES` declares the body in the OpenAPI
document of every route.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from aicenter.api.limits import error_body
from aicenter.domain.errors import (
    AicenterError,
    DuplicateError,
    InfeasibleError,
    InputError,
    NotFoundError,
)
from aicenter.domain.licence import AccessDeniedError
from aicenter.policy import PermissionDeniedError
from aicenter.services.errors import AuthenticationError, ConflictError

log = logging.getLogger(__name__)

STATUS: list[tuple[type[AicenterError], int, str]] = [
    (InputError, 422, "invalid-input"),
    (NotFoundError, 404, "not-found"),
    (PermissionDeniedError, 403, "forbidden"),
    (AuthenticationError, 401, "unauthenticated"),
    (ConflictError, 409, "conflict"),
    (DuplicateError, 409, "conflict"),
    (AccessDeniedError, 403, "access-denied"),
    (InfeasibleError, 409, "infeasible"),
]
_HTTP_KINDS = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
               405: "method-not-allowed", 413: "too-large"}


class ErrorOut(BaseModel):
    """What every 4xx answer carries."""

    error: str = Field(description="Kind: invalid-input, not-found, forbidden, "
                       "unauthenticated, conflict, access-denied, infeasible, too-large, ...")
    detail: str = Field(description="One line saying what is wrong and where")
    field: str | None = Field(default=None, description="The field, parameter or header at "
                              "fault, when there is one (absent otherwise)")


_WHEN = {400: "Malformed request (a body that is not JSON, a bad header)",
         401: "No API token, or one that is unknown, expired or revoked",
         403: "The caller may not do this",
         404: "No such resource (or not visible to the caller)",
         409: "Conflicts with the resource's state (budget, status, an existing name)",
         413: "Request body larger than the route's limit (refused before it is read)",
         422: "Invalid input: the field is named"}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": when} for status, when in _WHEN.items()}


def install(app: FastAPI) -> None:
    @app.exception_handler(AicenterError)
    async def _aicenter(_request: Request, exc: AicenterError) -> JSONResponse:
        field = exc.field if isinstance(exc, InputError) else None
        for cls, status, kind in STATUS:
            if isinstance(exc, cls):
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                return JSONResponse(error_body(kind, str(exc), field), status_code=status,
                                    headers=headers)
        return JSONResponse(error_body("error", str(exc)), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts, fields = [], []
        for err in exc.errors():
            where = tuple(err.get("loc", ()))
            if err.get("type") == "json_invalid":  # (body, character offset): no field
                where = where[:1]
            loc = ".".join(str(x) for x in where if x != "body")
            fields.append(".".join(str(x) for x in where[1:]))  # without body/query/path
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
        return JSONResponse(error_body("invalid-input", "; ".join(parts) or "invalid request",
                                       next((f for f in fields if f), None)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(_HTTP_KINDS.get(exc.status_code, "http"),
                                       str(exc.detail)),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))
