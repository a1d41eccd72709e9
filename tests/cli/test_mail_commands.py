"""`ticketbridge mail import`, `mail reparse` and `mail sources`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.factories import NOW
from tests.services.mail_support import FIXTURES, report_mail
from ticketbridge.cli.main import app
from ticketbridge.services.demo import data as demo
from ticketbridge.services.demo import mail as demo_mail
from ticketbridge.settings import get_settings
from ticketbridge.storage.models import MailMessage, MailSource, Run

runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, db: sessionmaker[Session]
) -> Iterator[None]:
    monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_import_stores_every_fixture_mail_once_from_folders(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    total = len(list(FIXTURES.rglob("*.eml")))
    result = runner.invoke(app, ["mail", "import", str(FIXTURES)])
    assert result.exit_code == 0, result.output
    assert f"imported {total} new mail(s), 0 stored before, 0 skipped" in result.output
    again = runner.invoke(app, ["mail", "import", str(FIXTURES / "veeam_br")])
    assert "imported 0 new mail(s)" in again.output
    with db() as session:
        assert session.scalar(select(func.count(MailMessage.id))) == total
        states = set(session.scalars(select(MailMessage.state)))
        assert states >= {"parsed", "no_parser"}


def test_import_skips_an_empty_file_and_goes_on(db: sessionmaker[Session], tmp_path: Path) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "one.eml").write_bytes(report_mail(1))
    result = runner.invoke(app, ["mail", "import", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "imported 1 new mail(s), 0 stored before, 1 skipped" in result.output


def test_reparse_reports_and_adds_no_runs(db: sessionmaker[Session]) -> None:
    with db() as session:
        demo.seed(session, NOW)
        demo_mail.seed(session, NOW)
        session.commit()
        runs_before = session.scalar(select(func.count(Run.id)))
    result = runner.invoke(app, ["mail", "reparse"])
    assert result.exit_code == 0, result.output
    assert "reparsed 15 mail(s)" in result.output  # 12 reports, 3 RMM alerts
    with db() as session:
        assert session.scalar(select(func.count(Run.id))) == runs_before


def test_sources_add_asks_for_the_secret_and_list_never_shows_it(
    db: sessionmaker[Session],
) -> None:
    config = json.dumps({"host": "127.0.0.1", "security": "plain", "username": "u"})
    added = runner.invoke(
        app,
        ["mail", "sources", "add", "--kind", "imap", "--name", "Box", "--config", config],
        input="very-secret-pass\n",
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["mail", "sources", "list"])
    assert "Box" in listed.output and "very-secret-pass" not in listed.output
    with db() as session:
        source = session.scalars(select(MailSource)).one()
        assert source.secret and "very-secret-pass" not in source.secret


def test_sources_add_takes_a_delegated_microsoft_365_source_without_a_client_secret(
    db: sessionmaker[Session],
) -> None:
    config = json.dumps({"tenant_id": "t", "client_id": "c", "mailbox": "desk@example.com"})
    added = runner.invoke(
        app,
        ["mail", "sources", "add", "--kind", "graph", "--name", "Desk", "--config", config],
        input="\n",  # no client secret: its user signs in with a device code
    )

    assert added.exit_code == 0, added.output
    assert "empty for a delegated mailbox" in added.output
    with db() as session:
        source = session.scalars(select(MailSource)).one()
        assert (source.kind, source.secret) == ("graph", None)


def test_sources_poll_reports_a_connection_failure_and_exits_1(
    db: sessionmaker[Session],
) -> None:
    # Port 1 on loopback: nothing listens there.
    config = json.dumps({"host": "127.0.0.1", "port": 1, "security": "plain", "username": "u"})
    runner.invoke(
        app,
        ["mail", "sources", "add", "--kind", "imap", "--name", "Down", "--config", config],
        input="pw\n",
    )
    result = runner.invoke(app, ["mail", "sources", "poll"])
    assert result.exit_code == 1
    assert "Could not reach IMAP server 127.0.0.1:1" in result.output


def test_demo_mail_fills_the_inbox_and_makes_runs(db: sessionmaker[Session]) -> None:
    with db() as session:
        demo.seed(session, NOW)
        made = demo_mail.seed(session, NOW)
        again = demo_mail.seed(session, NOW)
        session.commit()
        waiting = session.scalar(
            select(func.count(MailMessage.id)).where(MailMessage.awaiting_approval.is_(True))
        )
        mail_runs = session.scalar(select(func.count(Run.id)).where(Run.source == "mail"))
    assert made == again == mail_runs and made >= 4
    assert waiting is not None and waiting >= 4
