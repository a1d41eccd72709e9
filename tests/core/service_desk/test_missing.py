from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketbridge.core.service_desk.missing import SeenMail, missing_mails

NOW = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


def seen(message_id: str, hours_ago: float, reason: str | None = None) -> SeenMail:
    return SeenMail(message_id, NOW - timedelta(hours=hours_ago), reason)


def test_a_mail_that_made_nothing_is_missing_and_one_that_made_a_ticket_is_not() -> None:
    mails = [seen("<a@x.example>", 5), seen("<b@x.example>", 3)]
    assert missing_mails(mails, ["a@X.EXAMPLE"], days=1, now=NOW) == [mails[1]]


def test_filtered_and_held_mails_are_not_missing() -> None:
    mails = [seen("a@x.example", 1, "auto_reply"), seen("b@x.example", 1, "loop")]
    assert missing_mails(mails, [], days=1, now=NOW) == []


def test_only_the_last_days_are_looked_at_oldest_first() -> None:
    mails = [seen("new@x.example", 1), seen("old@x.example", 49), seen("mid@x.example", 30)]
    found = missing_mails(mails, [], days=2, now=NOW)
    assert [m.message_id for m in found] == ["mid@x.example", "new@x.example"]


def test_a_mail_delivered_twice_is_listed_once_and_each_mail_without_an_id_is_listed() -> None:
    mails = [seen("<a@x.example>", 2), seen("a@X.example", 1), seen("", 1), seen("", 0.5)]
    found = missing_mails(mails, [], days=1, now=NOW)
    assert [m.message_id for m in found] == ["<a@x.example>", "", ""]
