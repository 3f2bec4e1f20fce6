"""Allocation calls of the national programme, their price rules, applications and reviews.

Price rule (programs.md, Dec 2025 AIinfrahub call): universities and research institutes use
the compute free; SMEs pay 5–10 % of the market price; youth-founded firms get a further 50 %
off; the chase team has scheduling priority. A tenant pays

    payable = usage_h100e_h × market_price_per_h100e_h × payable_fraction(class)

and the rest of the market value is the subsidy.

Review score of an application with reviews r_1..r_n (each criterion scored 0..10):

    base    = mean_i (impact_i + readiness_i + ecosystem_i) / 3
    bonus   = regional_bonus                       if the organisation is outside the capital
    penalty = concentration_penalty × (s − t) / (1 − t)   if its share s of the call's granted
                                                    h100e-hours exceeds the threshold t
    score   = base + bonus − penalty
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from aicenter.domain.errors import InputError
from aicenter.domain.org import OrgClass
from aicenter.domain.units import Currency, Money

CAPITAL_REGION = "capital"

DEFAULT_PAYABLE_FRACTION: dict[OrgClass, Decimal] = {
    OrgClass.UNIVERSITY: Decimal("0"),
    OrgClass.RESEARCH_INSTITUTE: Decimal("0"),
    OrgClass.PUBLIC_AGENCY: Decimal("0"),
    OrgClass.SME: Decimal("0.10"),
    OrgClass.STARTUP: Decimal("0.10"),
    OrgClass.YOUTH_STARTUP: Decimal("0.05"),
    OrgClass.ENTERPRISE: Decimal("1"),
    OrgClass.OPERATOR: Decimal("0"),
}
"""Share of the market price each class pays: SMEs and startups at the top of the 5–10 % band,
youth startups a further 50 % off; enterprises pay the market price."""


class CallStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    GRANTED = "granted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class PriceRule:
    """Market price of one H100-equivalent hour and the fraction each class pays."""

    market_price_per_h100e_h: Money
    payable_fraction: Mapping[OrgClass, Decimal]

    def fraction(self, org_class: OrgClass) -> Decimal:
        return self.payable_fraction.get(org_class, Decimal(1))

    def charge(self, usage_h100e_h: Decimal, org_class: OrgClass) -> tuple[Money, Money]:
        """(payable, subsidy) for some usage, both in the market price's currency."""
        market = self.market_price_per_h100e_h * usage_h100e_h
        payable = market * self.fraction(org_class)
        return payable, market - payable

    @staticmethod
    def default(price_krw_per_h100e_h: Decimal = Decimal("3195")) -> PriceRule:
        """Default rule: market price of 2.25 USD/h (catalog H100 price) at 1,420 KRW/USD."""
        return PriceRule(
            Money(price_krw_per_h100e_h, Currency.KRW), dict(DEFAULT_PAYABLE_FRACTION)
        )


@dataclass(frozen=True, slots=True)
class Call:
    """An allocation call: who may apply, caps per project, the price rule and optionally
    the total h100e-hours it may award."""

    id: str
    name: str
    eligible_classes: frozenset[OrgClass]
    max_chips_per_project: Mapping[str, int]
    max_months: int
    price_rule: PriceRule
    chase_team_priority: bool
    regional_bonus: float
    concentration_threshold: float
    concentration_penalty: float
    status: CallStatus
    opened_at: datetime
    closes_at: datetime | None
    budget_h100e_h: Decimal | None = None
    """The most h100e-hours the call awards in all (None: no total, only the pools' limit)."""


@dataclass(frozen=True, slots=True)
class Application:
    """An organisation's request under a call, with the planner's estimate attached."""

    id: str
    call_id: str
    org_id: str
    title: str
    chips: Mapping[str, int]
    months: int
    requested_h100e_h: Decimal
    plan: Mapping[str, object] = field(default_factory=dict)
    status: ApplicationStatus = ApplicationStatus.SUBMITTED
    created_at: datetime | None = None
    decision_reason: str | None = None
    """Why it was rejected (None while submitted or once granted)."""


@dataclass(frozen=True, slots=True)
class Review:
    application_id: str
    reviewer_id: str
    impact: float
    readiness: float
    ecosystem: float
    created_at: datetime


CRITERIA = ("impact", "readiness", "ecosystem")


def check_scores(impact: float, readiness: float, ecosystem: float) -> None:
    """Each criterion is scored from 0 to 10."""
    for name, value in zip(CRITERIA, (impact, readiness, ecosystem), strict=True):
        if not 0 <= value <= 10:
            raise InputError(f"{value} is not between 0 and 10", field=name)


def check_application(call: Call, org_class: OrgClass, app: Application) -> None:
    """Eligibility and caps: class eligible, chips within the per-project caps, months cap."""
    if call.status is not CallStatus.OPEN:
        raise InputError(f"call {call.id} is closed", field="call_id")
    if org_class not in call.eligible_classes:
        allowed = ", ".join(sorted(c.value for c in call.eligible_classes))
        raise InputError(f"class {org_class.value} may not apply (eligible: {allowed})",
                         field="org_class")
    if not 1 <= app.months <= call.max_months:
        raise InputError(f"{app.months} months is outside 1..{call.max_months}", field="months")
    if not app.chips:
        raise InputError("ask for at least one chip type", field="chips")
    for chip, count in app.chips.items():
        cap = call.max_chips_per_project.get(chip)
        if cap is None:
            offered = ", ".join(sorted(call.max_chips_per_project))
            raise InputError(f"{chip} is not offered by this call (offered: {offered})",
                             field=f"chips.{chip}")
        if not 1 <= count <= cap:
            raise InputError(f"{count} is outside 1..{cap}", field=f"chips.{chip}")
    if app.requested_h100e_h <= 0:
        raise InputError("must be positive", field="requested_h100e_h")


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """The terms of an application's score (module docstring), so a reviewer sees why it
    ranks where it does: ``score = base + bonus - penalty``."""

    base: float
    bonus: float
    penalty: float

    @property
    def score(self) -> float:
        return self.base + self.bonus - self.penalty


def score_parts(call: Call, reviews: Sequence[Review], region: str,
                org_share_of_call: float) -> ScoreParts:
    """The base, regional bonus and concentration penalty of an application; 0 reviews give
    all zeros (an unreviewed application scores 0)."""
    if not reviews:
        return ScoreParts(0.0, 0.0, 0.0)
    base = sum((r.impact + r.readiness + r.ecosystem) / 3 for r in reviews) / len(reviews)
    bonus = call.regional_bonus if region != CAPITAL_REGION else 0.0
    penalty = 0.0
    t = call.concentration_threshold
    if org_share_of_call > t and t < 1:
        penalty = call.concentration_penalty * (org_share_of_call - t) / (1 - t)
    return ScoreParts(base, bonus, penalty)


def application_score(
    call: Call,
    reviews: Sequence[Review],
    region: str,
    org_share_of_call: float,
) -> float:
    """Score of an application (formula in the module docstring); 0 reviews score 0."""
    return score_parts(call, reviews, region, org_share_of_call).score
