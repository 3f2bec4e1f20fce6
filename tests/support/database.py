"""A fresh, migrated database for a test or a benchmark run: SQLite in a directory, or a
PostgreSQL schema of its own (dropped afterwards), so parallel runs never see each other.

One helper for both: the tests' ``database`` fixture (:mod:`tests.services.fixtures`, which
skips the PostgreSQL half when no server answers) and ``benchmarks/bench_live_replay.py``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, text

from aicenter.storage import Database

PG_URL = os.environ.get("AICENTER_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
"""The PostgreSQL database the tests use (CI's, a developer's): AICENTER_TEST_PG_URL."""


@cache
def pg_reachable(url: str = PG_URL) -> bool:
    """Whether a PostgreSQL server answers at ``url`` (asked once per process)."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def fresh_schema(url: str, prefix: str = "t") -> Iterator[str]:
    """A new, empty schema in the PostgreSQL database at ``url`` (its name), dropped with
    everything in it at the end."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(url: str | None, directory: Path, *, pool_size: int = 30,
                   prefix: str = "t") -> Iterator[Database]:
    """A migrated, empty database: SQLite at ``url`` or, without one, ``aicenter.db`` in
    ``directory``; for a PostgreSQL ``url`` a schema of its own (:func:`fresh_schema`) that
    the connections' search_path points at."""
    if url is None or not url.startswith("postgresql"):
        db = Database(url or f"sqlite:///{directory / 'aicenter.db'}")
        try:
            db.migrate()
            yield db
        finally:
            db.dispose()
        return
    with fresh_schema(url, prefix) as schema:
        db = Database(url, pool_size=pool_size,
                      connect_args={"options": f"-csearch_path={schema}"})
        try:
            db.migrate()
            yield db
        finally:
            db.dispose()
