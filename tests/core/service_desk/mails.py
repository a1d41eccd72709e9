"""Mails for the service-desk rule tests: the realistic fixtures by scenario, and small mails
built from a few headers."""

from __future__ import annotations

from pathlib import Path

from ticketbridge.core.service_desk.mail import DeskMail, parse_desk_mail

FIXTURES = Path(__file__).parent / "fixtures"
MAILBOX = "support@msp.example"


def fixture(name: str, *, conversation_id: str = "") -> DeskMail:
    return parse_desk_mail((FIXTURES / f"{name}.eml").read_bytes(), conversation_id=conversation_id)


def built(*headers: str, body: str = "Hello,\n\nmy laptop will not start.\n") -> DeskMail:
    """A mail from header lines; From, To, Subject and Message-ID are filled in when absent."""
    defaults = {
        "from": "Jana Novak <jana.novak@customer.example>",
        "to": MAILBOX,
        "subject": "Laptop will not start",
        "message-id": "<first-1@customer.example>",
    }
    names = {line.partition(":")[0].strip().lower() for line in headers}
    lines = [f"{k}: {v}" for k, v in defaults.items() if k not in names] + list(headers)
    raw = "\r\n".join([*lines, "Content-Type: text/plain; charset=utf-8", "", body])
    return parse_desk_mail(raw.encode("utf-8"))
