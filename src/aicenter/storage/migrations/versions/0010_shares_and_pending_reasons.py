"""Guaranteed shares of organisations and calls; the reason a queued job waits.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("holder_kind", sa.String(length=12), nullable=False),
        sa.Column("holder_id", sa.String(length=40), nullable=False),
        sa.Column("guaranteed_h100e", aicenter.storage.types.Micros(), nullable=False),
        sa.Column("set_at", aicenter.storage.types.UtcDateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("holder_kind", "holder_id"),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("pending_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("pending_reason")
    op.drop_table("shares")
