"""ATES credentials are redacted before a mail is stored, and never logged."""

from __future__ import annotations

import logging
import zlib
from email import message_from_bytes
from email.charset import BASE64, QP, Charset
from email.mime.text import MIMEText
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.alerts.mails import SECRETS, alert_mail, token
from tests.services.mail_support import fixture
from ticketbridge.services.mail import batch as mail_batch
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import routing as mail_routing
from ticketbridge.storage.models import MailMessage


def stored_bytes(session: Session, mail_id: int) -> bytes:
    mail = session.get(MailMessage, mail_id)
    assert mail is not None and mail.raw is not None
    return zlib.decompress(mail.raw)


def test_stored_alert_mail_keeps_its_token_without_the_credentials(session: Session) -> None:
    raw = alert_mail(html=False, quoted_printable=False)
    assert all(secret.encode() in raw for secret in SECRETS)

    accepted = mail_intake.accept(session, raw, now=NOW)

    stored = stored_bytes(session, accepted.mail_id)
    assert not any(secret.encode() in stored for secret in SECRETS)
    assert b"[redacted]" in stored and b"name=\xe2\x80\x9d8932\xe2\x80\x9d" in stored
    assert mail_intake.header_facts(stored).message_id == "<alert-1@rmm.example>"


def test_credentials_in_a_quoted_printable_html_part_are_redacted_too(session: Session) -> None:
    accepted = mail_intake.accept(session, alert_mail(html=True), now=NOW)

    stored = stored_bytes(session, accepted.mail_id)
    decoded = zlib.decompress(zlib.compress(stored)).decode("utf-8", "replace")
    assert not any(secret in decoded for secret in SECRETS)
    assert "=3D" in decoded or "&lt;" in decoded  # the encoded HTML part is still there


def test_mail_without_a_token_is_stored_byte_identical(session: Session) -> None:
    raw = fixture("veeam_br/backup-success-three-vms")

    accepted = mail_intake.accept(session, raw, now=NOW)

    assert stored_bytes(session, accepted.mail_id) == raw


def test_oversized_alert_mail_keeps_a_redacted_header_section(session: Session) -> None:
    raw = alert_mail()
    subject_token = b'Subject: x <Autotask><PW name="' + SECRETS[1].encode() + b'"/></Autotask>\r\n'

    accepted = mail_intake.accept(session, subject_token + raw, now=NOW, max_bytes=100)

    stored = stored_bytes(session, accepted.mail_id)
    assert SECRETS[1].encode() not in stored and stored.startswith(b"Subject: x <Autotask>")
    mail = session.get(MailMessage, accepted.mail_id)
    assert mail is not None and SECRETS[1] not in mail.subject


def test_credentials_never_reach_the_logs_even_when_routing_breaks(
    session: Session, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_route = mail_routing.route

    def route(session: Session, mail: MailMessage, outcome: Any, *, now: Any) -> None:
        if outcome.message is not None and not seen:
            seen.append(outcome.message.text + outcome.message.html)
            # A careless parser that quotes the whole body in its error.
            raise RuntimeError(f"cannot read {outcome.message.text!r}")
        real_route(session, mail, outcome, now=now)

    monkeypatch.setattr(mail_routing, "route", route)
    caplog.set_level(logging.DEBUG)

    accepted = mail_intake.accept(session, alert_mail(), now=NOW)

    assert seen and "8932" in seen[0]  # routing saw the token ...
    assert not any(secret in seen[0] for secret in SECRETS)  # ... without its credentials
    logged = (
        "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
        + caplog.text
    )
    assert "routing mail" in logged and "8932" in logged
    assert not any(secret in logged for secret in SECRETS)
    mail = session.get(MailMessage, accepted.mail_id)
    assert mail is not None and not any(secret in (mail.failure or "") for secret in SECRETS)


def _alert_in_one_part(encoding: str) -> bytes:
    body = f"Disk C: on SRV01 is below 5 % free.\n\n{token()}\n"
    charset = Charset("utf-8")
    charset.body_encoding = {"base64": BASE64, "quoted-printable": QP}[encoding]
    message = MIMEText(body, "plain", charset)
    message["From"] = "RMM <alerts@rmm.example>"
    message["Subject"] = "Disk space low on SRV01"
    message["Message-ID"] = f"<alert-{encoding}@rmm.example>"
    message["Date"] = "Fri, 20 Nov 2026 11:00:00 +0000"
    return message.as_bytes().replace(b"\n", b"\r\n")


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_an_encoded_token_in_a_polled_batch_is_redacted_and_read_as_an_alert(
    db: sessionmaker[Session], encoding: str
) -> None:
    raw = _alert_in_one_part(encoding)
    assert SECRETS[1].encode() not in raw  # the password is hidden by either encoding

    [accepted] = mail_batch.accept_batch(db, [mail_batch.Received(raw, None)], now=NOW)

    with db() as session:
        stored = stored_bytes(session, accepted.mail_id)
        mail = session.get(MailMessage, accepted.mail_id)
        assert mail is not None and mail.parser == "ates"  # the rewritten mail, parsed again
    [text] = [
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message_from_bytes(stored).walk()
        if part.get_content_maintype() == "text"
    ]
    assert not any(secret in text for secret in SECRETS)
    assert "[redacted]" in text and "8932" in text
