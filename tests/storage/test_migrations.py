"""The migrations build exactly the schema the tables module declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from aicenter.storage import Database
from aicenter.storage.tables import metadata


def test_migrated_schema_matches_the_tables_module(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, metadata)
    assert diff == []
