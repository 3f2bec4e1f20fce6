"""Runtime wiring of the service: the execution backend and the background loop."""

from __future__ import annotations

from collections.abc import Callable

from aicenter.services.context import ServiceContext


def attach_backend(ctx: ServiceContext) -> None:
    """Set ``ctx.backend`` from the settings (filled in once the backends exist)."""
    ctx.backend = None


def loop_hooks(ctx: ServiceContext) -> tuple[Callable[[], None] | None, Callable[[], None] | None]:
    """Start/stop callbacks of the scheduling loop thread for the app's lifespan."""
    return None, None
