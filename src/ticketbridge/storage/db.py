"""Engines and sessions."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def make_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """``pool_size``: as many connections as threads may hold at once (see
    Settings.database_pool_size), so that no request ever waits for one."""
    if pool_size is not None:
        kwargs |= {"pool_size": pool_size, "max_overflow": 10}
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "connect", _postgresql_settings)
    return engine


def private_dir(path: Path) -> None:
    """Create ``path`` readable by its owner only (0700), or narrow it to that if it is ours and
    wider: it holds the embedded database and the demo's secret key."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _narrow(path, 0o700)


def _private_sqlite_file(url: str) -> None:
    """The embedded database (password hashes, encrypted secrets, the audit trail) is created
    empty here, readable by its owner only (0600), before SQLite would create it with the
    umask's wider mode; SQLite gives its -wal and -shm files the database file's mode. A
    directory made for it is 0700, and an older, wider file of ours is narrowed."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            _narrow(existing, 0o600)


def _narrow(path: Path, mode: int) -> None:
    owner = getattr(os, "geteuid", None)  # POSIX only; elsewhere modes mean little
    try:
        stat = path.stat()
    except FileNotFoundError:
        return
    if owner is not None and stat.st_uid == owner() and stat.st_mode & 0o077:
        path.chmod(mode)
        log.warning("%s was readable by others; narrowed it to %o", path, mode)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web process read while the in-process worker writes; foreign keys are off by
    # default in SQLite and we rely on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgresql_settings(dbapi_connection: Any, _record: Any) -> None:
    # Our statements are short reads and writes. PostgreSQL compiles (JIT) any whose cost
    # estimate passes jit_above_cost, and a substring search it cannot estimate gets there:
    # Run Checks searching its queue took 72 ms with JIT and 25 ms without. Set for the
    # session, outside a transaction, so that no rollback undoes it.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.autocommit = autocommit


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def serialise_writers(session: Session, key: int) -> None:
    """Let one transaction at a time past this point for ``key``, until it commits or rolls
    back: concurrent writers that would race on unique keys queue instead, and what they read
    from here on is what the previous one committed. PostgreSQL takes a transaction-scoped
    advisory lock. SQLite has one writer lock for the whole file, but the driver only takes it
    at the first write, after our reads: the transaction takes it now (BEGIN IMMEDIATE, waiting
    up to the busy timeout), unless an earlier write of this transaction already holds it."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":
        take_sqlite_write_lock(session)


def take_sqlite_write_lock(session: Session) -> None:
    """SQLite's one writer lock, now rather than at the transaction's first write (BEGIN
    IMMEDIATE), unless an earlier write of this transaction already holds it."""
    raw = session.connection().connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        session.execute(text("BEGIN IMMEDIATE"))


def add_or_rename(session: Session, row: Any, name: str) -> bool:
    """Add ``row``, or rename it to ``name``, and write now; False when a unique name refuses it
    (a row of that name stored by a concurrent request since the caller's look-up), so the
    caller can answer 422 instead of failing its commit with a 500. Inside a savepoint, so a
    refusal leaves the session usable and the row unchanged."""
    try:
        with session.begin_nested():
            if row in session:
                row.name = name
            else:
                session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True
