"""Pools table ↔ :class:`~aicenter.domain.pool.Pool`: how many chips of each type the center
runs, where, and in which state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from aicenter.domain.pool import Pool, PoolState
from aicenter.storage.tables import pools as t

PoolRow = Pool
"""The former name of a stored pool, kept for callers that still use it."""


def _pool(row: Any) -> Pool:
    return Pool(row.id, row.chip_id, row.chip_count, row.site, row.country,
                PoolState(row.state), row.created_at)


class PoolRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, pool: Pool) -> None:
        self.conn.execute(insert(t).values(id=pool.id, chip_id=pool.chip_id,
                                           chip_count=pool.chip_count, site=pool.site,
                                           country=pool.country, state=pool.state.value,
                                           created_at=pool.created_at))

    def get(self, pool_id: str, *, lock: bool = False) -> Pool | None:
        """One pool, removed ones included; ``lock`` holds its row to the transaction's end
        (a launch onto it and its removal never interleave)."""
        query = select(t).where(t.c.id == pool_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _pool(row) if row else None

    def list(self, *, include_removed: bool = False) -> list[Pool]:
        """Pools in id order; removed pools only when asked for (they hold no chips)."""
        query = select(t).order_by(t.c.id)
        if not include_removed:
            query = query.where(t.c.state != PoolState.REMOVED.value)
        return [_pool(r) for r in self.conn.execute(query)]

    def update(self, pool_id: str, **values: Any) -> bool:
        """Set fields (``state`` as a :class:`PoolState` or its value)."""
        if isinstance(values.get("state"), PoolState):
            values["state"] = values["state"].value
        return bool(self.conn.execute(update(t).where(t.c.id == pool_id).values(**values))
                    .rowcount)
