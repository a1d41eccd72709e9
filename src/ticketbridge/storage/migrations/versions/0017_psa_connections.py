"""psa_connections: named PSA connections of any registered kind

Until now an installation had one settings row per PSA kind (integration_settings, keyed by
"autotask"), and reference values, company mappings and ticket links named that kind. Now it has
named connections, several of one kind if need be; reference values, mappings and links belong
to a connection, and a customer may name the connection its runs' tickets go to (else the one
marked as the ticketing default).

Every kind found in the old tables becomes a connection of its own, with its settings, secret
(the ciphertext is moved as it is), reference data, mappings and ticket links, so no history is
lost; the first of them (the Autotask one in every installation so far) is the ticketing
default. Downgrade turns the first connection of each kind back into its settings row.

Revision ID: 0017
Revises: 0003
Depends on: 0005 (ticket_links)
Create Date: 2026-12-01 21:30:00.000000
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0005", "0001")

OWNED = ("reference_values", "company_mappings")
# The connector's own settings in the old flat settings (the rest is the ticket policy, which
# every kind shares); a connection keeps them under "connector".
CONNECTOR_KEYS = ("environment", "api_host", "username", "integration_code", "logging_level")


def upgrade() -> None:
    op.create_table(
        "psa_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("ticketing_default", sa.Boolean(), nullable=False),
        sa.Column("check_ok", sa.Boolean(), nullable=True),
        sa.Column("check_message", sa.String(length=500), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_psa_connections")),
        sa.UniqueConstraint("name", name=op.f("uq_psa_connections_name")),
    )
    bind = op.get_bind()
    connections = sa.table(
        "psa_connections",
        sa.column("config", sa.JSON()),
        *(
            sa.column(name)
            for name in [
                "id",
                "name",
                "kind",
                "enabled",
                "secret_encrypted",
                "ticketing_default",
                "created_at",
                "updated_by",
                "updated_at",
                "reference_synced_at",
            ]
        ),
    )
    settings = {
        row.kind: row
        for row in bind.execute(
            sa.text(
                "SELECT kind, enabled, config, secret_encrypted, updated_by, updated_at, "
                "reference_synced_at FROM integration_settings ORDER BY kind"
            )
        )
    }
    kinds = list(settings)
    for table in (*OWNED, "ticket_links"):
        for (kind,) in bind.execute(sa.text(f"SELECT DISTINCT kind FROM {table} ORDER BY kind")):
            if kind not in kinds:
                kinds.append(kind)
    now = datetime.now(UTC)
    ids = {}
    for number, kind in enumerate(kinds, start=1):
        row = settings.get(kind)
        bind.execute(
            connections.insert().values(
                id=number,
                name=kind.title(),
                kind=kind,
                enabled=bool(row.enabled) if row else False,
                config=_nest(_json(row.config)) if row else {},
                secret_encrypted=row.secret_encrypted if row else None,
                ticketing_default=number == 1,
                created_at=row.updated_at if row else now,
                updated_by=row.updated_by if row else "migration",
                updated_at=row.updated_at if row else now,
                reference_synced_at=row.reference_synced_at if row else None,
            )
        )
        ids[kind] = number
    if bind.dialect.name == "postgresql" and ids:
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('psa_connections', 'id'), :n)"
            ).bindparams(n=len(ids))
        )

    for table in (*OWNED, "ticket_links"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("connection_id", sa.Integer(), nullable=True))
        for kind, number in ids.items():
            bind.execute(
                sa.text(f"UPDATE {table} SET connection_id = :id WHERE kind = :kind").bindparams(
                    id=number, kind=kind
                )
            )
    with op.batch_alter_table("reference_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_group", sa.String(length=20), nullable=True))
        batch_op.drop_constraint("uq_reference_values_kind_category_value_id", type_="unique")
        batch_op.alter_column("connection_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("kind")
        batch_op.create_foreign_key(
            batch_op.f("fk_reference_values_connection_id_psa_connections"),
            "psa_connections",
            ["connection_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_reference_values_connection_id_category_value_id"),
            ["connection_id", "category", "value_id"],
        )
    with op.batch_alter_table("company_mappings", schema=None) as batch_op:
        batch_op.drop_constraint("uq_company_mappings_kind_customer_id", type_="unique")
        batch_op.alter_column("connection_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("kind")
        batch_op.create_foreign_key(
            batch_op.f("fk_company_mappings_connection_id_psa_connections"),
            "psa_connections",
            ["connection_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_company_mappings_connection_id_customer_id"),
            ["connection_id", "customer_id"],
        )
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.alter_column("connection_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_links_connection_id_psa_connections"),
            "psa_connections",
            ["connection_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_links_connection_id"), ["connection_id"], unique=False
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticketing_connection_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_ticketing_connection_id_psa_connections"),
            "psa_connections",
            ["ticketing_connection_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.drop_table("integration_settings")


def downgrade() -> None:
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
    bind = op.get_bind()
    first = {}
    for row in bind.execute(
        sa.text(
            "SELECT id, kind, enabled, config, secret_encrypted, updated_by, updated_at, "
            "reference_synced_at FROM psa_connections ORDER BY id"
        )
    ):
        if row.kind in first:
            continue
        first[row.kind] = row.id
        bind.execute(
            sa.text(
                "INSERT INTO integration_settings (kind, enabled, config, secret_encrypted, "
                "updated_by, updated_at, reference_synced_at) VALUES (:kind, :enabled, "
                ":config, :secret, :by, :at, :synced)"
            ).bindparams(
                sa.bindparam("config", type_=sa.JSON()),
                kind=row.kind,
                enabled=row.enabled,
                config=_flatten(_json(row.config)),
                secret=row.secret_encrypted,
                by=row.updated_by,
                at=row.updated_at,
                synced=row.reference_synced_at,
            )
        )
    kept = tuple(first.values()) or (0,)
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_customers_ticketing_connection_id_psa_connections", type_="foreignkey"
        )
        batch_op.drop_column("ticketing_connection_id")
    for table in OWNED:
        # Only one connection of a kind survives the way back: the others' rows go.
        bind.execute(
            sa.text(f"DELETE FROM {table} WHERE connection_id NOT IN :kept").bindparams(
                sa.bindparam("kept", expanding=True), kept=list(kept)
            )
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("kind", sa.String(length=30), nullable=True))
    for table in (*OWNED, "ticket_links"):
        for kind in first:
            bind.execute(
                sa.text(
                    f"UPDATE {table} SET kind = :kind WHERE connection_id IN "
                    "(SELECT id FROM psa_connections WHERE kind = :kind)"
                ).bindparams(kind=kind)
            )
    with op.batch_alter_table("reference_values", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_reference_values_connection_id_category_value_id", type_="unique"
        )
        batch_op.drop_constraint(
            "fk_reference_values_connection_id_psa_connections", type_="foreignkey"
        )
        batch_op.drop_column("connection_id")
        batch_op.drop_column("value_group")
        batch_op.alter_column("kind", existing_type=sa.String(length=30), nullable=False)
        batch_op.create_unique_constraint(
            "uq_reference_values_kind_category_value_id", ["kind", "category", "value_id"]
        )
    with op.batch_alter_table("company_mappings", schema=None) as batch_op:
        batch_op.drop_constraint("uq_company_mappings_connection_id_customer_id", type_="unique")
        batch_op.drop_constraint(
            "fk_company_mappings_connection_id_psa_connections", type_="foreignkey"
        )
        batch_op.drop_column("connection_id")
        batch_op.alter_column("kind", existing_type=sa.String(length=30), nullable=False)
        batch_op.create_unique_constraint(
            "uq_company_mappings_kind_customer_id", ["kind", "customer_id"]
        )
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_links_connection_id")
        batch_op.drop_constraint(
            "fk_ticket_links_connection_id_psa_connections", type_="foreignkey"
        )
        batch_op.drop_column("connection_id")
    op.drop_table("psa_connections")


def _json(value: object) -> dict[str, Any]:
    """A JSON column read through text(): a dict on PostgreSQL, its text on SQLite."""
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def _nest(config: dict[str, Any]) -> dict[str, Any]:
    connector = {k: config[k] for k in CONNECTOR_KEYS if k in config}
    policy = {k: v for k, v in config.items() if k not in CONNECTOR_KEYS}
    return {**policy, "connector": connector}


def _flatten(config: dict[str, Any]) -> dict[str, Any]:
    flat = dict(config)
    return {**(flat.pop("connector", None) or {}), **flat}
