"""Database fixtures for every test that touches storage: each runs on SQLite and PostgreSQL.

PostgreSQL tests use a fresh schema per test in the database named by
``AICENTER_TEST_PG_URL`` (default: postgres on 127.0.0.1:5432, database ``test``), so
parallel runs never collide. Where no server answers, the PostgreSQL half is skipped with a
notice saying so.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aicenter.services.clock import ManualClock
from aicenter.services.context import ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.settings import Settings
from aicenter.storage import Database

PG_URL = os.environ.get("AICENTER_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SKIP = ("PostgreSQL half skipped: no server reachable at " + PG_URL +
           " (set AICENTER_TEST_PG_URL or start it with pg_ctlcluster ... main start)")


@cache
def pg_reachable() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def make_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'aicenter.db'}")
        db.migrate()
        yield db
        db.dispose()
        return
    if not pg_reachable():
        pytest.skip(PG_SKIP)
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(PG_URL, pool_size=20,
                  connect_args={"options": f"-csearch_path={schema}"})
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(name="database", params=["sqlite", "postgresql"])
def database_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request.param, tmp_path)


@pytest.fixture(name="clock")
def clock_fixture() -> ManualClock:
    return ManualClock()


@pytest.fixture(name="ctx")
def ctx_fixture(database: Database, clock: ManualClock, tmp_path: Path) -> ServiceContext:
    settings = Settings(home=tmp_path / "home", database_url=database.url)
    return ServiceContext(db=database, settings=settings, clock=clock)


@pytest.fixture(name="operator")
def operator_fixture(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    from aicenter.services.context import Caller

    boot = bootstrap_operator(ctx)
    assert boot is not None
    return Caller(boot[0])


class LiveServer:
    """A real uvicorn server on a free loopback port, in a thread."""

    def __init__(self, app, port: int) -> None:  # type: ignore[no-untyped-def]
        import threading

        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
