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


def get_caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer API token")] = None,
) -> Caller:
    secret = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        secret = value.strip() if scheme.lower() == "bearer" else None
    return authenticate(get_ctx(request), secret)


Ctx = Annotated[ServiceContext, Depends(ctx_dependency)]
Who = Annotated[Caller, Depends(get_caller)]
