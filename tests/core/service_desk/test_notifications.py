from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from tests.core.service_desk.mails import MAILBOX, built, fixture
from ticketbridge.core.service_desk.filters import FilterConfig, FilterReason, screen
from ticketbridge.core.service_desk.mail import parse_desk_mail
from ticketbridge.core.service_desk.notifications import (
    DEFAULT_SUBJECT_TEMPLATE,
    DEFAULT_TEMPLATE,
    compose_notification,
    notification_subject,
    subject_template_errors,
    template_errors,
)

FIRST_MAIL = "AM6PR02MB4423A1B2C3D4E5F6@am6pr02mb4423.eurprd02.prod.outlook.com"


def test_the_subject_carries_the_key_once() -> None:
    assert notification_subject("Printer down", "SUP-123") == "[SUP-123] Re: Printer down"
    assert notification_subject("Re: [SUP-123] Re: Printer down", "SUP-123") == (
        "[SUP-123] Re: Printer down"
    )
    assert notification_subject("Printer [SUP-123] down", "SUP-123") == "[SUP-123] Re: Printer down"
    assert notification_subject("", "SUP-1") == "[SUP-1] Re: (no subject)"
    assert len(notification_subject("x" * 400, "SUP-1")) == 250


def test_the_notification_threads_to_the_senders_mail_and_marks_itself() -> None:
    note = compose_notification(
        fixture("new_request"),
        ticket_key="SUP-123",
        mailbox_address=MAILBOX,
        mailbox_name="MSP Support",
        message_id="tb-1@msp.example",
    )
    assert note.header("Subject") == "[SUP-123] Re: Drucker im 2. Stock ist offline"
    assert note.header("In-Reply-To") == f"<{FIRST_MAIL}>"
    assert note.header("References") == f"<{FIRST_MAIL}>"
    assert note.header("Message-ID") == "<tb-1@msp.example>"
    assert note.header("Auto-Submitted") == "auto-replied"
    assert note.header("X-Ticketbridge-Notification") == "SUP-123"
    assert note.header("From") == "MSP Support <support@msp.example>"
    assert "Jana" in note.header("To") and "jana.novak@customer.example" in note.header("To")
    assert "opened ticket SUP-123" in note.body and "Hello Jana Novák," in note.body


def test_references_grow_from_the_senders_references() -> None:
    note = compose_notification(
        fixture("reply_threaded_by_references"), ticket_key="SUP-1", mailbox_address=MAILBOX
    )
    refs = note.header("References").split()
    assert refs[0] == f"<{FIRST_MAIL}>" and refs[-1] == "<CAJx9r1reply2@mail.customer.example>"
    many = built("References: " + " ".join(f"<{n}@x.example>" for n in range(40)))
    refs = (
        compose_notification(many, ticket_key="SUP-1", mailbox_address=MAILBOX)
        .header("References")
        .split()
    )
    assert (
        len(refs) == 20 and refs[0] == "<0@x.example>" and refs[-1] == "<first-1@customer.example>"
    )


def test_our_notification_is_filtered_when_it_comes_back() -> None:
    note = compose_notification(fixture("new_request"), ticket_key="SUP-1", mailbox_address=MAILBOX)
    returned = parse_desk_mail(note.to_email_message().as_bytes())
    verdict = screen(returned, FilterConfig(), now=datetime.now(UTC))
    assert verdict.reason is FilterReason.OWN_NOTIFICATION


def test_the_mail_for_the_relay_carries_every_header_and_the_body() -> None:
    note = compose_notification(fixture("new_request"), ticket_key="SUP-1", mailbox_address=MAILBOX)
    sent = message_from_bytes(note.to_email_message().as_bytes(), policy=policy.default)
    assert sent["Auto-Submitted"] == "auto-replied" and sent["X-Auto-Response-Suppress"] == "All"
    assert "SUP-1" in sent.get_content()


def test_a_subject_with_line_breaks_cannot_add_headers() -> None:
    mail = built("Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@x.example?=")
    note = compose_notification(mail, ticket_key="SUP-1", mailbox_address=MAILBOX)
    assert "\n" not in note.header("Subject") and "\r" not in note.header("Subject")
    assert not note.to_email_message().get("Bcc")


def test_templates_name_only_the_fixed_fields() -> None:
    assert template_errors(DEFAULT_TEMPLATE) == []
    assert template_errors("Ticket $ticket_key for ${sender}: $$5") == []
    assert template_errors("$ticket_key by $password")[0].startswith("Unknown field $password")
    assert template_errors("costs 5$") != []
    assert template_errors("  ") == ["A template is required."]


def test_a_template_cannot_reach_into_the_values() -> None:
    template = "{subject.__class__} $subject"
    note = compose_notification(
        built("Subject: Hi"), ticket_key="SUP-1", mailbox_address=MAILBOX, template=template
    )
    assert note.body == "{subject.__class__} Hi"


def test_a_subject_template_keeps_the_key_once_and_must_name_it() -> None:
    note = compose_notification(
        fixture("new_request"),
        ticket_key="SUP-7",
        mailbox_address=MAILBOX,
        subject_template="Ticket $ticket_key opened ($board): $subject",
        board="Support",
    )
    assert (
        note.header("Subject") == "Ticket SUP-7 opened (Support): Drucker im 2. Stock ist offline"
    )
    assert subject_template_errors(DEFAULT_SUBJECT_TEMPLATE) == []
    assert subject_template_errors("Thanks for $subject") == [
        "A subject must contain $ticket_key: replies find their ticket by it."
    ]
    assert subject_template_errors("[$ticket_key]\nsecond line") != []
