"""procrastinate job queue schema (PostgreSQL only)

The job queue tables belong to procrastinate; on SQLite, background work runs in-process and
needs no tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:00:00
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Straight to the driver without parameters: the schema holds colons and percent signs
        # that parameter parsing would misread.
        cursor = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        raise NotImplementedError(
            "procrastinate's schema is not removed automatically; drop the procrastinate_* "
            "tables, types and functions by hand if you really want to go back"
        )
