"""round trip: extension callouts, every hook request as received, webhook registrations,
hinted tickets, the poll's watermark and counts; on ticket links the last activity reported by
Autotask and who completed the ticket there

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-01 15:20:00.324315
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hook_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("endpoint", sa.String(length=50), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("parsed", sa.JSON(), nullable=True),
        sa.Column("replays", sa.Integer(), server_default="0", nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_requests")),
    )
    with op.batch_alter_table("hook_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hook_requests_endpoint", ["channel", "endpoint", "received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hook_requests_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "roundtrip_callouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("udf_filter", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roundtrip_callouts")),
        sa.UniqueConstraint("name", name=op.f("uq_roundtrip_callouts_name")),
    )
    op.create_table(
        "roundtrip_hints",
        sa.Column("ticket_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_hint_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_activity", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hints", sa.Integer(), nullable=False),
        sa.Column("fetch_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetch_attempts", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_roundtrip_hints")),
    )
    with op.batch_alter_table("roundtrip_hints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roundtrip_hints_fetch_due_at"), ["fetch_due_at"], unique=False
        )

    op.create_table(
        "roundtrip_polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("announced", sa.Integer(), nullable=False),
        sa.Column("unannounced", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("unannounced_ids", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roundtrip_polls")),
    )
    with op.batch_alter_table("roundtrip_polls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roundtrip_polls_started_at"), ["started_at"], unique=False
        )

    op.create_table(
        "roundtrip_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("review_on_complete", sa.Boolean(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("own_resource_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roundtrip_state")),
    )
    op.create_table(
        "roundtrip_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.BigInteger(), nullable=True),
        sa.Column("guid", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=False),
        sa.Column("deactivation_url", sa.String(length=500), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("excluded_resource_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roundtrip_webhooks")),
    )
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("resolved_in_psa_by", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("resolved_in_psa_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.drop_column("resolved_in_psa_at")
        batch_op.drop_column("resolved_in_psa_by")
        batch_op.drop_column("last_activity_at")

    op.drop_table("roundtrip_webhooks")
    op.drop_table("roundtrip_state")
    with op.batch_alter_table("roundtrip_polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roundtrip_polls_started_at"))

    op.drop_table("roundtrip_polls")
    with op.batch_alter_table("roundtrip_hints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roundtrip_hints_fetch_due_at"))

    op.drop_table("roundtrip_hints")
    op.drop_table("roundtrip_callouts")
    with op.batch_alter_table("hook_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hook_requests_ticket_id"))
        batch_op.drop_index("ix_hook_requests_endpoint")

    op.drop_table("hook_requests")
