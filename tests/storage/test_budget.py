"""The PostgreSQL connection budget: ``database_max_connections`` divided among the API
workers, a pool that never overflows it, and a startup error naming the setting when a worker
would get too few connections or the database server accepts fewer than budgeted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aicenter.domain.errors import InputError
from aicenter.server.process import open_database
from aicenter.settings import Settings
from aicenter.storage.budget import MIN_CONNECTIONS_PER_WORKER, pool_size_per_worker
from tests.services.fixtures import pg_schema


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> Iterator[str]:
    yield from pg_schema()


@pytest.mark.parametrize(("budget", "workers", "each"), [
    (60, 1, 60), (60, 2, 30), (60, 3, 20), (60, 7, 8), (60, 15, 4), (100, 3, 33)])
def test_each_worker_gets_an_equal_share_within_the_budget(budget: int, workers: int,
                                                           each: int) -> None:
    assert pool_size_per_worker(budget, workers) == each
    assert each * workers <= budget


def test_too_small_a_share_is_refused_with_the_setting_named() -> None:
    with pytest.raises(InputError) as caught:
        pool_size_per_worker(60, 16)
    message = str(caught.value)
    assert caught.value.field == "database_max_connections"
    assert "leaves 3 each" in message and f"at least {MIN_CONNECTIONS_PER_WORKER}" in message
    assert "AICENTER_DATABASE_MAX_CONNECTIONS to 64" in message


def test_more_than_the_server_accepts_is_refused() -> None:
    assert pool_size_per_worker(60, 2, server_limit=97) == 30
    with pytest.raises(InputError, match="accepts only 97") as caught:
        pool_size_per_worker(120, 3, server_limit=97)
    assert caught.value.field == "database_max_connections"


def test_worker_pool_on_postgresql_is_its_share_without_overflow(tmp_path: Path,
                                                                 pg_url: str) -> None:
    settings = Settings(home=tmp_path, database_url=pg_url, workers=3)
    db = open_database(settings)
    try:
        limit = db.connection_limit()
        assert limit is not None and 0 < limit < 10_000
        pool = db.engine.pool
        assert pool.size() == 20 and pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        db.dispose()
    too_many = Settings(home=tmp_path, database_url=pg_url, database_max_connections=limit + 1)
    with pytest.raises(InputError, match=f"accepts only {limit}"):
        open_database(too_many)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_refuses_to_start_with_too_small_a_share(tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       how: str) -> None:
    monkeypatch.setenv("AICENTER_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    monkeypatch.setenv("AICENTER_DATABASE_MAX_CONNECTIONS", "10")
    if how == "environment":
        monkeypatch.setenv("AICENTER_WORKERS", "3")
    result = cli("serve", "--home", tmp_path, *(["--workers", "3"] if how == "option" else []))
    assert result.code == 2
    assert "field 'database_max_connections'" in result.err and "leaves 3 each" in result.err
    assert "Traceback" not in result.err


def test_sqlite_has_no_budget(tmp_path: Path) -> None:
    db = open_database(Settings(home=tmp_path, workers=64, database_max_connections=1))
    try:
        assert db.dialect == "sqlite" and db.connection_limit() is None
    finally:
        db.dispose()
