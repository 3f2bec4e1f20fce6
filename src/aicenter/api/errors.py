"""Every error becomes a readable JSON body ``{"error": kind, "detail": message}``.

InputError → 422, NotFoundError → 404, PermissionDeniedError → 403, AuthenticationError → 401,
ConflictError → 409, InfeasibleError → 409, AccessDeniedError (no agreement for a dataset)
→ 403; FastAPI's own validation errors → 422 with the
failing fields named.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aicenter.domain.errors import AicenterError, InfeasibleError, InputError, NotFoundError
from aicenter.exchange.licence import AccessDeniedError
from aicenter.policy import PermissionDeniedError
from aicenter.services.errors import AuthenticationError, ConflictError

STATUS: list[tuple[type[AicenterError], int, str]] = [
    (InputError, 422, "invalid-input"),
    (NotFoundError, 404, "not-found"),
    (PermissionDeniedError, 403, "forbidden"),
    (AuthenticationError, 401, "unauthenticated"),
    (ConflictError, 409, "conflict"),
    (AccessDeniedError, 403, "access-denied"),
    (InfeasibleError, 409, "infeasible"),
]


def _body(kind: str, detail: str) -> dict[str, str]:
    return {"error": kind, "detail": detail}


def install(app: FastAPI) -> None:
    @app.exception_handler(AicenterError)
    async def _aicenter(_request: Request, exc: AicenterError) -> JSONResponse:
        for cls, status, kind in STATUS:
            if isinstance(exc, cls):
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                return JSONResponse(_body(kind, str(exc)), status_code=status, headers=headers)
        return JSONResponse(_body("error", str(exc)), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else err.get("msg", ""))
        return JSONResponse(_body("invalid-input", "; ".join(parts) or "invalid request"),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(_body("http", str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
