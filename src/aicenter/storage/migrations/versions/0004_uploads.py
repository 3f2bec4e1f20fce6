"""Uploads: a provider's file waits on the center's disk while a background ingest (resumable
after a crash) turns it into a dataset version.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_when = aicenter.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("provider_org_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("finished_at", _when, nullable=True),
        sa.ForeignKeyConstraint(["provider_org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_uploads_provider_org_id", "uploads", ["provider_org_id"])
    op.create_index("ix_uploads_status", "uploads", ["status"])


def downgrade() -> None:
    op.drop_index("ix_uploads_status", table_name="uploads")
    op.drop_index("ix_uploads_provider_org_id", table_name="uploads")
    op.drop_table("uploads")
