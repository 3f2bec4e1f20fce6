"""Organisations table ↔ :class:`Organisation`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from aicenter.domain.org import Organisation, OrgClass
from aicenter.storage.tables import organisations as t


def _org(row: Any) -> Organisation:
    return Organisation(row.id, row.name, OrgClass(row.org_class), bool(row.chase_team),
                        row.region, row.created_at)


class OrgRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, org: Organisation) -> None:
        self.conn.execute(insert(t).values(
            id=org.id, name=org.name, org_class=org.org_class.value, chase_team=org.chase_team,
            region=org.region, created_at=org.created_at))

    def get(self, org_id: str) -> Organisation | None:
        row = self.conn.execute(select(t).where(t.c.id == org_id)).first()
        return _org(row) if row else None

    def by_name(self, name: str) -> Organisation | None:
        row = self.conn.execute(select(t).where(t.c.name == name)).first()
        return _org(row) if row else None

    def list(self, org_ids: set[str] | None = None) -> list[Organisation]:
        query = select(t).order_by(t.c.created_at, t.c.id)
        if org_ids is not None:
            query = query.where(t.c.id.in_(org_ids))
        return [_org(r) for r in self.conn.execute(query)]
