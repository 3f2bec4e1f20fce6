"""Pools table: how many chips of each type the center runs, and where."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from aicenter.storage.tables import pools as t


@dataclass(frozen=True, slots=True)
class PoolRow:
    id: str
    chip_id: str
    chip_count: int
    site: str
    country: str = "KR"


class PoolRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, pool: PoolRow) -> None:
        self.conn.execute(insert(t).values(id=pool.id, chip_id=pool.chip_id,
                                           chip_count=pool.chip_count, site=pool.site,
                                           country=pool.country))

    def list(self) -> list[PoolRow]:
        rows = self.conn.execute(select(t).order_by(t.c.id))
        return [PoolRow(r.id, r.chip_id, r.chip_count, r.site, r.country) for r in rows]
