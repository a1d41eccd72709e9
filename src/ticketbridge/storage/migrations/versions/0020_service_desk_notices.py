"""service_desk_notices: the sender of a mail that made a ticket hears back (issue 16, item 5)

A service-desk mailbox gains its notification settings (``notify``: on or off, SMTP relay or
Graph, templates; None until an admin sets them, which means off) and the relay's password
(``notify_secret``, encrypted at rest). One notice per mail that made a ticket: composed when
the ticket is recorded, sent afterwards, its failures kept and tried again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_desk_mailboxes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("notify_secret", sa.Text(), nullable=True))
    op.create_table(
        "service_desk_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("desk_mail_id", sa.Integer(), nullable=False),
        sa.Column("ticket_key", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["service_desk_mailboxes.id"],
            name=op.f("fk_service_desk_notices_mailbox_id_service_desk_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["desk_mail_id"],
            ["service_desk_mails.id"],
            name=op.f("fk_service_desk_notices_desk_mail_id_service_desk_mails"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_desk_notices")),
        sa.UniqueConstraint("desk_mail_id", name=op.f("uq_service_desk_notices_desk_mail_id")),
    )
    with op.batch_alter_table("service_desk_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_desk_notices_mailbox_id"), ["mailbox_id"], unique=False
        )
        batch_op.create_index("ix_service_desk_notices_due", ["state", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_desk_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_service_desk_notices_due")
        batch_op.drop_index(batch_op.f("ix_service_desk_notices_mailbox_id"))
    op.drop_table("service_desk_notices")
    with op.batch_alter_table("service_desk_mailboxes", schema=None) as batch_op:
        batch_op.drop_column("notify_secret")
        batch_op.drop_column("notify")
