"""alerts: RMM alert mails carrying ATES tokens, their sources, customer mappings and devices

A branch of its own after the mail tables (0004), which it refers to; customers come from 0001,
an ancestor of 0004. See docs/alerts.md.

Revision ID: 0012
Revises: 0004
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("create_rule", sa.String(length=20), nullable=False),
        sa.Column("device_udf", sa.String(length=255), nullable=True),
        sa.Column("alert_udf", sa.String(length=255), nullable=True),
        sa.Column("ticket_udf", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_sources")),
        sa.UniqueConstraint("name_key", name=op.f("uq_alert_sources_name_key")),
    )
    op.create_table(
        "alert_customer_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_alert_customer_mappings_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["alert_sources.id"],
            name=op.f("fk_alert_customer_mappings_source_id_alert_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_customer_mappings")),
        sa.UniqueConstraint(
            "source_id",
            "customer_ref",
            name=op.f("uq_alert_customer_mappings_source_id_customer_ref"),
        ),
    )
    with op.batch_alter_table("alert_customer_mappings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_customer_mappings_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "alert_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("device_ref", sa.String(length=255), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("looked_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["alert_sources.id"],
            name=op.f("fk_alert_devices_source_id_alert_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_devices")),
        sa.UniqueConstraint(
            "source_id", "device_ref", name=op.f("uq_alert_devices_source_id_device_ref")
        ),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=True),
        sa.Column("customer_name", sa.String(length=255), nullable=True),
        sa.Column("device_ref", sa.String(length=255), nullable=True),
        sa.Column("alert_ref", sa.String(length=255), nullable=True),
        sa.Column("ticket_ref", sa.String(length=255), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("ci_id", sa.BigInteger(), nullable=True),
        sa.Column("ci_name", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_mail_id", sa.Integer(), nullable=True),
        sa.Column("last_mail_id", sa.Integer(), nullable=True),
        sa.Column("correlated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("ticket_number", sa.String(length=50), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("create_phase", sa.String(length=20), nullable=True),
        sa.Column("create_attempts", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_note_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_alerts_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["first_mail_id"],
            ["mail_messages.id"],
            name=op.f("fk_alerts_first_mail_id_mail_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_mail_id"],
            ["mail_messages.id"],
            name=op.f("fk_alerts_last_mail_id_mail_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["alert_sources.id"], name=op.f("fk_alerts_source_id_alert_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alerts_open_key")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_source_id"), ["source_id"], unique=False)
        batch_op.create_index(
            "ix_alerts_state_last_seen_at", ["state", "last_seen_at"], unique=False
        )

    op.create_table(
        "alert_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("noted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_occurrences_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["mail_id"],
            ["mail_messages.id"],
            name=op.f("fk_alert_occurrences_mail_id_mail_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_occurrences")),
        sa.UniqueConstraint("mail_id", name=op.f("uq_alert_occurrences_mail_id")),
    )
    with op.batch_alter_table("alert_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_occurrences_alert_id"), ["alert_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_occurrences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_occurrences_alert_id"))
    op.drop_table("alert_occurrences")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state_last_seen_at")
        batch_op.drop_index(batch_op.f("ix_alerts_source_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_customer_id"))
    op.drop_table("alerts")
    op.drop_table("alert_devices")
    with op.batch_alter_table("alert_customer_mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_customer_mappings_customer_id"))
    op.drop_table("alert_customer_mappings")
    op.drop_table("alert_sources")
