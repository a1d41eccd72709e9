from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from ticketbridge.storage.models import Base


def _ours(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """procrastinate's queue tables are its own business."""
    table = name if type_ == "table" else parent_names.get("table_name")
    return not (table or "").startswith("procrastinate_")


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    """The schema the migrations make is the schema the code expects: a model change without a
    migration fails here, on SQLite and PostgreSQL."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _ours}
        )
        differences = compare_metadata(context, Base.metadata)

    assert differences == []
