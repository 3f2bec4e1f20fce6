"""Identity requests table ↔ :class:`IdentityRequest`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from aicenter.domain.identity import IdentityRequest, IdentityStatus
from aicenter.storage.tables import identity_requests as t


def _row(x: Any) -> IdentityRequest:
    return IdentityRequest(x.id, x.issuer, x.subject, x.email, x.name, dict(x.claims),
                           IdentityStatus(x.status), x.requested_at, x.suggested_org_id,
                           x.person_id, x.decided_at, x.decided_by, x.reason)


class IdentityRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, r: IdentityRequest) -> None:
        self.conn.execute(insert(t).values(
            id=r.id, issuer=r.issuer, subject=r.subject, email=r.email, name=r.name,
            claims=r.claims, status=r.status.value, requested_at=r.requested_at,
            suggested_org_id=r.suggested_org_id, person_id=r.person_id,
            decided_at=r.decided_at, decided_by=r.decided_by, reason=r.reason))

    def get(self, request_id: str, lock: bool = False) -> IdentityRequest | None:
        query = select(t).where(t.c.id == request_id)
        x = self.conn.execute(query.with_for_update() if lock else query).first()
        return None if x is None else _row(x)

    def by_subject(self, issuer: str, subject: str) -> IdentityRequest | None:
        x = self.conn.execute(select(t).where(t.c.issuer == issuer,
                                              t.c.subject == subject)).first()
        return None if x is None else _row(x)

    def list(self, status: IdentityStatus | None = None) -> list[IdentityRequest]:
        query = select(t).order_by(t.c.requested_at, t.c.id)
        if status is not None:
            query = query.where(t.c.status == status.value)
        return [_row(x) for x in self.conn.execute(query)]

    def decide(self, r: IdentityRequest) -> None:
        self.conn.execute(update(t).where(t.c.id == r.id).values(
            status=r.status.value, person_id=r.person_id, decided_at=r.decided_at,
            decided_by=r.decided_by, reason=r.reason))
