"""Exchange repositories on SQLite and PostgreSQL: datasets, offers, agreements, reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.dataset import Dataset, DatasetRead, Usage
from aicenter.domain.errors import DuplicateError
from aicenter.domain.job import Job, JobStatus, parse_job_spec
from aicenter.domain.licence import (
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
)
from aicenter.domain.org import Organisation, OrgClass
from aicenter.domain.person import Person, Role
from aicenter.domain.units import Currency, Money
from aicenter.exchange.licence import accept_offer
from aicenter.storage import Database
from aicenter.storage.repositories.pool import PoolRow

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _seed(db: Database) -> None:
    with db.transaction() as tx:
        tx.orgs.add(Organisation("org_news", "Daily News", OrgClass.ENTERPRISE, False, "seoul",
                                 T0))
        tx.orgs.add(Organisation("org_uni", "KAIST", OrgClass.UNIVERSITY, False, "daejeon", T0))
        tx.datasets.add(Dataset("news-2025", "news-2025", "org_news", "abc123", "f" * 64,
                                "/x/manifest.json", True, "CC-BY-NC", "articles", T0,
                                {"name": "news-2025"}, {"records": 3, "bytes": 120},
                                {"counts": {"phone": 2}}))


def _offer(offer_id: str = "off_1") -> LicenceOffer:
    return LicenceOffer(offer_id, "org_news", "news-2025",
                        frozenset({Purpose.PRE_TRAINING, Purpose.FINE_TUNING}),
                        date(2026, 1, 1), date(2026, 12, 31), frozenset({"KR"}),
                        ModelRelease.RESEARCH_RELEASE,
                        Price(PriceBasis.PER_GB, Money(Decimal("1500.5"), Currency.KRW)),
                        attribution="Daily News", chase_waiver_days=30)


def test_dataset_round_trip_and_provider_filter(database: Database) -> None:
    _seed(database)
    with database.transaction(write=False) as tx:
        got = tx.datasets.get("news-2025")
        assert got.domestic is True and got.stats == {"records": 3, "bytes": 120}
        assert got.created_at == T0 and got.pii_report["counts"]["phone"] == 2
        assert [d.id for d in tx.datasets.list("org_news")] == ["news-2025"]
        assert tx.datasets.list("org_uni") == []
        assert tx.datasets.get("nope") is None


def test_offer_and_agreement_round_trip(database: Database) -> None:
    _seed(database)
    offer = _offer()
    agreement = accept_offer(offer, agreement_id="agr_1", org_id="org_uni",
                             purpose=Purpose.PRE_TRAINING, at=T0, chase_team=True)
    with database.transaction() as tx:
        tx.licences.add_offer(offer, T0)
        tx.licences.add_agreement(agreement)
    with database.transaction(write=False) as tx:
        assert tx.licences.offer("off_1") == offer
        assert tx.licences.offers(dataset_id="news-2025") == [offer]
        assert tx.licences.agreement("agr_1") == agreement
        assert tx.licences.agreements(org_id="org_uni") == [agreement]
        assert tx.licences.agreements(org_id="org_news") == []
        assert tx.licences.agreements(provider_org_id="org_news") == [agreement]
        assert tx.licences.agreements(dataset_ids=["other"]) == []
    assert agreement.waiver_until == T0 + timedelta(days=30)


def test_an_offer_must_name_a_stored_dataset(database: Database) -> None:
    _seed(database)
    bad = LicenceOffer("off_x", "org_news", "missing", frozenset({Purpose.EVALUATION}),
                       date(2026, 1, 1), date(2026, 2, 1), frozenset({"KR"}),
                       ModelRelease.INTERNAL_ONLY,
                       Price(PriceBasis.FLAT, Money(Decimal(1), Currency.KRW)))
    with pytest.raises(DuplicateError), database.transaction() as tx:
        tx.licences.add_offer(bad, T0)


def test_reads_are_totals_not_increments(database: Database) -> None:
    _seed(database)
    offer = _offer()
    agreement = accept_offer(offer, agreement_id="agr_1", org_id="org_uni",
                             purpose=Purpose.PRE_TRAINING, at=T0)
    spec = parse_job_spec("name: j\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                          "count: 1}]\n")
    with database.transaction() as tx:
        tx.licences.add_offer(offer, T0)
        tx.licences.add_agreement(agreement)
        tx.people.add(Person("usr_1", "org_uni", "Kim", "k@k.kr", Role.MEMBER, T0))
        from aicenter.storage.tables import calls, grants

        tx.conn.execute(calls.insert().values(
            id="call_1", name="c", eligible_classes=[], max_chips_per_project={},
            max_months=1, market_price_per_h100e_h=Decimal(1), currency="KRW",
            payable_fraction={}, chase_team_priority=False, regional_bonus=0.0,
            concentration_threshold=1.0, concentration_penalty=0.0, status="open",
            opened_at=T0))
        tx.conn.execute(grants.insert().values(
            id="grant_1", call_id="call_1", org_id="org_uni", budget_h100e_h=Decimal(1),
            chip_ids=[], starts_at=T0, ends_at=T0, status="active", last_used_at=T0))
        tx.jobs.add(Job("job_1", "org_uni", "usr_1", "grant_1", spec, JobStatus.RUNNING, None,
                        Decimal(1), T0))
    big = 3 * 10**12  # beyond 32 bits: BigInteger on both databases
    for _ in range(2):
        with database.transaction() as tx:
            tx.datasets.record_read(DatasetRead("job_1", "news-2025", "org_uni", "agr_1",
                                                Usage(7, big, 11), T0))
    with database.transaction(write=False) as tx:
        reads = tx.datasets.reads(org_id="org_uni")
        assert [(x.job_id, x.usage) for x in reads] == [("job_1", Usage(7, big, 11))]
        assert tx.datasets.reads(dataset_ids=["news-2025"], job_id="job_1") == reads
        assert tx.datasets.reads(org_id="org_news") == []


def test_pools_carry_their_country(database: Database) -> None:
    with database.transaction() as tx:
        tx.pools.add(PoolRow("pool_1", "nvidia-h100-sxm", 8, "haenam"))
        tx.pools.add(PoolRow("pool_2", "nvidia-h100-sxm", 8, "virginia", "US"))
    with database.transaction(write=False) as tx:
        assert [(p.id, p.country) for p in tx.pools.list()] == [("pool_1", "KR"),
                                                                 ("pool_2", "US")]
