from __future__ import annotations

import pytest

from tests.core.service_desk.mails import MAILBOX, built, fixture
from ticketbridge.core.service_desk.drafts import (
    NO_BODY,
    DraftLimits,
    draft_comment,
    draft_ticket,
    trim_quoted_history,
)
from ticketbridge.core.service_desk.mail import parse_desk_mail
from ticketbridge.core.service_desk.routing import Route

ROUTE = Route("SUP", "general", ("ticket", "general"), None, "defaults")
JIRA = DraftLimits(title=255, description=30_000, comment=30_000)
AUTOTASK = DraftLimits(title=255, description=8_000, comment=32_000)


def test_a_new_request_becomes_a_draft_in_neutral_terms() -> None:
    draft = draft_ticket(fixture("new_request"), ROUTE, limits=JIRA, mailbox_addresses=(MAILBOX,))
    assert draft.title == "Drucker im 2. Stock ist offline"
    assert draft.description.startswith("Hallo,\n\nder Drucker im 2. Stock")
    assert draft.description.endswith("Jana")
    assert (draft.board, draft.category, draft.labels) == ("SUP", "general", ("ticket", "general"))
    assert (draft.reporter, draft.reporter_name) == ("jana.novak@customer.example", "Jana Novák")
    # Cc becomes watchers, without the desk's own address.
    assert draft.watchers == ("tom.berg@customer.example",)
    assert draft.message_id == fixture("new_request").message_id


def test_titles_lose_prefixes_and_keys_and_have_a_placeholder() -> None:
    mail = built("Subject: AW: [SUP-123] Re: Printer")
    assert draft_ticket(mail, ROUTE, limits=JIRA).title == "Printer"
    assert draft_ticket(built("Subject: Re:"), ROUTE, limits=JIRA).title == "(no subject)"
    assert draft_ticket(built("Subject:  "), ROUTE, limits=JIRA).title == "(no subject)"


def test_lengths_are_capped_for_the_target() -> None:
    mail = built("Subject: " + "word " * 100, body="x " * 20_000)
    autotask = draft_ticket(mail, ROUTE, limits=AUTOTASK)
    jira = draft_ticket(mail, ROUTE, limits=JIRA)
    assert 240 < len(autotask.title) <= 255 and autotask.title.endswith("…")
    assert 7_990 < len(autotask.description) <= 8_000
    assert 29_990 < len(jira.description) <= 30_000
    tight = draft_ticket(mail, ROUTE, limits=DraftLimits(20, 50, 50))
    assert len(tight.title) <= 20 and tight.title.endswith("…")


def test_an_html_only_mail_gives_its_text() -> None:
    raw = (
        b"From: a@customer.example\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>Screen is <b>black</b></p><p>since today</p></body></html>"
    )

    draft = draft_ticket(parse_desk_mail(raw), ROUTE, limits=JIRA)
    assert draft.description == "Screen is black\n\nsince today"


def test_an_empty_body_has_a_placeholder() -> None:
    assert draft_ticket(built(body=""), ROUTE, limits=JIRA).description == NO_BODY


def test_a_comment_is_the_new_text_without_the_outlook_history() -> None:
    comment = draft_comment(fixture("reply_with_jira_key"), limits=JIRA)
    assert comment.text == "Der Drucker druckt wieder, danke!"
    assert comment.author == "tom.berg@customer.example"


def test_a_comment_is_the_new_text_without_the_gmail_quote() -> None:
    comment = draft_comment(fixture("reply_threaded_by_references"), limits=AUTOTASK)
    assert comment.text == "It is offline again since noon."


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Done.\n\nOn Tue, 5 Mar 2024 at 09:13, A <a@x.example> wrote:\n> old", "Done."),
        (
            "Done.\n\nOn Tue, 5 Mar 2024 at 09:13, Some Long Name <a@x.example>\nwrote:\n> old",
            "Done.",
        ),
        ("Erledigt.\n\nAm 05.03.2024 um 09:13 schrieb A <a@x.example>:\n> alt", "Erledigt."),
        ("Done.\n\n-----Original Message-----\nFrom: a\nSent: b\nSubject: c\nold", "Done."),
        (
            "Done.\n\n" + "_" * 32 + "\nFrom: A\nSent: Tuesday\nTo: B\nSubject: c\nold",
            "Done.",
        ),
        ("Done.\n\n> quoted\n> more\n", "Done."),
    ],
)
def test_quoted_history_is_cut_where_it_is_recognised(text: str, kept: str) -> None:
    assert trim_quoted_history(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "> only a quote\n> nothing else",
        "On Tue, 5 Mar 2024, A wrote:\n> everything is quoted",
        "See below:\n> question one\nmy answer one\n> question two\nmy answer two",
        "From: the logs I see an error.\nSubject: the backup job failed.",
    ],
)
def test_history_is_kept_when_cutting_would_lose_the_message(text: str) -> None:
    assert trim_quoted_history(text) == text


def test_a_forwarded_request_keeps_the_mail_it_forwards() -> None:
    body = "Please look.\n\nFrom: Vendor\nSent: Monday\nSubject: Licence\n\nYour licence expires."
    mail = built("Subject: WG: Licence expiry", body=body)
    draft = draft_ticket(mail, ROUTE, limits=JIRA)
    assert draft.title == "Licence expiry" and "Your licence expires." in draft.description
