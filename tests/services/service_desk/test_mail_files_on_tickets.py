"""A desk mail's attachments arrive on the Jira ticket it opens, once: through the product's
mail intake and desk processing into the Jira emulator, read back as another Jira user."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from tests.factories import NOW
from tests.services.service_desk.conftest import DESK, Desk, mail
from ticketbridge.services.service_desk.process import process_pending

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 100


def mail_with_files(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Ann Example <ann@customer.example>"
    message["To"] = f"Support <{DESK}>"
    message["Subject"] = "Printer on floor 2 is offline"
    message["Message-ID"] = f"<{n}@customer.example>"
    message["Date"] = format_datetime(NOW)
    message.set_content("The printer does not print; the log is attached.")
    message.add_alternative('<p>Offline <img src="cid:shot@x"></p>', subtype="html")
    message.get_payload()[1].add_related(PNG, "image", "png", cid="<shot@x>")
    message.add_attachment(PDF, "application", "pdf", filename="printer log.pdf")
    message.add_attachment(b"MZ", "application", "octet-stream", filename="driver.exe")
    return message.as_bytes()


def attachments(desk: Desk, key: str) -> list[dict[str, Any]]:
    answer = desk.jira.http.get(f"/rest/api/3/issue/{key}", params={"fields": "attachment"})
    assert answer.is_success, answer.text
    return list(answer.json()["fields"]["attachment"])


def content(desk: Desk, attachment: dict[str, Any]) -> bytes:
    answer = desk.jira.http.get(
        f"/rest/api/3/attachment/content/{attachment['id']}", params={"redirect": "false"}
    )
    assert answer.is_success, answer.text
    return answer.content


def test_a_new_mails_files_and_inline_image_arrive_on_its_ticket_once(desk: Desk) -> None:
    handled = desk.handle(mail_with_files(1))

    assert handled.outcome == "ticket"
    files = attachments(desk, str(handled.ticket_key))
    assert [(f["filename"], f["mimeType"]) for f in files] == [
        ("inline-1.png", "image/png"),
        ("printer log.pdf", "application/pdf"),
    ]
    assert [content(desk, f) for f in files] == [PNG, PDF]

    # Delivered again, and a reply in the thread: no file is sent a second time.
    desk.receive(b"Received: from relay.example\r\n" + mail_with_files(1))
    assert process_pending(desk.runtime) == []
    desk.handle(
        mail(2, subject="Re: Printer on floor 2 is offline", in_reply_to="1@customer.example")
    )
    assert len(attachments(desk, str(handled.ticket_key))) == 2


def test_a_mail_without_files_makes_a_ticket_without_files(desk: Desk) -> None:
    handled = desk.handle(mail(1))

    assert handled.outcome == "ticket"
    assert attachments(desk, str(handled.ticket_key)) == []
