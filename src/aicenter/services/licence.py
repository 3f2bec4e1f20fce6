"""Licences: providers offer a dataset on terms, tenants accept an offer (an agreement), and
either party downloads the agreement as a contract document. Each accepted agreement is also
appended to the exchange's audit log, so royalty statements can be rebuilt from the log
alone; a flat-fee agreement books its fee in the ledger when it is accepted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aicenter.domain.dataset import Dataset
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.licence import Agreement, LicenceOffer, PriceBasis, Purpose, offer_from_dict
from aicenter.exchange.contract import ContractDocument, contract_document
from aicenter.exchange.licence import accept_offer
from aicenter.exchange.meter import MeterWriter
from aicenter.exchange.royalty import charge_lines, month_of, royalty_transaction
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.royalty import audit_log_path


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
            "dataset_name": dataset.name}
    offer = offer_from_dict(body)
    with ctx.db.transaction() as tx:
        tx.licences.add_offer(offer, ctx.clock.now())
        audit.changed(ctx, tx, caller, "offer.created", "offer", offer.id,
                      dataset.provider_org_id, dataset=dataset.id, terms=body)
    return offer


def _visible(offer: LicenceOffer, caller: Caller) -> bool:
    return (offer.offered_to is None or caller.sees_all or
            caller.org_id in (offer.offered_to, offer.provider_id))


def list_offers(ctx: ServiceContext, caller: Caller, dataset_id: str | None = None
                ) -> list[LicenceOffer]:
    """Offers the caller may take up (or made by its organisation)."""
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
    with ctx.db.transaction() as tx:
        offer: LicenceOffer | None = tx.licences.offer(offer_id)
        org = tx.orgs.get(org_id)
        if offer is None or not _visible(offer, caller) or org is None:
            raise NotFoundError(f"offer {offer_id} not found")
        existing = tx.licences.agreements(offer_id=offer_id)
        agreement = accept_offer(offer, agreement_id=new_id("agr"), org_id=org_id,
                                 purpose=chosen, at=now, chase_team=org.chase_team,
                                 existing=existing, org_name=org.name)
        tx.licences.add_agreement(agreement)
        audit.changed(ctx, tx, caller, "agreement.accepted", "agreement", agreement.id, org_id,
                      offer=offer.id, dataset=offer.dataset_id, provider=offer.provider_id,
                      purpose=chosen)
        if offer.price.basis is PriceBasis.FLAT:
            for line in charge_lines([], [agreement], month_of(now)):
                txn = royalty_transaction(line, agreement)
                if txn is not None:
                    tx.ledger.book(txn)
        # in the same transaction: if the log write fails, the agreement is not stored. The
        # writer id is the agreement's own, so the (large) audit log is not read to number it.
        MeterWriter(audit_log_path(ctx), f"agreement:{agreement.id}", fresh=True
                    ).agreement(agreement)
    return agreement


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
