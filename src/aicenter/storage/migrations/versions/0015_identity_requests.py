"""OpenID Connect identities awaiting or having the operator's decision (identity_requests).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("issuer", sa.String(length=400), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", aicenter.storage.types.UtcDateTime(), nullable=False),
        sa.Column("suggested_org_id", sa.String(length=40), nullable=True),
        sa.Column("person_id", sa.String(length=40), sa.ForeignKey("people.id"),
                  nullable=True),
        sa.Column("decided_at", aicenter.storage.types.UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "subject", name="uq_identity_requests_issuer_subject"),
    )
    op.create_index("ix_identity_requests_status", "identity_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_identity_requests_status", table_name="identity_requests")
    op.drop_table("identity_requests")
