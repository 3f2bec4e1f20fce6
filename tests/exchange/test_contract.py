from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from aicenter.domain.units import Money
from aicenter.exchange.contract import ContractType, contract_document, contract_type_of
from aicenter.exchange.licence import (
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
    accept_offer,
)

AT = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
REQUIRED_SECTIONS = {"type", "parties", "object", "purpose", "term", "territory",
                     "model_release", "price", "royalty_basis", "personal_information",
                     "reidentification", "residency", "attribution", "exclusivity",
                     "termination"}


def offer(**changes: object) -> LicenceOffer:
    values: dict[str, object] = {
        "id": "off-9", "provider_id": "prov-daily", "provider_name": "Daily News",
        "dataset_id": "news-2025", "dataset_name": "Daily News archive 2025",
        "purposes": frozenset({Purpose.FINE_TUNING}), "term_start": date(2026, 1, 1),
        "term_end": date(2026, 12, 31), "territory": frozenset({"KR"}),
        "model_release": ModelRelease.COMMERCIAL_RELEASE,
        "price": Price(PriceBasis.PER_MILLION_TOKENS, Money.of(12_000, "KRW")),
        "attribution": "Daily News archive (2025)",
    }
    values.update(changes)
    return LicenceOffer(**values)  # type: ignore[arg-type]


def test_type_is_chosen_from_the_offer() -> None:
    assert contract_type_of(offer()) is ContractType.BROKERED
    assert contract_type_of(offer(offered_to="org-lab")) is ContractType.PROVISION
    assert contract_type_of(offer(co_creator="org-lab")) is ContractType.CREATION


def test_brokered_contract_has_every_required_section_with_the_terms() -> None:
    agreement = accept_offer(offer(), agreement_id="agr-7", org_id="org-lab",
                             purpose=Purpose.FINE_TUNING, at=AT, org_name="KAIST lab")
    doc = contract_document(agreement, dataset_details={"version": "ab12cd34ef567890"},
                            fee_rate=Decimal("0.1"))
    keys = {s.key for s in doc.sections}
    assert keys >= REQUIRED_SECTIONS
    md = doc.to_markdown()
    assert md.startswith("# 데이터 중개거래형 계약서 (Brokered data trade contract)")
    assert "중개사업자" in doc.section("parties").text
    assert "Daily News" in doc.section("parties").text and "KAIST lab" in md
    assert "ab12cd34ef567890" in doc.section("object").text
    assert "fine-tuning" in doc.section("purpose").text
    assert "2027-01-01T00:00:00+00:00" in doc.section("term").text
    assert doc.section("territory").text.endswith("KR.")
    assert "12,000 KRW per million estimated tokens" in doc.section("price").text
    assert "10%" in doc.section("royalty_basis").text
    assert "28-2" in doc.section("personal_information").text
    assert "28-5" in doc.section("reidentification").text
    assert "tagged domestic" in doc.section("residency").text
    assert "Daily News archive (2025)" in doc.section("attribution").text
    assert "Non-exclusive" in doc.section("exclusivity").text
    assert "chase_waiver" not in keys
    # numbered articles in Markdown, Korean headings with English text
    assert "## 제1조 계약 유형 — Type of contract" in md
    assert "재식별 금지 — Ban on re-identification" in md


def test_json_export_round_trips_and_carries_the_agreement() -> None:
    agreement = accept_offer(offer(co_creator="org-lab", chase_waiver_days=30, exclusive=True,
                                   price=Price(PriceBasis.FLAT, Money.of(5_000_000, "KRW"))),
                             agreement_id="agr-8", org_id="org-lab",
                             purpose=Purpose.FINE_TUNING, at=AT, chase_team=True)
    doc = contract_document(agreement, domestic=False)
    data = json.loads(json.dumps(doc.to_dict(), ensure_ascii=False))
    assert data["type"] == "creation" and data["title_ko"] == "데이터 창출형 계약서"
    assert data["agreement"]["id"] == "agr-8"
    keys = [s["key"] for s in data["sections"]]
    assert set(keys) >= REQUIRED_SECTIONS
    assert "created_data" in keys and "chase_waiver" in keys
    assert "flat fee of 5,000,000 KRW" in doc.section("price").text
    assert "tagged domestic" not in doc.section("residency").text
    assert "Exclusive" in doc.section("exclusivity").text
    assert "2026-05-02" in doc.section("chase_waiver").text


def test_provision_contract_names_the_platform_not_a_broker() -> None:
    agreement = accept_offer(offer(offered_to="org-lab"), agreement_id="agr-1",
                             org_id="org-lab", purpose=Purpose.FINE_TUNING, at=AT)
    doc = contract_document(agreement)
    assert doc.to_markdown().startswith("# 데이터 제공형 계약서")
    assert "중개사업자" not in doc.section("parties").text
