"""Column types that keep quantities exact on SQLite and PostgreSQL alike.

SQLite has no exact decimal type, so amounts are stored as integers of millionths
(``Micros``): sums in SQL stay exact and fast on both databases. Datetimes are stored in UTC
and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

SCALE = Decimal(1_000_000)
MICRO = Decimal("0.000001")


def to_micro(value: Decimal) -> Decimal:
    """Round to the stored precision (one millionth, half to even)."""
    return value.quantize(MICRO, ROUND_HALF_EVEN)


class Micros(TypeDecorator[Decimal]):
    """A Decimal stored as a BigInteger number of millionths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * SCALE).to_integral_value(ROUND_HALF_EVEN))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)) / SCALE


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        result: datetime = value.astimezone(UTC)
        return result.replace(tzinfo=None) if dialect.name == "sqlite" else result

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]
