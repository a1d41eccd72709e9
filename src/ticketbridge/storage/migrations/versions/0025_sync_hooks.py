"""sync_hooks: a webhook secret per connection whose changes start its syncs early (issue 14,
item 9)

A PSA that posts its changes (a Jira webhook) to ``/hooks/<kind>/<connection>`` proves the
post with the secret kept here, encrypted; a post that checks out asks each enabled sync using
the connection for a run.

Revision ID: 0025
Revises: 0028
Create Date: 2026-12-02 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_hooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["psa_connections.id"],
            name=op.f("fk_sync_hooks_connection_id_psa_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_hooks")),
        sa.UniqueConstraint("connection_id", name=op.f("uq_sync_hooks_connection_id")),
    )


def downgrade() -> None:
    op.drop_table("sync_hooks")
