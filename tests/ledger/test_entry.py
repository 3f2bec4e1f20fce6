"""Ledger transactions: every one balances per commodity; the flows move what they say."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicenter.domain.units import Money
from aicenter.ledger import (
    H100E,
    Posting,
    Transaction,
    accounts,
    award_transaction,
    hold_transaction,
    release_transaction,
    usage_transaction,
)
from aicenter.storage import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)
amounts = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1e9"), places=6)


def test_unbalanced_transaction_is_refused() -> None:
    with pytest.raises(ValueError, match="does not balance"):
        Transaction("x", "award", "", T0, (Posting("a", H100E, Decimal(1)),
                                           Posting("b", H100E, Decimal("-0.5"))))
    with pytest.raises(ValueError, match="does not balance"):  # balanced in sum, not per commodity
        Transaction("x", "usage", "", T0, (Posting("a", H100E, Decimal(1)),
                                           Posting("b", "KRW", Decimal(-1))))


@given(used=amounts, price=amounts, fraction=st.decimals(min_value=0, max_value=1, places=2))
def test_usage_transaction_balances_in_both_commodities(used: Decimal, price: Decimal,
                                                        fraction: Decimal) -> None:
    market = Money.of(used * price, "KRW")
    payable = market * fraction
    tx = usage_transaction("u1", job_id="j", grant_id="g", org_id="o", call_id="c",
                           used_h100e_h=used, market=market, payable=payable, at=T0)
    totals: dict[str, Decimal] = {}
    for p in tx.postings:
        totals[p.commodity] = totals.get(p.commodity, Decimal(0)) + p.amount
    assert all(v == 0 for v in totals.values())
    moved = {p.account: p.amount for p in tx.postings if p.commodity == H100E}
    assert moved == {accounts.hold("g", "j"): -used, accounts.usage("o"): used}


def test_a_job_life_leaves_the_grant_charged_with_exactly_its_usage(database: Database) -> None:
    budget, hold, used = Decimal("10"), Decimal("2"), Decimal("0.75")
    with database.transaction() as tx:
        tx.ledger.book(award_transaction("g", "c", budget, T0))
        tx.ledger.book(hold_transaction("j", "g", hold, T0))
        assert tx.ledger.balance(accounts.grant("g"), H100E) == budget - hold
        tx.ledger.book(usage_transaction("u", job_id="j", grant_id="g", org_id="o",
                                         call_id="c", used_h100e_h=used,
                                         market=Money.of(1, "KRW"),
                                         payable=Money.of("0.1", "KRW"), at=T0))
        remaining = tx.ledger.balance(accounts.hold("g", "j"), H100E)
        tx.ledger.book(release_transaction("j", "g", remaining, T0))
        assert not tx.ledger.book(release_transaction("j", "g", remaining, T0))  # idempotent
    with database.transaction(write=False) as tx:
        assert tx.ledger.balance(accounts.grant("g"), H100E) == budget - used
        assert tx.ledger.balance(accounts.hold("g", "j"), H100E) == 0
        assert tx.ledger.balance(accounts.receivable("o"), "KRW") == Decimal("0.1")
        assert tx.ledger.balance(accounts.subsidy("c"), "KRW") == Decimal("0.9")
        assert tx.ledger.balance(accounts.REVENUE, "KRW") == Decimal(-1)
        assert tx.ledger.flow(accounts.holds_of("g"), H100E, "usage") == -used
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
        assert sum(tx.ledger.balances().values()) == 0
