"""Request dependencies: the service context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import authenticate


def get_ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def ctx_dependency(request: Request) -> ServiceContext:
    """The context, without a trip through the thread pool (it does no I/O)."""
    return get_ctx(request)


def bearer_secret(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header (None for other schemes)."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def get_caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer API token")] = None,
) -> Caller:
    return authenticate(get_ctx(request), bearer_secret(authorization))


Ctx = Annotated[ServiceContext, Depends(ctx_dependency)]
Who = Annotated[Caller, Depends(get_caller)]
