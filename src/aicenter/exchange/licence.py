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
``[accepted_at, ends_at)`` where ``valid_until = min(offer end, accepted_at + term)`` and
``ends_at = min(valid_until, terminated_at)``.

Life of an offer and its agreements (:func:`withdraw_offer`, :func:`announce_price`,
:func:`terminate_agreement`, :func:`renew_agreement`):

* a **withdrawn** offer takes no new agreement and no renewal; agreements already made run to
  the end of their term;
* a **private** offer (``offered_to``) is seen and accepted only by the organisations named
  (and its provider): to everyone else it does not exist;
* a **price change** is announced with at least ``notice_days`` of notice: it applies to
  agreements accepted or renewed on or after its ``effective_from`` date; an agreement keeps
  the price it was made at until it is renewed;
* an agreement is **terminated** by the provider for cause (with a reason), or by mutual end
  (it ends when both parties have asked); reads are refused from then and, since nothing more
  is read, metered royalties stop (a flat fee already charged is not refunded);
* an agreement is **renewed** by its licensee: a new agreement for the same purpose under the
  offer's current terms and price, starting now; a terminated agreement, one of a withdrawn
  offer, or one already renewed is not renewed (:class:`LicenceStateError`).

Access rule, evaluated by :func:`check_access` in this order (the first failing check is the
reason given; with several agreements, the one that passes the most checks decides). Checks
2-5 are Cedar policies (``data:read`` in :mod:`aicenter.policy`, ids in brackets), so the
operator reads and changes them; a refusal by another policy is ``POLICY``:

1. an agreement of this organisation for this dataset exists           (``NO_AGREEMENT``)
2. a dataset tagged domestic is read only from a pool in a domestic country
   (``pool_country ∈ domestic_countries``, default ``{KR}``)             (``DOMESTIC_ONLY``)
   [domestic-data-stays-home]
3. ``accepted_at ≤ when``, not terminated by ``when``, ``when < valid_until``
                                             (``NOT_YET_VALID``/``TERMINATED``/``EXPIRED``)
   [agreement-not-yet-valid, agreement-expired; termination is the agreement's own state]
4. the job's purpose is the agreement's purpose, or the chase-team waiver is running
                                                      (``WRONG_PURPOSE``) [purpose-of-agreement]
5. the pool's country is in the offer's territory          (``TERRITORY``) [territory-of-offer]

An offer's ``output_policy`` says what happens to the log or an output file of a job that read
the dataset when it reproduces the dataset's records (:mod:`aicenter.exchange.output_check`):
``withhold`` (the default: not released to the tenant; the provider reviews it) or ``redact``
(released with the reproduced spans replaced by a marker). A job reading several datasets gets
the strictest policy of its agreements (:func:`strictest_output_policy`).

The waiver lifts the purpose restriction and the price (royalty-free reads) while it runs; it
never lifts residency or territory, which protect the data rather than the provider's revenue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from aicenter.domain.errors import InputError
from aicenter.domain.licence import (
    BYTES_PER_GB,
    DOMESTIC_COUNTRIES,
    TOKENS_PER_MILLION,
    AccessDeniedError,
    Agreement,
    DatasetTerms,
    LicenceOffer,
    LicenceStateError,
    ModelRelease,
    OutputPolicy,
    Price,
    PriceBasis,
    PriceChange,
    Purpose,
    Termination,
    agreement_from_dict,
    agreement_to_dict,
    offer_from_dict,
    offer_to_dict,
    require_aware,
    strictest_output_policy,
)
from aicenter.policy.authorizer import Authorizer
from aicenter.policy.data import data_read

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
    "LicenceStateError",
    "ModelRelease",
    "OutputPolicy",
    "Price",
    "PriceBasis",
    "PriceChange",
    "Purpose",
    "Termination",
    "accept_offer",
    "agreement_from_dict",
    "agreement_to_dict",
    "announce_price",
    "check_access",
    "offer_from_dict",
    "offer_to_dict",
    "renew_agreement",
    "strictest_output_policy",
    "terminate_agreement",
    "withdraw_offer",
]


class AccessReason(StrEnum):
    ALLOWED = "allowed"
    NO_AGREEMENT = "no-agreement"
    DOMESTIC_ONLY = "domestic-only"
    NOT_YET_VALID = "not-yet-valid"
    TERMINATED = "terminated"
    EXPIRED = "expired"
    WRONG_PURPOSE = "wrong-purpose"
    TERRITORY = "territory"
    POLICY = "policy"


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """Yes or no, the reason, a sentence for the user, and the agreement that decided."""

    allowed: bool
    reason: AccessReason
    message: str
    agreement: Agreement | None = None
    policy_id: str | None = None
    """The ``@id`` of the policies that decided (comma-joined); None without an agreement."""


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

    Refused: a withdrawn offer (:class:`LicenceStateError`), a purpose the offer does not
    list, acceptance outside the term, a private offer not made to ``org_id``, or an
    exclusive offer already held (valid at ``at``) by another organisation.
    ``valid_until = min(offer end, at + agreement_days)``; the waiver (chase-team members,
    ``chase_waiver_days > 0``) runs until ``min(valid_until, at + waiver days)``. The agreement
    keeps the offer's price in effect at ``at`` (:meth:`LicenceOffer.price_at`) and the
    changes still pending, which apply only when it is renewed.
    """
    require_aware(at, "accepted_at")
    if offer.withdrawn_at is not None and offer.withdrawn_at <= at:
        raise LicenceStateError(f"offer {offer.id} was withdrawn at "
                                f"{offer.withdrawn_at.isoformat()}: it takes no new agreement")
    if purpose not in offer.purposes:
        allowed = ", ".join(sorted(p.value for p in offer.purposes))
        raise InputError(f"'{purpose.value}' is not offered (offered: {allowed})",
                         field="purpose")
    if not offer.starts_at <= at < offer.ends_at:
        raise InputError(f"the offer runs from {offer.term_start} to {offer.term_end}",
                         field="accepted_at")
    if offer.private and org_id not in offer.offered_to:
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
    terms = dataclasses.replace(offer, price=offer.price_at(at),
                                price_changes=offer.pending_changes(at))
    return Agreement(agreement_id, terms, org_id, purpose, at, valid_until, waiver_until,
                     org_name)


def withdraw_offer(offer: LicenceOffer, at: datetime) -> LicenceOffer:
    """The offer withdrawn at ``at``: no new agreement from then (existing ones run on)."""
    require_aware(at, "withdrawn_at")
    if offer.withdrawn_at is not None:
        raise LicenceStateError(f"offer {offer.id} was already withdrawn at "
                                f"{offer.withdrawn_at.isoformat()}")
    return dataclasses.replace(offer, withdrawn_at=at)


def announce_price(offer: LicenceOffer, price: Price, effective_from: date, at: datetime,
                   notice_days: int) -> LicenceOffer:
    """The offer with a new price announced at ``at``, applying to agreements accepted or
    renewed from ``effective_from`` on. The notice runs at least ``notice_days`` whole days:
    ``effective_from ≥ date(at) + notice_days``. A change already announced for the same
    or a later date is replaced (the provider's latest word holds); earlier ones stay."""
    require_aware(at, "announced_at")
    if offer.withdrawn_at is not None:
        raise LicenceStateError(f"offer {offer.id} was withdrawn at "
                                f"{offer.withdrawn_at.isoformat()}: its price is not changed")
    earliest = at.date() + timedelta(days=notice_days)
    if effective_from < earliest:
        raise InputError(f"a price change needs {notice_days} days' notice: the earliest "
                         f"date is {earliest.isoformat()}", field="effective_from")
    if effective_from > offer.term_end:
        raise InputError(f"the offer ends on {offer.term_end.isoformat()}",
                         field="effective_from")
    if price.basis is not offer.price.basis:
        raise InputError(f"the offer is priced {offer.price.basis.value}; announce a price on "
                         "the same basis (or withdraw it and make a new offer)",
                         field="price.basis")
    kept = tuple(c for c in offer.price_changes if c.effective_from < effective_from)
    return dataclasses.replace(offer, price_changes=(*kept, PriceChange(price, effective_from,
                                                                        at)))


def terminate_agreement(agreement: Agreement, *, by_org: str, kind: Termination, reason: str,
                        at: datetime) -> Agreement:
    """The agreement after ``by_org`` ends it at ``at``: for cause (the provider alone, with a
    reason) at once; by mutual end, when both parties have asked (the first request is
    recorded and the agreement runs on). Refused for an agreement already terminated or
    ended (:class:`LicenceStateError`) and for a party that is neither side (InputError)."""
    require_aware(at, "terminated_at")
    if agreement.terminated_at is not None:
        raise LicenceStateError(f"agreement {agreement.id} was already terminated at "
                                f"{agreement.terminated_at.isoformat()}")
    if at >= agreement.valid_until:
        raise LicenceStateError(f"agreement {agreement.id} ended at "
                                f"{agreement.valid_until.isoformat()}")
    parties = {agreement.org_id, agreement.provider_id}
    if by_org not in parties:
        raise InputError(f"{by_org} is not a party to agreement {agreement.id}", field="org")
    if kind is Termination.CAUSE:
        if by_org != agreement.provider_id:
            raise InputError("only the provider terminates for cause; the licensee asks for a "
                             "mutual end", field="kind")
        if not reason.strip():
            raise InputError("say the cause", field="reason")
        return dataclasses.replace(agreement, terminated_at=at, termination=kind,
                                   termination_reason=reason.strip())
    asked = agreement.end_requested_by | {by_org}
    if asked >= parties:
        return dataclasses.replace(agreement, end_requested_by=asked, terminated_at=at,
                                   termination=kind,
                                   termination_reason=reason.strip() or "mutual end")
    return dataclasses.replace(agreement, end_requested_by=asked)


def renew_agreement(agreement: Agreement, offer: LicenceOffer, *, agreement_id: str,
                    at: datetime, chase_team: bool = False,
                    existing: Iterable[Agreement] = ()) -> Agreement:
    """A new term of ``agreement`` from ``at`` under ``offer``'s current terms (price in
    effect at ``at``), for the same organisation and purpose; see the module docstring for
    what is refused."""
    require_aware(at, "renewed_at")
    if agreement.terminated_at is not None:
        how = ("for cause" if agreement.termination is Termination.CAUSE else "by mutual end")
        raise LicenceStateError(
            f"agreement {agreement.id} was terminated {how} at "
            f"{agreement.terminated_at.isoformat()} ({agreement.termination_reason}): "
            "it cannot be renewed; accept the offer again if it is still open")
    if agreement.renewed_by is not None:
        raise LicenceStateError(f"agreement {agreement.id} was already renewed by "
                                f"{agreement.renewed_by}")
    renewal = accept_offer(offer, agreement_id=agreement_id, org_id=agreement.org_id,
                           purpose=agreement.purpose, at=at, chase_team=chase_team,
                           existing=existing, org_name=agreement.org_name)
    return dataclasses.replace(renewal, renewed_from=agreement.id)


def check_access(
    agreements: Iterable[Agreement],
    dataset: DatasetTerms,
    purpose: Purpose,
    org_id: str,
    when: datetime,
    pool_country: str,
    domestic_countries: frozenset[str] = DOMESTIC_COUNTRIES,
    authorizer: Authorizer | None = None,
) -> AccessDecision:
    """May a job of ``org_id`` with ``purpose`` on a pool in ``pool_country`` read ``dataset``
    at ``when``? The order of the reasons is in the module docstring; the decision for each
    agreement is Cedar's (``data:read``, :func:`aicenter.policy.data.data_read`) under
    ``authorizer``'s policies (the packaged ones by default), and names the policies that
    made it (``AccessDecision.policy_id``)."""
    require_aware(when, "when")
    authz = authorizer if authorizer is not None else packaged_authorizer()
    candidates = [a for a in agreements
                  if a.org_id == org_id and a.dataset_id == dataset.id]
    if not candidates:
        return AccessDecision(False, AccessReason.NO_AGREEMENT,
                              f"organisation {org_id} has no agreement for dataset {dataset.id}")
    best: AccessDecision | None = None
    best_rank = -1
    for agreement in sorted(candidates, key=lambda a: a.id):
        decision, rank = _check_one(authz, agreement, dataset, domestic_countries, purpose,
                                    org_id, when, pool_country)
        if decision.allowed or decision.reason is AccessReason.DOMESTIC_ONLY:
            return decision
        if rank > best_rank:
            best, best_rank = decision, rank
    assert best is not None
    return best


_RANK = {  # a refusing policy's @id → its reason and how far the agreement got (to pick one)
    "agreement-not-yet-valid": (AccessReason.NOT_YET_VALID, 0),
    "agreement-expired": (AccessReason.EXPIRED, 0),
    "purpose-of-agreement": (AccessReason.WRONG_PURPOSE, 1),
    "territory-of-offer": (AccessReason.TERRITORY, 2),
}


def _check_one(authz: Authorizer, agreement: Agreement, dataset: DatasetTerms,
               domestic_countries: frozenset[str], purpose: Purpose, org_id: str,
               when: datetime, pool_country: str) -> tuple[AccessDecision, int]:
    """Cedar's decision for one agreement as an access decision, and how many checks the
    agreement passed (to pick the best refusal among several agreements)."""
    if agreement.terminated_by(when) and agreement.terminated_at is not None:
        # the agreement's own state, like having none: not a policy of the center
        return AccessDecision(False, AccessReason.TERMINATED,
                              f"agreement {agreement.id} was terminated at "
                              f"{agreement.terminated_at.isoformat()}", agreement), 0
    cedar = data_read(authz, agreement, dataset, domestic_countries, org_id=org_id,
                      purpose=purpose, pool_country=pool_country, when=when)
    if cedar.allowed:
        return AccessDecision(True, AccessReason.ALLOWED,
                              f"agreement {agreement.id} allows {purpose.value} in "
                              f"{pool_country}", agreement, cedar.policy_id), 3
    refusing = set((cedar.policy_id or "").split(","))
    if "domestic-data-stays-home" in refusing:
        return AccessDecision(
            False, AccessReason.DOMESTIC_ONLY,
            f"dataset {dataset.id} is tagged domestic: it is read only on pools in "
            f"{', '.join(sorted(domestic_countries))}, not {pool_country}", None,
            cedar.policy_id), 3
    for policy_id, (reason, rank) in _RANK.items():
        if policy_id in refusing:
            return AccessDecision(False, reason, _message(reason, agreement, purpose,
                                                          pool_country),
                                  agreement, cedar.policy_id), rank
    return AccessDecision(False, AccessReason.POLICY,
                          f"agreement {agreement.id}: refused by the center's policy "
                          f"({cedar.policy_id or 'no policy permits it'})", agreement,
                          cedar.policy_id), 0


def _message(reason: AccessReason, agreement: Agreement, purpose: Purpose,
             pool_country: str) -> str:
    if reason is AccessReason.NOT_YET_VALID:
        return f"agreement {agreement.id} starts at {agreement.accepted_at.isoformat()}"
    if reason is AccessReason.EXPIRED:
        return f"agreement {agreement.id} expired at {agreement.valid_until.isoformat()}"
    if reason is AccessReason.WRONG_PURPOSE:
        return f"agreement {agreement.id} allows {agreement.purpose.value}, not {purpose.value}"
    return (f"agreement {agreement.id} allows processing in "
            f"{', '.join(sorted(agreement.offer.territory))}, not {pool_country}")


@lru_cache(maxsize=1)
def packaged_authorizer() -> Authorizer:
    """The packaged policies, for callers outside the server (the simulator, tests, tools)."""
    return Authorizer()
