"""name keys: customers, jobs and mail sources are unique by their normalised names

Customers were unique by their exact name (and by lower() in the services, which folds ASCII
only and differs between SQLite and PostgreSQL), so 'ÖKO Bau' and 'öko bau' became two customers
and a second 'ÖKO Bau' hit the constraint as a 500. Each of these tables gets a key column
(NFKC + case folding + collapsed whitespace, core/names.py) that carries the unique constraint.

Rows that already clash under the new key stay as they are: the oldest row (lowest id) gets the
plain key and is the one names match from now on; every later one gets its key followed by
U+001F and its id, which no name can produce (names may not hold control characters), so the
migration never fails on existing data and no row is merged or lost. Each such row is written to
the audit trail (action "name.clash") so an admin can rename, merge or deactivate it; renaming
it gives it a plain key again.

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-05 12:00:00.000000
"""

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
# After the customers and jobs (0001, an ancestor of 0004) and the mail sources (0004).
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLASH_MARK = "\x1f"


def _key(name: str, length: int) -> str:
    # A copy of core.names.normalise as of this revision: a migration must fill the same keys
    # whatever later code does. A later change of the rule needs a migration of its own.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())[:length]


def _fill(
    table: str, key_columns: dict[str, tuple[str, int]], scope: Sequence[str], subject: str
) -> None:
    """Fill ``key_columns`` ({key column: (source column, length)}) row by row, oldest first;
    a key already taken within ``scope`` columns gets the clash mark and the row's id."""
    bind = op.get_bind()
    columns: list[sa.ColumnClause[Any]] = [sa.column(c) for c in ("id", *scope)]
    columns += [sa.column(source) for source, _ in key_columns.values()]
    rows = bind.execute(sa.select(*columns).select_from(sa.table(table)).order_by(sa.text("id")))
    target = sa.table(table, *(sa.column(c) for c in ("id", *key_columns)))
    taken: dict[tuple[object, ...], int] = {}
    clashes: list[dict[str, object]] = []
    for row in rows.mappings().all():
        keys = {
            key: _key(row[source] or "", length) for key, (source, length) in key_columns.items()
        }
        identity = (*(row[c] for c in scope), *keys.values())
        if identity in taken:
            last = list(key_columns)[-1]
            suffix = f"{CLASH_MARK}{row['id']}"
            length = key_columns[last][1]
            keys[last] = keys[last][: length - len(suffix)] + suffix
            clashes.append(
                {
                    "id": row["id"],
                    "kept_id": taken[identity],
                    "names": {source: row[source] for source, _ in key_columns.values()},
                }
            )
        else:
            taken[identity] = row["id"]
        op.execute(target.update().where(target.c.id == row["id"]).values(**keys))
    if clashes:
        audit = sa.table(
            "audit_events",
            sa.column("occurred_at", sa.DateTime(timezone=True)),
            sa.column("actor", sa.String),
            sa.column("action", sa.String),
            sa.column("subject", sa.String),
            sa.column("outcome", sa.String),
            sa.column("details", sa.JSON),
        )
        now = datetime.now(UTC)
        if bind.dialect.name == "sqlite":
            now = now.replace(tzinfo=None)  # UTCDateTime keeps naive UTC on SQLite
        op.bulk_insert(
            audit,
            [
                {
                    "occurred_at": now,
                    "actor": "migration 0009",
                    "action": "name.clash",
                    "subject": f"{subject} {clash['id']}",
                    "outcome": "kept",
                    "details": {
                        "reason": f"same normalised name as {subject} {clash['kept_id']}, "
                        "which now matches the name; rename, merge or deactivate this one",
                        **clash,
                    },
                }
                for clash in clashes
            ],
        )


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=400), nullable=True))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("job_name_key", sa.String(length=600), nullable=True))
    with op.batch_alter_table("mail_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=400), nullable=True))

    _fill("customers", {"name_key": ("name", 400)}, (), "customer")
    _fill(
        "jobs",
        {"product_key": ("backup_product", 200), "job_name_key": ("job_name", 600)},
        ("customer_id",),
        "job",
    )
    _fill("mail_sources", {"name_key": ("name", 400)}, (), "mail source")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=400), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_customers_name_key"), ["name_key"])
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column("product_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column("job_name_key", existing_type=sa.String(length=600), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_jobs_customer_id_product_key_job_name_key"),
            ["customer_id", "product_key", "job_name_key"],
        )
    with op.batch_alter_table("mail_sources", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=400), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_mail_sources_name_key"), ["name_key"])


def downgrade() -> None:
    with op.batch_alter_table("mail_sources", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_mail_sources_name_key"), type_="unique")
        batch_op.drop_column("name_key")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_jobs_customer_id_product_key_job_name_key"), type_="unique"
        )
        batch_op.drop_column("job_name_key")
        batch_op.drop_column("product_key")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_customers_name_key"), type_="unique")
        batch_op.drop_column("name_key")
