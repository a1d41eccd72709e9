"""`ticketbridge backup`: make a copy of the database, and check that a copy can be restored
and read with the configured secret key (docs/operations.md, Backups and restore)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ticketbridge.storage import backup
from ticketbridge.storage.backup import BackupError
from ticketbridge.storage.secrets import SecretBox, SecretUnreadable

__all__ = ["BackupError", "CheckReport", "check", "create"]


@dataclass(frozen=True)
class Created:
    """A copy made (``path``), or, for PostgreSQL without pg_dump here, the command to run."""

    path: Path | None
    command: str | None = None


def create(database_url: str, target: Path, *, run_pg_dump: bool = True) -> Created:
    """Copy the database to ``target``: SQLite through its online backup API, PostgreSQL with
    pg_dump when it is installed (else the command to run is returned, nothing is made)."""
    source = backup.sqlite_file(database_url)
    if source is not None:
        backup.copy_sqlite(source, target)
        return Created(target)
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file")
    dump = backup.pg_dump_command(database_url, target)
    if not run_pg_dump:
        return Created(None, dump.shown())
    backup.run_pg_dump(dump)
    return Created(target)


@dataclass
class CheckReport:
    """What the restore check found, line by line; ``ok`` only when every check passed."""

    lines: list[tuple[bool, str]] = field(default_factory=list)

    def add(self, ok: bool, text: str) -> None:
        self.lines.append((ok, text))

    @property
    def ok(self) -> bool:
        return all(passed for passed, _ in self.lines)


def check(copy: str, secret_key: str) -> CheckReport:
    """Open a copy (a SQLite file, or the URL of a PostgreSQL database it was restored into)
    and check its integrity, that its Alembic revision is this version's, its row counts, and
    that ``secret_key`` decrypts every stored secret."""
    report = CheckReport()
    if "://" in copy:
        url = copy
    else:
        path = Path(copy)
        if not path.is_file():
            raise BackupError(f"no file at {path}")
        problems = backup.integrity_problems(path)
        report.add(not problems, "integrity: ok" if not problems else f"integrity: {problems[:5]}")
        if problems:
            return report
        url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _check_contents(report, connection, secret_key)
    except SQLAlchemyError as exc:
        where = make_url(url).render_as_string(hide_password=True)
        raise BackupError(f"{where} cannot be read: {type(exc).__name__}") from exc
    finally:
        engine.dispose()
    return report


def _check_contents(report: CheckReport, connection: Connection, secret_key: str) -> None:
    stored, expected = backup.stored_revisions(connection), backup.expected_revisions()
    report.add(
        stored == expected,
        f"revision: {', '.join(sorted(stored)) or 'none'}"
        + ("" if stored == expected else f" (this version expects {', '.join(sorted(expected))})"),
    )
    counts = backup.row_counts(connection)
    missing = [name for name, count in counts.items() if count is None]
    report.add(
        not missing,
        "rows: "
        + ", ".join(f"{name} {count}" for name, count in counts.items() if count is not None)
        + (f"; missing tables: {', '.join(missing)}" if missing else ""),
    )
    secrets = backup.encrypted_values(connection)
    box = SecretBox(secret_key)
    unreadable = []
    for table, value in secrets:
        try:
            box.decrypt(value)
        except SecretUnreadable:
            unreadable.append(table)
    if not secrets:
        report.add(True, "secrets: none stored, so the secret key was not tested")
    elif unreadable:
        report.add(
            False,
            f"secrets: {len(unreadable)} of {len(secrets)} stored secrets CANNOT be decrypted with "
            "the configured TICKETBRIDGE_SECRET_KEY (in "
            f"{', '.join(sorted(set(unreadable)))}). This is not the key they were stored with: "
            "restore that key with the database, or every PSA and mailbox secret must be "
            "entered again",
        )
    else:
        report.add(True, f"secrets: all {len(secrets)} decrypt with the configured secret key")
