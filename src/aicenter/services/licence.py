"""Licences: providers offer a dataset on terms, tenants accept an offer (an agreement), and
either party downloads the agreement as a contract document. Each accepted (or renewed)
agreement is also appended to the exchange's audit log, so royalty statements can be rebuilt
from the log alone; a flat-fee agreement books its fee in the ledger when it is accepted.

Providers withdraw offers and announce price changes; agreements are terminated (the provider
for cause, or both parties) and renewed by the licensee (the rules are in
:mod:`aicenter.exchange.licence`). A private offer does not exist for organisations it is not
made to: they get 404, never 403. Every change is an entry in the center's audit log."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from aicenter.domain.dataset import Dataset
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.licence import (
    Agreement,
    LicenceOffer,
    LicenceStateError,
    PriceBasis,
    Purpose,
    Termination,
    offer_from_dict,
    price_from_dict,
)
from aicenter.exchange import licence as rules
from aicenter.exchange.contract import ContractDocument, contract_document
from aicenter.exchange.licence import accept_offer
from aicenter.exchange.meter import MeterWriter
from aicenter.exchange.royalty import charge_lines, month_of, royalty_transaction
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import ConflictError
from aicenter.services.royalty import audit_log_path, exchange_dir
from aicenter.storage import Tx


@contextmanager
def _state_conflicts() -> Iterator[None]:
    """A refusal by the state of an offer or agreement is a conflict (HTTP 409)."""
    try:
        yield
    except LicenceStateError as exc:
        raise ConflictError(str(exc)) from None


def create_offer(ctx: ServiceContext, caller: Caller, dataset_id: str,
                 terms: Mapping[str, Any]) -> LicenceOffer:
    """The dataset's provider offers it on ``terms`` (the plain-data form of an offer without
    id, provider and dataset, which come from the dataset)."""
    with ctx.db.transaction(write=False) as tx:
        dataset: Dataset | None = tx.datasets.get(dataset_id)
        provider = tx.orgs.get(dataset.provider_org_id) if dataset else None
    caller.check(ctx, "licence:offer", Resource(
        "Offer", "new", dataset.provider_org_id if dataset else caller.org_id))
    if dataset is None or provider is None:
        raise NotFoundError(f"dataset {dataset_id} not found")
    body = {**terms, "id": new_id("off"), "provider_id": dataset.provider_org_id,
            "dataset_id": dataset.id, "provider_name": provider.name,
            "dataset_name": dataset.name, "withdrawn_at": None, "price_changes": []}
    offer = offer_from_dict(body)
    with ctx.db.transaction() as tx:
        unknown = sorted(o for o in offer.offered_to if tx.orgs.get(o) is None)
        if unknown:
            raise InputError(f"no organisation {', '.join(unknown)}", field="offered_to")
        tx.licences.add_offer(offer, ctx.clock.now())
        audit.changed(ctx, tx, caller, "offer.created", "offer", offer.id,
                      dataset.provider_org_id, dataset=dataset.id, terms=body)
    return offer


def _visible(offer: LicenceOffer, caller: Caller) -> bool:
    return caller.sees_all or offer.open_to(caller.org_id)


def list_offers(ctx: ServiceContext, caller: Caller, dataset_id: str | None = None
                ) -> list[LicenceOffer]:
    """Offers the caller may take up (or made by its organisation); withdrawn ones too,
    marked, so holders of their agreements see why they cannot renew."""
    caller.check(ctx, "licence:read", Resource("Offer", "any"))
    with ctx.db.transaction(write=False) as tx:
        offers: list[LicenceOffer] = tx.licences.offers(dataset_id=dataset_id)
    return [o for o in offers if _visible(o, caller)]


def get_offer(ctx: ServiceContext, caller: Caller, offer_id: str) -> LicenceOffer:
    caller.check(ctx, "licence:read", Resource("Offer", offer_id))
    with ctx.db.transaction(write=False) as tx:
        offer: LicenceOffer | None = tx.licences.offer(offer_id)
    if offer is None or not _visible(offer, caller):
        raise NotFoundError(f"offer {offer_id} not found")
    return offer


def accept(ctx: ServiceContext, caller: Caller, offer_id: str, purpose: str,
           org_id: str | None = None) -> Agreement:
    """The caller's organisation accepts an offer for one purpose (see
    :func:`aicenter.exchange.licence.accept_offer` for what is refused)."""
    org_id = org_id or caller.org_id
    caller.check(ctx, "licence:accept", Resource("Agreement", "new", org_id))
    try:
        chosen = Purpose(purpose)
    except ValueError:
        allowed = ", ".join(p.value for p in Purpose)
        raise InputError(f"'{purpose}' is not one of {allowed}", field="purpose") from None
    now = ctx.clock.now()
    with ctx.db.transaction() as tx, _state_conflicts():
        offer: LicenceOffer | None = tx.licences.offer(offer_id)
        org = tx.orgs.get(org_id)
        if offer is None or not _visible(offer, caller) or org is None:
            raise NotFoundError(f"offer {offer_id} not found")
        existing = tx.licences.agreements(offer_id=offer_id)
        agreement = accept_offer(offer, agreement_id=new_id("agr"), org_id=org_id,
                                 purpose=chosen, at=now, chase_team=org.chase_team,
                                 existing=existing, org_name=org.name)
        _store_new(ctx, tx, caller, agreement, "agreement.accepted")
    return agreement


def _store_new(ctx: ServiceContext, tx: Tx, caller: Caller, agreement: Agreement,
               action: str) -> None:
    """Store a new (accepted or renewed) agreement, record it, book a flat fee, and append it
    to the exchange's audit log, all in ``tx``."""
    offer = agreement.offer
    tx.licences.add_agreement(agreement)
    audit.changed(ctx, tx, caller, action, "agreement", agreement.id, agreement.org_id,
                  offer=offer.id, dataset=offer.dataset_id, provider=offer.provider_id,
                  purpose=agreement.purpose, price=str(offer.price.amount.amount),
                  price_basis=offer.price.basis, renewed_from=agreement.renewed_from)
    if offer.price.basis is PriceBasis.FLAT:
        for line in charge_lines([], [agreement], month_of(agreement.accepted_at)):
            txn = royalty_transaction(line, agreement)
            if txn is not None:
                tx.ledger.book(txn)
    # in the same transaction: if the log write fails, the agreement is not stored. The
    # writer id is the agreement's own, so the (large) audit log is not read to number it.
    MeterWriter(audit_log_path(ctx), f"agreement:{agreement.id}", fresh=True
                ).agreement(agreement)


def _own_offer(tx: Tx, caller: Caller, offer_id: str) -> LicenceOffer:
    """The offer, or 404 when it is unknown or private and not made to the caller."""
    offer: LicenceOffer | None = tx.licences.offer(offer_id)
    if offer is None or not _visible(offer, caller):
        raise NotFoundError(f"offer {offer_id} not found")
    return offer


def withdraw_offer(ctx: ServiceContext, caller: Caller, offer_id: str) -> LicenceOffer:
    """The provider withdraws its offer: no new agreement or renewal from now on; agreements
    already made run to the end of their term."""
    with ctx.db.transaction(write=False) as tx:
        found = _own_offer(tx, caller, offer_id)
    caller.check(ctx, "licence:offer", Resource("Offer", offer_id, found.provider_id))
    with ctx.db.transaction() as tx, _state_conflicts():
        offer = rules.withdraw_offer(_own_offer(tx, caller, offer_id), ctx.clock.now())
        tx.licences.update_offer(offer)
        running = tx.licences.agreements(offer_id=offer_id)
        audit.changed(ctx, tx, caller, "offer.withdrawn", "offer", offer.id, offer.provider_id,
                      dataset=offer.dataset_id, agreements_running=sorted(
                          a.id for a in running if a.valid_at(ctx.clock.now())))
    return offer


def announce_price(ctx: ServiceContext, caller: Caller, offer_id: str,
                   price: Mapping[str, Any], effective_from: date) -> LicenceOffer:
    """The provider announces a new price for agreements accepted or renewed from
    ``effective_from`` on, at least ``exchange_price_notice_days`` ahead; existing agreements
    keep their price until renewal. Tenants see the change on the offer."""
    with ctx.db.transaction(write=False) as tx:
        found = _own_offer(tx, caller, offer_id)
    caller.check(ctx, "licence:offer", Resource("Offer", offer_id, found.provider_id))
    new_price = price_from_dict(price)
    with ctx.db.transaction() as tx, _state_conflicts():
        offer = rules.announce_price(_own_offer(tx, caller, offer_id), new_price,
                                     effective_from, ctx.clock.now(),
                                     ctx.settings.exchange_price_notice_days)
        tx.licences.update_offer(offer)
        audit.changed(ctx, tx, caller, "offer.price_announced", "offer", offer.id,
                      offer.provider_id, dataset=offer.dataset_id,
                      price=str(new_price.amount.amount), price_basis=new_price.basis,
                      effective_from=effective_from.isoformat(),
                      was=str(offer.price_at(ctx.clock.now()).amount.amount))
    return offer


def terminate(ctx: ServiceContext, caller: Caller, agreement_id: str, kind: str,
              reason: str = "") -> Agreement:
    """End an agreement early: ``cause`` by the provider (with the reason), or ``mutual``,
    which takes effect when both parties have asked. From then, jobs are not admitted under
    it, and the data grants of running jobs under it expire at the termination."""
    try:
        how = Termination(kind)
    except ValueError:
        raise InputError(f"'{kind}' is not cause or mutual", field="kind") from None
    with ctx.db.transaction(write=False) as tx:
        found: Agreement | None = tx.licences.agreement(agreement_id)
    if found is None:
        caller.check(ctx, "agreement:read", Resource("Agreement", agreement_id))
        raise NotFoundError(f"agreement {agreement_id} not found")
    by_org = caller.org_id
    if caller.org_id == found.provider_id or (caller.sees_all and how is Termination.CAUSE
                                              and caller.org_id != found.org_id):
        by_org = found.provider_id
        caller.check(ctx, "licence:offer", Resource("Offer", found.offer.id, by_org))
    else:
        caller.check(ctx, "licence:accept", Resource("Agreement", agreement_id, found.org_id))
    now = ctx.clock.now()
    with ctx.db.transaction() as tx, _state_conflicts():
        current = tx.licences.agreement(agreement_id)
        if current is None:
            raise NotFoundError(f"agreement {agreement_id} not found")
        agreement = rules.terminate_agreement(current, by_org=by_org, kind=how, reason=reason,
                                              at=now)
        tx.licences.update_agreement(agreement)
        action = ("agreement.terminated" if agreement.terminated_at is not None
                  else "agreement.end_requested")
        audit.changed(ctx, tx, caller, action, "agreement", agreement.id, agreement.org_id,
                      provider=agreement.provider_id, dataset=agreement.dataset_id,
                      kind=how, reason=agreement.termination_reason or reason, by=by_org)
    if agreement.terminated_at is not None:
        _expire_grants(ctx, agreement)
    return agreement


def _expire_grants(ctx: ServiceContext, agreement: Agreement) -> None:
    """Shorten the data grants of jobs admitted under ``agreement`` to its termination: a
    running job's reader (or gateway) sees the new end at its next batch and refuses it, so
    nothing more is read or metered."""
    assert agreement.terminated_at is not None
    folder = exchange_dir(ctx) / "grants"
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not any(d.get("agreement_id") == agreement.id for d in data.get("datasets", [])):
            continue
        try:
            ends = datetime.fromisoformat(str(data["valid_until"]))
        except (KeyError, ValueError):
            ends = agreement.terminated_at  # unreadable end: the termination's holds
        if ends.tzinfo is not None and ends <= agreement.terminated_at:
            continue
        data["valid_until"] = agreement.terminated_at.isoformat()
        temporary = path.with_suffix(".json.new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        os.replace(temporary, path)


def renew(ctx: ServiceContext, caller: Caller, agreement_id: str) -> Agreement:
    """The licensee renews an agreement: a new agreement from now for the same purpose under
    the offer's current terms and price (an announced change in effect applies). Refused
    (409, with the reason) for a terminated agreement, a withdrawn offer, or an agreement
    already renewed."""
    with ctx.db.transaction(write=False) as tx:
        found: Agreement | None = tx.licences.agreement(agreement_id)
    if found is None:
        caller.check(ctx, "agreement:read", Resource("Agreement", agreement_id))
        raise NotFoundError(f"agreement {agreement_id} not found")
    caller.check(ctx, "licence:accept", Resource("Agreement", "new", found.org_id))
    now = ctx.clock.now()
    with ctx.db.transaction() as tx, _state_conflicts():
        current = tx.licences.agreement(agreement_id)
        offer = tx.licences.offer(found.offer.id)
        org = tx.orgs.get(found.org_id)
        if current is None or offer is None or org is None:
            raise NotFoundError(f"agreement {agreement_id} not found")
        renewal = rules.renew_agreement(current, offer, agreement_id=new_id("agr"), at=now,
                                        chase_team=org.chase_team,
                                        existing=tx.licences.agreements(offer_id=offer.id))
        tx.licences.update_agreement(dataclasses.replace(current, renewed_by=renewal.id))
        _store_new(ctx, tx, caller, renewal, "agreement.renewed")
    return renewal


def _agreement_resource(agreement: Agreement | None, agreement_id: str) -> Resource:
    if agreement is None:
        return Resource("Agreement", agreement_id)
    return Resource("Agreement", agreement_id, agreement.org_id,
                    provider_org_id=agreement.provider_id)


def get_agreement(ctx: ServiceContext, caller: Caller, agreement_id: str) -> Agreement:
    """One agreement, for the licensee or the provider."""
    with ctx.db.transaction(write=False) as tx:
        agreement: Agreement | None = tx.licences.agreement(agreement_id)
    caller.check(ctx, "agreement:read", _agreement_resource(agreement, agreement_id))
    if agreement is None:
        raise NotFoundError(f"agreement {agreement_id} not found")
    return agreement


def list_agreements(ctx: ServiceContext, caller: Caller) -> list[Agreement]:
    """Agreements the caller's organisation holds or granted as provider (all for
    operators and auditors)."""
    caller.check(ctx, "licence:read", Resource("Agreement", "any"))
    with ctx.db.transaction(write=False) as tx:
        if caller.sees_all:
            return list(tx.licences.agreements())
        held: list[Agreement] = tx.licences.agreements(org_id=caller.org_id)
        granted: list[Agreement] = tx.licences.agreements(provider_org_id=caller.org_id)
    seen = {a.id for a in held}
    return held + [a for a in granted if a.id not in seen]


def contract(ctx: ServiceContext, caller: Caller, agreement_id: str) -> ContractDocument:
    """The agreement as a contract document after the MSIT 2024 standard contract types."""
    agreement = get_agreement(ctx, caller, agreement_id)
    with ctx.db.transaction(write=False) as tx:
        dataset: Dataset | None = tx.datasets.get(agreement.dataset_id)
    details = {}
    domestic = True
    if dataset is not None:
        domestic = dataset.domestic
        details = {"version": dataset.version, "manifest sha256": dataset.manifest_sha256,
                   "records": str(dataset.stats.get("records", "")),
                   "licence": dataset.licence_text}
    return contract_document(agreement, domestic=domestic, dataset_details=details)
