"""ticket duplicates: several Autotask tickets carrying one run's reference, and the choice made

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_duplicates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("open_run_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("tickets", sa.JSON(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("kept_ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("noted_ticket_ids", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"], ["ticket_links.id"], name=op.f("fk_ticket_duplicates_link_id_ticket_links")
        ),
        sa.ForeignKeyConstraint(
            ["open_run_id"], ["runs.id"], name=op.f("fk_ticket_duplicates_open_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_ticket_duplicates_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_duplicates")),
        sa.UniqueConstraint("open_run_id", name=op.f("uq_ticket_duplicates_open_run_id")),
    )
    with op.batch_alter_table("ticket_duplicates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_duplicates_run_id"), ["run_id"], unique=False)

    op.create_table(
        "ticket_duplicate_checks",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["ticket_links.id"],
            name=op.f("fk_ticket_duplicate_checks_link_id_ticket_links"),
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_ticket_duplicate_checks")),
    )


def downgrade() -> None:
    op.drop_table("ticket_duplicate_checks")
    with op.batch_alter_table("ticket_duplicates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_duplicates_run_id"))

    op.drop_table("ticket_duplicates")
