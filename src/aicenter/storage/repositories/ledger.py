"""Ledger tables: booking balanced transactions and summing postings into balances."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, func, insert, select, type_coerce

from aicenter.ledger.entry import Posting, Transaction
from aicenter.storage.tables import ledger_postings as p
from aicenter.storage.tables import ledger_transactions as t
from aicenter.storage.types import to_micro

_raw = type_coerce(p.c.amount, BigInteger)  # sum the stored millionths, exactly


class LedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def has(self, reference: str) -> bool:
        return self.conn.execute(select(t.c.id).where(t.c.reference == reference)).first() \
            is not None

    def book_many(self, txs: list[Transaction]) -> None:
        """Insert transactions whose references are new (they name rows created in the same
        database transaction) with two executemany statements; the unique reference
        constraint still guards them."""
        if not txs:
            return
        ids = self.conn.execute(
            insert(t).returning(t.c.id, sort_by_parameter_order=True),
            [{"reference": x.reference, "kind": x.kind, "memo": x.memo,
              "created_at": x.created_at} for x in txs]).scalars().all()
        self.conn.execute(insert(p), [
            {"transaction_id": tx_id, "account": q.account, "commodity": q.commodity,
             "amount": to_micro(q.amount)} for tx_id, x in zip(ids, txs, strict=True)
            for q in x.postings])

    def book(self, tx: Transaction, *, fresh: bool = False) -> bool:
        """Insert a transaction with its postings; False (and nothing written) if its reference
        was already booked. Amounts are rounded to millionths, which keeps the balance: each
        posting of a pair is the same number with opposite signs. ``fresh``: the reference
        cannot exist yet (it names a row created in this transaction), so skip the look-up;
        the unique constraint still guards it."""
        if not fresh and self.has(tx.reference):
            return False
        tx_id = self.conn.execute(insert(t).values(
            reference=tx.reference, kind=tx.kind, memo=tx.memo, created_at=tx.created_at
        ).returning(t.c.id)).scalar_one()
        rows = [{"transaction_id": tx_id, "account": q.account, "commodity": q.commodity,
                 "amount": to_micro(q.amount)} for q in tx.postings]
        self.conn.execute(insert(p), rows)
        return True

    def balance(self, account: str, commodity: str) -> Decimal:
        """Sum of the account's postings in one commodity."""
        total = self.conn.execute(
            select(func.coalesce(func.sum(_raw), 0))
            .where(p.c.account == account, p.c.commodity == commodity)
        ).scalar_one()
        return Decimal(int(total)) / Decimal(1_000_000)

    def balances_of(self, account_names: set[str], commodity: str) -> dict[str, Decimal]:
        """Balances of these accounts in one commodity, in one query (0 for no postings)."""
        if not account_names:
            return {}
        rows = self.conn.execute(
            select(p.c.account, func.sum(_raw).label("total"))
            .where(p.c.account.in_(account_names), p.c.commodity == commodity)
            .group_by(p.c.account))
        found = {r.account: Decimal(int(r.total)) / Decimal(1_000_000) for r in rows}
        return {a: found.get(a, Decimal(0)) for a in account_names}

    def flow(self, account_prefix: str, commodity: str, kind: str) -> Decimal:
        """Sum of the postings to accounts starting with ``account_prefix`` made by
        transactions of one kind (e.g. ``usage``)."""
        total = self.conn.execute(
            select(func.coalesce(func.sum(_raw), 0)).join(t, t.c.id == p.c.transaction_id)
            .where(p.c.account.startswith(account_prefix, autoescape=True),
                   p.c.commodity == commodity, t.c.kind == kind)
        ).scalar_one()
        return Decimal(int(total)) / Decimal(1_000_000)

    def prefix_balance(self, account_prefix: str, commodity: str) -> Decimal:
        """Sum of the balances of every account starting with ``account_prefix``."""
        total = self.conn.execute(
            select(func.coalesce(func.sum(_raw), 0))
            .where(p.c.account.startswith(account_prefix, autoescape=True),
                   p.c.commodity == commodity)
        ).scalar_one()
        return Decimal(int(total)) / Decimal(1_000_000)

    def balances(self, prefix: str = "") -> dict[tuple[str, str], Decimal]:
        """Balances of every account whose name starts with ``prefix``."""
        query = (select(p.c.account, p.c.commodity, func.sum(_raw).label("total"))
                 .group_by(p.c.account, p.c.commodity))
        if prefix:
            query = query.where(p.c.account.startswith(prefix, autoescape=True))
        return {(r.account, r.commodity): Decimal(int(r.total)) / Decimal(1_000_000)
                for r in self.conn.execute(query)}

    def transactions(self, reference_prefix: str = "", limit: int = 1000
                     ) -> list[Transaction]:
        query = select(t).order_by(t.c.id).limit(limit)
        if reference_prefix:
            query = query.where(t.c.reference.startswith(reference_prefix, autoescape=True))
        result = []
        for row in self.conn.execute(query).all():
            postings = self.conn.execute(select(p).where(p.c.transaction_id == row.id)
                                         .order_by(p.c.id))
            result.append(_tx(row, [Posting(q.account, q.commodity, q.amount) for q in postings]))
        return result

    def unbalanced_transactions(self) -> list[int]:
        """Ids of transactions whose postings do not sum to zero (should always be empty)."""
        query = (select(p.c.transaction_id).group_by(p.c.transaction_id, p.c.commodity)
                 .having(func.sum(_raw) != 0))
        return [r[0] for r in self.conn.execute(query)]


def _tx(row: Any, postings: list[Posting]) -> Transaction:
    created: datetime = row.created_at
    return Transaction(row.reference, row.kind, row.memo, created, tuple(postings))

