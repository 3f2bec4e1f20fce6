"""Server-side sessions of the pages (web_sessions): the cookie's secret hashed, its person,
the API token signed in with, the CSRF secret, created, last seen and expiry.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=40), sa.ForeignKey("people.id"),
                  nullable=False),
        sa.Column("token_id", sa.String(length=40), nullable=True),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("csrf_secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", aicenter.storage.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", aicenter.storage.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", aicenter.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_sessions_person_id", "web_sessions", ["person_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_index("ix_web_sessions_person_id", table_name="web_sessions")
    op.drop_table("web_sessions")
