"""mail_subscriptions: Microsoft Graph change-notification subscriptions of mail sources, and
the server's conversation id of a stored mail (issue 16, items 1 and 2)

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-02 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.String(length=300), nullable=True))
    op.create_table(
        "mail_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=200), nullable=True),
        sa.Column("client_state", sa.Text(), nullable=False),
        sa.Column("notification_url", sa.String(length=1000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mail_sources.id"],
            name=op.f("fk_mail_subscriptions_source_id_mail_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_subscriptions")),
        sa.UniqueConstraint("source_id", name=op.f("uq_mail_subscriptions_source_id")),
    )


def downgrade() -> None:
    op.drop_table("mail_subscriptions")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_column("conversation_id")
