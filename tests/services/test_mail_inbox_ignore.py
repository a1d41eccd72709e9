"""Ignoring a mail moves it to the Ignored lane; restoring puts it back where it belongs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import NOW
from tests.services.mail_support import approve_under_new_customer, fixture, report_mail
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail.inbox import InboxError
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import AuditEvent, MailMessage


def _mail(session: Session, mail_id: int) -> MailMessage:
    mail = session.get(MailMessage, mail_id)
    assert mail is not None
    return mail


def _lane_ids(session: Session, lane: str) -> list[int]:
    return [m.id for m in inbox.list_lane(session, lane).mails]


def test_an_ignored_mail_leaves_its_lane_for_the_ignored_lane_with_who_and_when(
    session: Session,
) -> None:
    accepted = mail_intake.accept(session, report_mail(1), now=NOW)

    inbox.ignore(session, accepted.mail_id, actor="user:olivia", now=NOW)

    mail = _mail(session, accepted.mail_id)
    assert inbox.lane_of(mail) == "ignored" and not mail.awaiting_approval
    assert (mail.ignored_from, mail.ignored_by, mail.ignored_at) == ("waiting", "user:olivia", NOW)
    assert _lane_ids(session, "waiting") == [] and _lane_ids(session, "ignored") == [mail.id]
    assert inbox.lane_counts(session) == {
        "waiting": 0,
        "could_not_tell": 0,
        "failed": 0,
        "ignored": 1,
    }


def test_ignoring_twice_changes_nothing_and_audits_once(session: Session) -> None:
    accepted = mail_intake.accept(session, fixture("generic/newsletter-no-parser"), now=NOW)
    inbox.ignore(session, accepted.mail_id, actor="a", now=NOW)
    inbox.ignore(session, accepted.mail_id, actor="b", now=NOW + timedelta(hours=1))
    mail = _mail(session, accepted.mail_id)
    assert (mail.ignored_from, mail.ignored_by) == ("no_parser", "a")
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "inbox.ignore")).all()
    assert len(events) == 1 and events[0].details["previous_state"] == "no_parser"


@pytest.mark.parametrize(
    ("raw", "lane"),
    [
        (report_mail(1), "waiting"),
        (fixture("generic/newsletter-no-parser"), "could_not_tell"),
        (b"no headers here\r\n", "failed"),
    ],
)
def test_restore_puts_a_mail_back_in_the_lane_it_left(
    session: Session, raw: bytes, lane: str
) -> None:
    accepted = mail_intake.accept(session, raw, now=NOW)
    inbox.ignore(session, accepted.mail_id, actor="a", now=NOW)

    mail = inbox.restore(session, accepted.mail_id, actor="user:olivia", now=NOW)

    assert inbox.lane_of(mail) == lane and _lane_ids(session, lane) == [mail.id]
    assert (mail.ignored_from, mail.ignored_by, mail.ignored_at) == (None, None, None)
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "inbox.restore"))
    assert event.actor == "user:olivia" and event.subject == f"mail {mail.id}"
    assert event.details["lane"] == lane


def test_a_restored_mail_whose_job_became_known_meanwhile_becomes_its_run(
    session: Session,
) -> None:
    first = mail_intake.accept(session, report_mail(1), now=NOW)
    second = mail_intake.accept(session, report_mail(2, status="Failed"), now=NOW)
    inbox.ignore(session, second.mail_id, actor="a", now=NOW)
    approve_under_new_customer(session, first.mail_id)

    mail = inbox.restore(session, second.mail_id, actor="a", now=NOW)

    assert inbox.lane_of(mail) is None and mail.state == "parsed" and len(mail.run_ids) == 1


def test_a_purged_mail_is_restored_to_the_lane_it_left_without_reading_it(
    session: Session,
) -> None:
    accepted = mail_intake.accept(
        session, report_mail(1), now=NOW, received_at=NOW - timedelta(days=400)
    )
    inbox.ignore(session, accepted.mail_id, actor="a", now=NOW)
    mail_intake.purge(session, now=NOW, retention_days=30)

    mail = inbox.restore(session, accepted.mail_id, actor="a", now=NOW)

    assert mail.raw is None and inbox.lane_of(mail) == "waiting" and mail.awaiting_approval


def test_an_oversized_mail_keeps_its_reason_when_restored(session: Session) -> None:
    raw = report_mail(1) + b"x" * 4096
    accepted = mail_intake.accept(session, raw, now=NOW, max_bytes=2048)
    inbox.ignore(session, accepted.mail_id, actor="a", now=NOW)

    mail = inbox.restore(session, accepted.mail_id, actor="a", now=NOW, max_bytes=2048)

    assert inbox.lane_of(mail) == "failed" and "over the 2048-byte limit" in mail.failure


def test_a_mail_ignored_before_its_origin_was_kept_is_read_again(session: Session) -> None:
    accepted = mail_intake.accept(session, report_mail(1), now=NOW)
    mail = _mail(session, accepted.mail_id)
    mail.state, mail.awaiting_approval = "ignored", False  # as ignoring did before 0014

    inbox.restore(session, mail.id, actor="a", now=NOW)

    assert inbox.lane_of(mail) == "waiting"


def test_restoring_a_mail_that_is_not_ignored_is_refused(session: Session) -> None:
    accepted = mail_intake.accept(session, report_mail(1), now=NOW)
    with pytest.raises(InboxError, match="not ignored"):
        inbox.restore(session, accepted.mail_id, actor="a", now=NOW)


def test_an_ignored_mail_cannot_be_approved_until_restored(session: Session) -> None:
    accepted = mail_intake.accept(session, report_mail(1), now=NOW)
    customer = catalog.create_customer(session, "Acme", actor="t")
    inbox.ignore(session, accepted.mail_id, actor="a", now=NOW)
    with pytest.raises(InboxError, match="not waiting"):
        inbox.approve(session, accepted.mail_id, customer.id, actor="a", now=NOW)
    inbox.restore(session, accepted.mail_id, actor="a", now=NOW)
    assert len(inbox.approve(session, accepted.mail_id, customer.id, actor="a", now=NOW).run_ids)
