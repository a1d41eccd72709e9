"""syncs: entity switches, the last dry run and a requested run (issue 14, items 1, 6, 8)

A sync is enabled only after a dry run (``dry_run_at``); a run asked for from the API or the
page is a request the worker takes (``run_requested_at``), so the web never runs a sync itself.

Revision ID: 0021
Revises: 0020, 0018 (syncs): it joins the two branches, so that 0018 is no head of its own
Create Date: 2026-12-02 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = ("0020", "0018")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("syncs", schema=None) as batch_op:
        # Existing syncs carry tickets only: every entity switch off.
        batch_op.add_column(
            sa.Column("entities", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("dry_run_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("run_requested_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("syncs", schema=None) as batch_op:
        batch_op.drop_column("run_requested_at")
        batch_op.drop_column("dry_run_at")
        batch_op.drop_column("entities")
