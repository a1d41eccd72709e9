"""mail intake: sources, raw mail, inbox rules, job mail keys, schedule state

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 14:05:46.991485
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("watermark", sa.JSON(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("fetched_count", sa.Integer(), nullable=False),
        sa.Column("stored_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_mail_sources_name")),
    )
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=300), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("raw_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("awaiting_approval", sa.Boolean(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=False),
        sa.Column("parser", sa.String(length=50), nullable=True),
        sa.Column("detected", sa.JSON(), nullable=False),
        sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mail_sources.id"],
            name=op.f("fk_mail_messages_source_id_mail_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint("message_key", name=op.f("uq_mail_messages_message_key")),
    )
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_messages_key_digest"), ["key_digest"], unique=False
        )
        batch_op.create_index("ix_mail_messages_received", ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_messages_source_id"), ["source_id"], unique=False)
        batch_op.create_index(
            "ix_mail_messages_state_received", ["state", "received_at"], unique=False
        )

    op.create_table(
        "mail_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject_pattern", sa.String(length=300), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_mail_rules_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_rules")),
    )
    op.create_table(
        "job_schedule_states",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("opt_out", sa.Boolean(), nullable=False),
        sa.Column("learned", sa.JSON(), nullable=True),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_schedule_states_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_schedule_states")),
    )
    op.create_table(
        "mail_job_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("job_name", sa.String(length=300), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_mail_job_keys_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_job_keys")),
        sa.UniqueConstraint(
            "sender", "product", "job_name", name=op.f("uq_mail_job_keys_sender_product_job_name")
        ),
    )
    with op.batch_alter_table("mail_job_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_job_keys_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mail_job_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_job_keys_job_id"))

    op.drop_table("mail_job_keys")
    op.drop_table("job_schedule_states")
    op.drop_table("mail_rules")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_messages_state_received")
        batch_op.drop_index(batch_op.f("ix_mail_messages_source_id"))
        batch_op.drop_index("ix_mail_messages_received")
        batch_op.drop_index(batch_op.f("ix_mail_messages_key_digest"))

    op.drop_table("mail_messages")
    op.drop_table("mail_sources")
