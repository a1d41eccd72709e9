"""A new matching rule can be applied to the mail already waiting in the Inbox."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import NOW
from tests.services.mail_support import fixture, report_mail
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import AuditEvent, Job, MailMessage, Run

FORWARDED = fixture("veeam_br/backup-copy-warning-forwarded-inline")


def _waiting(session: Session, *mails: bytes) -> list[int]:
    ids = [mail_intake.accept(session, raw, now=NOW).mail_id for raw in mails]
    assert [m.id for m in inbox.list_lane(session, "waiting").mails] == sorted(ids, reverse=True)
    return ids


def _rule(session: Session, *, sender: str = "", subject: str = "") -> tuple[int, int]:
    customer = catalog.create_customer(session, "Acme", actor="t")
    rule = inbox.create_rule(
        session, sender=sender, subject_pattern=subject, customer_id=customer.id, actor="t"
    )
    return rule.id, customer.id


def test_a_new_rule_does_not_move_waiting_mail_by_itself(session: Session) -> None:
    [mail_id] = _waiting(session, report_mail(1))
    rule_id, _ = _rule(session, sender="acme.example")
    mail = session.get(MailMessage, mail_id)
    assert mail is not None and mail.awaiting_approval
    assert [m.id for m in inbox.waiting_for_rule(session, rule_id)] == [mail_id]


def test_the_rule_fits_waiting_mail_by_sender_domain_and_subject_only(session: Session) -> None:
    acme_1, acme_2, other = _waiting(
        session,
        report_mail(1),
        report_mail(2, job="Weekly"),
        report_mail(3, sender="backup@globex.example"),
    )
    rule_id, _ = _rule(session, sender="acme.example", subject="*Nightly*")
    assert [m.id for m in inbox.waiting_for_rule(session, rule_id)] == [acme_1]
    assert acme_2 and other


def test_a_forward_is_matched_by_its_original_sender_as_routing_does(session: Session) -> None:
    [mail_id] = _waiting(session, FORWARDED)
    stored = session.get(MailMessage, mail_id)
    assert stored is not None and stored.sender == "anna@customer.example.com"
    rule_id, _ = _rule(session, sender="example.com")
    assert [m.id for m in inbox.waiting_for_rule(session, rule_id)] == [mail_id]
    only_forwarder = inbox.create_rule(
        session, sender="anna@customer.example.com", subject_pattern="", customer_id=1, actor="t"
    )
    assert inbox.waiting_for_rule(session, only_forwarder.id) == []


def test_applying_routes_the_fitting_mail_to_the_rules_customer_and_audits_it(
    session: Session,
) -> None:
    fits_1, fits_2, other = _waiting(
        session, report_mail(1), report_mail(2, job="Weekly"), report_mail(3, sender="b@x.example")
    )
    rule_id, customer_id = _rule(session, sender="acme.example")

    result = inbox.apply_rule(session, rule_id, actor="user:root", now=NOW)

    assert result.matched == [fits_1, fits_2] and result.routed == [fits_1, fits_2]
    assert len(result.run_ids) == 2
    assert [m.id for m in inbox.list_lane(session, "waiting").mails] == [other]
    jobs = session.scalars(select(Job).order_by(Job.job_name)).all()
    assert [(j.job_name, j.customer_id) for j in jobs] == [
        ("Backup job Nightly", customer_id),
        ("Backup job Weekly", customer_id),
    ]
    assert session.scalar(select(func.count(Run.id))) == 2
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "mail_rule.apply"))
    assert event.actor == "user:root" and event.subject == f"mail rule {rule_id}"
    assert event.details["mail_ids"] == [fits_1, fits_2] and event.details["still_waiting"] == []
    assert sorted(event.details["run_ids"]) == sorted(result.run_ids)


def test_applying_again_finds_nothing_more(session: Session) -> None:
    _waiting(session, report_mail(1))
    rule_id, _ = _rule(session, sender="acme.example")
    inbox.apply_rule(session, rule_id, actor="t", now=NOW)
    again = inbox.apply_rule(session, rule_id, actor="t", now=NOW)
    assert (again.matched, again.routed, again.run_ids) == ([], [], [])
    assert session.scalar(select(func.count(Run.id))) == 1


def test_ignored_and_unreadable_mail_is_not_touched_by_a_rule(session: Session) -> None:
    ignored, _ = _waiting(session, report_mail(1), report_mail(2, job="Weekly"))
    inbox.ignore(session, ignored, actor="t", now=NOW)
    mail_intake.accept(session, fixture("generic/newsletter-no-parser"), now=NOW)
    rule_id, _ = _rule(session, subject="*")
    fitting = inbox.waiting_for_rule(session, rule_id)
    assert ignored not in [m.id for m in fitting] and len(fitting) == 1
