"""ticket links: one current link per run (unique current_run_id), history kept

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-22 14:12:04.784305
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("current_run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("ticket_number", sa.String(length=50), nullable=True),
        sa.Column("ticket_url", sa.String(length=500), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_id", sa.Integer(), nullable=True),
        sa.Column("last_status_label", sa.String(length=100), nullable=True),
        sa.Column("last_status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.Column("time_entries", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_evidence", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["current_run_id"], ["runs.id"], name=op.f("fk_ticket_links_current_run_id_runs")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_ticket_links_run_id_runs")),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["ticket_links.id"],
            name=op.f("fk_ticket_links_superseded_by_id_ticket_links"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_links")),
        sa.UniqueConstraint("current_run_id", name=op.f("uq_ticket_links_current_run_id")),
    )
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_links_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_ticket_links_state_ticket", ["state", "ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_links_state_ticket")
        batch_op.drop_index(batch_op.f("ix_ticket_links_run_id"))

    op.drop_table("ticket_links")
