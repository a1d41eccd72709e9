"""service_desk_*: mailboxes whose mail becomes tickets (issue 16)

A mail source named in service_desk_mailboxes has the service desk as its purpose, with a
target connection and default routing; every other source keeps reading backup reports, and
mail_sources is not changed. Conversations (one row per ticket a conversation made), the mails
a mailbox handled (what each made, or why nothing) and routing rules belong to a mailbox.

Revision ID: 0019
Revises: 0017
Depends on: 0004 (mail_sources, mail_messages)
Create Date: 2026-12-01 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0004",)

KEY_LENGTH = 520


def upgrade() -> None:
    op.create_table(
        "service_desk_mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("default_board", sa.String(length=100), nullable=False),
        sa.Column("default_category", sa.String(length=100), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mail_sources.id"],
            name=op.f("fk_service_desk_mailboxes_source_id_mail_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["psa_connections.id"],
            name=op.f("fk_service_desk_mailboxes_connection_id_psa_connections"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_desk_mailboxes")),
        sa.UniqueConstraint("source_id", name=op.f("uq_service_desk_mailboxes_source_id")),
    )
    with op.batch_alter_table("service_desk_mailboxes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_desk_mailboxes_connection_id"), ["connection_id"], unique=False
        )

    op.create_table(
        "service_desk_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("conversation_key", sa.String(length=KEY_LENGTH), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("ticket_key", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("board", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_mail_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["service_desk_mailboxes.id"],
            name=op.f("fk_service_desk_conversations_mailbox_id_service_desk_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["psa_connections.id"],
            name=op.f("fk_service_desk_conversations_connection_id_psa_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["service_desk_conversations.id"],
            name=op.f("fk_service_desk_conversations_replaces_id"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_desk_conversations")),
    )
    with op.batch_alter_table("service_desk_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_desk_conversations_key", ["mailbox_id", "conversation_key"], unique=False
        )
        batch_op.create_index(
            "ix_service_desk_conversations_ticket", ["mailbox_id", "ticket_key"], unique=False
        )

    op.create_table(
        "service_desk_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=KEY_LENGTH), nullable=False),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("comment_id", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["service_desk_mailboxes.id"],
            name=op.f("fk_service_desk_mails_mailbox_id_service_desk_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mail_id"],
            ["mail_messages.id"],
            name=op.f("fk_service_desk_mails_mail_id_mail_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["service_desk_conversations.id"],
            name=op.f("fk_service_desk_mails_conversation_id"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_desk_mails")),
        sa.UniqueConstraint(
            "mailbox_id", "message_key", name=op.f("uq_service_desk_mails_mailbox_id_message_key")
        ),
    )
    with op.batch_alter_table("service_desk_mails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_desk_mails_mail_id"), ["mail_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_desk_mails_sender", ["mailbox_id", "sender", "outcome"], unique=False
        )

    op.create_table(
        "service_desk_routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("sender_domains", sa.JSON(), nullable=False),
        sa.Column("subject_pattern", sa.String(length=200), nullable=False),
        sa.Column("board", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["service_desk_mailboxes.id"],
            name=op.f("fk_service_desk_routing_rules_mailbox_id_service_desk_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_desk_routing_rules")),
        sa.UniqueConstraint(
            "mailbox_id", "position", name=op.f("uq_service_desk_routing_rules_mailbox_id_position")
        ),
    )


def downgrade() -> None:
    op.drop_table("service_desk_routing_rules")
    with op.batch_alter_table("service_desk_mails", schema=None) as batch_op:
        batch_op.drop_index("ix_service_desk_mails_sender")
        batch_op.drop_index(batch_op.f("ix_service_desk_mails_mail_id"))
    op.drop_table("service_desk_mails")
    with op.batch_alter_table("service_desk_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_service_desk_conversations_ticket")
        batch_op.drop_index("ix_service_desk_conversations_key")
    op.drop_table("service_desk_conversations")
    with op.batch_alter_table("service_desk_mailboxes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_desk_mailboxes_connection_id"))
    op.drop_table("service_desk_mailboxes")
