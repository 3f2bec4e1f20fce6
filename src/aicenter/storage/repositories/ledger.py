"""Ledger tables: booking balanced transactions; balances.

Every booking adds its postings to ``account_balances`` in the same database transaction
(an upsert per account, in account order so that concurrent bookings take the row locks in
one order and cannot deadlock). A balance is therefore one row, whatever the account's
history; :meth:`LedgerRepository.balance_drift` checks the running sums against the postings
(they must always agree).

Every booking is also an audit entry (``ledger.booked``, in the same transaction), so the
tables can be reconciled with the tamper-evident log (:mod:`aicenter.ledger.audit.ledger`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, func, insert, literal, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite

from aicenter.ledger.audit.ledger import StoredPosting, booked_record
from aicenter.ledger.entry import Posting, Transaction
from aicenter.storage.repositories.audit import AuditRepository
from aicenter.storage.tables import account_balances as b
from aicenter.storage.tables import jobs
from aicenter.storage.tables import ledger_postings as p
from aicenter.storage.tables import ledger_transactions as t
from aicenter.storage.types import to_micro

_raw = type_coerce(p.c.amount, BigInteger)  # sum the stored millionths, exactly
IDS_PER_QUERY = 5000
"""Transaction ids bound in one query (SQLite allows 32,766 parameters)."""


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
        rows = [{"transaction_id": tx_id, "account": q.account, "commodity": q.commodity,
                 "amount": to_micro(q.amount)} for tx_id, x in zip(ids, txs, strict=True)
                for q in x.postings]
        self.conn.execute(insert(p), rows)
        self._add_to_balances(rows)
        AuditRepository.bound(self.conn).append_all(
            booked_record(replace(x, postings=tuple(
                Posting(q.account, q.commodity, to_micro(q.amount)) for q in x.postings)))
            for x in txs)

    def book(self, tx: Transaction, *, fresh: bool = False) -> bool:
        """Insert a transaction with its postings; False (and nothing written) if its reference
        was already booked. Amounts are rounded to millionths, which keeps the balance: each
        posting of a pair is the same number with opposite signs. ``fresh``: the reference
        cannot exist yet (it names a row created in this transaction), so skip the look-up;
        the unique constraint still guards it."""
        if not fresh and self.has(tx.reference):
            return False
        self.book_many([tx])
        return True

    def _add_to_balances(self, rows: list[dict[str, Any]]) -> None:
        """Add the postings to their accounts' running balances (upserts in account order)."""
        delta: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for row in rows:
            delta[(row["account"], row["commodity"])] += row["amount"]
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(b)
        upsert = upsert.on_conflict_do_update(
            index_elements=[b.c.account, b.c.commodity],
            set_={"amount": b.c.amount + upsert.excluded.amount})
        self.conn.execute(upsert, [{"account": a, "commodity": c, "amount": v}
                                   for (a, c), v in sorted(delta.items())])

    def balance(self, account: str, commodity: str) -> Decimal:
        """The account's balance in one commodity (its running sum of postings)."""
        amount = self.conn.execute(
            select(b.c.amount).where(b.c.account == account, b.c.commodity == commodity)
        ).scalar()
        return Decimal(0) if amount is None else Decimal(amount)

    def balances_of(self, account_names: set[str], commodity: str) -> dict[str, Decimal]:
        """Balances of these accounts in one commodity, in one query (0 for no postings)."""
        if not account_names:
            return {}
        rows = self.conn.execute(select(b.c.account, b.c.amount).where(
            b.c.account.in_(sorted(account_names)), b.c.commodity == commodity))
        found = {r.account: Decimal(r.amount) for r in rows}
        return {a: found.get(a, Decimal(0)) for a in account_names}

    def hold_totals(self, grant_ids: Collection[str], commodity: str
                    ) -> dict[str, tuple[Decimal, Decimal]]:
        """Per grant of ``grant_ids``: the balance of its jobs' hold accounts and the sum of
        the postings ``usage`` transactions made to them (negative: usage leaves the hold),
        as :meth:`prefix_balance` and :meth:`flow` on ``hold:<grant>:`` give them, for many
        grants in two queries. A grant's hold accounts are those of its jobs
        (``hold:<grant>:<job>``, :func:`aicenter.ledger.entry.accounts.hold`, and a job
        keeps its grant), so each sum is found through the jobs table's grant index and one
        look-up of each job's account: a range of account names would need the database's
        collation to order them byte by byte, which PostgreSQL's need not."""
        ids = sorted(set(grant_ids))
        totals = {g: (Decimal(0), Decimal(0)) for g in ids}
        if not ids:
            return totals
        hold = literal("hold:") + jobs.c.grant_id + literal(":") + jobs.c.id
        balances = self.conn.execute(
            select(jobs.c.grant_id, func.sum(type_coerce(b.c.amount, BigInteger)))
            .join(b, (b.c.account == hold) & (b.c.commodity == commodity))
            .where(jobs.c.grant_id.in_(ids)).group_by(jobs.c.grant_id))
        for grant_id, total in balances:
            totals[grant_id] = (Decimal(int(total)) / Decimal(1_000_000), Decimal(0))
        # per job, a sum over its own hold's postings (the account index): as a join,
        # PostgreSQL hashed every usage posting of the center instead (45 vs 8 ms a grant)
        used_by_job = (select(func.sum(_raw)).select_from(p)
                       .join(t, t.c.id == p.c.transaction_id)
                       .where(p.c.account == hold, p.c.commodity == commodity,
                              t.c.kind == "usage").scalar_subquery())
        usage = self.conn.execute(
            select(jobs.c.grant_id, func.sum(used_by_job))
            .where(jobs.c.grant_id.in_(ids)).group_by(jobs.c.grant_id))
        for grant_id, total in usage:
            used = Decimal(int(total or 0)) / Decimal(1_000_000)
            totals[grant_id] = (totals[grant_id][0], used)
        return totals

    def balance_drift(self) -> list[tuple[str, str, Decimal, Decimal]]:
        """Accounts whose running balance differs from the sum of their postings, as
        (account, commodity, running, summed); always empty unless something wrote postings
        behind the repository's back."""
        summed = {(a, c): v for (a, c), v in self.balances().items()}
        running = {(r.account, r.commodity): Decimal(r.amount)
                   for r in self.conn.execute(select(b))}
        return [(a, c, running.get((a, c), Decimal(0)), summed.get((a, c), Decimal(0)))
                for a, c in sorted(summed.keys() | running.keys())
                if running.get((a, c), Decimal(0)) != summed.get((a, c), Decimal(0))]

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
        """Transactions in booking order, with their postings (read together: one query
        for the transactions, one per :data:`IDS_PER_QUERY` of them for the postings)."""
        query = select(t).order_by(t.c.id).limit(limit)
        if reference_prefix:
            query = query.where(t.c.reference.startswith(reference_prefix, autoescape=True))
        rows = self.conn.execute(query).all()
        postings: dict[int, list[Posting]] = defaultdict(list)
        ids = [row.id for row in rows]
        for at in range(0, len(ids), IDS_PER_QUERY):
            for q in self.conn.execute(select(p).where(
                    p.c.transaction_id.in_(ids[at:at + IDS_PER_QUERY])).order_by(p.c.id)):
                postings[q.transaction_id].append(Posting(q.account, q.commodity, q.amount))
        return [_tx(row, postings[row.id]) for row in rows]

    def stream_postings(self) -> Iterator[StoredPosting]:
        """Every posting with its transaction's reference and kind, in booking order (what
        the audit log's ledger entries are reconciled against)."""
        query = (select(t.c.reference, t.c.kind, p.c.account, p.c.commodity, p.c.amount)
                 .join(p, p.c.transaction_id == t.c.id).order_by(t.c.id, p.c.id)
                 .execution_options(yield_per=2000))
        for r in self.conn.execute(query):
            yield StoredPosting(r.reference, r.kind, r.account, r.commodity, Decimal(r.amount))

    def running_balances(self) -> dict[tuple[str, str], Decimal]:
        """The running balance of every account, as the balances table holds it."""
        return {(r.account, r.commodity): Decimal(r.amount) for r in self.conn.execute(select(b))}

    def unbalanced_transactions(self) -> list[int]:
        """Ids of transactions whose postings do not sum to zero (should always be empty)."""
        query = (select(p.c.transaction_id).group_by(p.c.transaction_id, p.c.commodity)
                 .having(func.sum(_raw) != 0))
        return [r[0] for r in self.conn.execute(query)]


def _tx(row: Any, postings: list[Posting]) -> Transaction:
    created: datetime = row.created_at
    return Transaction(row.reference, row.kind, row.memo, created, tuple(postings))

