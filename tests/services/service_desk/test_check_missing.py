"""`ticketbridge mailbox check-missing`: a desk mail stored while nothing handled it (the worker
was down) is listed, filtered mail is not, and --fix makes its ticket, once; the product
reaches the Jira emulator over real HTTP, as it would a Jira site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.services.service_desk.conftest import Desk, Jira, mail, set_up_desk
from tests.web.serving import serve
from ticketbridge.cli.main import app
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.runtime import build_runtime
from ticketbridge.services.service_desk.process import process_mail
from ticketbridge.settings import Settings, get_settings
from ticketbridge.storage.models import MailMessage, utcnow

runner = CliRunner()


@pytest.fixture
def served_desk(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    db: sessionmaker[Session],
) -> Iterator[Desk]:
    monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    with serve(create_jira(seed="empty")) as jira_url:
        runtime = build_runtime(settings, engine=engine)
        jira = Jira(httpx.Client(base_url=jira_url, timeout=30))
        yield Desk(runtime, jira, set_up_desk(runtime, jira_url))
        jira.http.close()
    get_settings.cache_clear()


def test_check_missing_lists_a_mail_nothing_handled_and_fix_makes_its_ticket_once(
    served_desk: Desk,
) -> None:
    desk = served_desk
    now = utcnow()
    desk.receive(mail("dropped", subject="VPN broken"), now=now)
    desk.receive(mail("ooo", headers="Auto-Submitted: auto-replied\r\n"), now=now)
    with desk.runtime.session_factory() as session:
        ooo = session.scalars(
            select(MailMessage.id).where(MailMessage.message_key == "ooo@customer.example")
        ).one()
    # The auto-reply was handled (filtered, with its reason); the other one never was.
    assert process_mail(desk.runtime, ooo).outcome == "filtered"

    listed = runner.invoke(app, ["mailbox", "check-missing", "--days", "2"])

    assert listed.exit_code == 0, listed.output
    assert "ann@customer.example  VPN broken  <dropped@customer.example>" in listed.output
    assert "1 mail(s) of the last 2 day(s) made nothing." in listed.output
    assert desk.jira.issues() == []

    fixed = runner.invoke(app, ["mailbox", "check-missing", "--days", "2", "--fix"])

    assert fixed.exit_code == 0, fixed.output
    assert "fixed: 1 ticket" in fixed.output
    assert [i["fields"]["summary"] for i in desk.jira.issues()] == ["VPN broken"]
    again = runner.invoke(app, ["mailbox", "check-missing", "--days", "2", "--fix"])
    assert "0 mail(s) of the last 2 day(s) made nothing." in again.output
    assert len(desk.jira.issues()) == 1
