"""The life of offers and agreements (issue 15 item 5): withdrawn offers take no new
agreement while existing ones run on; private offers do not exist (404) for organisations
they are not made to; price changes need notice and apply at acceptance or renewal only;
agreements end for cause or by mutual end, after which reads are refused and they are not
renewed (409 with the reason); a renewal takes the current price; every change is an audit
entry; a month with a 0-KRW flat agreement has a statement that matches its rebuild from the
log. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.exchange.licence import AccessReason, DatasetTerms, Purpose, check_access
from aicenter.exchange.royalty import month_of
from aicenter.ledger.audit.query import AuditFilter
from aicenter.policy import PermissionDeniedError
from aicenter.services import audit as audit_svc
from aicenter.services import dataset as dataset_svc
from aicenter.services import licence as svc
from aicenter.services import org as org_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import ConflictError

DAY = 86_400


@dataclass
class Market:
    ctx: ServiceContext
    operator: Caller
    provider: Caller
    tenant: Caller
    other: Caller
    dataset_id: str


def _person(ctx: ServiceContext, operator: Caller, name: str, role: Role) -> Caller:
    org = org_svc.create_org(ctx, operator, name, OrgClass.ENTERPRISE)
    return Caller(org_svc.add_person(ctx, operator, org.id, name, f"{name.lower()}@x.kr",
                                     role))


@pytest.fixture(name="market")
def market_fixture(ctx: ServiceContext, operator: Caller, tmp_path: Path) -> Market:
    provider = _person(ctx, operator, "News", Role.DATA_PROVIDER)
    tenant = _person(ctx, operator, "Lab", Role.MEMBER)
    other = _person(ctx, operator, "Rival", Role.MEMBER)
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps({"text": "기사 본문 하나"}, ensure_ascii=False) + "\n",
                      encoding="utf-8")
    dataset = dataset_svc.upload(ctx, provider, dataset_svc.UploadRequest(
        "news", "a.jsonl", licence_text="proprietary"), source)
    return Market(ctx, operator, provider, tenant, other, dataset.id)


def _offer(m: Market, **terms: object):  # type: ignore[no-untyped-def]
    today = m.ctx.clock.now().date()
    body = {"purposes": ["pre-training"], "term_start": str(today - timedelta(days=1)),
            "term_end": str(today + timedelta(days=400)),
            "price": {"basis": "flat", "amount": "1000000"}, **terms}
    return svc.create_offer(m.ctx, m.provider, m.dataset_id, body)


def _actions(m: Market, object_id: str) -> list[str]:
    m.ctx.db.flush_audit()
    return [e.record.action for e in audit_svc.list_entries(
        m.ctx, m.operator, AuditFilter(object_id=object_id))]


def _clock(m: Market) -> ManualClock:
    assert isinstance(m.ctx.clock, ManualClock)
    return m.ctx.clock


def _reads(m: Market, agreement_org: str) -> AccessReason:
    with m.ctx.db.transaction(write=False) as tx:
        held = tx.licences.agreements(org_id=agreement_org)
    return check_access(held, DatasetTerms(m.dataset_id, m.provider.org_id), Purpose.PRE_TRAINING,
                        agreement_org, m.ctx.clock.now(), "KR").reason


def test_withdrawn_offer_takes_no_new_agreement_and_existing_ones_run(market: Market) -> None:
    m = market
    offer = _offer(m)
    held = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    with pytest.raises(PermissionDeniedError):  # someone else's offer
        svc.withdraw_offer(m.ctx, m.other, offer.id)
    withdrawn = svc.withdraw_offer(m.ctx, m.provider, offer.id)
    assert withdrawn.withdrawn_at == m.ctx.clock.now()
    assert "offer.withdrawn" in _actions(m, offer.id)
    with pytest.raises(ConflictError, match="withdrawn"):
        svc.accept(m.ctx, m.other, offer.id, "pre-training")
    with pytest.raises(ConflictError, match="already withdrawn"):
        svc.withdraw_offer(m.ctx, m.provider, offer.id)
    with pytest.raises(ConflictError, match="withdrawn"):
        svc.renew(m.ctx, m.tenant, held.id)
    assert _reads(m, m.tenant.org_id) is AccessReason.ALLOWED  # runs to term
    listed = {o.id: o for o in svc.list_offers(m.ctx, m.other)}
    assert listed[offer.id].withdrawn_at is not None  # shown, marked


def test_private_offer_exists_only_for_the_organisations_named(market: Market) -> None:
    m = market
    with pytest.raises(InputError, match="no organisation"):
        _offer(m, offered_to=["org-nobody"])
    offer = _offer(m, offered_to=[m.tenant.org_id])
    assert offer.private and offer.open_to(m.tenant.org_id)
    assert offer.id not in {o.id for o in svc.list_offers(m.ctx, m.other)}
    for attempt in (lambda: svc.get_offer(m.ctx, m.other, offer.id),
                    lambda: svc.accept(m.ctx, m.other, offer.id, "pre-training"),
                    lambda: svc.withdraw_offer(m.ctx, m.other, offer.id),
                    lambda: svc.announce_price(m.ctx, m.other, offer.id,
                                               {"basis": "flat", "amount": "1"},
                                               m.ctx.clock.now().date() + timedelta(days=60))):
        with pytest.raises(NotFoundError):  # 404, not 403: the offer's existence is private
            attempt()
    assert offer.id in {o.id for o in svc.list_offers(m.ctx, m.tenant)}
    assert offer.id in {o.id for o in svc.list_offers(m.ctx, m.operator)}
    agreement = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    assert agreement.offer.offered_to == frozenset({m.tenant.org_id})


def test_price_change_needs_notice_and_applies_at_acceptance_or_renewal(market: Market
                                                                          ) -> None:
    m = market
    m.ctx.settings.exchange_price_notice_days = 30
    offer = _offer(m, price={"basis": "per-gb", "amount": "1000"})
    old = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    today = m.ctx.clock.now().date()
    with pytest.raises(InputError, match="30 days' notice") as refused:
        svc.announce_price(m.ctx, m.provider, offer.id, {"basis": "per-gb", "amount": "1500"},
                           today + timedelta(days=29))
    assert refused.value.field == "effective_from"
    with pytest.raises(InputError, match="same basis"):
        svc.announce_price(m.ctx, m.provider, offer.id, {"basis": "flat", "amount": "1"},
                           today + timedelta(days=30))
    with pytest.raises(PermissionDeniedError):
        svc.announce_price(m.ctx, m.tenant, offer.id, {"basis": "per-gb", "amount": "1"},
                           today + timedelta(days=30))
    announced = svc.announce_price(m.ctx, m.provider, offer.id,
                                   {"basis": "per-gb", "amount": "1500"},
                                   today + timedelta(days=30))
    assert "offer.price_announced" in _actions(m, offer.id)
    seen = svc.get_offer(m.ctx, m.other, offer.id)  # tenants see the announced change
    assert [str(c.price.amount.amount) for c in seen.price_changes] == ["1500"]
    before = svc.accept(m.ctx, m.other, offer.id, "pre-training")  # before the date
    assert before.offer.price.amount.amount == 1000
    assert announced.price.amount.amount == 1000
    _clock(m).advance(30 * DAY)
    renewed = svc.renew(m.ctx, m.tenant, old.id)
    assert renewed.offer.price.amount.amount == 1500 and renewed.renewed_from == old.id
    kept = svc.get_agreement(m.ctx, m.tenant, old.id)
    assert kept.offer.price.amount.amount == 1000 and kept.renewed_by == renewed.id
    assert svc.get_agreement(m.ctx, m.other, before.id).offer.price.amount.amount == 1000
    assert "agreement.renewed" in _actions(m, renewed.id)
    with pytest.raises(ConflictError, match="already renewed"):
        svc.renew(m.ctx, m.tenant, old.id)
    with pytest.raises(PermissionDeniedError):  # only the licensee renews
        svc.renew(m.ctx, m.other, renewed.id)


def test_termination_for_cause_refuses_reads_and_renewal(market: Market) -> None:
    m = market
    offer = _offer(m)
    held = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    with pytest.raises(InputError, match="only the provider"):
        svc.terminate(m.ctx, m.tenant, held.id, "cause", "we want out")
    with pytest.raises(InputError, match="say the cause"):
        svc.terminate(m.ctx, m.provider, held.id, "cause", " ")
    with pytest.raises(InputError, match="cause or mutual"):
        svc.terminate(m.ctx, m.provider, held.id, "whim", "x")
    with pytest.raises(PermissionDeniedError):
        svc.terminate(m.ctx, m.other, held.id, "mutual")
    _clock(m).advance(60)
    ended = svc.terminate(m.ctx, m.provider, held.id, "cause", "redistributed the data")
    assert ended.terminated_at == m.ctx.clock.now() and ended.ends_at == ended.terminated_at
    assert _actions(m, held.id)[-1] == "agreement.terminated"
    assert _reads(m, m.tenant.org_id) is AccessReason.TERMINATED
    with pytest.raises(ConflictError, match=r"terminated for cause.*redistributed"):
        svc.renew(m.ctx, m.tenant, held.id)
    with pytest.raises(ConflictError, match="already terminated"):
        svc.terminate(m.ctx, m.provider, held.id, "cause", "again")


def test_mutual_end_takes_both_parties(market: Market) -> None:
    m = market
    offer = _offer(m)
    held = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    asked = svc.terminate(m.ctx, m.tenant, held.id, "mutual", "project over")
    assert asked.terminated_at is None and asked.end_requested_by == {m.tenant.org_id}
    assert _reads(m, m.tenant.org_id) is AccessReason.ALLOWED
    ended = svc.terminate(m.ctx, m.provider, held.id, "mutual")
    assert ended.terminated_at is not None and ended.termination_reason == "mutual end"
    assert _actions(m, held.id)[-2:] == ["agreement.end_requested", "agreement.terminated"]
    assert _reads(m, m.tenant.org_id) is AccessReason.TERMINATED


def test_termination_shortens_the_grants_of_running_jobs(market: Market) -> None:
    m = market
    offer = _offer(m)
    held = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    grant = royalty_svc.grant_path(m.ctx, "job-1")
    grant.parent.mkdir(parents=True, exist_ok=True)
    far = (m.ctx.clock.now() + timedelta(days=90)).isoformat()
    grant.write_text(json.dumps({"valid_until": far, "datasets": [
        {"dataset_id": m.dataset_id, "agreement_id": held.id}]}), encoding="utf-8")
    unrelated = royalty_svc.grant_path(m.ctx, "job-2")
    unrelated.write_text(json.dumps({"valid_until": far, "datasets": [
        {"dataset_id": "other", "agreement_id": "agr-other"}]}), encoding="utf-8")
    ended = svc.terminate(m.ctx, m.provider, held.id, "cause", "breach")
    assert ended.terminated_at is not None
    shortened = json.loads(grant.read_text(encoding="utf-8"))["valid_until"]
    assert shortened == ended.terminated_at.isoformat()
    assert json.loads(unrelated.read_text(encoding="utf-8"))["valid_until"] == far
    assert grant.stat().st_mode & 0o777 == 0o600


def test_renewal_books_a_new_flat_fee(market: Market) -> None:
    m = market
    offer = _offer(m)
    held = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    _clock(m).advance(40 * DAY)
    renewed = svc.renew(m.ctx, m.tenant, held.id)
    with m.ctx.db.transaction(write=False) as tx:
        refs = {t.reference for t in tx.ledger.transactions("royalty-flat", limit=100)}
    assert refs == {f"royalty-flat:{held.id}", f"royalty-flat:{renewed.id}"}
    pair = royalty_svc.statement(m.ctx, m.provider, m.provider.org_id,
                                 month_of(renewed.accepted_at))
    assert pair.matches and [x.agreement_id for x in pair.ledger.lines] == [renewed.id]


def test_a_zero_krw_flat_agreement_still_matches_its_rebuild(market: Market) -> None:
    m = market
    offer = _offer(m, price={"basis": "flat", "amount": "0"})
    held = svc.accept(m.ctx, m.tenant, offer.id, "pre-training")
    pair = royalty_svc.statement(m.ctx, m.provider, m.provider.org_id,
                                 month_of(held.accepted_at))
    assert pair.matches, (pair.ledger.to_dict(), pair.audit_log.to_dict())
    assert [x.agreement_id for x in pair.ledger.lines] == [held.id]
    assert pair.ledger.total_gross_krw == 0


def test_pii_samples_only_for_provider_operators_and_licensees(market: Market,
                                                               tmp_path: Path) -> None:
    m = market
    ctx = m.ctx
    source = tmp_path / "pii.jsonl"
    source.write_text(json.dumps({"text": "문의는 010-2345-6789 또는 kim@news.kr 로 연락"},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    dataset_svc.upload(ctx, m.provider, dataset_svc.UploadRequest(
        "contacts", "pii.jsonl", licence_text="proprietary"), source)

    def samples(caller: Caller) -> dict[str, object]:
        report = dataset_svc.get_dataset(ctx, caller, "contacts").pii_report
        assert report["counts"]  # the counts are metadata: everyone sees them
        return dict(report.get("samples") or {})

    assert samples(m.provider) and samples(m.operator)
    assert not samples(m.tenant)
    assert "samples_withheld" in dataset_svc.get_dataset(ctx, m.tenant, "contacts").pii_report
    offer = svc.create_offer(ctx, m.provider, "contacts", {
        "purposes": ["pre-training"], "term_start": str(ctx.clock.now().date()),
        "term_end": str(ctx.clock.now().date() + timedelta(days=30)),
        "price": {"basis": "flat", "amount": "10"}})
    held = svc.accept(ctx, m.tenant, offer.id, "pre-training")
    assert samples(m.tenant) and not samples(m.other)
    svc.terminate(ctx, m.provider, held.id, "cause", "breach")
    assert not samples(m.tenant)


def test_the_stored_croissant_names_the_publisher_and_fills_rai(market: Market) -> None:
    document = dataset_svc.get_dataset(market.ctx, market.other, "news").croissant
    assert document["publisher"]["name"] == document["creator"]["name"] == "News"
    assert market.provider.org_id not in json.dumps(document)
    assert "no personal information" in document["rai:personalSensitiveInformation"]
    assert "TDMRep" in document["rai:dataPreprocessingProtocol"]
