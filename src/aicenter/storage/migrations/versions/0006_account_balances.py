"""Running account balances: one row per account and commodity, kept by every booking, so a
grant's balance at admission no longer sums the grant's whole history of postings. Filled
from the postings booked so far.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_balances",
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("commodity", sa.String(length=10), nullable=False),
        sa.Column("amount", aicenter.storage.types.Micros(), nullable=False),
        sa.PrimaryKeyConstraint("account", "commodity"),
    )
    op.execute("INSERT INTO account_balances (account, commodity, amount) "
               "SELECT account, commodity, SUM(amount) FROM ledger_postings "
               "GROUP BY account, commodity")


def downgrade() -> None:
    op.drop_table("account_balances")
