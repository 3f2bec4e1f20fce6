"""Shares table: guaranteed shares of organisations and calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from aicenter.domain.share import Share, ShareHolder
from aicenter.storage.tables import shares as t


def _row(x: Any) -> Share:
    return Share(ShareHolder(x.holder_kind), x.holder_id, x.guaranteed_h100e, x.set_at,
                 x.set_by)


class ShareRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def put(self, share: Share) -> None:
        """Set (insert or replace) a holder's share."""
        key = (t.c.holder_kind == share.holder_kind.value) & (t.c.holder_id == share.holder_id)
        values = {"guaranteed_h100e": share.guaranteed_h100e, "set_at": share.set_at,
                  "set_by": share.set_by}
        if self.conn.execute(update(t).where(key).values(**values)).rowcount == 0:
            self.conn.execute(insert(t).values(holder_kind=share.holder_kind.value,
                                               holder_id=share.holder_id, **values))

    def remove(self, kind: ShareHolder, holder_id: str) -> bool:
        key = (t.c.holder_kind == kind.value) & (t.c.holder_id == holder_id)
        return bool(self.conn.execute(delete(t).where(key)).rowcount)

    def list(self) -> list[Share]:
        rows = self.conn.execute(select(t).order_by(t.c.holder_kind, t.c.holder_id))
        return [_row(x) for x in rows]
