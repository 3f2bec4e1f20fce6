"""Running account balances (SQLite and PostgreSQL): migration 0006 fills them from the
postings already booked, every booking keeps them, and a posting written behind the
repository's back shows up as drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import insert, text

from aicenter.ledger.entry import Posting, Transaction
from aicenter.storage import Database
from aicenter.storage.db import alembic_config
from aicenter.storage.tables import ledger_postings
from tests.services.fixtures import make_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(name="bare", params=["sqlite", "postgresql"])
def bare_fixture(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A database migrated only to 0005 (before running balances): the head, downgraded."""
    for db in make_database(request.param, tmp_path):
        with db.engine.connect() as conn:
            config = alembic_config(db.url)
            config.attributes["connection"] = conn
            command.downgrade(config, "0005")
            conn.commit()
        yield db


def _move(ref: str, src: str, dst: str, amount: str) -> Transaction:
    value = Decimal(amount)
    return Transaction(ref, "test", ref, T0, (Posting(src, "h100e", -value),
                                              Posting(dst, "h100e", value)))


def test_migration_fills_balances_from_existing_postings(bare: Database) -> None:
    with bare.engine.connect() as conn:  # postings booked before 0006, without balances
        conn.execute(text("INSERT INTO ledger_transactions (reference, kind, memo, created_at) "
                          "VALUES ('old', 'award', 'old', :at)"), {"at": T0})
        tx_id = conn.execute(text("SELECT id FROM ledger_transactions")).scalar_one()
        conn.execute(insert(ledger_postings), [
            {"transaction_id": tx_id, "account": "pool", "commodity": "h100e",
             "amount": Decimal("-7.25")},
            {"transaction_id": tx_id, "account": "grant:g", "commodity": "h100e",
             "amount": Decimal("7.25")}])
        conn.commit()
    with bare.engine.connect() as conn:
        config = alembic_config(bare.url)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
    with bare.transaction() as tx:
        assert tx.ledger.balance("grant:g", "h100e") == Decimal("7.25")
        assert tx.ledger.balance("pool", "h100e") == Decimal("-7.25")
        assert tx.ledger.balance_drift() == []
        tx.ledger.book(_move("more", "grant:g", "hold:g:j", "0.000001"))
        tx.ledger.book_many([_move("a", "grant:g", "hold:g:a", "1"),
                             _move("b", "grant:g", "hold:g:b", "2")])
        assert tx.ledger.balance("grant:g", "h100e") == Decimal("4.249999")
        assert tx.ledger.balances_of({"grant:g", "hold:g:b", "none"}, "h100e") == {
            "grant:g": Decimal("4.249999"), "hold:g:b": Decimal(2), "none": Decimal(0)}
        assert tx.ledger.balance_drift() == []


def test_a_posting_behind_the_repositorys_back_is_drift(database: Database) -> None:
    with database.transaction() as tx:
        tx.ledger.book(_move("x", "pool", "grant:g", "5"))
        tx_id = tx.conn.execute(text("SELECT id FROM ledger_transactions")).scalar_one()
        tx.conn.execute(insert(ledger_postings), [{
            "transaction_id": tx_id, "account": "grant:g", "commodity": "h100e",
            "amount": Decimal(1)}])
        assert tx.ledger.balance_drift() == [("grant:g", "h100e", Decimal(5), Decimal(6))]
