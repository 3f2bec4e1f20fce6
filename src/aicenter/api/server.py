"""Building and running the server: database, migrations, first operator, background loop."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from aicenter.api.app import create_app
from aicenter.services.clock import Clock, SystemClock
from aicenter.services.context import ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.settings import Settings
from aicenter.storage import Database

TOKEN_FILE = "operator-token"


@dataclass
class Server:
    app: FastAPI
    ctx: ServiceContext
    operator_token: str | None


def make_context(settings: Settings, clock: Clock | None = None) -> ServiceContext:
    """Open (and migrate) the database and build the context every use case gets."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    ctx = ServiceContext(db=db, settings=settings, clock=clock or SystemClock())
    from aicenter.services.runtime import attach_backend

    attach_backend(ctx)
    return ctx


def build_server(settings: Settings, clock: Clock | None = None, *, run_loop: bool = True
                 ) -> Server:
    """The app with its context; on an empty database also the first operator's token,
    which is written to HOME/operator-token (mode 600)."""
    ctx = make_context(settings, clock)
    boot = bootstrap_operator(ctx)
    secret = None
    if boot is not None:
        secret = boot[1]
        path = settings.home / TOKEN_FILE
        path.write_text(secret + "\n", encoding="utf-8")
        os.chmod(path, 0o600)
    from aicenter.services.runtime import loop_hooks

    start, stop = loop_hooks(ctx) if run_loop else (None, None)
    return Server(create_app(ctx, on_start=start, on_stop=stop), ctx, secret)


def serve(settings: Settings) -> None:
    """Run the server in the foreground until interrupted."""
    server = build_server(settings)
    if server.operator_token:
        sys.stdout.write(f"operator token (also in {settings.home / TOKEN_FILE}): "
                         f"{server.operator_token}\n")
    sys.stdout.write(f"aicenter serving on http://{settings.host}:{settings.port} "
                     f"(API docs at /docs, database {server.ctx.db.dialect})\n")
    sys.stdout.flush()
    uvicorn.run(server.app, host=settings.host, port=settings.port, log_level="warning")
