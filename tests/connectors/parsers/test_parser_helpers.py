"""The shared helpers: times, keywords, MIME unwrapping and HTML reading."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from ticketbridge.connectors.parsers.htmltext import html_to_text, parse_html
from ticketbridge.connectors.parsers.keywords import classify
from ticketbridge.connectors.parsers.mime import strip_prefixes, to_mail_message
from ticketbridge.connectors.parsers.timeparse import (
    on_day,
    parse_date,
    parse_datetime,
    parse_duration,
)
from ticketbridge.core.statuses import RunStatus

CEST = timezone(timedelta(hours=2))
MAIL_DATE = datetime(2026, 6, 12, 23, 5, tzinfo=CEST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thursday, January 4, 2024 10:00:14 PM", date(2024, 1, 4)),
        ("Donnerstag, 4. Januar 2024 22:00:14", date(2024, 1, 4)),
        ("jeudi 4 janvier 2024 22:00:14", date(2024, 1, 4)),
        ("donderdag 4 januari 2024 22:00:14", date(2024, 1, 4)),
        ("Fri Jul 24 07:01:02 2026", date(2026, 7, 24)),
        ("11/3/2017 5:40:11 PM", date(2017, 11, 3)),
        ("23.02.2020 23:04:56", date(2020, 2, 23)),
        ("21-06-2026 12:00:00", date(2026, 6, 21)),
        ("2026-06-12 01:00:03", date(2026, 6, 12)),
        ("no date here", None),
    ],
)
def test_dates_are_read_in_english_german_french_dutch_and_numeric_forms(
    text: str, expected: date | None
) -> None:
    assert parse_date(text) == expected


def test_a_time_without_offset_takes_the_offset_of_the_date_header() -> None:
    assert parse_datetime("2026-06-12 22:00:00", MAIL_DATE) == datetime(
        2026, 6, 12, 20, 0, tzinfo=UTC
    )


def test_a_time_without_date_takes_the_senders_day_from_the_date_header() -> None:
    # 00:30 +02:00 on 13 June is still 12 June in UTC: the sender's day must win.
    late = datetime(2026, 6, 13, 0, 45, tzinfo=CEST)
    assert parse_datetime("00:30:00", late) == datetime(2026, 6, 12, 22, 30, tzinfo=UTC)


def test_a_plus_one_suffix_moves_a_clock_time_to_the_next_day() -> None:
    assert on_day(date(2026, 6, 12), "00:12:44 (+1)", MAIL_DATE) == datetime(
        2026, 6, 12, 22, 12, 44, tzinfo=UTC
    )


def test_an_epoch_in_parentheses_wins_over_the_local_text() -> None:
    assert parse_datetime("5/16/2020 6:00:00 PM (1589670000)", MAIL_DATE) == datetime(
        2020, 5, 16, 23, 0, tzinfo=UTC
    )


def test_a_missing_date_header_reads_times_as_utc() -> None:
    assert parse_datetime("2026-06-12 22:00:00", None) == datetime(2026, 6, 12, 22, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "   ", "n/a"])
def test_a_missing_or_empty_field_reads_as_no_time_and_no_duration(text: str) -> None:
    # Parsers pass a field's value straight in; '' (field absent) must not become a time.
    assert parse_datetime(text, MAIL_DATE) is None
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0:07:26", 446),
        ("00:03:06.6072410", 186),
        ("9m 28s", 568),
        ("1 Stunde(n) 12 Minute(n) 5 Sekunde(n)", 4325),
        ("3 minute(s) 2 seconde(s)", 182),
        ("42s", 42),
    ],
)
def test_durations_in_clock_and_unit_forms(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Backup finished with 0 errors", RunStatus.SUCCESS),
        ("Sicherung ohne Fehler abgeschlossen", RunStatus.SUCCESS),
        ("Errors: 0, Warnings: 2", RunStatus.WARNING),
        ("Sicherung fehlgeschlagen", RunStatus.ERROR),
        ("Back-up mislukt", RunStatus.ERROR),
        ("La sauvegarde a échoué", RunStatus.ERROR),
        ("Sauvegarde terminée avec des avertissements", RunStatus.WARNING),
        ("Taak voltooid met waarschuwingen", RunStatus.WARNING),
        ("Der Auftrag wurde nicht erfolgreich beendet", RunStatus.ERROR),
        ("Job cancelled by user", RunStatus.FAILED),
        ("Erfolgreich", RunStatus.SUCCESS),
    ],
)
def test_status_keywords_in_four_languages_with_negation_guards(
    text: str, status: RunStatus
) -> None:
    found = classify(text)
    assert found is not None and found[0] is status


def test_text_without_a_status_word_is_not_classified() -> None:
    assert classify("Monthly newsletter") is None


@pytest.mark.parametrize(
    "subject",
    [
        "Fwd: RE: [Success] Job",
        "AW: WG: [Success] Job",
        "FW:  [Success]   Job",
        "TR: [Success] Job",
    ],
)
def test_forwarding_prefixes_are_removed_from_subjects(subject: str) -> None:
    assert strip_prefixes(subject) == "[Success] Job"


def test_an_attached_original_is_preferred_over_the_forwarding_mail() -> None:
    inner = EmailMessage()
    inner["Subject"] = 'Backup Exec Alert: Job Failed (Server: "S1")'
    inner["From"] = "be@example.com"
    inner.set_content("Job Completion Status: Failed")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: look at this"
    outer["From"] = "tech@example.com"
    outer["Date"] = "Mon, 01 Jun 2026 10:00:00 +0200"
    outer.set_content("See attached.")
    outer.add_attachment(inner)
    mail = to_mail_message(outer)
    assert mail.forwarded
    assert mail.subject.startswith("Backup Exec Alert: Job Failed")
    assert mail.sender == "be@example.com"
    assert mail.date == datetime(2026, 6, 1, 10, tzinfo=CEST)  # the original had no Date


def test_an_inline_forward_lends_its_subject_sender_and_date() -> None:
    outer = EmailMessage()
    outer["Subject"] = "WG: Bericht"
    outer["From"] = "tech@example.com"
    outer.set_content(
        "bitte prüfen\n\n-------- Weitergeleitete Nachricht --------\n"
        "Von: NAS <nas@example.de>\nDatum: Fri, 19 Jun 2026 01:12:09 +0200\n"
        "Betreff: Sicherung erfolgreich\n\nDie Sicherung war erfolgreich.\n"
    )
    mail = to_mail_message(outer)
    assert (mail.subject, mail.sender) == ("Sicherung erfolgreich", "nas@example.de")
    assert mail.date == datetime(2026, 6, 19, 1, 12, 9, tzinfo=CEST)
    assert mail.text == "Die Sicherung war erfolgreich."


def test_html_text_keeps_cells_apart_and_drops_scripts() -> None:
    text = html_to_text(
        "<table><tr><td>Duration</td><td>0:07:26</td></tr></table>"
        "<script>alert('x')</script><style>td{}</style><p>Done&nbsp;&amp; ok</p>"
    )
    assert text == "Duration 0:07:26\n\nDone & ok"


def test_html_reader_closes_cells_that_mail_html_left_open() -> None:
    root = parse_html("<table><tr><td>a<td>b<tr><td>c</table>")
    rows = list(root.iter("tr"))
    assert [[cell.text() for cell in row.cells()] for row in rows] == [["a", "b"], ["c"]]
