"""The licence rules of the exchange: accepting an offer and the access decision that admits
(or refuses) a job reading a dataset. The nouns (offer, agreement, purpose, price, terms) and
their plain-data form are domain types in :mod:`aicenter.domain.licence`; they are re-exported
here, so ``aicenter.exchange.licence.Agreement`` still names them.

Pure: no I/O, no clock (every time is passed in, timezone-aware UTC).

An **offer** states what a provider allows for one dataset: purposes, a term, the territory
where processing may happen (countries of the pools jobs run on), model-release rights, a price
(per GB read, per million tokens read, or flat), attribution text, exclusivity, and optionally a
time-limited waiver for chase-team members (the seed article asks that chase-team companies get
three years without data-use restrictions; here the provider opts in per offer).

An **agreement** is an offer accepted by one organisation for one purpose. It is valid on
``[accepted_at, valid_until)`` where ``valid_until = min(offer end, accepted_at + term)``.

Access rule, evaluated by :func:`check_access` in this order (the first failing check is the
reason given; with several agreements, the one that passes the most checks decides):

1. an agreement of this organisation for this dataset exists           (``NO_AGREEMENT``)
2. a dataset tagged domestic is read only from a pool in a domestic country
   (``pool_country ∈ domestic_countries``, default ``{KR}``)             (``DOMESTIC_ONLY``)
3. ``accepted_at ≤ when`` and ``when < valid_until``               (``NOT_YET_VALID``/``EXPIRED``)
4. the job's purpose is the agreement's purpose, or the chase-team waiver is running
                                                                         (``WRONG_PURPOSE``)
5. the pool's country is in the offer's territory                        (``TERRITORY``)

An offer's ``output_policy`` says what happens to the log or an output file of a job that read
the dataset when it reproduces the dataset's records (:mod:`aicenter.exchange.output_check`):
``withhold`` (the default: not released to the tenant; the provider reviews it) or ``redact``
(released with the reproduced spans replaced by a marker). A job reading several datasets gets
the strictest policy of its agreements (:func:`strictest_output_policy`).

The waiver lifts the purpose restriction and the price (royalty-free reads) while it runs; it
never lifts residency or territory, which protect the data rather than the provider's revenue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aicenter.domain.errors import InputError
from aicenter.domain.licence import (
    BYTES_PER_GB,
    DOMESTIC_COUNTRIES,
    TOKENS_PER_MILLION,
    AccessDeniedError,
    Agreement,
    DatasetTerms,
    LicenceOffer,
    ModelRelease,
    OutputPolicy,
    Price,
    PriceBasis,
    Purpose,
    agreement_from_dict,
    agreement_to_dict,
    offer_from_dict,
    offer_to_dict,
    require_aware,
    strictest_output_policy,
)

__all__ = [  # the rules, and the domain nouns they are stated in (re-exported for callers)
    "BYTES_PER_GB",
    "DOMESTIC_COUNTRIES",
    "TOKENS_PER_MILLION",
    "AccessDecision",
    "AccessDeniedError",
    "AccessReason",
    "Agreement",
    "DatasetTerms",
    "LicenceOffer",
    "ModelRelease",
    "OutputPolicy",
    "Price",
    "PriceBasis",
    "Purpose",
    "accept_offer",
    "agreement_from_dict",
    "agreement_to_dict",
    "check_access",
    "offer_from_dict",
    "offer_to_dict",
    "strictest_output_policy",
]


class AccessReason(StrEnum):
    ALLOWED = "allowed"
    NO_AGREEMENT = "no-agreement"
    DOMESTIC_ONLY = "domestic-only"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    WRONG_PURPOSE = "wrong-purpose"
    TERRITORY = "territory"


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """Yes or no, the reason, a sentence for the user, and the agreement that decided."""

    allowed: bool
    reason: AccessReason
    message: str
    agreement: Agreement | None = None


def accept_offer(
    offer: LicenceOffer,
    *,
    agreement_id: str,
    org_id: str,
    purpose: Purpose,
    at: datetime,
    chase_team: bool = False,
    existing: Iterable[Agreement] = (),
    org_name: str = "",
) -> Agreement:
    """Accept ``offer`` for ``org_id`` at ``at``; raises :class:`InputError` if it cannot be.

    Refused: a purpose the offer does not list, acceptance outside the term, an offer made to
    another organisation, or an exclusive offer already held (valid at ``at``) by another
    organisation. ``valid_until = min(offer end, at + agreement_days)``; the waiver (chase-team
    members, ``chase_waiver_days > 0``) runs until ``min(valid_until, at + waiver days)``.
    """
    require_aware(at, "accepted_at")
    if purpose not in offer.purposes:
        allowed = ", ".join(sorted(p.value for p in offer.purposes))
        raise InputError(f"'{purpose.value}' is not offered (offered: {allowed})",
                         field="purpose")
    if not offer.starts_at <= at < offer.ends_at:
        raise InputError(f"the offer runs from {offer.term_start} to {offer.term_end}",
                         field="accepted_at")
    if offer.offered_to is not None and offer.offered_to != org_id:
        raise InputError("this offer is made to another organisation", field="org")
    if offer.exclusive:
        for other in existing:
            if other.offer.id == offer.id and other.org_id != org_id and other.valid_at(at):
                raise InputError(f"exclusive offer already held by {other.org_id}",
                                 field="offer")
    valid_until = offer.ends_at
    if offer.agreement_days is not None:
        valid_until = min(valid_until, at + timedelta(days=offer.agreement_days))
    waiver_until = None
    if chase_team and offer.chase_waiver_days > 0:
        waiver_until = min(valid_until, at + timedelta(days=offer.chase_waiver_days))
    return Agreement(agreement_id, offer, org_id, purpose, at, valid_until, waiver_until,
                     org_name)


def check_access(
    agreements: Iterable[Agreement],
    dataset: DatasetTerms,
    purpose: Purpose,
    org_id: str,
    when: datetime,
    pool_country: str,
    domestic_countries: frozenset[str] = DOMESTIC_COUNTRIES,
) -> AccessDecision:
    """May a job of ``org_id`` with ``purpose`` on a pool in ``pool_country`` read ``dataset``
    at ``when``? The rule and the order of its checks are in the module docstring."""
    require_aware(when, "when")
    candidates = [a for a in agreements
                  if a.org_id == org_id and a.dataset_id == dataset.id]
    if not candidates:
        return AccessDecision(False, AccessReason.NO_AGREEMENT,
                              f"organisation {org_id} has no agreement for dataset {dataset.id}")
    if dataset.domestic and pool_country not in domestic_countries:
        return AccessDecision(
            False, AccessReason.DOMESTIC_ONLY,
            f"dataset {dataset.id} is tagged domestic: it is read only on pools in "
            f"{', '.join(sorted(domestic_countries))}, not {pool_country}")
    best: AccessDecision | None = None
    best_rank = -1
    for agreement in sorted(candidates, key=lambda a: a.id):
        decision, rank = _check_one(agreement, purpose, when, pool_country)
        if decision.allowed:
            return decision
        if rank > best_rank:
            best, best_rank = decision, rank
    assert best is not None
    return best


def _check_one(agreement: Agreement, purpose: Purpose, when: datetime, pool_country: str
               ) -> tuple[AccessDecision, int]:
    """The decision for one agreement and how many checks it passed (to pick the best)."""
    if when < agreement.accepted_at:
        return AccessDecision(False, AccessReason.NOT_YET_VALID,
                              f"agreement {agreement.id} starts at "
                              f"{agreement.accepted_at.isoformat()}", agreement), 0
    if when >= agreement.valid_until:
        return AccessDecision(False, AccessReason.EXPIRED,
                              f"agreement {agreement.id} expired at "
                              f"{agreement.valid_until.isoformat()}", agreement), 0
    if purpose != agreement.purpose and not agreement.waived_at(when):
        return AccessDecision(False, AccessReason.WRONG_PURPOSE,
                              f"agreement {agreement.id} allows {agreement.purpose.value}, "
                              f"not {purpose.value}", agreement), 1
    if pool_country not in agreement.offer.territory:
        return AccessDecision(False, AccessReason.TERRITORY,
                              f"agreement {agreement.id} allows processing in "
                              f"{', '.join(sorted(agreement.offer.territory))}, "
                              f"not {pool_country}", agreement), 2
    return AccessDecision(True, AccessReason.ALLOWED,
                          f"agreement {agreement.id} allows {purpose.value} in {pool_country}",
                          agreement), 3

