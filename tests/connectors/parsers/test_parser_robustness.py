"""Odd input gives an outcome with a reason, never an exception."""

from __future__ import annotations

from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from ticketbridge.connectors.parsers.registry import (
    ParseState,
    parse_mail,
    parse_message,
)
from ticketbridge.core.reports import MailMessage, ParsedReport
from ticketbridge.core.statuses import RunStatus

HEADERS = (
    b"From: nas@example.com\r\nSubject: Backup report\r\nDate: Mon, 01 Jun 2026 10:00:00 +0200\r\n"
)


def test_empty_input_fails_with_a_reason() -> None:
    outcome = parse_message(b"")
    assert outcome.state is ParseState.FAILED
    assert outcome.failure == "empty message"
    assert outcome.reports == []


def test_whitespace_only_input_fails_as_empty() -> None:
    assert parse_message(b"\r\n \r\n").failure == "empty message"


def test_garbage_bytes_fail_as_having_no_headers() -> None:
    outcome = parse_message(bytes(range(256)) * 20)
    assert outcome.state is ParseState.FAILED
    assert outcome.failure == "no mail headers found"


def test_a_line_over_the_limit_fails_instead_of_being_parsed() -> None:
    raw = HEADERS + b"\r\n" + b"A" * 2_000_000 + b"\r\n"
    outcome = parse_message(raw)
    assert outcome.state is ParseState.FAILED
    assert outcome.failure is not None and "line of 2000001 bytes" in outcome.failure


def test_a_message_over_the_size_limit_fails() -> None:
    outcome = parse_message(HEADERS + b"\r\nbody\r\n", max_bytes=50)
    assert outcome.state is ParseState.FAILED
    assert outcome.failure is not None and "over the 50-byte limit" in outcome.failure


def test_unknown_charset_is_decoded_leniently_and_still_parsed() -> None:
    raw = (
        HEADERS.replace(b"Backup report", b"Backup job Nightly failed")
        + b'Content-Type: text/plain; charset="x-no-such-charset"\r\n\r\n'
        + "Sicherung fehlgeschlagen: Zielgerät nicht gefunden\r\n".encode("cp1252")
    )
    outcome = parse_message(raw)
    assert outcome.state is ParseState.PARSED
    assert outcome.reports[0].status is RunStatus.ERROR
    assert "Zielgerät" in outcome.reports[0].overall_remark


def test_bytes_invalid_in_the_declared_charset_do_not_raise() -> None:
    raw = HEADERS + b'Content-Type: text/plain; charset="utf-8"\r\n\r\n\xff\xfe\xc3(broken\r\n'
    outcome = parse_message(raw)
    assert outcome.state is ParseState.NO_PARSER
    assert outcome.message is not None and "broken" in outcome.message.text


def test_broken_base64_body_does_not_raise() -> None:
    raw = HEADERS + b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n"
    assert parse_message(raw).state in (ParseState.NO_PARSER, ParseState.PARSED)


def test_undecodable_encoded_word_in_subject_does_not_raise() -> None:
    raw = b"From: a@example.com\r\nSubject: =?x-unknown?B?////?=\r\n\r\nhello\r\n"
    assert parse_message(raw).state is ParseState.NO_PARSER


def test_unclosed_html_does_not_raise() -> None:
    raw = (
        HEADERS + b"Content-Type: text/html\r\n\r\n"
        b'<table><tr class="processObjectsHeader"><td>Name<td>Status<tr><td><span class="x"'
    )
    assert parse_message(raw).state in (ParseState.NO_PARSER, ParseState.PARSED)


def test_a_mail_no_parser_reads_is_its_own_outcome() -> None:
    outcome = parse_message(
        b"From: news@example.com\r\nSubject: Our newsletter\r\n\r\nNew webinars.\r\n"
    )
    assert outcome.state is ParseState.NO_PARSER
    assert (outcome.parser, outcome.failure, outcome.reports) == (None, None, [])


def test_a_parser_that_raises_is_reported_against_the_mail() -> None:
    class Broken:
        NAME = "broken"

        @staticmethod
        def matches(msg: MailMessage) -> bool:
            return True

        @staticmethod
        def parse(msg: MailMessage) -> list[ParsedReport]:
            raise ValueError("boom")

    outcome = parse_mail(MailMessage(subject="x"), parsers=(Broken(),))
    assert outcome.state is ParseState.FAILED
    assert outcome.parser == "broken"
    assert outcome.failure == "broken: ValueError: boom"


def test_an_email_message_object_is_accepted_as_input() -> None:
    message = EmailMessage()
    message["Subject"] = 'Backup Exec Alert: Job Success (Server: "S1") (Job: "J1")'
    message["From"] = "be@example.com"
    message.set_content("Completed Successfully.")
    outcome = parse_message(message)
    assert outcome.parser == "backup_exec"
    assert outcome.reports[0].job_name == "J1"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    outcome = parse_message(raw)
    assert outcome.state in set(ParseState)
    assert (outcome.failure is not None) == (outcome.state is ParseState.FAILED)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_bodies_under_real_headers_never_raise(body: str) -> None:
    outcome = parse_message(HEADERS + b"\r\n" + body.encode("utf-8", "surrogatepass"))
    assert outcome.state in set(ParseState)
