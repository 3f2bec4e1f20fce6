"""Royalties booked at every metering interval add up to exactly one booking at the end
(a line is rounded once, on its total), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.units import Currency, Money
from aicenter.exchange.licence import (
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
    accept_offer,
)
from aicenter.exchange.meter import MeterEvent
from aicenter.exchange.royalty import DATA_BYTES, charge_lines, read_account
from aicenter.services.royalty import book_royalties
from aicenter.storage import Database

T0 = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)  # the job's reads cross into April


def _agreement(basis: PriceBasis, price: str):  # type: ignore[no-untyped-def]
    offer = LicenceOffer("off_1", "org_news", "news", frozenset({Purpose.PRE_TRAINING}),
                         date(2026, 1, 1), date(2026, 12, 31), frozenset({"KR"}),
                         ModelRelease.INTERNAL_ONLY,
                         Price(basis, Money(Decimal(price), Currency.KRW)))
    return accept_offer(offer, agreement_id="agr_1", org_id="org_uni",
                        purpose=Purpose.PRE_TRAINING, at=T0 - timedelta(days=1))


@pytest.mark.parametrize("basis,price", [(PriceBasis.PER_GB, "1234.567"),
                                         (PriceBasis.PER_MILLION_TOKENS, "777.7")])
def test_interval_bookings_sum_to_one_final_booking(database: Database, basis: PriceBasis,
                                                     price: str) -> None:
    agreement = _agreement(basis, price)
    rng = random.Random(7)
    meters = [MeterEvent("w", i + 1, "job_1", "news", "agr_1", T0 + timedelta(minutes=3 * i),
                         rng.randrange(1, 500), rng.randrange(10**5, 10**8),
                         rng.randrange(10**4, 10**7)) for i in range(60)]
    booked = 0
    for cut in (5, 17, 18, 33, 59, 60, 60):  # metering intervals, then the end (twice)
        with database.transaction() as tx:
            booked += book_royalties(tx, meters[:cut], [agreement])
    expected = [line for month in ("2026-03", "2026-04")
                for line in charge_lines(meters, [agreement], month)]
    with database.transaction(write=False) as tx:
        gross = tx.ledger.balance("receivable:org_uni", "KRW")
        royalty = tx.ledger.balance("royalty:org_news", "KRW")
        read_bytes = tx.ledger.balance(read_account("agr_1"), DATA_BYTES)
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
    assert gross == sum(line.gross_krw for line in expected) > 0
    assert royalty == -gross
    assert read_bytes == sum(m.bytes for m in meters)
    assert booked >= 3  # more than one booking per line really happened
    with database.transaction() as tx:
        assert book_royalties(tx, meters, [agreement]) == 0
