"""Grants table ↔ :class:`Grant`. ``lock`` takes the row lock used to serialise spending."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)

from aicenter.domain.grant import Grant, GrantStatus
from aicenter.storage.tables import grants as t


def _grant(row: Any) -> Grant:
    return Grant(
        id=row.id, call_id=row.call_id, application_id=row.application_id, org_id=row.org_id,
        budget_h100e_h=row.budget_h100e_h, chip_ids=frozenset(row.chip_ids),
        starts_at=row.starts_at, ends_at=row.ends_at, status=GrantStatus(row.status),
        last_used_at=row.last_used_at, reclaim_notice_at=row.reclaim_notice_at,
        chip_counts={chip: int(n) for chip, n in (row.chip_counts or {}).items()},
        review_waiver=row.review_waiver,
    )


class GrantRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, grant: Grant) -> None:
        self.conn.execute(insert(t).values(
            id=grant.id, call_id=grant.call_id, application_id=grant.application_id,
            org_id=grant.org_id, budget_h100e_h=grant.budget_h100e_h,
            chip_ids=sorted(grant.chip_ids), starts_at=grant.starts_at, ends_at=grant.ends_at,
            status=grant.status.value, last_used_at=grant.last_used_at,
            reclaim_notice_at=grant.reclaim_notice_at, chip_counts=dict(grant.chip_counts),
            review_waiver=grant.review_waiver))

    def get(self, grant_id: str, *, lock: bool = False) -> Grant | None:
        """One grant; with ``lock`` the row stays locked until the transaction ends."""
        query = select(t).where(t.c.id == grant_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _grant(row) if row else None

    def lock_for(self, org_ids: set[str], grant_ids: set[str]) -> list[Grant]:
        """Every grant of these organisations plus these grants, row-locked for the rest of
        the transaction, in id order (one lock order for every batch: no deadlocks)."""
        if not org_ids and not grant_ids:
            return []
        query = (select(t).where(or_(t.c.org_id.in_(org_ids), t.c.id.in_(grant_ids)))
                 .order_by(t.c.id).with_for_update())
        return [_grant(r) for r in self.conn.execute(query)]

    def list(self, org_id: str | None = None, call_id: str | None = None, *,
             active_between: tuple[datetime, datetime] | None = None, noticed: bool = False,
             limit: int | None = None, offset: int = 0) -> list[Grant]:
        """Grants in start order; ``active_between`` (start, end): only active grants whose
        period overlaps [start, end); ``noticed``: only those with a reclaim notice, the
        newest notice first; ``limit`` and ``offset`` cut a page."""
        query = self._where(select(t), org_id, call_id, noticed)
        query = query.order_by(t.c.reclaim_notice_at.desc(), t.c.id.desc()) if noticed else \
            query.order_by(t.c.starts_at, t.c.id)
        if active_between is not None:
            start, end = active_between
            query = query.where(t.c.status == GrantStatus.ACTIVE.value, t.c.starts_at < end,
                                t.c.ends_at > start)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        return [_grant(r) for r in self.conn.execute(query)]

    def budgets_by_org(self, call_id: str) -> dict[str, Decimal]:
        """The budgets a call's grants award each organisation, summed in one query."""
        rows = self.conn.execute(
            select(t.c.org_id, func.sum(type_coerce(t.c.budget_h100e_h, BigInteger)))
            .where(t.c.call_id == call_id).group_by(t.c.org_id))
        return {org_id: Decimal(int(total)) / Decimal(1_000_000) for org_id, total in rows}

    def count(self, org_id: str | None = None, *, noticed: bool = False) -> int:
        """How many grants :meth:`list` lists with these filters, without a limit."""
        query = self._where(select(func.count()).select_from(t), org_id, None, noticed)
        return int(self.conn.execute(query).scalar_one())

    @staticmethod
    def _where(query: Select[Any], org_id: str | None, call_id: str | None, noticed: bool
               ) -> Select[Any]:
        if org_id is not None:
            query = query.where(t.c.org_id == org_id)
        if call_id is not None:
            query = query.where(t.c.call_id == call_id)
        if noticed:
            query = query.where(t.c.reclaim_notice_at.is_not(None))
        return query

    def set_status(self, grant_id: str, status: GrantStatus) -> None:
        self.conn.execute(update(t).where(t.c.id == grant_id).values(status=status.value))

    def mark_used(self, grant_id: str, at: datetime) -> None:
        """Usage at ``at``: the grant is no longer idle and any reclaim notice lapses."""
        self.conn.execute(update(t).where(t.c.id == grant_id, t.c.last_used_at < at)
                          .values(last_used_at=at, reclaim_notice_at=None))

    def set_notice(self, grant_id: str, at: datetime | None) -> None:
        self.conn.execute(update(t).where(t.c.id == grant_id).values(reclaim_notice_at=at))
