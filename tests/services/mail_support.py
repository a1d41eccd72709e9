"""Fixture mails and small builders shared by the mail intake tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from ticketbridge.services.mail import inbox
from ticketbridge.services.runs import catalog

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    """`product/scenario` of tests/fixtures/mail."""
    return (FIXTURES / f"{name}.eml").read_bytes()


def report_mail(
    n: int = 1,
    *,
    job: str = "Nightly",
    sender: str = "backup@acme.example",
    status: str = "Success",
    message_id: str | None = None,
    started: str = "02.06.2025 22:00:05",
) -> bytes:
    """A small Duplicati-like report the generic keyword parser reads as a run of `job`."""
    mid = (
        f"Message-ID: <{message_id or f'report-{n}@acme.example'}>\r\n" if message_id != "" else ""
    )
    return (
        f"From: Backup <{sender}>\r\nTo: intake@msp.example\r\n"
        f"Subject: [{status}] Backup job {job}\r\n{mid}"
        f"Date: Mon, 02 Jun 2025 22:1{n % 10}:00 +0200\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Job {job} finished with status {status}.\r\nStarted: {started}\r\n"
    ).encode()


def approve_under_new_customer(session: Session, mail_id: int, name: str = "Acme") -> int:
    customer = catalog.create_customer(session, name, actor="test")
    inbox.approve(session, mail_id, customer.id, actor="test", now=_now())
    return customer.id


def _now():  # type: ignore[no-untyped-def]
    from tests.factories import NOW

    return NOW
