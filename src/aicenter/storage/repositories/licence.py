"""Licence offers and agreements, stored as their plain-data form (``exchange.licence``'s
``*_to_dict``) and returned as the exchange's domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from aicenter.domain.licence import (
    Agreement,
    LicenceOffer,
    agreement_from_dict,
    agreement_to_dict,
    offer_from_dict,
    offer_to_dict,
)
from aicenter.storage.tables import agreements as a
from aicenter.storage.tables import licence_offers as o


class LicenceRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_offer(self, offer: LicenceOffer, created_at: datetime) -> None:
        self.conn.execute(insert(o).values(
            id=offer.id, provider_org_id=offer.provider_id, dataset_id=offer.dataset_id,
            body=offer_to_dict(offer), created_at=created_at))

    def update_offer(self, offer: LicenceOffer) -> None:
        """Store the offer's new state (withdrawn, a price change announced)."""
        self.conn.execute(update(o).where(o.c.id == offer.id).values(body=offer_to_dict(offer)))

    def offer(self, offer_id: str) -> LicenceOffer | None:
        row = self.conn.execute(select(o.c.body).where(o.c.id == offer_id)).first()
        return offer_from_dict(row.body) if row is not None else None

    def offers(self, *, dataset_id: str | None = None, provider_org_id: str | None = None
               ) -> list[LicenceOffer]:
        query = select(o.c.body).order_by(o.c.created_at, o.c.id)
        if dataset_id is not None:
            query = query.where(o.c.dataset_id == dataset_id)
        if provider_org_id is not None:
            query = query.where(o.c.provider_org_id == provider_org_id)
        return [offer_from_dict(x.body) for x in self.conn.execute(query)]

    def add_agreement(self, agreement: Agreement) -> None:
        self.conn.execute(insert(a).values(
            id=agreement.id, offer_id=agreement.offer.id, org_id=agreement.org_id,
            dataset_id=agreement.dataset_id, body=agreement_to_dict(agreement),
            accepted_at=agreement.accepted_at))

    def update_agreement(self, agreement: Agreement) -> None:
        """Store the agreement's new state (terminated, an end asked for, renewed)."""
        self.conn.execute(update(a).where(a.c.id == agreement.id).values(
            body=agreement_to_dict(agreement)))

    def agreement(self, agreement_id: str) -> Agreement | None:
        row = self.conn.execute(select(a.c.body).where(a.c.id == agreement_id)).first()
        return agreement_from_dict(row.body) if row is not None else None

    def agreements(self, *, org_id: str | None = None, dataset_ids: Sequence[str] | None = None,
                   offer_id: str | None = None, provider_org_id: str | None = None
                   ) -> list[Agreement]:
        query = select(a.c.body).order_by(a.c.accepted_at, a.c.id)
        if org_id is not None:
            query = query.where(a.c.org_id == org_id)
        if dataset_ids is not None:
            query = query.where(a.c.dataset_id.in_(dataset_ids))
        if offer_id is not None:
            query = query.where(a.c.offer_id == offer_id)
        if provider_org_id is not None:
            query = query.join(o, o.c.id == a.c.offer_id).where(
                o.c.provider_org_id == provider_org_id)
        return [agreement_from_dict(x.body) for x in self.conn.execute(query)]
