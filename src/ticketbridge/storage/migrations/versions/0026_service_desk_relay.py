"""service_desk_relay: public PSA comments relayed to the reporter (issue 16, item 5)

A notice may now be a relayed comment rather than a ticket's notification: ``desk_mail_id``
becomes optional, ``note_key`` names the PSA's note (unique per mailbox, so each comment is
relayed once whatever runs it), and ``conversation_id`` ties every notice to its conversation
for threading. ``service_desk_relay_marks`` keeps each mailbox's watermark per connection.

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-02 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_desk_notices", schema=None) as batch_op:
        batch_op.alter_column("desk_mail_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("conversation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note_key", sa.String(length=100), nullable=True))
        batch_op.create_foreign_key(
            "fk_service_desk_notices_conversation_id",
            "service_desk_conversations",
            ["conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(
            "uq_service_desk_notices_note", ["mailbox_id", "note_key"]
        )
    op.create_table(
        "service_desk_relay_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["service_desk_mailboxes.id"],
            name=op.f("fk_service_desk_relay_marks_mailbox_id_service_desk_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["psa_connections.id"],
            name=op.f("fk_service_desk_relay_marks_connection_id_psa_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_desk_relay_marks")),
        sa.UniqueConstraint(
            "mailbox_id",
            "connection_id",
            name=op.f("uq_service_desk_relay_marks_mailbox_id_connection_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("service_desk_relay_marks")
    op.execute("DELETE FROM service_desk_notices WHERE desk_mail_id IS NULL")
    with op.batch_alter_table("service_desk_notices", schema=None) as batch_op:
        batch_op.drop_constraint("uq_service_desk_notices_note", type_="unique")
        batch_op.drop_constraint("fk_service_desk_notices_conversation_id", type_="foreignkey")
        batch_op.drop_column("note_key")
        batch_op.drop_column("conversation_id")
        batch_op.alter_column("desk_mail_id", existing_type=sa.Integer(), nullable=False)
