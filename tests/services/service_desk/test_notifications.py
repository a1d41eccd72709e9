"""The sender hears back: a mail that opens a ticket is answered with the ticket's key, threaded
to the sender's mail, through a real SMTP relay (aiosmtpd on a loopback port) or through Graph
``sendMail`` (the Graph emulator), once per mail, and tried again when the relay refuses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.factories import NOW
from tests.services.service_desk.conftest import DESK, SUP, Desk, Relay, mail
from ticketbridge.core.service_desk.requests import TicketRequest
from ticketbridge.emulators.graph import create_app as create_graph
from ticketbridge.services.connections import named
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.service_desk import mailboxes, notify_settings, release, requests
from ticketbridge.services.service_desk.mailboxes import MailboxRefused
from ticketbridge.services.service_desk.notify_settings import NotifySetup
from ticketbridge.services.service_desk.process import process_mail, process_pending
from ticketbridge.services.service_desk.relay import relay_due
from ticketbridge.storage.models import ServiceDeskMail, ServiceDeskMailbox, ServiceDeskNotice

TEMPLATE = "Hello $sender_name, your ticket is $ticket_key ($board).\n"
GRAPH_TOKEN = "graph-token-for-notices"


def _setup(relay: Relay, **changes: Any) -> NotifySetup:
    smtp = {"host": "127.0.0.1", "port": relay.port, "security": "none"}
    setup = NotifySetup(enabled=True, transport="smtp", smtp=smtp, body_template=TEMPLATE)
    return replace(setup, **changes)


def _notify(desk: Desk, setup: NotifySetup, source_id: int | None = None) -> None:
    with desk.runtime.session_factory() as session:
        mailbox = session.scalars(
            select(ServiceDeskMailbox).where(
                ServiceDeskMailbox.source_id == (source_id or desk.source_id)
            )
        ).one()
        notify_settings.configure(session, desk.runtime.secret_box, mailbox, setup, now=NOW)
        session.commit()


def _notices(desk: Desk) -> list[ServiceDeskNotice]:
    with desk.runtime.session_factory() as session:
        return list(session.scalars(select(ServiceDeskNotice).order_by(ServiceDeskNotice.id)))


def test_the_sender_gets_the_ticket_key_threaded_to_their_mail_and_marked_as_ours(
    desk: Desk, relay: Relay
) -> None:
    _notify(desk, _setup(relay))

    handled = desk.handle(mail(1))

    assert handled.outcome == "ticket" and handled.ticket_key
    key = handled.ticket_key
    [note] = relay.received
    assert relay.recipients == [["ann@customer.example"]]
    assert note["Subject"] == f"[{key}] Re: Printer on floor 2 is offline"
    assert note["In-Reply-To"] == "<1@customer.example>"
    assert note["References"] == "<1@customer.example>"
    assert note["X-Ticketbridge-Notification"] == key
    assert note["From"] == DESK and note["Auto-Submitted"] == "auto-replied"
    assert note.get_content().splitlines() == [f"Hello Ann Example, your ticket is {key} ({SUP})."]
    [notice] = _notices(desk)
    assert (notice.state, notice.attempts, notice.sent_at) == ("sent", 1, NOW)
    # The notification bounced back into the desk (a mailbox that copies itself) makes nothing.
    back = desk.handle(note.as_bytes())
    assert (back.outcome, back.reason) == ("filtered", "own_notification")
    assert len(desk.jira.issues()) == 1 and len(relay.received) == 1


def test_the_ticket_url_in_the_template_is_the_tickets_page_in_the_psa(
    desk: Desk, relay: Relay
) -> None:
    _notify(desk, _setup(relay, body_template="See $ticket_url for $ticket_key.\n"))

    handled = desk.handle(mail(1))

    [note] = relay.received
    key = handled.ticket_key
    assert note.get_content().splitlines() == [f"See https://jira.test/browse/{key} for {key}."]


def test_a_ticket_opened_through_the_api_notifies_its_reporter(desk: Desk, relay: Relay) -> None:
    _notify(desk, _setup(relay, body_template="$sender_name: $ticket_key at $ticket_url\n"))
    request = TicketRequest(
        summary="Laptop will not boot",
        description="Black screen.",
        reporter="Bob@Customer.example",
        reporter_name="Bob Example",
    )

    made = requests.create_ticket(
        desk.runtime,
        request,
        mailbox_id=_mailbox_id(desk),
        connection_id=None,
        key="r-1",
        actor="operator",
    )
    again = requests.create_ticket(
        desk.runtime,
        request,
        mailbox_id=_mailbox_id(desk),
        connection_id=None,
        key="r-1",
        actor="operator",
    )

    assert made.created and not again.created
    [note] = relay.received  # the repeated request sends no second one
    [issue] = desk.jira.issues()
    key = issue["key"]
    assert relay.recipients == [["bob@customer.example"]]
    assert note["Subject"] == f"[{key}] Re: Laptop will not boot"
    assert note["X-Ticketbridge-Notification"] == key and note["In-Reply-To"] is None
    assert note.get_content().splitlines() == [
        f"Bob Example: {key} at https://jira.test/browse/{key}"
    ]


def _mailbox_id(desk: Desk) -> int:
    with desk.runtime.session_factory() as session:
        return session.scalars(
            select(ServiceDeskMailbox.id).where(ServiceDeskMailbox.source_id == desk.source_id)
        ).one()


def test_a_mail_handled_again_or_answered_sends_no_second_notification(
    desk: Desk, relay: Relay
) -> None:
    _notify(desk, _setup(relay))
    first = desk.handle(mail(1))

    desk.receive(b"Received: from relay.example\r\n" + mail(1))
    assert process_pending(desk.runtime) == []
    assert process_mail(desk.runtime, first.mail_id, again=True).outcome == "done_before"
    reply = desk.handle(mail(2, subject=f"Re: [{first.ticket_key}] Printer", in_reply_to="1"))
    assert reply.outcome == "comment"

    assert len(relay.received) == 1 and len(_notices(desk)) == 1


def test_notifications_off_send_nothing(desk: Desk, relay: Relay) -> None:
    assert desk.handle(mail(1)).outcome == "ticket"  # never configured: off
    _notify(desk, _setup(relay, enabled=False))
    assert desk.handle(mail(2, subject="Another request")).outcome == "ticket"

    assert relay.received == [] and _notices(desk) == []


def test_a_refused_send_is_kept_with_its_reason_and_sent_once_later(
    desk: Desk, relay: Relay
) -> None:
    _notify(desk, _setup(relay))
    relay.refuse = 1

    handled = desk.handle(mail(1))

    assert handled.outcome == "ticket"  # the ticket does not wait for the relay
    assert len(desk.jira.issues()) == 1 and relay.received == []
    [notice] = _notices(desk)
    assert (notice.state, notice.attempts) == ("failed", 1)
    assert "451" in notice.detail
    assert process_pending(desk.runtime) == [] and relay.received == []  # not due yet
    desk.runtime.clock = lambda: NOW + timedelta(minutes=3)
    process_pending(desk.runtime)
    [note] = relay.received
    assert note["X-Ticketbridge-Notification"] == handled.ticket_key
    [notice] = _notices(desk)
    assert (notice.state, notice.attempts, notice.detail) == ("sent", 2, "")
    desk.runtime.clock = lambda: NOW + timedelta(hours=3)
    process_pending(desk.runtime)
    assert len(relay.received) == 1


def test_an_auto_reply_made_a_ticket_anyway_is_not_answered(desk: Desk, relay: Relay) -> None:
    _notify(desk, _setup(relay))
    filtered = desk.handle(mail(1, headers="Auto-Submitted: auto-replied\r\n"))
    assert filtered.outcome == "filtered"
    with desk.runtime.session_factory() as session:
        row = session.scalars(select(ServiceDeskMail)).one()

    released = release.create_anyway(desk.runtime, row.id, actor="admin")

    assert released.outcome == "ticket"
    assert relay.received == [] and _notices(desk) == []


def test_turning_notifications_off_cancels_a_notice_not_sent_yet(desk: Desk, relay: Relay) -> None:
    _notify(desk, _setup(relay))
    relay.refuse = 1
    desk.handle(mail(1))
    _notify(desk, _setup(relay, enabled=False))

    desk.runtime.clock = lambda: NOW + timedelta(minutes=3)
    process_pending(desk.runtime)

    assert relay.received == []
    [notice] = _notices(desk)
    assert (notice.state, notice.attempts) == ("cancelled", 1)


def test_the_relay_password_is_stored_encrypted_and_forgotten_when_the_host_changes(
    desk: Desk, relay: Relay
) -> None:
    smtp = {"host": "relay.example", "security": "starttls", "username": "desk"}
    _notify(desk, _setup(relay, smtp=smtp, password="relay-pass-123"))
    with desk.runtime.session_factory() as session:
        mailbox = session.scalars(select(ServiceDeskMailbox)).one()
        assert "relay-pass-123" not in str(mailbox.notify)
        assert mailbox.notify_secret and "relay-pass-123" not in mailbox.notify_secret
        assert notify_settings.view(mailbox).password_set
    _notify(desk, _setup(relay, smtp=smtp))  # no password entered: the stored one stays
    _notify(desk, _setup(relay, smtp={**smtp, "host": "elsewhere.example"}))
    with desk.runtime.session_factory() as session:
        mailbox = session.scalars(select(ServiceDeskMailbox)).one()
        assert not notify_settings.view(mailbox).password_set


def test_settings_the_desk_cannot_use_are_refused_at_their_field(desk: Desk, relay: Relay) -> None:
    with pytest.raises(MailboxRefused) as refused:
        _notify(
            desk,
            _setup(
                relay,
                transport="graph",
                subject_template="Thanks for $subject",
                body_template="Dear $password",
            ),
        )
    fields = {error.field for error in refused.value.errors}
    assert fields == {"transport", "subject_template", "body_template"}
    with pytest.raises(MailboxRefused) as refused:
        _notify(desk, _setup(relay, smtp={"host": "", "security": "ssl"}))
    assert {error.field for error in refused.value.errors} == {"smtp.host", "smtp.security"}


def _graph_desk(desk: Desk, graph: TestClient) -> int:
    """A second desk mailbox, read through Graph, answering through Graph."""
    with desk.runtime.session_factory() as session:
        connection = named.first_of_kind(session, "jira")
        assert connection is not None
        source = mail_sources.create_source(
            session,
            desk.runtime.secret_box,
            kind="graph",
            name="Support in Microsoft 365",
            config={
                "tenant_id": "tenant-1",
                "client_id": "client-1",
                "mailbox": DESK,
                "graph_url": "https://graph.test/v1.0",
            },
            secret="graph-client-secret",
            actor="test",
        )
        session.flush()
        setup = mailboxes.MailboxSetup(
            connection_id=connection.id, default_board=SUP, default_category="general"
        )
        mailboxes.configure(session, source.id, setup, now=NOW)
        session.commit()
        return source.id


@pytest.fixture
def graph(desk: Desk) -> Iterator[TestClient]:
    """The desk's second mailbox, read through Graph and answering through Graph (the Graph
    emulator in process), with notifications on."""
    with TestClient(create_graph(tokens=[GRAPH_TOKEN]), base_url="https://graph.test") as client:
        client.get(f"/_emulator/mailboxes/{DESK}/folders")  # the mailbox exists from now on
        desk.runtime.mail_options = {
            "graph": {"http_client": client, "token_provider": lambda: GRAPH_TOKEN}
        }
        desk.source_id = _graph_desk(desk, client)
        _notify(desk, NotifySetup(enabled=True, transport="graph", body_template=TEMPLATE))
        yield client


def test_a_graph_mailbox_answers_through_graph_threaded_to_the_senders_mail(
    desk: Desk, graph: TestClient
) -> None:
    handled = desk.handle(mail(1))

    assert handled.outcome == "ticket"
    [sent] = graph.get("/_emulator/sent").json()
    assert sent["mailbox"] == DESK and sent["recipients"] == ["ann@customer.example"]
    assert sent["subject"] == f"[{handled.ticket_key}] Re: Printer on floor 2 is offline"
    assert sent["inReplyTo"] == "<1@customer.example>"
    assert sent["references"] == ["<1@customer.example>"]
    headers = {h["name"]: h["value"] for h in sent["headers"]}
    assert headers["X-Ticketbridge-Notification"] == handled.ticket_key
    assert f"your ticket is {handled.ticket_key}" in sent["mime"]
    [notice] = _notices(desk)
    assert notice.state == "sent"


def test_graph_failing_to_send_is_kept_and_sent_once_later_with_the_same_message_id(
    desk: Desk, graph: TestClient
) -> None:
    assert graph.post("/_emulator/faults", json={"status": 500, "count": 1}).is_success

    assert desk.handle(mail(1)).outcome == "ticket"

    [notice] = _notices(desk)
    assert notice.state == "failed" and "500" in notice.detail
    assert graph.get("/_emulator/sent").json() == []
    desk.runtime.clock = lambda: NOW + timedelta(minutes=3)
    process_pending(desk.runtime)
    process_pending(desk.runtime)
    [sent] = graph.get("/_emulator/sent").json()
    composed = dict(_notices(desk)[0].headers)
    assert sent["internetMessageId"] == composed["Message-ID"]


def test_a_relayed_comment_goes_through_graph_too_answering_the_notification(
    desk: Desk, graph: TestClient
) -> None:
    _notify(desk, NotifySetup(enabled=True, transport="graph", relay_comments=True))
    handled = desk.handle(mail(1))
    key = handled.ticket_key
    added = desk.jira.http.post(
        f"/rest/servicedeskapi/request/{key}/comment",
        json={"body": "The new toner is on its way.", "public": True},
    )
    assert added.status_code == 201, added.text

    relay_due(desk.runtime)

    [notification, comment] = graph.get("/_emulator/sent").json()
    assert comment["recipients"] == ["ann@customer.example"]
    assert comment["inReplyTo"] == notification["internetMessageId"]  # the thread's newest
    assert comment["references"] == ["<1@customer.example>", notification["internetMessageId"]]
    assert "The new toner is on its way." in comment["mime"]
