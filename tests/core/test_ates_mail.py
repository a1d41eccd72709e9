"""ATES credentials out of whole mails: every text part, whatever its transfer encoding."""

from __future__ import annotations

from email import message_from_bytes
from email.charset import BASE64, QP, Charset
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from ticketbridge.core.ates_mail import might_carry_token, parse, redact_mail, redact_parsed
from ticketbridge.core.ates_tokens import find_tokens

SECRETS = ("acmemsp.com", "zzZ3zZ/2Z1ZzzZZZ0zoZ9z==")
TOKEN = (
    "Disk C: below 5 % on SRV01 – act now.\n<Autotask>\n<ID name=”acmemsp.com”/>\n"
    "<PW name=”zzZ3zZ/2Z1ZzzZZZ0zoZ9z==”/>\n"
    "<CustomerID source=”XYZ Monitoring Application” name=”100”/>\n"
    "<AlertID source=”XYZ Monitoring Application” name=”8932”/>\n</Autotask>\n"
)
DEMO_MAILS = Path(__file__).resolve().parents[2] / "src/ticketbridge/services/demo/mails"


def _escaped_html(text: str) -> str:
    body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<html><body><p>" + body.replace("\n", "<br>\n") + "</p></body></html>"


def alert_mail(encoding: str | None, *, crlf: bool = True) -> bytes:
    charset = Charset("utf-8")
    charset.body_encoding = {"quoted-printable": QP, "base64": BASE64}.get(encoding or "")
    message = MIMEMultipart("alternative")
    message["From"] = "rmm@monitoring.example"
    message["Subject"] = "Alert: disk space"
    message["Message-ID"] = "<alert-1@monitoring.example>"
    message.attach(MIMEText(TOKEN, "plain", charset))
    message.attach(MIMEText(_escaped_html(TOKEN), "html", charset))
    raw = message.as_bytes()
    return raw.replace(b"\n", b"\r\n") if crlf else raw


def text_parts(raw: bytes) -> list[str]:
    parts = []
    for part in message_from_bytes(raw).walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return parts


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64", None])
@pytest.mark.parametrize("crlf", [True, False])
def test_credentials_are_gone_from_every_text_part_whatever_its_encoding(
    encoding: str | None, crlf: bool
) -> None:
    raw = alert_mail(encoding, crlf=crlf)
    assert all(secret.encode() in raw for secret in SECRETS) or encoding is not None

    stored = redact_mail(raw)

    for secret in SECRETS:
        assert secret.encode() not in stored
    parts = text_parts(stored)
    assert len(parts) == 2
    for text in parts:
        assert not any(secret in text for secret in SECRETS)
        [token] = find_tokens(text)
        assert (token.customer_id, token.alert_id, token.has_credentials) == ("100", "8932", False)
    assert (b"\r\n" in stored) is crlf
    assert message_from_bytes(stored)["Message-ID"] == "<alert-1@monitoring.example>"


def test_redacting_twice_changes_nothing() -> None:
    once = redact_mail(alert_mail("quoted-printable"))

    assert redact_mail(once) == once


@pytest.mark.parametrize("path", sorted(DEMO_MAILS.glob("*.eml")), ids=lambda p: p.name)
def test_mail_without_a_token_is_returned_byte_identical(path: Path) -> None:
    raw = path.read_bytes()

    assert redact_mail(raw) == raw


def test_mail_with_attachments_and_no_token_is_returned_byte_identical() -> None:
    message = MIMEMultipart()
    message["Subject"] = "Report"
    message.attach(MIMEText("See the attached log; Autotask is mentioned, no token.", "plain"))
    message.attach(MIMEApplication(b"\x00\x01binary", Name="log.bin"))
    raw = message.as_bytes()

    assert might_carry_token(raw)
    assert redact_mail(raw) is raw


def test_cheap_look_skips_plain_mail_without_any_trace_of_a_token() -> None:
    assert not might_carry_token(b"Subject: hi\r\n\r\nAll backups succeeded.\r\n")
    assert might_carry_token(b"Subject: hi\r\n\r\n&lt;Auto<b>task</b>&gt;\r\n")


def test_token_in_a_header_is_redacted_too() -> None:
    raw = (
        b'Subject: <Autotask><PW name="zzZ3zZ/2Z1ZzzZZZ0zoZ9z=="/><AlertID name="1"/></Autotask>'
        b"\r\nFrom: a@b.example\r\n\r\nbody\r\n"
    )

    stored = redact_mail(raw)

    assert b"zzZ3zZ" not in stored
    assert stored.endswith(b"\r\n\r\nbody\r\n")


def test_unparseable_bytes_still_lose_their_credentials() -> None:
    raw = b'\xff\xfe garbage <Autotask><ID name="acmemsp.com"/></Autotask> \xff'

    stored = redact_mail(raw)

    assert b"acmemsp.com" not in stored
    assert stored.startswith(b"\xff\xfe garbage") and stored.endswith(b" \xff")


def _part(content_type: str, encoding: str, body: bytes) -> bytes:
    return (
        b"From: rmm@monitoring.example\r\nSubject: Alert\r\nMIME-Version: 1.0\r\n"
        + f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n".encode()
        + body
    )


HIDDEN_TOKENS = {
    # The letters of "autotask" are not in the bytes as such, or not side by side.
    "utf-16": _part("text/plain; charset=utf-16", "8bit", TOKEN.encode("utf-16")),
    "rfc-2231-charset": _part("text/plain; charset*=utf-16''", "8bit", TOKEN.encode("utf-16")),
    "letter-reference": _part(
        "text/html; charset=utf-8",
        "8bit",
        _escaped_html(TOKEN).replace("Auto", "&#65;uto").encode(),
    ),
    "comment-with-a-bracket": _part(
        "text/html; charset=utf-8",
        "8bit",
        _escaped_html(TOKEN).replace("Autotask", "Auto<!-- > -->task").encode(),
    ),
    "markup-between-letters": _part(
        "text/html; charset=utf-8",
        "8bit",
        _escaped_html(TOKEN).replace("Autotask", 'Au<span title="a>b">to</span>task').encode(),
    ),
}


@pytest.mark.parametrize("raw", HIDDEN_TOKENS.values(), ids=HIDDEN_TOKENS.keys())
def test_a_token_hidden_from_a_byte_search_is_still_looked_for(raw: bytes) -> None:
    assert b"autotask" not in raw.lower()

    assert might_carry_token(raw)


@pytest.mark.parametrize(
    ("name", "charset"),
    [("utf-16", "utf-16-le"), ("letter-reference", "utf-8"), ("comment-with-a-bracket", "utf-8")],
)
def test_a_token_hidden_from_a_byte_search_loses_its_credentials(name: str, charset: str) -> None:
    stored = redact_mail(HIDDEN_TOKENS[name])

    # (8-bit UTF-16 is not line-oriented: its line ends are rewritten, so its bytes are searched)
    assert not any(secret.encode(charset) in stored for secret in SECRETS)
    assert "[redacted]".encode(charset) in stored


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64"])
def test_redacting_a_parsed_mail_hands_back_no_stale_parse(encoding: str) -> None:
    raw = alert_mail(encoding)

    stored, message = redact_parsed(raw, parse(raw))

    assert message is None  # rewritten: the parse given no longer matches the bytes
    for text in text_parts(stored):
        assert not any(secret in text for secret in SECRETS)


def test_a_mail_left_as_it_was_keeps_its_parse() -> None:
    raw = (DEMO_MAILS / sorted(p.name for p in DEMO_MAILS.glob("*.eml"))[0]).read_bytes()
    parsed = parse(raw)

    assert redact_parsed(raw, parsed) == (raw, parsed)


def test_plain_report_mail_skips_the_mime_walk() -> None:
    raw = b"From: a@b.example\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n"
    raw += b"<p>Job <b>Nightly</b> ended: Success &amp; 0 warnings&#160;(auto, task 3)</p>\r\n"

    assert not might_carry_token(raw)
