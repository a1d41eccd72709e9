"""A Microsoft 365 desk mailbox threads by Graph's conversationId: the Graph source carries it
from the delta round to the stored mail, and a reply whose headers name no earlier mail (its
client dropped In-Reply-To and References, its subject carries no ticket key) still becomes a
comment on its conversation's ticket. Through the Graph sandbox (msal over TLS) into the Jira
emulator."""

from __future__ import annotations

import base64

from sqlalchemy import select

from tests.cli.graph_mailbox import GraphMailbox, graph_mailbox, tls_files
from tests.services.service_desk.conftest import set_up_desk
from tests.web.serving import serve
from ticketbridge.emulators.graph import DEMO_MAILBOX
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.mail import polling
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.storage.models import MailMessage

__all__ = ["graph_mailbox", "tls_files"]  # fixtures
# Outlook's conversation index: a reserved byte, a 5-byte time, the conversation's GUID; a
# reply appends a 5-byte block.
FIRST_INDEX = bytes([1]) + bytes(5) + bytes(range(16))
REPLY_INDEX = FIRST_INDEX + bytes(5)


def _deliver(mailbox: GraphMailbox, subject: str, message_id: str, thread_index: bytes) -> None:
    raw = (
        f"From: Dana <dana@customer.example>\r\nTo: {DEMO_MAILBOX}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"Thread-Index: {base64.b64encode(thread_index).decode()}\r\n\r\nHello\r\n"
    )
    url = f"/_emulator/mailboxes/{DEMO_MAILBOX}/folders/inbox/messages"
    assert mailbox.admin.post(url, content=raw.encode()).status_code == 201


def test_a_graph_reply_without_reply_headers_threads_by_its_conversation_id(
    graph_mailbox: GraphMailbox,
) -> None:
    runtime = graph_mailbox.runtime
    with serve(create_jira(seed="empty")) as jira_url:
        set_up_desk(runtime, jira_url, graph_mailbox.source_id)
        _deliver(graph_mailbox, "Scanner jams", "first@customer.example", FIRST_INDEX)
        assert polling.poll(runtime, graph_mailbox.source_id).stored == 1
        [opened] = process_pending(runtime)
        # Another subject, no In-Reply-To, no References, no ticket key: only Exchange's
        # conversation (from the Thread-Index) ties it to the first mail.
        _deliver(graph_mailbox, "Also the fax", "second@customer.example", REPLY_INDEX)
        assert polling.poll(runtime, graph_mailbox.source_id).stored == 1
        [reply] = process_pending(runtime)

    assert opened.outcome == "ticket" and opened.ticket_key, opened
    assert reply.outcome == "comment", reply
    assert reply.ticket_key == opened.ticket_key
    assert "Microsoft 365 conversation" in reply.detail
    with runtime.session_factory() as session:
        stored = session.scalars(select(MailMessage.conversation_id)).all()
    assert len(stored) == 2 and stored[0] and stored[0] == stored[1]


def test_a_graph_mail_of_another_conversation_opens_its_own_ticket(
    graph_mailbox: GraphMailbox,
) -> None:
    runtime = graph_mailbox.runtime
    other = bytes([1]) + bytes(5) + bytes(range(16, 32))
    with serve(create_jira(seed="empty")) as jira_url:
        set_up_desk(runtime, jira_url, graph_mailbox.source_id)
        _deliver(graph_mailbox, "Scanner jams", "first@customer.example", FIRST_INDEX)
        _deliver(graph_mailbox, "Also the fax", "second@customer.example", other)
        assert polling.poll(runtime, graph_mailbox.source_id).stored == 2
        handled = process_pending(runtime)

    assert [h.outcome for h in handled] == ["ticket", "ticket"], handled
    assert handled[0].ticket_key != handled[1].ticket_key
