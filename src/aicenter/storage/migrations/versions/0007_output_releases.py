"""The release decision on the output of jobs that read licensed datasets (output control).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "output_releases",
        sa.Column("job_id", sa.String(length=40), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("provider_org_ids", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("checked_bytes", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", aicenter.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index("ix_output_releases_verdict", "output_releases", ["verdict"])


def downgrade() -> None:
    op.drop_index("ix_output_releases_verdict", table_name="output_releases")
    op.drop_table("output_releases")
