"""Indexes for the jobs list read a page at a time, newest first: (submitted_at, id) for
every job and (status, submitted_at, id) for one status. Without them PostgreSQL sorted every
job (rows of about 2 KB with their spec) to return the last page of 10,000: 90-140 ms.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_submitted", "jobs", ["submitted_at", "id"])
    op.create_index("ix_jobs_status_submitted", "jobs", ["status", "submitted_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_submitted", table_name="jobs")
    op.drop_index("ix_jobs_submitted", table_name="jobs")
