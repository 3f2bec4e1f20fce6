"""The credit ledger inside the audit log: each booked transaction is an entry
(``ledger.booked``) carrying its accounts and amounts, so the ledger tables can be rebuilt
from the log and any edit made to them alone is found.

:func:`reconcile` compares the two sides transaction by transaction (by reference, the
ledger's unique key) and then account by account: a ledger transaction absent from the log
(booked or edited behind it), one whose postings differ from the entry's, one the log has but
the ledger lost, and a running balance that differs from the sum of the log's postings. Each
is a :class:`~aicenter.ledger.audit.verify.Finding` naming the log entry where there is one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aicenter.ledger.audit.entry import Actor, ActorKind, AuditEntry, AuditRecord
from aicenter.ledger.audit.verify import Finding, Problem
from aicenter.ledger.entry import Transaction

BOOKED = "ledger.booked"
OBJECT_TYPE = "ledger_transaction"
LEDGER_ACTOR = Actor(ActorKind.SYSTEM, "ledger")
"""Bookings follow from the change recorded just before them, which names the caller."""

Key = tuple[str, str]
"""(account, commodity)."""


def booked_record(txn: Transaction, org_id: str | None = None) -> AuditRecord:
    """The entry of a booked transaction: reference, kind, and every posting as
    ``[account, commodity, amount]`` with the amount as a decimal string (as stored)."""
    return AuditRecord(txn.created_at, LEDGER_ACTOR, BOOKED, OBJECT_TYPE, txn.reference, org_id,
                       {"kind": txn.kind,
                        "postings": [[q.account, q.commodity, str(q.amount)]
                                     for q in txn.postings]})


@dataclass(frozen=True, slots=True)
class StoredPosting:
    """A posting as the ledger tables hold it, with its transaction's reference and kind."""

    reference: str
    kind: str
    account: str
    commodity: str
    amount: Decimal


def _postings(payload: Mapping[str, Any]) -> list[tuple[str, str, Decimal]]:
    return sorted((str(a), str(c), Decimal(str(v))) for a, c, v in payload["postings"])


def reconcile(log: Iterable[AuditEntry], ledger: Iterable[StoredPosting],
              running: Mapping[Key, Decimal]) -> list[Finding]:
    """Findings where the ledger tables disagree with the log's ``ledger.booked`` entries
    (``log`` may hold other entries: they are skipped). ``ledger`` in booking order;
    ``running``: the running balance of each account as the balances table holds it."""
    logged: dict[str, tuple[int, str, list[tuple[str, str, Decimal]]]] = {}
    findings: list[Finding] = []
    from_log: dict[Key, Decimal] = defaultdict(Decimal)
    for entry in log:
        r = entry.record
        if r.action != BOOKED:
            continue
        try:
            postings = _postings(r.payload)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            findings.append(Finding(entry.seq, Problem.LEDGER, "a ledger entry without a "
                                    "readable list of postings"))
            continue
        logged[r.object_id] = (entry.seq, str(r.payload.get("kind", "")), postings)
        for account, commodity, amount in postings:
            from_log[(account, commodity)] += amount

    stored: dict[str, tuple[str, list[tuple[str, str, Decimal]]]] = {}
    for q in ledger:
        kind, rows = stored.setdefault(q.reference, (q.kind, []))
        rows.append((q.account, q.commodity, q.amount))
    for reference, (kind, rows) in stored.items():
        seen = logged.pop(reference, None)
        if seen is None:
            findings.append(Finding(None, Problem.LEDGER, f"ledger transaction {reference} "
                                    f"({kind}) is not in the log: booked behind it, or its "
                                    "reference was edited"))
            continue
        seq, logged_kind, postings = seen
        if sorted(rows) != postings or kind != logged_kind:
            findings.append(Finding(seq, Problem.LEDGER, f"ledger transaction {reference} "
                                    f"differs from its entry: {_difference(postings, rows)}"))
    for reference, (seq, kind, _) in sorted(logged.items(), key=lambda x: x[1][0]):
        findings.append(Finding(seq, Problem.LEDGER, f"ledger transaction {reference} ({kind}) "
                                "is in the log but no longer in the ledger"))
    for key in sorted(from_log.keys() | running.keys()):
        want, have = from_log.get(key, Decimal(0)), running.get(key, Decimal(0))
        if want != have:
            findings.append(Finding(None, Problem.LEDGER, f"account {key[0]} ({key[1]}) "
                                    f"holds {have} but the log's postings sum to {want}"))
    return findings


def _difference(logged: list[tuple[str, str, Decimal]],
                stored: list[tuple[str, str, Decimal]]) -> str:
    """The first posting that differs, in words."""
    want = {(a, c): v for a, c, v in logged}
    have = {(a, c): v for a, c, v in stored}
    for key in sorted(want.keys() | have.keys()):
        if want.get(key) != have.get(key):
            return (f"{key[0]} ({key[1]}) is {have.get(key, 'absent')} in the ledger, "
                    f"{want.get(key, 'absent')} in the log")
    return "its kind changed"
