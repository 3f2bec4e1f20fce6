"""Pools are operated: their state (active, draining, removed) and creation time; jobs keep
the pool, site and country they ran on.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pools", sa.Column("state", sa.String(length=16), nullable=False,
                                     server_default="active"))
    op.add_column("pools", sa.Column("created_at", aicenter.storage.types.UtcDateTime(),
                                     nullable=True))
    op.add_column("jobs", sa.Column("pool_id", sa.String(length=40), nullable=True))
    op.add_column("jobs", sa.Column("site", sa.String(length=80), nullable=True))
    op.add_column("jobs", sa.Column("country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("country")
        batch.drop_column("site")
        batch.drop_column("pool_id")
    with op.batch_alter_table("pools") as batch:
        batch.drop_column("created_at")
        batch.drop_column("state")
