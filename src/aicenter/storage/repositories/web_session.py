"""Web sessions table ↔ :class:`WebSession` (the cookie's secret is stored only hashed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from aicenter.domain.web_session import WebSession
from aicenter.storage.tables import web_sessions as t


def _row(x: Any) -> WebSession:
    return WebSession(x.id, x.person_id, x.token_id, bool(x.can_write), x.csrf_secret,
                      x.created_at, x.last_seen_at, x.expires_at)


class WebSessionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, session: WebSession) -> None:
        self.conn.execute(insert(t).values(
            id=session.id, person_id=session.person_id, token_id=session.token_id,
            can_write=session.can_write, csrf_secret=session.csrf_secret,
            created_at=session.created_at, last_seen_at=session.last_seen_at,
            expires_at=session.expires_at))

    def get(self, session_id: str) -> WebSession | None:
        x = self.conn.execute(select(t).where(t.c.id == session_id)).first()
        return None if x is None else _row(x)

    def touch(self, session_id: str, at: datetime, expires_at: datetime) -> None:
        self.conn.execute(update(t).where(t.c.id == session_id)
                          .values(last_seen_at=at, expires_at=expires_at))

    def delete(self, session_id: str) -> None:
        self.conn.execute(delete(t).where(t.c.id == session_id))

    def delete_expired(self, now: datetime) -> int:
        """Forget sessions past their expiry; the number removed."""
        return self.conn.execute(delete(t).where(t.c.expires_at <= now)).rowcount or 0
