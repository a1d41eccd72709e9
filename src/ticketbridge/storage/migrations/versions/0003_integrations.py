"""integration settings, reference values and company mappings

Per-kind PSA settings (secret encrypted), cached picklists, customer-to-company mappings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:04:04.065222
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration_settings",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_integration_settings")),
    )
    op.create_table(
        "reference_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("value_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_values")),
        sa.UniqueConstraint(
            "kind", "category", "value_id", name=op.f("uq_reference_values_kind_category_value_id")
        ),
    )
    op.create_table(
        "company_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("company_name", sa.String(length=300), nullable=False),
        sa.Column("previous_name", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mapped_by", sa.String(length=200), nullable=False),
        sa.Column("mapped_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_company_mappings_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_mappings")),
        sa.UniqueConstraint(
            "kind", "customer_id", name=op.f("uq_company_mappings_kind_customer_id")
        ),
    )
    with op.batch_alter_table("company_mappings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_company_mappings_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_company_mappings_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("company_mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_company_mappings_customer_id"))
        batch_op.drop_index(batch_op.f("ix_company_mappings_company_id"))

    op.drop_table("company_mappings")
    op.drop_table("reference_values")
    op.drop_table("integration_settings")
