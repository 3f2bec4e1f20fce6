"""Repositories on SQLite and PostgreSQL: round trips, migrations, WAL, exact amounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from aicenter.domain.errors import DuplicateError
from aicenter.domain.org import Organisation, OrgClass
from aicenter.domain.person import Person, Role
from aicenter.domain.token import ApiToken, Scope, hash_token
from aicenter.ledger import H100E, award_transaction
from aicenter.storage import Database
from aicenter.storage.db import MIGRATIONS

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_migration_creates_every_table(database: Database) -> None:
    names = set(database.table_names())
    assert {"organisations", "people", "api_tokens", "calls", "applications", "reviews",
            "grants", "jobs", "usage_records", "ledger_transactions", "ledger_postings",
            "alembic_version"} <= names


def test_migrate_twice_is_a_no_op(database: Database) -> None:
    from alembic.script import ScriptDirectory

    from aicenter.storage.db import alembic_config

    database.migrate()
    with database.transaction(write=False) as tx:
        version = tx.conn.execute(text("select version_num from alembic_version")).scalar_one()
    head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
    newest = max(p.name[:4] for p in MIGRATIONS.glob("versions/0*.py"))
    assert version == head == newest  # one line of revisions, the newest file at its head


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    with db.transaction(write=False) as tx:
        assert tx.conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_org_person_token_round_trip(database: Database) -> None:
    org = Organisation("org_1", "KAIST", OrgClass.UNIVERSITY, True, "daejeon", T0)
    person = Person("usr_1", "org_1", "Kim", "kim@kaist.ac.kr", Role.MEMBER, T0)
    token = ApiToken("tok_1", "usr_1", "cli", hash_token("s3cret"),
                     frozenset({Scope.READ, Scope.WRITE}), T0, None, None)
    with database.transaction() as tx:
        tx.orgs.add(org)
        tx.people.add(person)
        tx.tokens.add(token)
    with database.transaction(write=False) as tx:
        assert tx.orgs.get("org_1") == org
        assert tx.people.by_email("kim@kaist.ac.kr") == person
        assert tx.tokens.by_hash(hash_token("s3cret")) == token
        assert tx.tokens.by_hash(hash_token("other")) is None
        assert tx.orgs.get("org_1").created_at.tzinfo is not None


def test_duplicate_org_name_is_rejected_by_the_database(database: Database) -> None:
    with database.transaction() as tx:
        tx.orgs.add(Organisation("org_1", "Same", OrgClass.SME, False, "capital", T0))
    with pytest.raises(DuplicateError), database.transaction() as tx:
        tx.orgs.add(Organisation("org_2", "Same", OrgClass.SME, False, "capital", T0))


def test_failed_transaction_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as tx:
        tx.orgs.add(Organisation("org_1", "Gone", OrgClass.SME, False, "capital", T0))
        raise RuntimeError("boom")
    with database.transaction(write=False) as tx:
        assert tx.orgs.get("org_1") is None


def test_ledger_amounts_are_exact_to_a_millionth(database: Database) -> None:
    amount = Decimal("1234567.123456")
    with database.transaction() as tx:
        assert tx.ledger.book(award_transaction("g1", "c1", amount, T0))
        assert not tx.ledger.book(award_transaction("g1", "c1", amount, T0))  # same reference
    with database.transaction(write=False) as tx:
        assert tx.ledger.balance("grant:g1", H100E) == amount
        assert tx.ledger.balance("call:c1:pool", H100E) == -amount
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
        [booked] = tx.ledger.transactions()
        assert sum(p.amount for p in booked.postings) == 0
