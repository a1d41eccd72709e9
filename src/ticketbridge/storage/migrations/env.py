from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from ticketbridge.storage.db import make_engine
from ticketbridge.storage.models import Base, UTCDateTime

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by ticketbridge.storage.migrate"
    connectable = config.attributes.get("connection") or make_engine(url)
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not depend on model code that may change later: our UTC column type is a
    # plain timezone-aware DateTime in the schema.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Any) -> None:
    # SQLite alters a table by copying it, dropping the original and renaming the copy; with
    # foreign keys enforced, dropping a table that other rows point at fails (or cascades).
    # SQLite's advice is to switch them off around such a change, outside any transaction (the
    # copy keeps every id, so the references hold again once it is renamed). A connection
    # handed in already inside a transaction is left as it is.
    switch = connection.dialect.name == "sqlite" and not connection.in_transaction()
    if switch:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        _migrate(connection)
    finally:
        if switch:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _migrate(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only alter tables by copying them
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
