"""Writing many rows at once, for the hot paths that store thousands (run ingest).

The ORM's unit of work and even a Core ``INSERT ... VALUES`` of hundreds of rows cost more in
Python than the database spends storing them: the statement is rendered, the driver parses it
again, every value is bound one by one. Here PostgreSQL gets one ``COPY ... FROM STDIN`` per
table and SQLite one prepared ``INSERT`` run over every row (``executemany``). Values pass through
the columns' own bind processors, so a time is stored exactly as the ORM would store it (UTC; on
SQLite in SQLAlchemy's text format).

Ids are handed out before the rows go in (:func:`next_ids`), so a run's objects can be copied
in the same way, naming their run, without reading anything back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, Table, bindparam, func, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from ticketbridge.storage.db import take_sqlite_write_lock
from ticketbridge.storage.models.base import Base


def next_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """``count`` new ids for the integer ``id`` of ``model``'s table, ascending.

    On PostgreSQL they come from the column's sequence, so they are never handed out twice. On
    SQLite a row's id is the largest so far plus one, read under the write lock, which keeps
    every other writer out until the commit (taken here when the transaction has not yet).
    """
    if count <= 0:
        return []
    table = _table(model)
    if session.get_bind().dialect.name == "postgresql":
        # Read by the driver alone: a result row by row through SQLAlchemy cost more than
        # the sequence handing out the ids.
        raw: Any = session.connection().connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table.name, count),
            )
            return sorted(row[0] for row in cursor.fetchall())
    take_sqlite_write_lock(session)
    last = session.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')).scalar_one()
    return list(range(last + 1, last + 1 + count))


def insert_rows(
    session: Session, model: type[Base], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in the order of ``columns``) within the session's transaction.

    A broken unique key or foreign key raises SQLAlchemy's IntegrityError, as any other write
    through the session would, so callers retry or refuse the same way.
    """
    table = _table(model)
    dialect = session.get_bind().dialect
    processors = _processors(table, columns, dialect)
    converted = (_convert(row, processors) for row in rows) if processors else rows
    # The driver's own connection (psycopg or sqlite3), in the session's transaction.
    raw: Any = session.connection().connection.dbapi_connection
    names = ", ".join(f'"{name}"' for name in columns)
    try:
        if dialect.name == "postgresql":
            statement = f'COPY "{table.name}" ({names}) FROM STDIN'
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in converted:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
            cursor = raw.cursor()
            try:
                cursor.executemany(statement, converted)
            finally:
                cursor.close()
    except dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc


def by_unique_key(
    session: Session,
    key: InstrumentedAttribute[Any],
    values: Collection[Any],
    columns: Sequence[InstrumentedAttribute[Any]],
    *conditions: ColumnElement[bool],
) -> list[tuple[Any, ...]]:
    """``columns`` of the rows whose ``key`` is one of ``values``, where ``key`` and the
    columns compared in ``conditions`` (by equality) make a unique index.

    On PostgreSQL each value is one probe of that index (a LATERAL look-up of at most one row,
    which the planner cannot turn into a join). A plain join or an IN list is planned by the
    table's statistics, and while they lag behind a table filling up (a new install, an import)
    the planner reads every row instead: 113 ms for 500 ids among 300,000 runs, against 0.8 ms.
    SQLite looks each value of an IN list up in the index.
    """
    if not values:
        return []
    if session.get_bind().dialect.name != "postgresql":
        query: Select[Any] = select(*columns).where(*conditions, key.in_(values))
    else:
        wanted = (
            func.unnest(bindparam("wanted", list(values), type_=ARRAY(key.type)))
            .table_valued("value")
            .render_derived()
        )
        found = select(*columns).where(*conditions, key == wanted.c.value).limit(1).lateral()
        query = select(found).select_from(wanted).join(found, true())
    return [tuple(row) for row in session.execute(query)]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


Processors = list[tuple[int, Callable[[Any], Any]]]


def _processors(table: Table, columns: Sequence[str], dialect: Any) -> Processors:
    found: Processors = []
    for position, name in enumerate(columns):
        # The dialect's own form of the type: SQLite's keeps times as text in its own format.
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            found.append((position, processor))
    return found


def _convert(row: Sequence[Any], processors: Processors) -> list[Any]:
    values = list(row)
    for position, processor in processors:
        values[position] = processor(values[position])
    return values
