"""Migration 0009 (SQLite and PostgreSQL): existing organisations get their default priority
classes, existing grants the chip counts their application asked for (capped by the call's
per-project cap); downgraded and upgraded again, the schema is the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import insert

from aicenter.domain.job import PriorityClass
from aicenter.storage import Database
from aicenter.storage.db import alembic_config
from aicenter.storage.tables import applications, calls, grants, organisations
from tests.services.fixtures import make_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    with db.engine.connect() as conn:
        config = alembic_config(db.url)
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
        conn.commit()


@pytest.fixture(name="bare", params=["sqlite", "postgresql"])
def bare_fixture(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A database at 0008 (before entitlements and chip counts): the head, downgraded."""
    for db in make_database(request.param, tmp_path):
        _migrate(db, "0008", down=True)
        yield db


def test_migration_fills_entitlements_and_chip_counts(bare: Database) -> None:
    with bare.engine.connect() as conn:
        for org_id, chase in (("org_a", False), ("org_c", True)):
            conn.execute(insert(organisations).values(
                id=org_id, name=org_id, org_class="university", chase_team=chase,
                region="capital", created_at=T0))
        conn.execute(insert(calls).values(
            id="call", name="c", eligible_classes=["university"],
            max_chips_per_project={"nvidia-h100-sxm": 4, "nvidia-h200": 64}, max_months=12,
            market_price_per_h100e_h=Decimal(1), currency="KRW", payable_fraction={},
            chase_team_priority=True, regional_bonus=1.0, concentration_threshold=0.2,
            concentration_penalty=2.0, status="open", opened_at=T0))
        conn.execute(insert(applications).values(
            id="app", call_id="call", org_id="org_a", title="t",
            chips={"nvidia-h100-sxm": 8, "nvidia-h200": 16}, months=1,
            requested_h100e_h=Decimal(10), plan={}, status="granted", created_at=T0))
        conn.execute(insert(grants).values(
            id="grant", call_id="call", application_id="app", org_id="org_a",
            budget_h100e_h=Decimal(10), chip_ids=["nvidia-h100-sxm", "nvidia-h200"],
            starts_at=T0, ends_at=T0 + timedelta(days=30), status="active", last_used_at=T0))
        conn.commit()
    _migrate(bare, "head")
    with bare.transaction(write=False) as tx:
        held = tx.orgs.priorities_of({"org_a", "org_c"})
        assert held["org_a"] == {PriorityClass.NORMAL, PriorityClass.BEST_EFFORT}
        assert held["org_c"] == {PriorityClass.NORMAL, PriorityClass.BEST_EFFORT,
                                 PriorityClass.CHASE_TEAM}
        grant = tx.grants.get("grant")
        assert grant.chip_counts == {"nvidia-h100-sxm": 4, "nvidia-h200": 16}
        assert grant.review_waiver is None
        assert tx.calls.get_call("call").budget_h100e_h is None
        assert tx.calls.get_application("app").decision_reason is None
    _migrate(bare, "0008", down=True)
    _migrate(bare, "head")
