"""syncs: two-way ticket sync between two PSA connections

A sync pairs two named connections (side A, side B) with per-direction switches, a scope and
mapping tables; its watermarks per direction, the reference map of what was synced, failed
items waiting for a retry, its runs with their counts, and the conflict log. New tables only.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 22:10:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _sync_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["sync_id"], ["syncs.id"], name=op.f(f"fk_{table}_sync_id_syncs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("connection_a_id", sa.Integer(), nullable=False),
        sa.Column("connection_b_id", sa.Integer(), nullable=False),
        sa.Column("a_to_b", sa.Boolean(), nullable=False),
        sa.Column("b_to_a", sa.Boolean(), nullable=False),
        sa.Column("scope_a", sa.JSON(), nullable=False),
        sa.Column("scope_b", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        _when("start_date"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        _when("lease_until", nullable=True),
        _when("created_at"),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["connection_a_id"],
            ["psa_connections.id"],
            name=op.f("fk_syncs_connection_a_id_psa_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_b_id"],
            ["psa_connections.id"],
            name=op.f("fk_syncs_connection_b_id_psa_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_syncs")),
        sa.UniqueConstraint("name", name=op.f("uq_syncs_name")),
    )
    with op.batch_alter_table("syncs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_syncs_connection_a_id"), ["connection_a_id"])
        batch_op.create_index(batch_op.f("ix_syncs_connection_b_id"), ["connection_b_id"])

    op.create_table(
        "sync_watermarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        _when("watermark"),
        _sync_fk("sync_watermarks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_watermarks")),
        sa.UniqueConstraint(
            "sync_id", "direction", "kind", name=op.f("uq_sync_watermarks_sync_id_direction_kind")
        ),
    )

    op.create_table(
        "sync_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("a_id", sa.String(length=100), nullable=False),
        sa.Column("b_id", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=1), nullable=False),
        sa.Column("a_hash", sa.String(length=64), nullable=False),
        sa.Column("b_hash", sa.String(length=64), nullable=False),
        sa.Column("a_field_hashes", sa.JSON(), nullable=False),
        sa.Column("b_field_hashes", sa.JSON(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sa.String(length=300), nullable=False),
        _when("last_synced"),
        _sync_fk("sync_references"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_references")),
        sa.UniqueConstraint(
            "sync_id", "kind", "a_id", name=op.f("uq_sync_references_sync_id_kind_a_id")
        ),
        sa.UniqueConstraint(
            "sync_id", "kind", "b_id", name=op.f("uq_sync_references_sync_id_kind_b_id")
        ),
    )

    op.create_table(
        "sync_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("side", sa.String(length=1), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("first_failed_at"),
        _when("last_failed_at"),
        _when("next_retry_at"),
        _sync_fk("sync_failures"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_failures")),
        sa.UniqueConstraint(
            "sync_id",
            "kind",
            "side",
            "item_id",
            name=op.f("uq_sync_failures_sync_id_kind_side_item_id"),
        ),
    )

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=False),
        _when("started_at"),
        _when("finished_at", nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        _sync_fk("sync_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_sync_id"), ["sync_id"])

    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("a_id", sa.String(length=100), nullable=False),
        sa.Column("b_id", sa.String(length=100), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=False),
        sa.Column("winner", sa.String(length=1), nullable=False),
        sa.Column("winner_value", sa.Text(), nullable=True),
        sa.Column("loser_value", sa.Text(), nullable=True),
        _when("winner_modified_at"),
        _when("loser_modified_at"),
        _when("recorded_at"),
        _sync_fk("sync_conflicts"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name=op.f("fk_sync_conflicts_run_id_sync_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflicts")),
    )
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_conflicts_sync_id"), ["sync_id"])


def downgrade() -> None:
    op.drop_table("sync_conflicts")
    op.drop_table("sync_runs")
    op.drop_table("sync_failures")
    op.drop_table("sync_references")
    op.drop_table("sync_watermarks")
    op.drop_table("syncs")
