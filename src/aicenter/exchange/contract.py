"""An agreement exported as a contract document (Markdown and JSON), following the types of
Korea's standard data contracts.

MSIT published its data standard contracts (데이터 표준계약서) on 2024-10-31 under art. 21 of
the Data Industry Act (데이터 산업진흥 및 이용촉진에 관한 기본법): four types — data provision
(데이터 제공형), data creation (데이터 창출형), processing service (데이터 가공서비스형) and
brokered trade (데이터 중개거래형; the 2020 guideline called it 오픈마켓형). Sources: MSIT press
release reported by etnews.com/20241031000189 and newsis.com NISX20241031_0002941267.

The type is chosen from the offer (a licence on the exchange is never a processing-service
contract: the center's PII handling is its own duty, not a trade):

* ``co_creator`` set — the data was created together with the tenant     → creation (창출형)
* ``offered_to`` set — a bilateral offer made to named organisations      → provision (제공형)
* otherwise — a public offer listed on the exchange, the center brokering  → brokered (중개거래형)

The wording is aicenter's own: Korean headings with English clauses. It is a faithful summary of
what the platform enforces, not legal advice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from aicenter.exchange.licence import (
    Agreement,
    LicenceOffer,
    ModelRelease,
    PriceBasis,
    agreement_to_dict,
)
from aicenter.exchange.pii.registry import HANDLING


class ContractType(StrEnum):
    PROVISION = "provision"
    CREATION = "creation"
    BROKERED = "brokered"

    @property
    def title_ko(self) -> str:
        return {ContractType.PROVISION: "데이터 제공형 계약서",
                ContractType.CREATION: "데이터 창출형 계약서",
                ContractType.BROKERED: "데이터 중개거래형 계약서"}[self]

    @property
    def title_en(self) -> str:
        return {ContractType.PROVISION: "Data provision contract",
                ContractType.CREATION: "Data creation contract",
                ContractType.BROKERED: "Brokered data trade contract"}[self]


def contract_type_of(offer: LicenceOffer) -> ContractType:
    """The standard-contract type of an offer (rule in the module docstring)."""
    if offer.co_creator is not None:
        return ContractType.CREATION
    if offer.private:
        return ContractType.PROVISION
    return ContractType.BROKERED


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    heading_ko: str
    heading_en: str
    text: str


@dataclass(frozen=True, slots=True)
class ContractDocument:
    agreement: Agreement
    type: ContractType
    center_name: str
    sections: tuple[Section, ...]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title_ko": self.type.title_ko,
            "title_en": self.type.title_en,
            "type": self.type.value,
            "center": self.center_name,
            "agreement": agreement_to_dict(self.agreement),
            "sections": [{"key": s.key, "heading_ko": s.heading_ko,
                          "heading_en": s.heading_en, "text": s.text} for s in self.sections],
        }

    def to_markdown(self) -> str:
        a = self.agreement
        lines = [f"# {self.type.title_ko} ({self.type.title_en})", "",
                 f"Agreement `{a.id}` · offer `{a.offer.id}` · accepted "
                 f"{a.accepted_at.isoformat()}", ""]
        for number, s in enumerate(self.sections, start=1):
            lines += [f"## 제{number}조 {s.heading_ko} — {s.heading_en}", "", s.text, ""]
        return "\n".join(lines)


_PURPOSE_TEXT = {
    "pre-training": "pre-training of AI models",
    "fine-tuning": "fine-tuning of AI models",
    "evaluation": "evaluation of AI models (no training on the data)",
    "retrieval": "retrieval-augmented use (the data is searched at inference, not trained on)",
}

_RELEASE_TEXT = {
    ModelRelease.INTERNAL_ONLY: "Models trained on the Data are for the User's internal use "
    "only; their weights and services built on them may not be released or offered to others.",
    ModelRelease.RESEARCH_RELEASE: "Models trained on the Data may be released for "
    "non-commercial research; commercial use needs a new agreement.",
    ModelRelease.COMMERCIAL_RELEASE: "Models trained on the Data may be released and used "
    "commercially, with the attribution below.",
}


def _price_text(agreement: Agreement, fee_rate: Decimal) -> tuple[str, str]:
    offer = agreement.offer
    amount = f"{offer.price.amount.amount:,} KRW"
    percent = f"{(fee_rate * 100).normalize():f}%"
    fee = (f" The Center keeps a fee of {percent} of each charge (rounded half to even to the "
           "won) and pays the rest to the Provider." if fee_rate else "")
    if offer.price.basis is PriceBasis.FLAT:
        price = f"A flat fee of {amount} for the term, charged when the agreement is accepted."
        basis = ("No use-based royalty. If a chase-team waiver applies, the flat fee is reduced "
                 "by the waived share of the agreement's period." + fee)
        return price, basis
    unit = ("per GB (10^9 bytes of UTF-8 record text) read" if offer.price.basis is
            PriceBasis.PER_GB else "per million estimated tokens read")
    price = f"{amount} {unit}."
    basis = ("Use is metered by the Center's reader: records, bytes and estimated tokens read "
             "per dataset per job, written to an append-only meter log before the records are "
             "handed to the job. Each month, per job, the charge is price × metered quantity, "
             "rounded once, half to even, to the won; the monthly royalty statement can be "
             "recomputed from the audit log alone." + fee)
    return price, basis


def contract_document(
    agreement: Agreement,
    *,
    center_name: str = "National AI Computing Center (aicenter)",
    domestic: bool = True,
    dataset_details: Mapping[str, str] | None = None,
    fee_rate: Decimal = Decimal(0),
) -> ContractDocument:
    """The contract of ``agreement``; ``domestic`` is the dataset's residency tag and
    ``dataset_details`` extra facts to list under the object data (version, records, sha256)."""
    offer = agreement.offer
    kind = contract_type_of(offer)
    provider = offer.provider_name or offer.provider_id
    user = agreement.org_name or agreement.org_id
    parties = (f"Data provider (데이터제공자): {provider} (`{offer.provider_id}`). "
               f"Data user (데이터이용자): {user} (`{agreement.org_id}`). ")
    if kind is ContractType.BROKERED:
        parties += (f"Broker and platform operator (중개사업자): {center_name}, which lists the "
                    "offer, holds the Data, meters its use and settles payments.")
    else:
        parties += (f"Platform operator: {center_name}, which holds the Data, meters its use "
                    "and settles payments on behalf of the parties.")
    if kind is ContractType.CREATION:
        parties += (f" Co-creator of the Data: `{offer.co_creator}`.")
    details = "".join(f" {k}: {v}." for k, v in sorted((dataset_details or {}).items()))
    object_data = (f"Dataset `{offer.dataset_id}`"
                   + (f" ({offer.dataset_name})" if offer.dataset_name else "")
                   + f", as stored in the Center.{details} The Data is provided only as records "
                   "read through the Center's reader inside jobs run at the Center; no copy, "
                   "file or download is delivered.")
    purpose = (f"{_PURPOSE_TEXT[agreement.purpose.value]}. Any other use needs a new "
               "agreement.")
    term = (f"From {agreement.accepted_at.isoformat()} until {agreement.valid_until.isoformat()}"
            f" (the offer runs {offer.term_start} to {offer.term_end}). Reads outside this "
            "period are refused by the Center.")
    territory = (f"Jobs reading the Data may run only on pools located in: "
                 f"{', '.join(sorted(offer.territory))}.")
    price, basis = _price_text(agreement, fee_rate)
    kinds = "; ".join(h.label for h in HANDLING.values())
    pii = (f"The Center has scanned the Data for personal information ({kinds}) and dropped, "
           "redacted or pseudonymised it before storage. Pseudonymised information (가명정보) "
           "is processed under art. 28-2 "
           "of the Personal Information Protection Act (PIPA) for statistics, scientific "
           "research and record keeping; the pseudonymisation key is held by the Center and "
           "never given to either party.")
    reidentification = ("The User shall not process the Data, or any model or output derived "
                        "from it, to identify a specific individual (PIPA art. 28-5), nor "
                        "combine it with other information for that purpose. Information that "
                        "identifies an individual, if found, is to be reported to the Center at "
                        "once and not used; a breach terminates this agreement.")
    residency = ("The Data stays in the Center: it is stored only in the Center's store and "
                 "read only inside jobs the Center runs. The User shall not copy, export or "
                 "transfer the Data, or records of it, outside the Center.")
    if domestic:
        residency += (" The Data is tagged domestic: it is read only by jobs placed on pools "
                      "in Korea (KR), whatever the territory above allows.")
    attribution = offer.attribution or "No attribution is required."
    if offer.attribution:
        attribution = (f"Models and publications that use the Data shall credit: "
                       f"\"{offer.attribution}\".")
    exclusivity = ("Exclusive: while this agreement is valid, the Provider grants no other "
                   "organisation an agreement on this offer." if offer.exclusive else
                   "Non-exclusive: the Provider may license the Data to others.")
    sections = [
        Section("type", "계약 유형", "Type of contract",
                f"{kind.title_ko} ({kind.title_en}), after the types of the MSIT data standard "
                "contracts (2024)."),
        Section("parties", "계약 당사자", "Parties", parties),
        Section("object", "대상 데이터", "Object data", object_data),
        Section("purpose", "이용 목적", "Purpose of use", purpose),
        Section("term", "계약 기간", "Term", term),
        Section("territory", "이용 지역", "Territory", territory),
        Section("model_release", "모델 공개 권리", "Model-release rights",
                _RELEASE_TEXT[offer.model_release]),
        Section("price", "대가", "Price", price),
        Section("royalty_basis", "대가 산정 및 정산", "Royalty basis and settlement", basis),
        Section("personal_information", "개인정보 보호 및 가명처리",
                "Personal information and pseudonymisation", pii),
        Section("reidentification", "재식별 금지", "Ban on re-identification", reidentification),
        Section("residency", "데이터 반출 금지 및 국내 보관", "No export; data residency",
                residency),
        Section("attribution", "출처 표시", "Attribution", attribution),
        Section("exclusivity", "독점성", "Exclusivity", exclusivity),
    ]
    if agreement.waiver_until is not None:
        sections.append(Section(
            "chase_waiver", "추격조 이용 제한 면제", "Chase-team waiver",
            f"As a member of the chase team the User may use the Data for any purpose listed "
            f"in the offer and without royalty until {agreement.waiver_until.isoformat()}; "
            "territory, residency and the clauses on personal information still apply."))
    if kind is ContractType.CREATION:
        sections.append(Section(
            "created_data", "창출 데이터의 권리", "Rights in the created data",
            "Both the Provider and the co-creator may use the Data under this agreement; "
            "royalties from others' use are paid to the Provider, who shares them with the "
            "co-creator as they agree between them."))
    sections += [
        Section("termination", "계약 해지", "Termination",
                "Either party may terminate on 30 days' written notice; the Provider may "
                "terminate at once if the User breaches the clauses on purpose, territory, "
                "re-identification or export. On termination the Center stops admitting the "
                "User's jobs on the Data; use metered until then is settled in the next "
                "statement. Models trained before termination keep the release rights above."),
        Section("disputes", "분쟁 해결", "Disputes",
                "The parties first seek agreement through the Center; failing that, through "
                "mediation under the Data Industry Act, then the courts of the Republic of "
                "Korea. This agreement is governed by the laws of the Republic of Korea."),
    ]
    return ContractDocument(agreement, kind, center_name, tuple(sections))
