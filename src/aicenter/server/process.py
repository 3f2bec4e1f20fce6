"""Building and running the server: database, migrations, first operator, background loop."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from aicenter.api.app import create_app
from aicenter.catalog import load_catalog
from aicenter.fleet.pool_file import PoolFileEntry, load_pool_file
from aicenter.server.batcher import AdmissionBatcher
from aicenter.server.leader import ElectedLoop
from aicenter.server.runtime import attach_backend, loop_hooks
from aicenter.services.audit import ensure_key
from aicenter.services.clock import Clock, SystemClock
from aicenter.services.context import ServiceContext
from aicenter.services.doctor import refuse_trust_database
from aicenter.services.org import bootstrap_operator
from aicenter.services.policy import PolicyWatcher, load_active
from aicenter.services.pool import apply_fleet
from aicenter.settings import Settings
from aicenter.storage import Database
from aicenter.storage.budget import pool_size_per_worker
from aicenter.web import mount

TOKEN_FILE = "operator-token"


@dataclass
class Server:
    app: FastAPI
    ctx: ServiceContext
    operator_token: str | None


def make_context(settings: Settings, clock: Clock | None = None) -> ServiceContext:
    """Open (and migrate) the database and build the context every use case gets."""
    private_home(settings)
    db = open_database(settings)
    db.migrate()
    ctx = ServiceContext(db=db, settings=settings, clock=clock or SystemClock())
    ensure_key(ctx)  # the audit log's signing key, HOME/audit-keys/signing.key (0600)
    load_active(ctx)  # policies that do not validate against the schema stop the start here
    attach_backend(ctx)
    return ctx


def private_home(settings: Settings) -> None:
    """HOME (database, keys, tokens, datasets, runs) is the server's alone: created or
    re-moded 0700, so no job's uid can even look inside, whatever a file's own mode."""
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(settings.home, 0o700)


def open_database(settings: Settings) -> Database:
    """The database, on PostgreSQL with this worker's share of the connection budget
    (:mod:`aicenter.storage.budget`); raises InputError naming the setting if it is too small
    or larger than the database server accepts."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        return Database(url)
    budget, workers = settings.database_max_connections, settings.workers
    db = Database(url, pool_size=pool_size_per_worker(budget, workers), max_overflow=0)
    try:
        pool_size_per_worker(budget, workers, db.connection_limit())
    except Exception:
        db.dispose()
        raise
    return db


def build_server(settings: Settings, clock: Clock | None = None, *, run_loop: bool = True,
                 elected: bool = False) -> Server:
    """The app with its context; on an empty database also the first operator's token,
    which is written to HOME/operator-token (mode 600). ``elected``: the loop runs only while
    this process holds HOME/scheduler.lock (one of several workers, :mod:`.leader`)."""
    # The event loop and the admission thread (:mod:`.batcher`) share the GIL. With the
    # default 5 ms switch interval, each database round trip of a batch can wait up to 5 ms for
    # the GIL to come back from the busy event loop (a convoy: ~10 round trips a batch). At
    # 0.5 ms the paced benchmark's p99 fell from ~180-230 ms to ~50-80 ms (bench_api.py).
    sys.setswitchinterval(0.0005)
    ctx = make_context(settings, clock)
    boot = bootstrap_operator(ctx)
    secret = None
    if boot is not None:
        secret = boot[1]
        path = settings.home / TOKEN_FILE
        path.write_text(secret + "\n", encoding="utf-8")
        os.chmod(path, 0o600)
    start: Callable[[], None] | None = None
    stop: Callable[[], None] | None = None
    role: Callable[[], str] = lambda: "off"  # noqa: E731
    if run_loop and elected:
        elected_loop = ElectedLoop(ctx, settings.home)
        start, stop = elected_loop.start, elected_loop.stop
        role = lambda: elected_loop.role  # noqa: E731
    elif run_loop:
        start, stop = loop_hooks(ctx)
        role = lambda: "leader"  # noqa: E731
    start, stop = _with_policy_watcher(ctx, start, stop)
    app = create_app(ctx, on_start=start, on_stop=stop, admissions=AdmissionBatcher(ctx))
    mount(app)  # the pages at /, after the API so that /api/v1 and /docs stay the API's
    app.state.scheduler_role = role
    # Everything built so far (modules, app, catalog, context) lives as long as the process.
    # Frozen, the full (generation 2) collections no longer walk it: under load they had
    # paused a worker for 80-150 ms every few seconds, the p99 of the paced benchmark.
    gc.collect()
    gc.freeze()
    return Server(app, ctx, secret)


def _with_policy_watcher(ctx: ServiceContext, start: Callable[[], None] | None,
                         stop: Callable[[], None] | None
                         ) -> tuple[Callable[[], None], Callable[[], None]]:
    """The app's start and stop hooks, also running this process's policy watcher (a
    version set through another worker is used here within seconds)."""
    watcher = PolicyWatcher(ctx)

    def on_start() -> None:
        watcher.start()
        if start is not None:
            start()

    def on_stop() -> None:
        watcher.stop()
        if stop is not None:
            stop()
    return on_start, on_stop


def worker_app() -> FastAPI:
    """App factory of one of several uvicorn workers (settings from ``AICENTER_*``): every
    worker serves the API; the one holding HOME/scheduler.lock runs the scheduling loop, the
    others stand by to take over (:mod:`aicenter.server.leader`)."""
    settings = Settings()
    os.umask(0o077)
    return build_server(settings, elected=True).app


def serve(settings: Settings, workers: int = 1) -> None:
    """Run the server in the foreground until interrupted. With ``workers`` > 1, migrations
    and the first operator are done here once, then uvicorn starts that many worker
    processes (:func:`worker_app`) on the same port."""
    settings = settings.model_copy(update={"workers": workers})
    os.umask(0o077)  # every file the center writes is its own (0600, directories 0700)
    refuse_trust_database(settings, _loud)  # before the database is touched
    fleet = read_pools_file(settings)  # a bad file stops here, before the database too
    if workers > 1:
        _serve_workers(settings, workers, fleet)
        return
    server = build_server(settings, elected=True)  # a second server on this HOME stands by
    load_pools(server.ctx, settings, fleet)
    if server.operator_token:
        sys.stdout.write(f"operator token (also in {settings.home / TOKEN_FILE}): "
                         f"{server.operator_token}\n")
    sys.stdout.write(f"aicenter serving on http://{settings.host}:{settings.port} "
                     f"(web pages at /, API docs at /docs, database {server.ctx.db.dialect}"
                     f"{_pool_note(server.ctx.db)})\n")
    sys.stdout.flush()
    uvicorn.run(server.app, host=settings.host, port=settings.port, log_level="warning")


def read_pools_file(settings: Settings) -> list[PoolFileEntry] | None:
    """The pools of ``pools_file`` (``serve --pools``), checked in full; None without one.
    Raises InputError naming the file, line and field."""
    if settings.pools_file is None:
        return None
    return load_pool_file(settings.pools_file, load_catalog())


def load_pools(ctx: ServiceContext, settings: Settings, fleet: list[PoolFileEntry] | None
               ) -> None:
    """Add and update the pools of the file, all or none, before the loop's first round."""
    if fleet is None:
        return
    done = apply_fleet(ctx, fleet, str(settings.pools_file))
    sys.stdout.write(f"pools from {settings.pools_file}: {len(done.added)} added, "
                     f"{len(done.updated)} updated, {len(done.unchanged)} unchanged\n")


def _serve_workers(settings: Settings, workers: int,
                   fleet: list[PoolFileEntry] | None = None) -> None:
    server = build_server(settings, run_loop=False)
    load_pools(server.ctx, settings, fleet)
    server.ctx.db.dispose()
    if server.operator_token:
        sys.stdout.write(f"operator token (also in {settings.home / TOKEN_FILE}): "
                         f"{server.operator_token}\n")
    sys.stdout.write(f"aicenter serving on http://{settings.host}:{settings.port} with "
                     f"{workers} workers (database {server.ctx.db.dialect}"
                     f"{_pool_note(server.ctx.db)})\n")
    sys.stdout.flush()
    # the workers read their settings from the environment, so pass the effective ones on
    os.environ["AICENTER_HOME"] = str(settings.home)
    os.environ["AICENTER_BACKEND"] = settings.backend
    os.environ["AICENTER_WORKERS"] = str(workers)
    os.environ["AICENTER_DATABASE_MAX_CONNECTIONS"] = str(settings.database_max_connections)
    if settings.database_url:
        os.environ["AICENTER_DATABASE_URL"] = settings.database_url
    uvicorn.run("aicenter.server.process:worker_app", factory=True, workers=workers,
                host=settings.host, port=settings.port, log_level="warning")


def _loud(message: str) -> None:
    sys.stderr.write(f"\n{'!' * 78}\n{message}\n{'!' * 78}\n\n")
    sys.stderr.flush()


def _pool_note(db: Database) -> str:
    size = getattr(db.engine.pool, "size", None)
    return "" if db.dialect == "sqlite" or size is None else f", {size()} connections a worker"
