"""Store first, then parse: de-duplication, routing, reparse, limits and retention."""

from __future__ import annotations

import zlib
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.mail_support import approve_under_new_customer, fixture, report_mail
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import MailMessage, Run


def _runs(session: Session) -> int:
    return session.scalar(select(func.count(Run.id))) or 0


def test_a_mail_is_stored_compressed_with_its_headers(session: Session) -> None:
    raw = fixture("veeam_br/backup-success-three-vms")
    accepted = mail_intake.accept(session, raw, now=NOW)
    mail = session.get(MailMessage, accepted.mail_id)
    assert mail is not None
    assert mail.raw is not None and zlib.decompress(mail.raw) == raw
    assert len(mail.raw) < len(raw)
    assert mail.message_key == "fixture-024@mail.example.net"
    assert mail.sender == "veeam@vbr01.example.com"
    assert mail.size == len(raw)
    assert mail.state == "parsed" and mail.parser == "veeam_br"
    assert mail.detected[0]["job_name"] == "Daily VMs"


def test_an_unknown_job_waits_for_approval_and_makes_no_run(session: Session) -> None:
    accepted = mail_intake.accept(session, fixture("veeam_br/backup-success-three-vms"), now=NOW)
    assert accepted.awaiting_approval and accepted.run_ids == ()
    assert _runs(session) == 0
    assert [m.id for m in inbox.list_lane(session, "waiting").mails] == [accepted.mail_id]


def test_a_redelivered_mail_is_stored_once_and_never_makes_a_second_run(session: Session) -> None:
    first = mail_intake.accept(session, report_mail(1), now=NOW)
    approve_under_new_customer(session, first.mail_id)
    assert _runs(session) == 1
    # The same Message-ID through another route, with an extra Received header.
    again = mail_intake.accept(session, b"Received: from relay\r\n" + report_mail(1), now=NOW)
    assert not again.created and again.mail_id == first.mail_id
    assert session.scalar(select(func.count(MailMessage.id))) == 1
    assert _runs(session) == 1


def test_a_mail_without_message_id_is_keyed_by_its_bytes(session: Session) -> None:
    raw = report_mail(1, message_id="")
    first = mail_intake.accept(session, raw, now=NOW)
    again = mail_intake.accept(session, raw, now=NOW)
    assert first.created and not again.created
    mail = session.get(MailMessage, first.mail_id)
    assert mail is not None and mail.message_key.startswith("sha256:")


def test_later_mails_of_an_approved_job_become_runs_directly(session: Session) -> None:
    first = mail_intake.accept(session, report_mail(1), now=NOW)
    approve_under_new_customer(session, first.mail_id)
    later = mail_intake.accept(session, report_mail(2, status="Failed"), now=NOW)
    assert not later.awaiting_approval and len(later.run_ids) == 1
    run = session.get(Run, later.run_ids[0])
    assert run is not None and run.status == "error" and run.source == "mail"
    assert run.job.customer.name == "Acme"


def test_another_sender_with_the_same_job_name_still_waits(session: Session) -> None:
    first = mail_intake.accept(session, report_mail(1), now=NOW)
    approve_under_new_customer(session, first.mail_id)
    other = mail_intake.accept(session, report_mail(2, sender="backup@other.example"), now=NOW)
    assert other.awaiting_approval and other.run_ids == ()


def test_reparse_finds_the_runs_it_made_and_adds_none(db: sessionmaker[Session]) -> None:
    with db() as session:
        for n in range(1, 4):
            accepted = mail_intake.accept(session, report_mail(n), now=NOW)
            if n == 1:
                approve_under_new_customer(session, accepted.mail_id)
        session.commit()
        before = sorted(session.scalars(select(Run.id)))
    result = mail_intake.reparse(db, now=lambda: NOW)
    result_again = mail_intake.reparse(db, now=lambda: NOW)
    with db() as session:
        assert sorted(session.scalars(select(Run.id))) == before
    assert len(before) == 3
    assert result.mails == result_again.mails == 3 and result.runs == 3


def test_a_retry_mail_updates_the_run_of_its_session(session: Session) -> None:
    first = mail_intake.accept(
        session, fixture("veeam_agent/windows-first-error-mail"), now=NOW, received_at=NOW
    )
    approve_under_new_customer(session, first.mail_id)
    [run_id] = first_run_ids = session.get(MailMessage, first.mail_id).run_ids  # type: ignore[union-attr]
    assert session.get(Run, run_id).status == "error"  # type: ignore[union-attr]
    final = mail_intake.accept(
        session,
        fixture("veeam_agent/windows-final-result-same-session"),
        now=NOW,
        received_at=NOW + timedelta(minutes=40),
    )
    assert list(final.run_ids) == first_run_ids
    assert session.get(Run, run_id).status == "success"  # type: ignore[union-attr]
    assert _runs(session) == 1


def test_reparsing_the_earlier_retry_mail_keeps_the_final_result(db: sessionmaker[Session]) -> None:
    with db() as session:
        first = mail_intake.accept(
            session, fixture("veeam_agent/windows-first-error-mail"), now=NOW, received_at=NOW
        )
        approve_under_new_customer(session, first.mail_id)
        mail_intake.accept(
            session,
            fixture("veeam_agent/windows-final-result-same-session"),
            now=NOW,
            received_at=NOW + timedelta(minutes=40),
        )
        session.commit()
    mail_intake.reparse(db, now=lambda: NOW, mail_ids=[first.mail_id])
    with db() as session:
        assert [r.status for r in session.scalars(select(Run))] == ["success"]


def test_a_mail_no_parser_reads_goes_to_the_could_not_tell_lane(session: Session) -> None:
    accepted = mail_intake.accept(session, fixture("generic/newsletter-no-parser"), now=NOW)
    assert accepted.state == "no_parser" and not accepted.awaiting_approval
    assert [m.id for m in inbox.list_lane(session, "could_not_tell").mails] == [accepted.mail_id]


def test_a_malformed_mail_is_stored_as_failed_with_its_reason(session: Session) -> None:
    raw = b"\x00\xff garbage without any header \x00" * 3
    accepted = mail_intake.accept(session, raw, now=NOW)
    mail = session.get(MailMessage, accepted.mail_id)
    assert mail is not None and mail.state == "failed"
    assert mail.failure == "no mail headers found"
    assert mail_intake.raw_bytes(mail) == raw


def test_a_mail_over_the_size_limit_keeps_its_headers_and_is_marked_failed(
    session: Session,
) -> None:
    raw = report_mail(1) + b"x" * 5000
    accepted = mail_intake.accept(session, raw, now=NOW, max_bytes=2048)
    mail = session.get(MailMessage, accepted.mail_id)
    assert mail is not None and mail.state == "failed"
    assert "over the 2048-byte limit" in mail.failure
    kept = mail_intake.raw_bytes(mail)
    assert kept is not None and kept.startswith(b"From: Backup") and b"xxxx" not in kept
    assert mail.subject == "[Success] Backup job Nightly" and mail.size == len(raw)


def test_purge_drops_old_raw_mail_and_keeps_its_runs(session: Session) -> None:
    old = mail_intake.accept(session, report_mail(1), now=NOW, received_at=NOW - timedelta(days=40))
    approve_under_new_customer(session, old.mail_id)
    fresh = mail_intake.accept(session, report_mail(2), now=NOW)
    assert mail_intake.purge(session, now=NOW, retention_days=30) == 1
    session.expire_all()
    old_mail = session.get(MailMessage, old.mail_id)
    assert old_mail is not None and old_mail.raw is None and old_mail.raw_purged_at == NOW
    assert session.get(MailMessage, fresh.mail_id).raw is not None  # type: ignore[union-attr]
    assert _runs(session) == 2
    assert mail_intake.purge(session, now=NOW, retention_days=0) == 0


def test_a_matching_rule_files_mail_under_its_customer_without_approval(session: Session) -> None:
    customer = catalog.create_customer(session, "Acme", actor="test")
    inbox.create_rule(
        session, sender="acme.example", subject_pattern="", customer_id=customer.id, actor="t"
    )
    accepted = mail_intake.accept(
        session, report_mail(1, sender="nas@backup.acme.example"), now=NOW
    )
    assert not accepted.awaiting_approval and len(accepted.run_ids) == 1
    run = session.get(Run, accepted.run_ids[0])
    assert run is not None and run.job.customer_id == customer.id


def test_a_rule_with_a_subject_pattern_needs_both_to_match(session: Session) -> None:
    customer = catalog.create_customer(session, "Acme", actor="test")
    inbox.create_rule(
        session,
        sender="backup@acme.example",
        subject_pattern="*job Weekly*",
        customer_id=customer.id,
        actor="t",
    )
    nightly = mail_intake.accept(session, report_mail(1), now=NOW)
    weekly = mail_intake.accept(session, report_mail(2, job="Weekly"), now=NOW)
    assert nightly.awaiting_approval
    assert not weekly.awaiting_approval and len(weekly.run_ids) == 1
