"""Policy versions table: the Cedar policy texts operators set, newest in force."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select

from aicenter.domain.policy import PolicyVersion
from aicenter.storage.tables import policy_versions as t


def _row(x: Any) -> PolicyVersion:
    return PolicyVersion(x.version, x.text, x.sha256, x.set_at, x.set_by)


class PolicyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def latest_version(self) -> int:
        """The newest version's number (0: none stored, the packaged policies are in force)."""
        return int(self.conn.execute(select(func.coalesce(func.max(t.c.version), 0)))
                   .scalar_one())

    def latest(self) -> PolicyVersion | None:
        x = self.conn.execute(select(t).order_by(t.c.version.desc()).limit(1)).first()
        return None if x is None else _row(x)

    def add(self, policy: PolicyVersion) -> None:
        """Store a new version (its number one above the newest: a concurrent set fails on
        the primary key rather than overwrite)."""
        self.conn.execute(insert(t).values(version=policy.version, text=policy.text,
                                           sha256=policy.sha256, set_at=policy.set_at,
                                           set_by=policy.set_by))

    def list(self) -> list[PolicyVersion]:
        """Every stored version, oldest first (texts included)."""
        return [_row(x) for x in self.conn.execute(select(t).order_by(t.c.version))]
