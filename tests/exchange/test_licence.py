from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.errors import InputError
from aicenter.domain.units import Money
from aicenter.exchange.licence import (
    AccessReason,
    Agreement,
    DatasetTerms,
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
    accept_offer,
    agreement_from_dict,
    agreement_to_dict,
    check_access,
    offer_from_dict,
    offer_to_dict,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NEWS = DatasetTerms("news-2025", "prov-daily", domestic=False)
NEWS_DOMESTIC = DatasetTerms("news-2025", "prov-daily", domestic=True)


def make_offer(**changes: object) -> LicenceOffer:
    values: dict[str, object] = {
        "id": "off-1", "provider_id": "prov-daily", "dataset_id": "news-2025",
        "purposes": frozenset({Purpose.PRE_TRAINING, Purpose.FINE_TUNING}),
        "term_start": date(2026, 1, 1), "term_end": date(2026, 12, 31),
        "territory": frozenset({"KR", "JP"}), "model_release": ModelRelease.RESEARCH_RELEASE,
        "price": Price(PriceBasis.PER_GB, Money.of(150_000, "KRW")),
        "attribution": "Daily News, 2025",
    }
    values.update(changes)
    return LicenceOffer(**values)  # type: ignore[arg-type]


def accept(offer: LicenceOffer | None = None, **kw: object) -> Agreement:
    args: dict[str, object] = {"agreement_id": "agr-1", "org_id": "org-lab",
                               "purpose": Purpose.PRE_TRAINING, "at": T0}
    args.update(kw)
    return accept_offer(offer or make_offer(), **args)  # type: ignore[arg-type]


def test_valid_agreement_allows_access_in_territory() -> None:
    agreement = accept()
    decision = check_access([agreement], NEWS, Purpose.PRE_TRAINING, "org-lab",
                            T0 + timedelta(days=3), "JP")
    assert decision.allowed and decision.reason is AccessReason.ALLOWED
    assert decision.agreement == agreement


def test_no_agreement_for_this_org_or_dataset() -> None:
    agreement = accept()
    other_org = check_access([agreement], NEWS, Purpose.PRE_TRAINING, "org-other", T0, "KR")
    assert not other_org.allowed and other_org.reason is AccessReason.NO_AGREEMENT
    other_ds = check_access([agreement], DatasetTerms("web", "prov-daily"),
                            Purpose.PRE_TRAINING, "org-lab", T0, "KR")
    assert other_ds.reason is AccessReason.NO_AGREEMENT
    assert check_access([], NEWS, Purpose.PRE_TRAINING, "org-lab", T0, "KR").reason is (
        AccessReason.NO_AGREEMENT)


def test_expired_and_not_yet_valid() -> None:
    agreement = accept(make_offer(agreement_days=30))
    assert agreement.valid_until == T0 + timedelta(days=30)
    late = check_access([agreement], NEWS, Purpose.PRE_TRAINING, "org-lab",
                        T0 + timedelta(days=30), "KR")
    assert late.reason is AccessReason.EXPIRED and "expired" in late.message
    just_in = check_access([agreement], NEWS, Purpose.PRE_TRAINING, "org-lab",
                           T0 + timedelta(days=30) - timedelta(seconds=1), "KR")
    assert just_in.allowed
    early = check_access([agreement], NEWS, Purpose.PRE_TRAINING, "org-lab",
                         T0 - timedelta(seconds=1), "KR")
    assert early.reason is AccessReason.NOT_YET_VALID


def test_agreement_ends_with_the_offer_term() -> None:
    agreement = accept(make_offer(agreement_days=3650))
    assert agreement.valid_until == datetime(2027, 1, 1, tzinfo=UTC)
    decision = check_access([agreement], NEWS, Purpose.PRE_TRAINING, "org-lab",
                            datetime(2027, 1, 1, tzinfo=UTC), "KR")
    assert decision.reason is AccessReason.EXPIRED


def test_wrong_purpose() -> None:
    agreement = accept(purpose=Purpose.FINE_TUNING)
    decision = check_access([agreement], NEWS, Purpose.PRE_TRAINING, "org-lab", T0, "KR")
    assert decision.reason is AccessReason.WRONG_PURPOSE
    assert "fine-tuning" in decision.message and "pre-training" in decision.message


def test_territory() -> None:
    decision = check_access([accept()], NEWS, Purpose.PRE_TRAINING, "org-lab", T0, "US")
    assert decision.reason is AccessReason.TERRITORY and "US" in decision.message


def test_domestic_dataset_is_not_read_from_a_foreign_pool() -> None:
    agreement = accept()  # territory KR and JP: the offer itself would allow JP
    abroad = check_access([agreement], NEWS_DOMESTIC, Purpose.PRE_TRAINING, "org-lab", T0, "JP")
    assert not abroad.allowed and abroad.reason is AccessReason.DOMESTIC_ONLY
    home = check_access([agreement], NEWS_DOMESTIC, Purpose.PRE_TRAINING, "org-lab", T0, "KR")
    assert home.allowed
    configured = check_access([agreement], NEWS_DOMESTIC, Purpose.PRE_TRAINING, "org-lab", T0,
                              "JP", domestic_countries=frozenset({"KR", "JP"}))
    assert configured.allowed


def test_best_of_several_agreements_decides() -> None:
    expired = accept(make_offer(id="off-old", agreement_days=1), agreement_id="agr-old",
                     at=T0 - timedelta(days=10))
    wrong_purpose = accept(agreement_id="agr-ft", purpose=Purpose.FINE_TUNING)
    decision = check_access([expired, wrong_purpose], NEWS, Purpose.PRE_TRAINING, "org-lab",
                            T0, "KR")
    assert decision.reason is AccessReason.WRONG_PURPOSE
    good = accept(agreement_id="agr-pt")
    decision = check_access([expired, wrong_purpose, good], NEWS, Purpose.PRE_TRAINING,
                            "org-lab", T0, "KR")
    assert decision.allowed and decision.agreement == good


def test_chase_team_waiver_lifts_purpose_for_its_days_only() -> None:
    offer = make_offer(chase_waiver_days=90)
    agreement = accept(offer, purpose=Purpose.FINE_TUNING, chase_team=True)
    assert agreement.waiver_until == T0 + timedelta(days=90)
    during = check_access([agreement], NEWS, Purpose.EVALUATION, "org-lab",
                          T0 + timedelta(days=89), "KR")
    assert during.allowed
    after = check_access([agreement], NEWS, Purpose.EVALUATION, "org-lab",
                         T0 + timedelta(days=90), "KR")
    assert after.reason is AccessReason.WRONG_PURPOSE
    # the waiver never lifts territory or residency
    assert check_access([agreement], NEWS, Purpose.EVALUATION, "org-lab", T0, "US").reason is (
        AccessReason.TERRITORY)
    assert check_access([agreement], NEWS_DOMESTIC, Purpose.EVALUATION, "org-lab", T0,
                        "JP").reason is AccessReason.DOMESTIC_ONLY
    # not a chase-team member, or an offer without a waiver: no waiver
    assert accept(offer, chase_team=False).waiver_until is None
    assert accept(make_offer(), chase_team=True).waiver_until is None


def test_accept_refusals() -> None:
    with pytest.raises(InputError, match="'evaluation' is not offered") as err:
        accept(purpose=Purpose.EVALUATION)
    assert err.value.field == "purpose"
    with pytest.raises(InputError, match="runs from 2026-01-01 to 2026-12-31"):
        accept(at=datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(InputError, match="made to another organisation"):
        accept(make_offer(offered_to="org-x"))
    with pytest.raises(InputError, match="timezone"):
        accept(at=datetime(2026, 3, 1))


def test_exclusive_offer_held_by_one_org_at_a_time() -> None:
    offer = make_offer(exclusive=True, agreement_days=30)
    first = accept(offer)
    with pytest.raises(InputError, match="exclusive offer already held by org-lab"):
        accept(offer, agreement_id="agr-2", org_id="org-b", existing=[first])
    later = accept(offer, agreement_id="agr-2", org_id="org-b", existing=[first],
                   at=T0 + timedelta(days=30))
    assert later.org_id == "org-b"


def test_offer_validation_names_the_field() -> None:
    with pytest.raises(InputError) as err:
        make_offer(territory=frozenset({"Korea"}))
    assert err.value.field == "territory"
    with pytest.raises(InputError) as err:
        make_offer(term_end=date(2025, 1, 1))
    assert err.value.field == "term_end"
    with pytest.raises(InputError, match="KRW"):
        Price(PriceBasis.FLAT, Money.of(10, "USD"))
    with pytest.raises(InputError) as err:
        offer_from_dict({"id": "o", "provider_id": "p", "dataset_id": "d",
                         "purposes": ["training"], "term_start": "2026-01-01",
                         "term_end": "2026-02-01", "price": {"basis": "flat", "amount": 1}})
    assert err.value.field == "purposes"
    with pytest.raises(InputError) as err:
        offer_from_dict({"id": "o", "provider_id": "p", "dataset_id": "d",
                         "purposes": ["retrieval"], "term_start": "2026-01-01",
                         "term_end": "2026-02-01", "price": {"basis": "per-byte", "amount": 1}})
    assert err.value.field == "price.basis"


def test_round_trip_through_plain_data() -> None:
    agreement = accept(make_offer(chase_waiver_days=10, co_creator="org-lab"), chase_team=True)
    data = agreement_to_dict(agreement)
    assert agreement_from_dict(data) == agreement
    assert offer_from_dict(offer_to_dict(agreement.offer)) == agreement.offer
    assert data["offer"]["price"] == {"basis": "per-gb", "amount": "150000", "currency": "KRW"}
    assert offer_from_dict(offer_to_dict(agreement.offer)).price.amount.amount == Decimal(150000)
