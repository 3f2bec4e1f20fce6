"""Licensed-data exchange: datasets, licence offers, agreements, metered dataset reads; the
country of each pool (domestic datasets are read only on domestic pools).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_when = aicenter.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("pools") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=False,
                                   server_default="KR"))
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider_org_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("manifest_path", sa.Text(), nullable=False),
        sa.Column("domestic", sa.Boolean(), nullable=False),
        sa.Column("licence_text", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("croissant", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("pii_report", sa.JSON(), nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.ForeignKeyConstraint(["provider_org_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_datasets_provider_org_id", "datasets", ["provider_org_id"])
    op.create_table(
        "licence_offers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("provider_org_id", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.ForeignKeyConstraint(["provider_org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_licence_offers_provider_org_id", "licence_offers", ["provider_org_id"])
    op.create_index("ix_licence_offers_dataset_id", "licence_offers", ["dataset_id"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("accepted_at", _when, nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["licence_offers.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agreements_offer_id", "agreements", ["offer_id"])
    op.create_index("ix_agreements_org_id", "agreements", ["org_id"])
    op.create_index("ix_agreements_dataset_id", "agreements", ["dataset_id"])
    op.create_table(
        "dataset_reads",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _when, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"]),
        sa.PrimaryKeyConstraint("job_id", "dataset_id"),
    )
    op.create_index("ix_dataset_reads_org_id", "dataset_reads", ["org_id"])


def downgrade() -> None:
    op.drop_table("dataset_reads")
    op.drop_table("agreements")
    op.drop_table("licence_offers")
    op.drop_table("datasets")
    with op.batch_alter_table("pools") as batch:
        batch.drop_column("country")
