"""API tokens table ↔ :class:`ApiToken` (only hashes are stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aicenter.domain.person import Person, Role
from aicenter.domain.token import ApiToken, Scope
from aicenter.storage.tables import api_tokens as t
from aicenter.storage.tables import people


def _token(row: Any) -> ApiToken:
    scopes = frozenset(Scope(s) for s in row.scopes.split(",") if s)
    return ApiToken(row.id, row.person_id, row.name, row.token_hash, scopes, row.created_at,
                    row.expires_at, row.revoked_at)


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, token: ApiToken) -> None:
        self.conn.execute(insert(t).values(
            id=token.id, person_id=token.person_id, name=token.name, token_hash=token.token_hash,
            scopes=",".join(sorted(s.value for s in token.scopes)), created_at=token.created_at,
            expires_at=token.expires_at, revoked_at=token.revoked_at))

    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self.conn.execute(select(t).where(t.c.token_hash == token_hash)).first()
        return _token(row) if row else None

    def with_owner(self, token_hash: str) -> tuple[ApiToken, Person] | None:
        """The token with this hash and the person owning it, in one query."""
        return self.with_owners({token_hash}).get(token_hash)

    def with_owners(self, token_hashes: set[str]) -> dict[str, tuple[ApiToken, Person]]:
        """:meth:`with_owner` for many hashes in one query (batched admission)."""
        if not token_hashes:
            return {}
        rows = self.conn.execute(
            select(t, people.c.org_id, people.c.name.label("person_name"), people.c.email,
                   people.c.role, people.c.created_at.label("person_created_at"))
            .join(people, people.c.id == t.c.person_id).where(t.c.token_hash.in_(token_hashes)))
        return {row.token_hash: (_token(row), Person(row.person_id, row.org_id, row.person_name,
                                                     row.email, Role(row.role),
                                                     row.person_created_at))
                for row in rows}

    def get(self, token_id: str) -> ApiToken | None:
        row = self.conn.execute(select(t).where(t.c.id == token_id)).first()
        return _token(row) if row else None

    def list(self, person_ids: set[str] | None = None) -> list[ApiToken]:
        query = select(t).order_by(t.c.created_at, t.c.id)
        if person_ids is not None:
            query = query.where(t.c.person_id.in_(person_ids))
        return [_token(r) for r in self.conn.execute(query)]

    def revoke(self, token_id: str, at: datetime) -> None:
        self.conn.execute(update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None))
                          .values(revoked_at=at))
