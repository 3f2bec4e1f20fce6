"""Storage: SQLAlchemy tables, repositories returning domain objects, Alembic migrations."""

from aicenter.storage.db import Database, Tx

__all__ = ["Database", "Tx"]
