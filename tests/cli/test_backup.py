"""`ticketbridge backup create|check`: a consistent SQLite copy taken while another thread
writes, restored and used; a check that says plainly when the configured secret key is not the
one the secrets were stored with; a corrupt file named as such; pg_dump for PostgreSQL."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.factories import PASSWORD
from ticketbridge.cli.main import app
from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import users as accounts
from ticketbridge.settings import get_settings
from ticketbridge.storage.db import make_engine, make_session_factory
from ticketbridge.storage.migrate import upgrade
from ticketbridge.storage.models import AuditEvent, PsaConnection
from ticketbridge.storage.secrets import SecretBox

runner = CliRunner()
OTHER_KEY = "another-installation-key-" + "y" * 40


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    """Point the CLI at a database URL and a secret key."""

    def configure(database_url: str, secret_key: str = TEST_SECRET_KEY) -> None:
        monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", database_url)
        monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", secret_key)
        monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
        get_settings.cache_clear()

    yield configure
    get_settings.cache_clear()


@pytest.fixture
def live_sqlite(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A migrated SQLite database of this test's own, as `serve` would use it."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def _seed(factory: sessionmaker[Session], key: str) -> None:
    with factory() as session:
        accounts.create_user(session, "restored-admin", PASSWORD, Role.ADMIN)
        session.add(
            PsaConnection(
                name="Autotask",
                kind="autotask",
                config={},
                secret_encrypted=SecretBox(key).encrypt("psa-secret"),
            )
        )
        session.commit()


class Writer(threading.Thread):
    """Inserts audit events, one transaction each, until told to stop; signals once it has
    written ``before`` rows and again once ``after`` more were written after ``mark()``."""

    def __init__(self, factory: sessionmaker[Session], before: int = 20, after: int = 20) -> None:
        super().__init__(daemon=True)
        self.factory, self.before, self.after = factory, before, after
        self.written = 0
        self.marked_at: int | None = None
        self.warmed_up, self.went_on, self.stop = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )

    def mark(self) -> None:
        self.marked_at = self.written

    def run(self) -> None:
        while not self.stop.is_set():
            with self.factory() as session:
                session.add(AuditEvent(actor="writer", action="test.write", outcome="ok"))
                session.commit()
            self.written += 1
            if self.written >= self.before:
                self.warmed_up.set()
            if self.marked_at is not None and self.written >= self.marked_at + self.after:
                self.went_on.set()


def test_a_backup_taken_while_a_writer_inserts_is_consistent_and_restores(
    use: object, live_sqlite: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = live_sqlite
    factory = make_session_factory(engine)
    _seed(factory, TEST_SECRET_KEY)
    use(url)  # type: ignore[operator]
    writer = Writer(factory)
    writer.start()
    try:
        assert writer.warmed_up.wait(60)
        written_before = writer.written
        backup = tmp_path / "backups" / "tb.db"
        backup.parent.mkdir()
        made = runner.invoke(app, ["backup", "create", str(backup)])
        writer.mark()
        assert writer.went_on.wait(60)  # the writer was never held up for long
    finally:
        writer.stop.set()
        writer.join(60)
    assert made.exit_code == 0, made.output
    # The path can be long enough for the console to wrap the line anywhere after it.
    assert "keep TICKETBRIDGE_SECRET_KEY with it" in " ".join(made.output.split())
    assert backup.stat().st_mode & 0o777 == 0o600

    checked = runner.invoke(app, ["backup", "check", str(backup)])
    assert checked.exit_code == 0, checked.output
    assert "integrity: ok" in checked.output
    assert "secrets: all 1 decrypt" in checked.output

    # Restore: the copy becomes the database, and it is the database as of one moment.
    restored = tmp_path / "restored.db"
    shutil.copyfile(backup, restored)
    restored_engine = make_engine(f"sqlite:///{restored}")
    with restored_engine.connect() as connection:
        ids = connection.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    restored_engine.dispose()
    assert written_before <= len(ids) <= writer.written
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no event missing in between
    use(f"sqlite:///{restored}")  # type: ignore[operator]
    listed = runner.invoke(app, ["user", "list"])
    assert listed.exit_code == 0 and "restored-admin\tadmin" in listed.output


def test_the_check_says_plainly_when_the_secret_key_is_not_the_one_of_the_backup(
    use: object, live_sqlite: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = live_sqlite
    _seed(make_session_factory(engine), TEST_SECRET_KEY)
    use(url)  # type: ignore[operator]
    backup = tmp_path / "tb.db"
    assert runner.invoke(app, ["backup", "create", str(backup)]).exit_code == 0

    use(url, OTHER_KEY)  # type: ignore[operator]
    checked = runner.invoke(app, ["backup", "check", str(backup)])

    assert checked.exit_code == 1
    assert "1 of 1 stored secrets CANNOT be decrypted" in checked.output
    assert "integrity: ok" in checked.output  # the rest is fine: only the key is wrong


def test_the_check_works_on_a_restored_database_on_either_engine(
    use: object, database_url: str, db: sessionmaker[Session]
) -> None:
    """On PostgreSQL the restore check reads the database pg_restore filled, by URL."""
    _seed(db, TEST_SECRET_KEY)
    use(database_url)  # type: ignore[operator]
    assert runner.invoke(app, ["backup", "check", database_url]).exit_code == 0
    use(database_url, OTHER_KEY)  # type: ignore[operator]
    wrong = runner.invoke(app, ["backup", "check", database_url])
    assert wrong.exit_code == 1 and "CANNOT be decrypted" in wrong.output
    with db() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) is not None


def test_a_corrupt_or_truncated_file_gets_a_clear_error(
    use: object, live_sqlite: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = live_sqlite
    _seed(make_session_factory(engine), TEST_SECRET_KEY)
    use(url)  # type: ignore[operator]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is no database at all\n" * 200)
    checked = runner.invoke(app, ["backup", "check", str(garbage)])
    assert checked.exit_code == 1
    assert "is not a readable SQLite database" in checked.output

    backup = tmp_path / "tb.db"
    assert runner.invoke(app, ["backup", "create", str(backup)]).exit_code == 0
    data = backup.read_bytes()
    damaged = tmp_path / "damaged.db"
    # The header kept, every page after the first overwritten: a copy damaged in transit.
    damaged.write_bytes(data[:4096] + b"\xff" * (len(data) - 4096))
    checked = runner.invoke(app, ["backup", "check", str(damaged)])
    assert checked.exit_code == 1
    assert "is not a readable SQLite database" in checked.output
    assert "Traceback" not in checked.output

    missing = runner.invoke(app, ["backup", "check", str(tmp_path / "nothing.db")])
    assert missing.exit_code == 1 and "no file at" in missing.output


def test_an_existing_file_is_never_overwritten(
    use: object, live_sqlite: tuple[str, Engine], tmp_path: Path
) -> None:
    use(live_sqlite[0])  # type: ignore[operator]
    target = tmp_path / "keep.db"
    target.write_text("an older backup")
    made = runner.invoke(app, ["backup", "create", str(target)])
    assert made.exit_code == 1 and "exists already" in made.output
    assert target.read_text() == "an older backup"


@pytest.mark.postgres_only
def test_postgresql_backups_use_pg_dump_without_the_password_on_the_command_line(
    use: object, database_url: str, db: sessionmaker[Session], tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    use(database_url)  # type: ignore[operator]
    printed = runner.invoke(app, ["backup", "create", str(tmp_path / "x.dump"), "--print-command"])
    assert printed.exit_code == 0
    assert "pg_dump --format=custom" in printed.output
    assert "PGOPTIONS" not in printed.output or "search_path" not in printed.output
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    dump = tmp_path / "tb.dump"
    made = runner.invoke(app, ["backup", "create", str(dump)])
    assert made.exit_code == 0, made.output
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
