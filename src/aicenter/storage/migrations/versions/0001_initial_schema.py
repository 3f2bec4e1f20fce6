"""Initial schema: organisations, people, tokens, pools, calls, applications, reviews,
grants, jobs, usage records and the double-entry ledger.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("eligible_classes", sa.JSON(), nullable=False),
        sa.Column("max_chips_per_project", sa.JSON(), nullable=False),
        sa.Column("max_months", sa.Integer(), nullable=False),
        sa.Column("market_price_per_h100e_h", aicenter.storage.types.Micros(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payable_fraction", sa.JSON(), nullable=False),
        sa.Column("chase_team_priority", sa.Boolean(), nullable=False),
        sa.Column("regional_bonus", sa.Float(), nullable=False),
        sa.Column("concentration_threshold", sa.Float(), nullable=False),
        sa.Column("concentration_penalty", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("created_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_class", sa.String(length=40), nullable=False),
        sa.Column("chase_team", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=80), nullable=False),
        sa.Column("created_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "pools",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("chip_id", sa.String(length=80), nullable=False),
        sa.Column("chip_count", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("chips", sa.JSON(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("requested_h100e_h", aicenter.storage.types.Micros(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applications_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_applications_org_id"), ["org_id"], unique=False)

    op.create_table(
        "ledger_postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("commodity", sa.String(length=10), nullable=False),
        sa.Column("amount", aicenter.storage.types.Micros(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_postings_transaction_id"), ["transaction_id"], unique=False
        )
        batch_op.create_index("ix_postings_account", ["account", "commodity"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("created_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_org_id"), ["org_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("created_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_person_id"), ["person_id"], unique=False)

    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.String(length=40), nullable=True),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("budget_h100e_h", aicenter.storage.types.Micros(), nullable=False),
        sa.Column("chip_ids", sa.JSON(), nullable=False),
        sa.Column("starts_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "last_used_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "reclaim_notice_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_org_id"), ["org_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("application_id", sa.String(length=40), nullable=False),
        sa.Column("reviewer_id", sa.String(length=40), nullable=False),
        sa.Column("impact", sa.Float(), nullable=False),
        sa.Column("readiness", sa.Float(), nullable=False),
        sa.Column("ecosystem", sa.Float(), nullable=False),
        sa.Column("created_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("application_id", "reviewer_id"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("hold_h100e_h", aicenter.storage.types.Micros(), nullable=False),
        sa.Column(
            "submitted_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("chip", sa.String(length=80), nullable=True),
        sa.Column("chip_count", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=40), nullable=True),
        sa.Column("handle", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", aicenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "metered_until", aicenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "idempotency_key", name="uq_jobs_person_idempotency"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index("ix_jobs_org_submitted", ["org_id", "submitted_at"], unique=False)
        batch_op.create_index("ix_jobs_status", ["status"], unique=False)

    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("chip_id", sa.String(length=80), nullable=False),
        sa.Column("chip_count", sa.Integer(), nullable=False),
        sa.Column(
            "interval_start", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "interval_end", aicenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("chip_seconds", aicenter.storage.types.Micros(), nullable=False),
        sa.Column("h100e_seconds", aicenter.storage.types.Micros(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "interval_start", name="uq_usage_job_interval"),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index("ix_usage_org_start", ["org_id", "interval_start"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_org_start")

    op.drop_table("usage_records")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status")
        batch_op.drop_index("ix_jobs_org_submitted")
        batch_op.drop_index(batch_op.f("ix_jobs_grant_id"))

    op.drop_table("jobs")
    op.drop_table("reviews")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_org_id"))
        batch_op.drop_index(batch_op.f("ix_grants_call_id"))

    op.drop_table("grants")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_person_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_org_id"))

    op.drop_table("people")
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_postings_account")
        batch_op.drop_index(batch_op.f("ix_ledger_postings_transaction_id"))

    op.drop_table("ledger_postings")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_org_id"))
        batch_op.drop_index(batch_op.f("ix_applications_call_id"))

    op.drop_table("applications")
    op.drop_table("pools")
    op.drop_table("organisations")
    op.drop_table("ledger_transactions")
    op.drop_table("calls")
