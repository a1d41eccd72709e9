"""A service-desk mailbox into Jira: mail stored through mail intake becomes one ticket per
conversation and one comment per reply, never twice, with a reason for what it skips."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import NOW
from tests.services.service_desk.conftest import Desk, mail
from ticketbridge.services.mail import batch as mail_batch
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.storage.models import MailMessage, Run, ServiceDeskConversation, ServiceDeskMail


def test_a_new_mail_opens_one_ticket_routed_by_its_subject(desk: Desk) -> None:
    handled = desk.handle(mail(1))

    [issue] = desk.jira.issues()
    assert handled.outcome == "ticket" and handled.ticket_key == issue["key"]
    assert issue["key"].startswith("SUP-")
    assert issue["fields"]["summary"] == "Printer on floor 2 is offline"
    assert {"mail", "hardware"} <= set(issue["fields"]["labels"])  # the routing's, as labels
    with desk.runtime.session_factory() as session:
        stored = session.scalars(select(MailMessage)).one()
        assert (stored.state, stored.run_ids) == ("service_desk", [])
        assert session.scalars(select(Run)).first() is None
        conversation = session.scalars(select(ServiceDeskConversation)).one()
        assert (conversation.ticket_key, conversation.category) == (issue["key"], "hardware")
        assert conversation.labels == ["mail", "hardware"]


def test_a_reply_becomes_one_public_comment_on_the_conversations_ticket(desk: Desk) -> None:
    first = desk.handle(mail(1))

    reply = desk.handle(
        mail(
            2,
            subject="Re: Printer on floor 2 is offline",
            body="Still down.\r\n\r\nOn Mon, 2 Jun 2025, Support wrote:\r\n> We are on it.",
            in_reply_to="1@customer.example",
        )
    )

    assert (reply.outcome, reply.ticket_key) == ("comment", first.ticket_key)
    assert len(desk.jira.issues()) == 1
    assert desk.jira.comments(str(first.ticket_key)) == [
        "From: Ann Example <ann@customer.example>\nStill down.\n"
    ]


def test_a_redelivered_mail_makes_nothing(desk: Desk) -> None:
    desk.handle(mail(1))

    # The same mail again, through another relay: stored once, handled once.
    desk.receive(b"Received: from relay.example\r\n" + mail(1))
    assert process_pending(desk.runtime) == []
    assert len(desk.jira.issues()) == 1
    with desk.runtime.session_factory() as session:
        assert len(session.scalars(select(ServiceDeskMail)).all()) == 1


def test_an_auto_reply_and_a_blocked_sender_make_nothing_and_say_why(desk: Desk) -> None:
    auto = desk.handle(
        mail("ooo", subject="Automatic reply: Printer", headers="Auto-Submitted: auto-replied\r\n")
    )
    blocked = desk.handle(mail("spam", sender="offers@spam.example", subject="Cheap printers"))

    assert (auto.outcome, auto.reason) == ("filtered", "auto_reply")
    assert (blocked.outcome, blocked.reason) == ("filtered", "blocked_sender")
    assert desk.jira.issues() == []
    with desk.runtime.session_factory() as session:
        kept = {
            r.message_key: (r.reason, r.detail) for r in session.scalars(select(ServiceDeskMail))
        }
    assert kept == {
        "ooo@customer.example": (
            "auto_reply",
            "An automatic message (Auto-Submitted: auto-replied).",
        ),
        "spam@customer.example": ("blocked_sender", "offers@spam.example is blocked."),
    }


def test_a_reply_to_a_ticket_deleted_in_jira_opens_a_new_ticket_that_replaces_it(
    desk: Desk,
) -> None:
    first = desk.handle(mail(1))
    desk.jira.delete(str(first.ticket_key))

    reply = desk.handle(mail(2, subject="Re: Printer", in_reply_to="1@customer.example"))

    [issue] = desk.jira.issues()
    assert reply.outcome == "ticket" and reply.ticket_key == issue["key"] != first.ticket_key
    assert reply.replaces == first.ticket_key
    assert reply.detail == (
        f"{first.ticket_key} was deleted in the PSA; {issue['key']} was opened instead and "
        "replaces it."
    )
    # A later reply to the first mail goes to the new ticket, not to a third one.
    later = desk.handle(mail(3, subject="Re: Printer", in_reply_to="1@customer.example"))
    assert (later.outcome, later.ticket_key) == ("comment", issue["key"])
    with desk.runtime.session_factory() as session:
        rows = session.scalars(select(ServiceDeskConversation).order_by(ServiceDeskConversation.id))
        assert [(r.ticket_key, r.state, r.replaces_id is not None) for r in rows] == [
            (first.ticket_key, "deleted", False),
            (issue["key"], "open", True),
        ]


def test_a_sender_whose_mail_made_five_tickets_within_the_hour_is_held(desk: Desk) -> None:
    made = [desk.handle(mail(n, subject=f"Request {n}")).outcome for n in range(5)]

    held = desk.handle(mail("sixth", subject="Request 6"))

    assert made == ["ticket"] * 5
    assert (held.outcome, held.reason) == ("held", "loop")
    assert held.detail.startswith("ann@customer.example: 5 tickets in the last 60 minutes")
    assert len(desk.jira.issues()) == 5


def test_mail_stored_by_a_pollers_batch_is_the_desks_too(desk: Desk) -> None:
    accepted = mail_batch.accept_batch(
        desk.runtime.session_factory,
        [mail_batch.Received(mail(1), None), mail_batch.Received(mail(2, subject="Other"), None)],
        now=NOW,
        source_id=desk.source_id,
    )

    assert [one.state for one in accepted] == ["service_desk", "service_desk"]
    assert [h.outcome for h in process_pending(desk.runtime)] == ["ticket", "ticket"]
    assert len(desk.jira.issues()) == 2


def test_a_new_mail_naming_the_ticket_key_in_its_subject_is_a_comment(desk: Desk) -> None:
    first = desk.handle(mail(1))

    named = desk.handle(mail("fresh", subject=f"More on [{first.ticket_key}]", body="Photo sent."))
    unknown = desk.handle(mail("other", subject="About [SUP-999]", body="Another thing."))

    assert (named.outcome, named.ticket_key) == ("comment", first.ticket_key)
    assert unknown.outcome == "ticket" and unknown.ticket_key != first.ticket_key
    assert "SUP-999 in the subject is not a ticket this desk knows" in unknown.detail
    assert len(desk.jira.issues()) == 2
