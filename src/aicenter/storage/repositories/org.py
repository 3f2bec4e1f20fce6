"""Organisations table ↔ :class:`Organisation`, with the priority classes each is entitled to
(``org_priorities``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from aicenter.domain.job import PriorityClass
from aicenter.domain.org import Organisation, OrgClass
from aicenter.storage.tables import org_priorities as pt
from aicenter.storage.tables import organisations as t


def _org(row: Any, priorities: frozenset[PriorityClass]) -> Organisation:
    return Organisation(row.id, row.name, OrgClass(row.org_class), bool(row.chase_team),
                        row.region, row.created_at, priorities)


class OrgRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, org: Organisation) -> None:
        self.conn.execute(insert(t).values(
            id=org.id, name=org.name, org_class=org.org_class.value, chase_team=org.chase_team,
            region=org.region, created_at=org.created_at))
        for cls in org.priority_classes:
            self.entitle(org.id, cls, org.created_at)

    def _with_priorities(self, rows: Iterable[Any], *, every: bool = False
                         ) -> list[Organisation]:
        """Organisations of ``rows`` with their priority classes (``every``: the rows are
        every organisation, so every entitlement is read, with no list of ids)."""
        rows = list(rows)
        if every:
            held: dict[str, set[PriorityClass]] = defaultdict(set)
            for row in self.conn.execute(select(pt.c.org_id, pt.c.priority_class)):
                held[row.org_id].add(PriorityClass(row.priority_class))
            return [_org(r, frozenset(held.get(r.id, ()))) for r in rows]
        found = self.priorities_of({r.id for r in rows})
        return [_org(r, found.get(r.id, frozenset())) for r in rows]

    def get(self, org_id: str) -> Organisation | None:
        rows = self._with_priorities(self.conn.execute(select(t).where(t.c.id == org_id)))
        return rows[0] if rows else None

    def by_name(self, name: str) -> Organisation | None:
        rows = self._with_priorities(self.conn.execute(select(t).where(t.c.name == name)))
        return rows[0] if rows else None

    def list(self, org_ids: Collection[str] | None = None, *, by_name: bool = False,
             limit: int | None = None, offset: int = 0) -> list[Organisation]:
        """Organisations in the order they were registered (``by_name``: by name), only
        ``org_ids`` when given; ``limit`` and ``offset`` cut a page of them."""
        query = select(t).order_by(t.c.name, t.c.id) if by_name else \
            select(t).order_by(t.c.created_at, t.c.id)
        if org_ids is not None:
            query = query.where(t.c.id.in_(sorted(org_ids)))
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        every = org_ids is None and limit is None and not offset
        return self._with_priorities(self.conn.execute(query), every=every)

    def count(self, org_ids: Collection[str] | None = None) -> int:
        """How many organisations :meth:`list` lists without a limit."""
        query = select(func.count()).select_from(t)
        if org_ids is not None:
            query = query.where(t.c.id.in_(sorted(org_ids)))
        return int(self.conn.execute(query).scalar_one())

    def regions_of(self, org_ids: Collection[str]) -> dict[str, str]:
        """The region of each of these organisations (an unknown one is absent), in one
        query: what a call's ranking needs of every applicant."""
        if not org_ids:
            return {}
        rows = self.conn.execute(select(t.c.id, t.c.region).where(t.c.id.in_(sorted(org_ids))))
        return {org_id: region for org_id, region in rows}

    def priorities_of(self, org_ids: set[str]) -> dict[str, frozenset[PriorityClass]]:
        """The classes each of these organisations holds, in one query (an organisation
        that does not exist is absent)."""
        if not org_ids:
            return {}
        held: dict[str, set[PriorityClass]] = defaultdict(set)
        known = self.conn.execute(select(t.c.id).where(t.c.id.in_(org_ids))).scalars()
        for org_id in known:
            held[org_id] = set()
        for row in self.conn.execute(select(pt).where(pt.c.org_id.in_(org_ids))):
            held[row.org_id].add(PriorityClass(row.priority_class))
        return {org_id: frozenset(classes) for org_id, classes in held.items()}

    def entitle(self, org_id: str, cls: PriorityClass, at: datetime) -> None:
        self.conn.execute(insert(pt).values(org_id=org_id, priority_class=cls.value,
                                            granted_at=at))

    def revoke(self, org_id: str, cls: PriorityClass) -> None:
        self.conn.execute(delete(pt).where(pt.c.org_id == org_id,
                                           pt.c.priority_class == cls.value))
