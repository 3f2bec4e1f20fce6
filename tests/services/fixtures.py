"""Database fixtures for every test that touches storage: each runs on SQLite and PostgreSQL.

PostgreSQL tests use a fresh schema per test in the database named by
``AICENTER_TEST_PG_URL`` (default: postgres on 127.0.0.1:5432, database ``test``), so
parallel runs never collide (:mod:`tests.support.database`, which the benchmarks use too).
Where no server answers, the PostgreSQL half is skipped with a notice saying so.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from aicenter.services.clock import ManualClock
from aicenter.services.context import ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.settings import Settings
from aicenter.storage import Database
from tests.support.database import PG_URL, fresh_database, fresh_schema, pg_reachable

PG_SKIP = ("PostgreSQL half skipped: no server reachable at " + PG_URL +
           " (set AICENTER_TEST_PG_URL or start it with pg_ctlcluster ... main start)")


def make_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` (``sqlite`` or ``postgresql``); the PostgreSQL
    half is skipped where no server answers."""
    if kind != "sqlite" and not pg_reachable():
        pytest.skip(PG_SKIP)
    with fresh_database(None if kind == "sqlite" else PG_URL, tmp_path, pool_size=20) as db:
        yield db


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


def seed_center(ctx, operator, *, org_class="sme", budget="100", chips=None,  # type: ignore[no-untyped-def]
                pools=None):
    """Pools, an open call, an organisation with a member, an application and a grant.

    Returns (org, member caller, grant view).
    """
    from decimal import Decimal

    from aicenter.domain.org import OrgClass
    from aicenter.domain.person import Role
    from aicenter.services import call as call_svc
    from aicenter.services import grant as grant_svc
    from aicenter.services import org as org_svc
    from aicenter.services import pool as pool_svc
    from aicenter.services.context import Caller

    pools = pools or {"nvidia-h100-sxm": 8, "rebellions-atom": 4}
    for chip, count in pools.items():
        pool_svc.add_pool(ctx, operator, chip, count)
    chips = chips or {"nvidia-h100-sxm": 8}
    call = call_svc.open_call(ctx, operator, call_svc.CallRequest(
        "AI infra call", frozenset(OrgClass) - {OrgClass.OPERATOR},
        {"nvidia-h100-sxm": 256, "nvidia-h200": 256, "rebellions-atom": 64}))
    org = org_svc.create_org(ctx, operator, f"Org {secrets.token_hex(3)}", OrgClass(org_class))
    member = Caller(org_svc.add_person(ctx, operator, org.id, "M",
                                       f"m{secrets.token_hex(3)}@x.kr", Role.MEMBER))
    app = call_svc.apply(ctx, member, call.id, org.id, "LLM", chips, 6, Decimal(budget))
    call_svc.review(ctx, operator, app.id, 7, 7, 7)
    grant = grant_svc.award(ctx, operator, app.id, Decimal(budget))
    return org, member, grant


def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema and a database URL whose search_path points at it."""
    if not pg_reachable():
        pytest.skip(PG_SKIP)
    sep = "&" if "?" in PG_URL else "?"
    with fresh_schema(PG_URL) as schema:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(name="database_url", params=["sqlite", "postgresql"])
def database_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for a server process: SQLite under tmp_path or a fresh PG schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
    else:
        yield from pg_schema()
