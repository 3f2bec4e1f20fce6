"""People table ↔ :class:`Person`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from aicenter.domain.person import Person, Role
from aicenter.storage.tables import people as t


def _person(row: Any) -> Person:
    return Person(row.id, row.org_id, row.name, row.email, Role(row.role), row.created_at)


class PersonRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, person: Person) -> None:
        self.conn.execute(insert(t).values(
            id=person.id, org_id=person.org_id, name=person.name, email=person.email,
            role=person.role.value, created_at=person.created_at))

    def get(self, person_id: str) -> Person | None:
        row = self.conn.execute(select(t).where(t.c.id == person_id)).first()
        return _person(row) if row else None

    def by_email(self, email: str) -> Person | None:
        row = self.conn.execute(select(t).where(t.c.email == email)).first()
        return _person(row) if row else None

    def count(self) -> int:
        return len(self.conn.execute(select(t.c.id).limit(1)).all())

    def list(self, org_id: str | None = None) -> list[Person]:
        query = select(t).order_by(t.c.created_at, t.c.id)
        if org_id is not None:
            query = query.where(t.c.org_id == org_id)
        return [_person(r) for r in self.conn.execute(query)]
