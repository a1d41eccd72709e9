"""Copies of the database and what a copy holds: SQLite's online backup, pg_dump for
PostgreSQL, and the facts a restore check needs (integrity, Alembic revision, row counts, the
encrypted secrets)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, table, text
from sqlalchemy import column as sql_column
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql.expression import ColumnClause

from ticketbridge.storage.migrate import alembic_config

# The tables a restore check counts: what people would miss first.
MAIN_TABLES = (
    "users",
    "customers",
    "jobs",
    "runs",
    "run_objects",
    "mail_messages",
    "ticket_links",
    "alerts",
    "audit_events",
)
# Columns holding secrets encrypted with the installation's secret key (storage/secrets.py).
ENCRYPTED_COLUMNS = (
    ("psa_connections", "secret_encrypted"),
    ("mail_sources", "secret"),
    ("roundtrip_callouts", "password_encrypted"),
    ("roundtrip_webhooks", "secret_encrypted"),
    ("service_desk_mailboxes", "notify_secret"),
)


class BackupError(Exception):
    """The copy could not be made or read; the message says why, plainly."""


def sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database through its online backup API: one step,
    so the copy is the database as of one moment while writers go on (in WAL mode they are
    not held up). Written beside the target and renamed into place, owner-readable only."""
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file")
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
                # One self-contained file, readable without its -wal and -shm companions.
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        os.replace(partial, target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy of {source} failed: {exc}") from exc


@dataclass(frozen=True)
class PgDump:
    """How to dump a PostgreSQL database: the command (no password in it) and its environment."""

    command: list[str]
    env: dict[str, str]

    def shown(self) -> str:
        return " ".join(self.command)


def pg_dump_command(database_url: str, target: Path) -> PgDump:
    """pg_dump in its custom format (compressed, restored with pg_restore). The password goes
    in PGPASSWORD and connection options (a search_path) in PGOPTIONS, never on the command
    line, where other users of the machine could read them."""
    url: URL = make_url(database_url)
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}"]
    for flag, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value:
            command.append(f"{flag}={value}")
    command.append(f"--dbname={url.database or ''}")
    env: dict[str, str] = {}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    options = url.query.get("options")
    if isinstance(options, str):
        env["PGOPTIONS"] = options
    return PgDump(command, env)


def run_pg_dump(dump: PgDump) -> None:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed here")
    done = subprocess.run(
        dump.command, env={**os.environ, **dump.env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")


def integrity_problems(path: Path) -> list[str]:
    """SQLite's own check of the file: empty when it is sound. A file that is no database (or
    is damaged in its header) raises BackupError."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from exc
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def expected_revisions() -> set[str]:
    """The Alembic heads this version of ticketbridge migrates to."""
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def stored_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return {str(v) for v in connection.scalars(text("SELECT version_num FROM alembic_version"))}


def row_counts(connection: Connection) -> dict[str, int | None]:
    """Rows per main table; None for a table the copy does not have."""
    present = set(inspect(connection).get_table_names())
    return {
        name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
        if name in present
        else None
        for name in MAIN_TABLES
    }


def encrypted_values(connection: Connection) -> list[tuple[str, str]]:
    """Every stored encrypted secret, with the table it came from."""
    present = set(inspect(connection).get_table_names())
    found: list[tuple[str, str]] = []
    for name, column_name in ENCRYPTED_COLUMNS:
        if name not in present:
            continue
        column: ColumnClause[str] = sql_column(column_name)
        query = select(column).select_from(table(name, column)).where(column.is_not(None))
        found += [(name, str(value)) for value in connection.scalars(query)]
    return found
