"""What the desk does when Jira cannot take a mail: the reason is kept on the mail, nothing is
lost, and the next round makes the ticket once."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import NOW
from tests.services.service_desk.conftest import Desk, mail
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.storage.models import ServiceDeskMail


def test_a_create_jira_refused_is_kept_with_its_reason_and_made_once_on_the_next_round(
    desk: Desk,
) -> None:
    fault = {"status": 401, "count": 1, "path_contains": "/issue", "methods": ["POST"]}
    assert desk.jira.http.post("/_emulator/faults", json=fault).is_success

    failed = desk.handle(mail(1))

    assert failed.outcome == "failed" and "401" in failed.detail
    assert desk.jira.issues() == []
    with desk.runtime.session_factory() as session:
        row = session.scalars(select(ServiceDeskMail)).one()
        assert (row.outcome, row.attempts) == ("failed", 1)
    [again] = process_pending(desk.runtime)
    assert again.outcome == "ticket"
    assert len(desk.jira.issues()) == 1
    assert process_pending(desk.runtime) == []


def test_a_disabled_connection_sends_nothing_and_says_so(desk: Desk) -> None:
    with desk.runtime.session_factory() as session:
        connection_settings.save(
            session, desk.runtime.secret_box, {"enabled": False}, actor="test", now=NOW, kind="jira"
        )
        session.commit()

    handled = desk.handle(mail(1))

    assert handled.outcome == "failed"
    assert handled.detail == "The Jira integration is disabled."
    assert desk.jira.issues() == []
