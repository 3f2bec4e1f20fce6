"""The licence nouns of the exchange: purposes, prices, offers, agreements and the terms of a
dataset that the access rule reads. Pure values with their own validation; the access rule and
acceptance live in :mod:`aicenter.exchange.licence`.

An **offer** states what a provider allows for one dataset: purposes, a term, the territory
where processing may happen (countries of the pools jobs run on), model-release rights, a price
(per GB read, per million tokens read, or flat), attribution text, exclusivity, and optionally a
time-limited waiver for chase-team members. An **agreement** is an offer accepted by one
organisation for one purpose, valid on ``[accepted_at, valid_until)`` unless terminated
earlier. An offer may be private (``offered_to``: the organisations it is made to), withdrawn
(no new agreements; existing ones run to term), and carry announced price changes (each with
the date from which it applies to agreements accepted or renewed). ``*_to_dict`` and
``*_from_dict`` are their plain-data form (API bodies, YAML files, the meter log, the
database); parsing errors name the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from aicenter.domain.errors import AicenterError, InputError
from aicenter.domain.units import Currency, Money

DOMESTIC_COUNTRIES: frozenset[str] = frozenset({"KR"})
"""Countries whose pools count as domestic for datasets tagged domestic (ISO 3166 alpha-2)."""

BYTES_PER_GB = Decimal(10**9)
TOKENS_PER_MILLION = Decimal(10**6)


class AccessDeniedError(AicenterError):
    """A job asked to read data it has no valid agreement or grant for."""


class LicenceStateError(AicenterError):
    """The offer or agreement is in a state that refuses the request (withdrawn, terminated,
    expired, already renewed): a conflict with its state, not bad input (HTTP 409)."""


class Termination(StrEnum):
    """How an agreement ended early: by the provider for cause, or by both parties."""

    CAUSE = "cause"
    MUTUAL = "mutual"


class Purpose(StrEnum):
    """What a tenant may use the data for."""

    PRE_TRAINING = "pre-training"
    FINE_TUNING = "fine-tuning"
    EVALUATION = "evaluation"
    RETRIEVAL = "retrieval"


class PriceBasis(StrEnum):
    """How use is priced: by UTF-8 bytes read (GB = 10⁹ bytes), by estimated tokens read
    (per 10⁶ tokens), or a flat fee per agreement."""

    PER_GB = "per-gb"
    PER_MILLION_TOKENS = "per-million-tokens"
    FLAT = "flat"


class ModelRelease(StrEnum):
    """What the tenant may do with a model trained on the data."""

    INTERNAL_ONLY = "internal-only"
    RESEARCH_RELEASE = "research-release"
    COMMERCIAL_RELEASE = "commercial-release"


class OutputPolicy(StrEnum):
    """What happens to a job's output that reproduces licensed records; ``withhold`` is the
    stricter (nothing of it is released until the provider has reviewed it)."""

    WITHHOLD = "withhold"
    REDACT = "redact"


def strictest_output_policy(policies: Iterable[OutputPolicy]) -> OutputPolicy:
    """``withhold`` if any agreement asks for it, else ``redact`` (``withhold`` for none)."""
    chosen = set(policies)
    return OutputPolicy.REDACT if chosen == {OutputPolicy.REDACT} else OutputPolicy.WITHHOLD


@dataclass(frozen=True, slots=True)
class Price:
    """A price on one basis, in KRW (the exchange settles in won)."""

    basis: PriceBasis
    amount: Money

    def __post_init__(self) -> None:
        if self.amount.currency is not Currency.KRW:
            raise InputError("prices are in KRW", field="price.currency")
        if self.amount.amount < 0:
            raise InputError("must not be negative", field="price.amount")


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A new price the provider announced at ``announced_at``; it applies to agreements
    accepted or renewed from ``effective_from`` (a UTC calendar date) on."""

    price: Price
    effective_from: date
    announced_at: datetime

    @property
    def effective_at(self) -> datetime:
        return datetime.combine(self.effective_from, time(), UTC)


@dataclass(frozen=True, slots=True)
class LicenceOffer:
    """What a provider allows for one dataset. Term dates are inclusive calendar dates (UTC)."""

    id: str
    provider_id: str
    dataset_id: str
    purposes: frozenset[Purpose]
    term_start: date
    term_end: date
    territory: frozenset[str]
    model_release: ModelRelease
    price: Price
    attribution: str = ""
    exclusive: bool = False
    chase_waiver_days: int = 0
    agreement_days: int | None = None
    offered_to: frozenset[str] = frozenset()
    co_creator: str | None = None
    provider_name: str = ""
    dataset_name: str = ""
    output_policy: OutputPolicy = OutputPolicy.WITHHOLD
    withdrawn_at: datetime | None = None
    price_changes: tuple[PriceChange, ...] = ()

    def __post_init__(self) -> None:
        if not self.purposes:
            raise InputError("name at least one purpose", field="purposes")
        if self.term_end < self.term_start:
            raise InputError("ends before it starts", field="term_end")
        if not self.territory:
            raise InputError("name at least one country", field="territory")
        for country in self.territory:
            if len(country) != 2 or not country.isalpha() or not country.isupper():
                raise InputError(f"'{country}' is not an ISO 3166 alpha-2 code like KR",
                                 field="territory")
        if self.chase_waiver_days < 0:
            raise InputError("must not be negative", field="chase_waiver_days")
        if self.agreement_days is not None and self.agreement_days < 1:
            raise InputError("must be at least 1", field="agreement_days")

    @property
    def ends_at(self) -> datetime:
        """The first instant after the term (midnight UTC after ``term_end``)."""
        return datetime.combine(self.term_end + timedelta(days=1), time(), UTC)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.term_start, time(), UTC)

    @property
    def private(self) -> bool:
        """Made to named organisations only (``offered_to``), not to everyone."""
        return bool(self.offered_to)

    def open_to(self, org_id: str | None) -> bool:
        """May ``org_id`` see and accept this offer: public, or made to it, or its own."""
        return (not self.offered_to or org_id == self.provider_id or
                (org_id is not None and org_id in self.offered_to))

    def price_at(self, when: datetime) -> Price:
        """The price of an agreement accepted or renewed at ``when``: the latest announced
        change in effect by then, else the offer's original price."""
        current = self.price
        for change in sorted(self.price_changes, key=lambda c: c.effective_from):
            if change.effective_at <= when:
                current = change.price
        return current

    def pending_changes(self, when: datetime) -> tuple[PriceChange, ...]:
        """Announced changes not yet in effect at ``when``, earliest first."""
        return tuple(sorted((c for c in self.price_changes if c.effective_at > when),
                            key=lambda c: c.effective_from))


@dataclass(frozen=True, slots=True)
class Agreement:
    """An offer accepted by one organisation for one purpose."""

    id: str
    offer: LicenceOffer
    org_id: str
    purpose: Purpose
    accepted_at: datetime
    valid_until: datetime
    waiver_until: datetime | None = None
    org_name: str = ""
    terminated_at: datetime | None = None
    termination: Termination | None = None
    termination_reason: str = ""
    end_requested_by: frozenset[str] = frozenset()
    renewed_from: str | None = None
    renewed_by: str | None = None

    @property
    def dataset_id(self) -> str:
        return self.offer.dataset_id

    @property
    def provider_id(self) -> str:
        return self.offer.provider_id

    @property
    def ends_at(self) -> datetime:
        """When reads under it stop: its term's end, or its termination if earlier."""
        if self.terminated_at is None:
            return self.valid_until
        return min(self.valid_until, self.terminated_at)

    def valid_at(self, when: datetime) -> bool:
        return self.accepted_at <= when < self.ends_at

    def terminated_by(self, when: datetime) -> bool:
        return self.terminated_at is not None and self.terminated_at <= when

    def waived_at(self, when: datetime) -> bool:
        """The chase-team waiver runs at ``when`` (reads are royalty-free, any purpose)."""
        return self.waiver_until is not None and self.accepted_at <= when < self.waiver_until


@dataclass(frozen=True, slots=True)
class DatasetTerms:
    """What the access rule needs to know of a dataset: who provides it and its residency."""

    id: str
    provider_id: str
    domestic: bool = False


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive time: every time in the exchange is timezone-aware UTC."""
    if value.tzinfo is None:
        raise InputError("must carry a timezone (UTC)", field=name)


# --- plain-data form (JSON-able dicts) for the audit log, the API and contract export --------

def offer_to_dict(offer: LicenceOffer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "provider_id": offer.provider_id,
        "provider_name": offer.provider_name,
        "dataset_id": offer.dataset_id,
        "dataset_name": offer.dataset_name,
        "purposes": sorted(p.value for p in offer.purposes),
        "term_start": offer.term_start.isoformat(),
        "term_end": offer.term_end.isoformat(),
        "territory": sorted(offer.territory),
        "model_release": offer.model_release.value,
        "price": _price_dict(offer.price),
        "attribution": offer.attribution,
        "exclusive": offer.exclusive,
        "chase_waiver_days": offer.chase_waiver_days,
        "agreement_days": offer.agreement_days,
        "offered_to": sorted(offer.offered_to) or None,
        "co_creator": offer.co_creator,
        "output_policy": offer.output_policy.value,
        "withdrawn_at": offer.withdrawn_at.isoformat() if offer.withdrawn_at else None,
        "price_changes": [{"price": _price_dict(c.price),
                           "effective_from": c.effective_from.isoformat(),
                           "announced_at": c.announced_at.isoformat()}
                          for c in offer.price_changes],
    }


def _price_dict(price: Price) -> dict[str, str]:
    return {"basis": price.basis.value, "amount": str(price.amount.amount),
            "currency": price.amount.currency.value}


def _field(data: Mapping[str, Any], name: str, prefix: str) -> Any:
    if name not in data or data[name] is None:
        raise InputError("is required", field=f"{prefix}{name}")
    return data[name]


def _enum_set(values: Any, kind: type[Purpose], field_name: str) -> frozenset[Purpose]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise InputError("must be a list", field=field_name)
    try:
        return frozenset(kind(str(v)) for v in values)
    except ValueError:
        allowed = ", ".join(p.value for p in kind)
        raise InputError(f"{values} has a value not in: {allowed}", field=field_name) from None


def _date(value: Any, field_name: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"'{value}' is not a date like 2026-01-31", field=field_name) from None


def _datetime(value: Any, field_name: str) -> datetime:
    try:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"'{value}' is not an ISO date-time", field=field_name) from None
    require_aware(parsed, field_name)
    return parsed


def _org_ids(value: Any, field_name: str) -> frozenset[str]:
    """``offered_to``: none (public), one organisation id, or a list of them."""
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError("must be a list of organisation ids", field=field_name)
    return frozenset(value)


def price_from_dict(price: Any, prefix: str = "") -> Price:
    """A price from ``{basis, amount[, currency]}``; errors name the field under ``prefix``."""
    if not isinstance(price, Mapping):
        raise InputError("give {basis, amount}", field=f"{prefix}price")
    try:
        basis = PriceBasis(str(_field(price, "basis", f"{prefix}price.")))
    except ValueError:
        allowed = ", ".join(b.value for b in PriceBasis)
        raise InputError(f"'{price.get('basis')}' is not one of {allowed}",
                         field=f"{prefix}price.basis") from None
    try:
        amount = Decimal(str(_field(price, "amount", f"{prefix}price.")))
    except InvalidOperation:
        raise InputError(f"'{price.get('amount')}' is not a number",
                         field=f"{prefix}price.amount") from None
    try:
        currency = Currency(str(price.get("currency", "KRW")))
    except ValueError:
        raise InputError(f"'{price.get('currency')}' is not a currency",
                         field=f"{prefix}price.currency") from None
    return Price(basis, Money(amount, currency))


def _price_changes(value: Any, prefix: str) -> tuple[PriceChange, ...]:
    if not value:
        return ()
    if not isinstance(value, list):
        raise InputError("must be a list", field=f"{prefix}price_changes")
    changes = []
    for n, item in enumerate(value):
        where = f"{prefix}price_changes[{n}]."
        if not isinstance(item, Mapping):
            raise InputError("give {price, effective_from, announced_at}", field=where[:-1])
        changes.append(PriceChange(
            price_from_dict(_field(item, "price", where), where),
            _date(_field(item, "effective_from", where), f"{where}effective_from"),
            _datetime(_field(item, "announced_at", where), f"{where}announced_at")))
    return tuple(changes)


def offer_from_dict(data: Mapping[str, Any], prefix: str = "") -> LicenceOffer:
    """Build an offer from plain data (a YAML/JSON file or an API body); errors name the field."""
    price = price_from_dict(_field(data, "price", prefix), prefix)
    try:
        release = ModelRelease(str(data.get("model_release", "internal-only")))
    except ValueError:
        allowed = ", ".join(m.value for m in ModelRelease)
        raise InputError(f"'{data.get('model_release')}' is not one of {allowed}",
                         field=f"{prefix}model_release") from None
    try:
        output_policy = OutputPolicy(str(data.get("output_policy") or "withhold"))
    except ValueError:
        allowed = ", ".join(p.value for p in OutputPolicy)
        raise InputError(f"'{data.get('output_policy')}' is not one of {allowed}",
                         field=f"{prefix}output_policy") from None
    territory = data.get("territory", ["KR"])
    if isinstance(territory, str):
        territory = [territory]
    if not isinstance(territory, list):
        raise InputError("must be a list of country codes", field=f"{prefix}territory")
    try:
        return LicenceOffer(
            id=str(_field(data, "id", prefix)),
            provider_id=str(_field(data, "provider_id", prefix)),
            dataset_id=str(_field(data, "dataset_id", prefix)),
            purposes=_enum_set(_field(data, "purposes", prefix), Purpose, f"{prefix}purposes"),
            term_start=_date(_field(data, "term_start", prefix), f"{prefix}term_start"),
            term_end=_date(_field(data, "term_end", prefix), f"{prefix}term_end"),
            territory=frozenset(str(c) for c in territory),
            model_release=release,
            price=price,
            attribution=str(data.get("attribution") or ""),
            exclusive=bool(data.get("exclusive", False)),
            chase_waiver_days=int(data.get("chase_waiver_days") or 0),
            agreement_days=(int(data["agreement_days"]) if data.get("agreement_days") is not None
                            else None),
            offered_to=_org_ids(data.get("offered_to"), f"{prefix}offered_to"),
            co_creator=data.get("co_creator"),
            provider_name=str(data.get("provider_name") or ""),
            dataset_name=str(data.get("dataset_name") or ""),
            output_policy=output_policy,
            withdrawn_at=(_datetime(data["withdrawn_at"], f"{prefix}withdrawn_at")
                          if data.get("withdrawn_at") else None),
            price_changes=_price_changes(data.get("price_changes"), prefix),
        )
    except InputError as exc:
        if exc.field and prefix and not exc.field.startswith(prefix):
            raise exc.located(field_prefix=prefix.rstrip(".")) from None
        raise
    except ValueError as exc:
        raise InputError(str(exc), field=prefix.rstrip(".") or None) from None


def agreement_to_dict(agreement: Agreement) -> dict[str, Any]:
    return {
        "id": agreement.id,
        "offer": offer_to_dict(agreement.offer),
        "org_id": agreement.org_id,
        "org_name": agreement.org_name,
        "purpose": agreement.purpose.value,
        "accepted_at": agreement.accepted_at.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
        "waiver_until": agreement.waiver_until.isoformat() if agreement.waiver_until else None,
        "terminated_at": (agreement.terminated_at.isoformat() if agreement.terminated_at
                          else None),
        "termination": agreement.termination.value if agreement.termination else None,
        "termination_reason": agreement.termination_reason,
        "end_requested_by": sorted(agreement.end_requested_by),
        "renewed_from": agreement.renewed_from,
        "renewed_by": agreement.renewed_by,
    }


def agreement_from_dict(data: Mapping[str, Any]) -> Agreement:
    offer_data = _field(data, "offer", "")
    if not isinstance(offer_data, Mapping):
        raise InputError("must be an offer object", field="offer")
    try:
        purpose = Purpose(str(_field(data, "purpose", "")))
    except ValueError:
        raise InputError(f"'{data.get('purpose')}' is not a purpose", field="purpose") from None
    waiver = data.get("waiver_until")
    terminated = data.get("terminated_at")
    try:
        termination = Termination(data["termination"]) if data.get("termination") else None
    except ValueError:
        raise InputError(f"'{data.get('termination')}' is not cause or mutual",
                         field="termination") from None
    return Agreement(
        id=str(_field(data, "id", "")),
        offer=offer_from_dict(offer_data, "offer."),
        org_id=str(_field(data, "org_id", "")),
        purpose=purpose,
        accepted_at=_datetime(_field(data, "accepted_at", ""), "accepted_at"),
        valid_until=_datetime(_field(data, "valid_until", ""), "valid_until"),
        waiver_until=_datetime(waiver, "waiver_until") if waiver else None,
        org_name=str(data.get("org_name") or ""),
        terminated_at=_datetime(terminated, "terminated_at") if terminated else None,
        termination=termination,
        termination_reason=str(data.get("termination_reason") or ""),
        end_requested_by=_org_ids(data.get("end_requested_by"), "end_requested_by"),
        renewed_from=data.get("renewed_from") or None,
        renewed_by=data.get("renewed_by") or None,
    )
