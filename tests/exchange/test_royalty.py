from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicenter.domain.errors import InputError
from aicenter.domain.units import Money
from aicenter.exchange.licence import (
    Agreement,
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
    accept_offer,
)
from aicenter.exchange.meter import MeterEvent, MeterWriter, merge_into, read_log
from aicenter.exchange.royalty import (
    DATA_BYTES,
    DATA_RECORDS,
    DATA_TOKENS,
    KRW,
    charge_lines,
    read_account,
    royalty_account,
    royalty_transactions,
    statement_from_audit_log,
    statement_from_ledger,
    statement_from_log,
)
from aicenter.ledger import Transaction
from aicenter.storage import Database
from tests.services.fixtures import database_fixture  # noqa: F401

ACCEPTED = datetime(2026, 3, 1, tzinfo=UTC)
IN_MARCH = datetime(2026, 3, 15, 10, tzinfo=UTC)


def agreement(aid: str = "agr-1", *, basis: PriceBasis = PriceBasis.PER_GB,
              price: int | str = 150_000, provider: str = "prov-daily",
              dataset: str = "news-2025", org: str = "org-lab", waiver_days: int = 0,
              chase_team: bool = False, at: datetime = ACCEPTED) -> Agreement:
    offer = LicenceOffer(f"off-{aid}", provider, dataset, frozenset({Purpose.PRE_TRAINING}),
                         date(2026, 1, 1), date(2026, 12, 31), frozenset({"KR"}),
                         ModelRelease.INTERNAL_ONLY, Price(basis, Money.of(price, "KRW")),
                         chase_waiver_days=waiver_days)
    return accept_offer(offer, agreement_id=aid, org_id=org, purpose=Purpose.PRE_TRAINING,
                        at=at, chase_team=chase_team)


def event(seq: int, *, bytes_read: int, tokens: int = 0, records: int = 1,
          agreement_id: str = "agr-1", job: str = "job-1", dataset: str = "news-2025",
          at: datetime = IN_MARCH) -> MeterEvent:
    return MeterEvent("w1", seq, job, dataset, agreement_id, at, records, bytes_read, tokens)


def booked(transactions: list[Transaction], account: str, commodity: str) -> Decimal:
    return sum((p.amount for t in transactions for p in t.postings
                if p.account == account and p.commodity == commodity), Decimal(0))


def test_per_gb_charge_is_rounded_once_per_line_half_to_even() -> None:
    a = agreement(price=1_000)  # 1,000 won per GB: 1 won per MB
    # 0.5 MB + 1.0 MB = 1.5 MB → 1.5 won → 2 (half to even); each event alone would round
    # 0.5 → 0 and 1.0 → 1, i.e. 1 won: the line is rounded once, not each event
    lines = charge_lines([event(1, bytes_read=500_000), event(2, bytes_read=1_000_000)], [a],
                         "2026-03")
    assert [line.gross_krw for line in lines] == [Decimal(2)]
    half = charge_lines([event(1, bytes_read=2_500_000)], [a], "2026-03")
    assert half[0].gross_krw == Decimal(2)  # 2.5 → 2, half to even


def test_per_million_tokens_and_fee_split() -> None:
    a = agreement(basis=PriceBasis.PER_MILLION_TOKENS, price=12_000)
    [line] = charge_lines([event(1, bytes_read=9, tokens=3_333_333)], [a], "2026-03",
                          fee_rate=Decimal("0.15"))
    assert line.gross_krw == Decimal(40_000)  # 12,000 × 3.333333 = 39,999.996 → 40,000
    assert line.fee_krw == Decimal(6_000) and line.net_krw == Decimal(34_000)
    [txn] = royalty_transactions([event(1, bytes_read=9, tokens=3_333_333)], [a], "2026-03",
                                 fee_rate=Decimal("0.15"))
    assert booked([txn], "receivable:org-lab", KRW) == Decimal(40_000)
    assert booked([txn], royalty_account("prov-daily"), KRW) == Decimal(-34_000)
    assert booked([txn], "revenue:exchange", KRW) == Decimal(-6_000)
    with pytest.raises(InputError, match="fraction"):
        charge_lines([event(1, bytes_read=9)], [a], "2026-03", fee_rate=Decimal("1.5"))


@given(st.lists(st.tuples(st.integers(0, 5 * 10**9), st.integers(0, 10**8),
                          st.integers(1, 10_000), st.sampled_from(["job-1", "job-2"]),
                          st.integers(0, 60 * 24 * 30)), min_size=1, max_size=40),
       st.sampled_from([PriceBasis.PER_GB, PriceBasis.PER_MILLION_TOKENS]),
       st.decimals(min_value=0, max_value=10**7, places=2),
       st.decimals(min_value=0, max_value=1, places=3))
def test_billed_use_equals_metered_use_exactly(
        rows: list[tuple[int, int, int, str, int]], basis: PriceBasis, price: Decimal,
        fee_rate: Decimal) -> None:
    a = agreement(basis=basis, price=str(price))
    events = [event(i, bytes_read=b, tokens=t, records=r, job=job,
                    at=ACCEPTED + timedelta(minutes=m)) for i, (b, t, r, job, m) in
              enumerate(rows, start=1)]
    transactions = royalty_transactions(events, [a], "2026-03", fee_rate)
    # every metered unit is booked, no more, no less
    assert booked(transactions, read_account("agr-1"), DATA_BYTES) == sum(b for b, *_ in rows)
    assert booked(transactions, read_account("agr-1"), DATA_TOKENS) == sum(
        t for _, t, *_ in rows)
    assert booked(transactions, read_account("agr-1"), DATA_RECORDS) == sum(
        r for _, _, r, *_ in rows)
    # and the money is price × metered quantity per job, rounded once, half to even, to the won
    expected = Decimal(0)
    for job in ("job-1", "job-2"):
        units = sum(Decimal(b if basis is PriceBasis.PER_GB else t)
                    for b, t, _, j, _ in rows if j == job)
        scale = Decimal(10**9 if basis is PriceBasis.PER_GB else 10**6)
        expected += (price * units / scale).quantize(Decimal(1), ROUND_HALF_EVEN)
    assert booked(transactions, "receivable:org-lab", KRW) == expected
    fees = -booked(transactions, "revenue:exchange", KRW)
    assert -booked(transactions, royalty_account("prov-daily"), KRW) + fees == expected
    for t in transactions:
        for p in t.postings:
            if p.commodity == KRW:
                assert p.amount == p.amount.quantize(Decimal(1))  # whole won only


def test_months_split_lines_and_other_months_are_not_billed() -> None:
    a = agreement()
    events = [event(1, bytes_read=10**9, at=datetime(2026, 3, 31, 23, 59, tzinfo=UTC)),
              event(2, bytes_read=2 * 10**9, at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC))]
    march = royalty_transactions(events, [a], "2026-03")
    april = royalty_transactions(events, [a], "2026-04")
    assert [t.reference for t in march] == ["royalty:agr-1:job-1:2026-03"]
    assert booked(march, "receivable:org-lab", KRW) == Decimal(150_000)
    assert booked(april, "receivable:org-lab", KRW) == Decimal(300_000)


def test_chase_team_waiver_meters_but_does_not_charge() -> None:
    a = agreement(waiver_days=10, chase_team=True)
    events = [event(1, bytes_read=10**9, at=ACCEPTED + timedelta(days=9)),
              event(2, bytes_read=10**9, at=ACCEPTED + timedelta(days=10))]
    [line] = charge_lines(events, [a], "2026-03")
    assert line.usage.bytes == 2 * 10**9 and line.charged.bytes == 10**9
    assert line.gross_krw == Decimal(150_000)
    [txn] = royalty_transactions(events[:1], [a], "2026-03")
    assert booked([txn], read_account("agr-1"), DATA_BYTES) == Decimal(10**9)
    assert booked([txn], "receivable:org-lab", KRW) == 0


def test_flat_fee_once_in_the_month_of_acceptance_less_the_waived_share() -> None:
    plain = agreement("agr-f", basis=PriceBasis.FLAT, price=3_650_000)
    txns = royalty_transactions([event(1, bytes_read=10**12, agreement_id="agr-f")], [plain],
                                "2026-03")
    assert {t.reference for t in txns} == {"royalty-flat:agr-f", "royalty:agr-f:job-1:2026-03"}
    assert booked(txns, "receivable:org-lab", KRW) == Decimal(3_650_000)
    assert royalty_transactions([], [plain], "2026-04") == []
    # accepted 2026-03-01, valid to 2027-01-01 (306 days); waived 30 days: pays 276/306
    waived = agreement("agr-w", basis=PriceBasis.FLAT, price=3_060_000, waiver_days=30,
                       chase_team=True)
    [txn] = royalty_transactions([], [waived], "2026-03")
    assert booked([txn], "receivable:org-lab", KRW) == Decimal(2_760_000)


def test_event_under_an_unknown_agreement_is_an_error() -> None:
    with pytest.raises(InputError, match="unknown agreement agr-x"):
        charge_lines([event(1, bytes_read=1, agreement_id="agr-x")], [], "2026-03")


def write_audit_log(tmp_path: Path) -> tuple[Path, list[Agreement]]:
    """Agreements and the meter logs of three jobs, merged into the center's audit log."""
    agreements = [
        agreement("agr-1"),
        agreement("agr-2", basis=PriceBasis.PER_MILLION_TOKENS, price=9_999, org="org-startup"),
        agreement("agr-3", basis=PriceBasis.FLAT, price=1_000_000, org="org-sme"),
        agreement("agr-4", provider="prov-other", dataset="web-2024"),
        agreement("agr-5", waiver_days=5, chase_team=True, org="org-chase"),
    ]
    audit = tmp_path / "audit.jsonl"
    center = MeterWriter(audit, "center")
    for a in agreements:
        center.agreement(a)
    jobs = [("job-a", "agr-1", "news-2025"), ("job-b", "agr-2", "news-2025"),
            ("job-c", "agr-4", "web-2024"), ("job-d", "agr-5", "news-2025"),
            ("job-e", "agr-3", "news-2025")]
    for n, (job, aid, dataset) in enumerate(jobs):
        log = tmp_path / f"{job}.jsonl"
        writer = MeterWriter(log, f"{job}:host:1")
        for i in range(7):
            writer.meter(job_id=job, dataset_id=dataset, agreement_id=aid,
                         at=ACCEPTED + timedelta(days=2 * i + n, hours=i), records=100 + i,
                         bytes_read=123_456_789 * (i + 1) + n, tokens=77_777 * (i + 1) + n)
        merge_into(audit, log)
        merge_into(audit, log)  # a retried collection adds nothing
    return audit, agreements


def test_statement_rebuilt_from_the_audit_log_equals_the_ledger(tmp_path: Path) -> None:
    audit, agreements = write_audit_log(tmp_path)
    contents = read_log(audit)
    assert len(contents.meters) == 35 and contents.agreements == tuple(agreements)
    fee = Decimal("0.1")
    ledger = royalty_transactions(contents.meters, contents.agreements, "2026-03", fee)
    from_ledger = statement_from_ledger("prov-daily", "2026-03", ledger)
    from_log = statement_from_log("prov-daily", "2026-03", contents.meters,
                                  contents.agreements, fee)
    assert from_log == from_ledger
    assert statement_from_audit_log(audit, "prov-daily", "2026-03", fee) == from_ledger
    assert [line.agreement_id for line in from_log.lines] == ["agr-1", "agr-2", "agr-3",
                                                               "agr-5"]
    assert from_log.total_net_krw == -booked(ledger, royalty_account("prov-daily"), KRW)
    by_id = {line.agreement_id: line for line in from_log.lines}
    assert by_id["agr-1"].bytes == sum(123_456_789 * (i + 1) for i in range(7))
    assert by_id["agr-3"].gross_krw == Decimal(1_000_000)
    assert by_id["agr-5"].org_id == "org-chase" and by_id["agr-5"].records == 721
    other = statement_from_log("prov-other", "2026-03", contents.meters, contents.agreements,
                               fee)
    assert [line.dataset_id for line in other.lines] == ["web-2024"]
    assert other == statement_from_ledger("prov-other", "2026-03", ledger)


def test_statement_from_transactions_booked_in_the_database(
        tmp_path: Path, database: Database) -> None:
    audit, _ = write_audit_log(tmp_path)
    contents = read_log(audit)
    transactions = royalty_transactions(contents.meters, contents.agreements, "2026-03",
                                        Decimal("0.1"))
    with database.transaction() as tx:
        for t in transactions:
            assert tx.ledger.book(t)
        for t in transactions:
            assert not tx.ledger.book(t)  # booking a month twice is a no-op
    with database.transaction(write=False) as tx:
        stored = tx.ledger.transactions("royalty")
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
        assert tx.ledger.balance(read_account("agr-1"), DATA_BYTES) == sum(
            e.bytes for e in contents.meters if e.agreement_id == "agr-1")
    assert statement_from_ledger("prov-daily", "2026-03", stored) == statement_from_log(
        "prov-daily", "2026-03", contents.meters, contents.agreements, Decimal("0.1"))
