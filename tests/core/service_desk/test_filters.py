from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.core.service_desk.mails import MAILBOX, built, fixture
from ticketbridge.core.service_desk.filters import (
    ACCEPTED,
    FilterConfig,
    FilterReason,
    Outcome,
    loop_decision,
    screen,
)

NOW = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)
CONFIG = FilterConfig(mailbox_addresses=(MAILBOX, "helpdesk@msp.example"))


def test_a_customer_request_passes_every_filter() -> None:
    assert screen(fixture("new_request"), CONFIG, now=NOW) == ACCEPTED


def test_an_exchange_out_of_office_is_an_automatic_reply() -> None:
    verdict = screen(fixture("exchange_out_of_office"), CONFIG, now=NOW)
    assert (verdict.outcome, verdict.reason) == (Outcome.FILTER, FilterReason.AUTO_REPLY)
    assert "auto-generated" in verdict.detail


def test_an_exchange_out_of_office_without_auto_submitted_is_still_caught() -> None:
    mail = built(
        "X-Auto-Response-Suppress: All",
        "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
    )
    verdict = screen(mail, CONFIG, now=NOW)
    assert verdict.reason is FilterReason.AUTO_REPLY and "Exchange" in verdict.detail


def test_a_gmail_vacation_reply_is_an_automatic_reply() -> None:
    verdict = screen(fixture("gmail_vacation"), CONFIG, now=NOW)
    assert verdict.reason is FilterReason.AUTO_REPLY
    assert verdict.detail == "An automatic message (Auto-Submitted: auto-replied)."


def test_a_postfix_bounce_is_a_bounce_before_it_is_an_automatic_reply() -> None:
    verdict = screen(fixture("postfix_bounce"), CONFIG, now=NOW)
    assert verdict.reason is FilterReason.BOUNCE
    assert verdict.detail == "A delivery status report (bounce): multipart/report."


def test_a_mailing_list_message_is_bulk() -> None:
    verdict = screen(fixture("mailing_list"), CONFIG, now=NOW)
    assert verdict.reason is FilterReason.BULK and "Precedence: list" in verdict.detail


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (("Return-Path: <>",), FilterReason.BOUNCE),
        (("From: MAILER-DAEMON@mx.customer.example",), FilterReason.BOUNCE),
        (("From: postmaster@customer.example",), FilterReason.BOUNCE),
        (("Auto-Submitted: auto-notified; owner-email=x@y.example",), FilterReason.AUTO_REPLY),
        (("X-Autoreply: yes",), FilterReason.AUTO_REPLY),
        (("X-Autorespond: Out of office",), FilterReason.AUTO_REPLY),
        (("Precedence: auto_reply",), FilterReason.AUTO_REPLY),
        (("Precedence: bulk",), FilterReason.BULK),
        (("Precedence: JUNK",), FilterReason.BULK),
        (("X-Ticketbridge-Notification: SUP-1",), FilterReason.OWN_NOTIFICATION),
        (("From: Helpdesk <HelpDesk@msp.example>",), FilterReason.OWN_MAILBOX),
    ],
)
def test_each_machine_sign_filters_with_its_reason(
    headers: tuple[str, ...], reason: FilterReason
) -> None:
    verdict = screen(built(*headers), CONFIG, now=NOW)
    assert (verdict.outcome, verdict.reason) == (Outcome.FILTER, reason)
    assert verdict.detail


@pytest.mark.parametrize(
    "headers",
    [
        ("Auto-Submitted: no",),
        ("X-Autoreply: no",),
        ("X-Auto-Response-Suppress: All",),
        ("List-Id: <helpdesk.customer.example>",),
        ("Precedence: normal",),
        ("Content-Type: multipart/mixed; boundary=x",),
    ],
)
def test_signs_that_a_person_can_send_do_not_filter(headers: tuple[str, ...]) -> None:
    assert screen(built(*headers), CONFIG, now=NOW) == ACCEPTED


def test_a_read_receipt_is_named_as_one() -> None:
    mail = built("Content-Type: multipart/report; report-type=disposition-notification; boundary=b")
    verdict = screen(mail, CONFIG, now=NOW)
    assert verdict.reason is FilterReason.BOUNCE and verdict.detail.startswith("A read receipt")


def test_our_own_notification_is_named_before_the_mailbox_that_sent_it() -> None:
    mail = built(f"From: {MAILBOX}", "X-Ticketbridge-Notification: SUP-1")
    assert screen(mail, CONFIG, now=NOW).reason is FilterReason.OWN_NOTIFICATION


def test_blocked_senders_are_addresses_or_domains_with_their_subdomains() -> None:
    config = FilterConfig(blocked_senders=("spam@customer.example", "@bad.example"))
    assert screen(built(), config, now=NOW) == ACCEPTED
    for sender in ("spam@customer.example", "a@bad.example", "a@mx.bad.example"):
        verdict = screen(built(f"From: {sender}"), config, now=NOW)
        assert verdict.reason is FilterReason.BLOCKED_SENDER and sender in verdict.detail
    assert screen(built("From: a@notbad.example"), config, now=NOW) == ACCEPTED


def test_an_empty_domain_whitelist_allows_everyone_and_a_set_one_only_its_domains() -> None:
    assert screen(built("From: x@anywhere.example"), FilterConfig(), now=NOW) == ACCEPTED
    config = FilterConfig(allowed_domains=("customer.example",))
    assert screen(built("From: x@it.customer.example"), config, now=NOW) == ACCEPTED
    verdict = screen(built("From: x@other.example"), config, now=NOW)
    assert verdict.reason is FilterReason.DOMAIN_NOT_ALLOWED
    assert verdict.detail == "x@other.example is not in an allowed domain."


def test_the_blacklist_wins_over_the_whitelist() -> None:
    config = FilterConfig(
        allowed_domains=("customer.example",), blocked_senders=("customer.example",)
    )
    assert screen(built(), config, now=NOW).reason is FilterReason.BLOCKED_SENDER


def test_a_sender_at_the_loop_limit_is_held_not_dropped() -> None:
    config = FilterConfig(loop_limit=3, loop_minutes=10)
    recent = [NOW - timedelta(minutes=m) for m in (1, 4, 9)]
    verdict = screen(built(), config, now=NOW, recent_ticket_times=recent)
    assert (verdict.outcome, verdict.reason) == (Outcome.HOLD, FilterReason.LOOP)
    assert "3 tickets in the last 10 minutes" in verdict.detail
    assert screen(built(), config, now=NOW, recent_ticket_times=recent[:2]) == ACCEPTED


def test_a_filtered_mail_is_not_counted_as_a_loop() -> None:
    recent = [NOW] * 10
    verdict = screen(fixture("gmail_vacation"), CONFIG, now=NOW, recent_ticket_times=recent)
    assert verdict.reason is FilterReason.AUTO_REPLY


def test_loop_protection_counts_only_the_window_and_can_be_switched_off() -> None:
    times = [NOW - timedelta(minutes=61), NOW - timedelta(minutes=59), NOW + timedelta(minutes=1)]
    decision = loop_decision(times, limit=2, minutes=60, now=NOW)
    assert decision.hold and decision.count == 2
    assert not loop_decision(times, limit=3, minutes=60, now=NOW).hold
    assert not loop_decision(times * 10, limit=0, minutes=60, now=NOW).hold
