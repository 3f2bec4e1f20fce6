"""Priority entitlements of organisations; chip counts and review waivers of grants; a call's
total budget; the reason an application was rejected.

Existing organisations get ``normal`` and ``best-effort``, and chase-team members also
``chase-team`` (the defaults of :func:`aicenter.domain.org.default_priority_classes`).
Existing grants get the chip counts their application asked for, capped by the call's
per-project cap, for the chip types they cover.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

import aicenter.storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    op.create_table(
        "org_priorities",
        sa.Column("org_id", sa.String(length=40), sa.ForeignKey("organisations.id"),
                  nullable=False),
        sa.Column("priority_class", sa.String(length=20), nullable=False),
        sa.Column("granted_at", aicenter.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "priority_class"),
    )
    op.add_column("calls", sa.Column("budget_h100e_h", aicenter.storage.types.Micros(),
                                     nullable=True))
    op.add_column("applications", sa.Column("decision_reason", sa.Text(), nullable=True))
    op.add_column("grants", sa.Column("chip_counts", sa.JSON(), nullable=True))
    op.add_column("grants", sa.Column("review_waiver", sa.Text(), nullable=True))
    conn = op.get_bind()
    for cls, where in (("normal", ""), ("best-effort", ""),
                       ("chase-team", " WHERE chase_team = :yes")):
        conn.execute(sa.text("INSERT INTO org_priorities (org_id, priority_class, granted_at) "
                             f"SELECT id, :cls, created_at FROM organisations{where}"),
                     {"cls": cls, "yes": True} if where else {"cls": cls})
    rows = conn.execute(sa.text(
        "SELECT g.id, g.chip_ids, a.chips, c.max_chips_per_project FROM grants g "
        "JOIN applications a ON a.id = g.application_id JOIN calls c ON c.id = g.call_id"))
    for grant_id, chip_ids, chips, caps in rows.fetchall():
        covered, asked, cap = _json(chip_ids) or [], _json(chips) or {}, _json(caps) or {}
        counts = {chip: min(int(asked[chip]), int(cap.get(chip, asked[chip])))
                  for chip in covered if chip in asked}
        conn.execute(sa.text("UPDATE grants SET chip_counts = :counts WHERE id = :id")
                     .bindparams(sa.bindparam("counts", type_=sa.JSON())),
                     {"counts": counts, "id": grant_id})


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite ≥ 3.35): a batch copy would drop and recreate
    # tables that other tables' rows refer to, which SQLite's foreign keys refuse.
    op.drop_column("grants", "review_waiver")
    op.drop_column("grants", "chip_counts")
    op.drop_column("applications", "decision_reason")
    op.drop_column("calls", "budget_h100e_h")
    op.drop_table("org_priorities")
