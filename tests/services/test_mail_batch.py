"""A fetched batch in one transaction: a bad mail is isolated and kept, duplicates stored once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.mail_support import FIXTURES, fixture, report_mail
from ticketbridge.connectors.parsers.registry import parse_message
from ticketbridge.services.mail import batch as mail_batch
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import routing as mail_routing
from ticketbridge.services.mail.batch import Received
from ticketbridge.services.mail.route_batch import BatchRoutes, RunRef
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import Job, MailMessage, Run


def _with_rule(db: sessionmaker[Session], sender: str = "acme.example") -> None:
    with db.begin() as session:
        customer = catalog.create_customer(session, "Acme", actor="test")
        inbox.create_rule(
            session, sender=sender, subject_pattern="", customer_id=customer.id, actor="t"
        )


def _batch(*mails: bytes) -> list[Received]:
    return [Received(raw, None) for raw in mails]


def _count(db: sessionmaker[Session], model: Any) -> int:
    with db() as session:
        return session.scalar(select(func.count(model.id))) or 0


def test_a_batch_with_one_poisoned_mail_stores_the_others_and_keeps_it_with_its_reason(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_rule(db)
    record_run, batch_record_run = mail_routing.record_run, BatchRoutes.record_run

    def poison(session: Session, job: Job) -> None:
        if job.job_name.endswith("Poison"):
            session.add(Job(customer_id=None, backup_product="x", job_name="x"))
            session.flush()  # NOT NULL: the database refuses it

    def breaks_a_constraint_for_poison(session: Session, job: Job, *args: Any, **kw: Any) -> int:
        poison(session, job)
        return record_run(session, job, *args, **kw)

    def breaks_the_batch_for_poison(
        routes: BatchRoutes, session: Session, job: Job, *args: Any, **kw: Any
    ) -> RunRef:
        poison(session, job)
        return batch_record_run(routes, session, job, *args, **kw)

    # The batch's routing and the mail-by-mail routing it falls back to.
    monkeypatch.setattr(BatchRoutes, "record_run", breaks_the_batch_for_poison)
    monkeypatch.setattr(mail_routing, "record_run", breaks_a_constraint_for_poison)
    mails = [report_mail(n, job=f"Job {n}") for n in range(1, 6)]
    mails.insert(2, report_mail(9, job="Poison"))
    accepted = mail_batch.accept_batch(db, _batch(*mails), now=NOW)

    assert [one.created for one in accepted] == [True] * 6
    assert [len(one.run_ids) for one in accepted] == [1, 1, 0, 1, 1, 1]
    assert _count(db, MailMessage) == 6 and _count(db, Run) == 5
    with db() as session:
        poisoned = session.get(MailMessage, accepted[2].mail_id)
        assert poisoned is not None and poisoned.raw is not None
        assert poisoned.state == "failed"
        assert poisoned.failure.startswith("routing failed: IntegrityError")


def test_a_duplicate_inside_one_batch_is_stored_and_routed_once(
    db: sessionmaker[Session],
) -> None:
    _with_rule(db)
    first, second = report_mail(1, job="Nightly"), report_mail(2, job="Weekly")
    accepted = mail_batch.accept_batch(db, _batch(first, second, first), now=NOW)
    assert [one.created for one in accepted] == [True, True, False]
    assert accepted[2].mail_id == accepted[0].mail_id
    assert accepted[2].run_ids == accepted[0].run_ids != ()
    assert _count(db, MailMessage) == 2 and _count(db, Run) == 2


def test_a_mail_stored_by_an_earlier_batch_is_a_duplicate_in_a_later_one(
    db: sessionmaker[Session],
) -> None:
    _with_rule(db)
    [earlier] = mail_batch.accept_batch(db, _batch(report_mail(1)), now=NOW)
    again, new = mail_batch.accept_batch(
        db, _batch(report_mail(1), report_mail(2, job="Weekly")), now=NOW
    )
    assert (again.created, again.mail_id, again.run_ids) == (
        False,
        earlier.mail_id,
        earlier.run_ids,
    )
    assert new.created and len(new.run_ids) == 1
    assert _count(db, MailMessage) == 2 and _count(db, Run) == 2


def test_an_oversized_mail_in_a_batch_keeps_its_headers_as_failed(
    db: sessionmaker[Session],
) -> None:
    big = report_mail(1) + b"x" * 2000
    small, large = mail_batch.accept_batch(db, _batch(report_mail(2), big), now=NOW, max_bytes=1000)
    assert small.state == "no_parser" or small.awaiting_approval
    with db() as session:
        mail = session.get(MailMessage, large.mail_id)
        assert mail is not None and mail.state == "failed" and "limit" in mail.failure
        assert mail.sender == "backup@acme.example" and mail.size == len(big)


def _received(raw: bytes, minutes: int) -> Received:
    return Received(raw, NOW + timedelta(minutes=minutes))


def test_mails_of_one_session_in_one_batch_make_one_run_with_the_latest_result(
    db: sessionmaker[Session],
) -> None:
    _with_rule(db)
    # One session: the same job and start (the generic parser reads the start off the Date).
    failed = report_mail(1, job="Nightly", status="Failed")
    succeeded = report_mail(11, job="Nightly", status="Success")
    # The later mail comes first in the batch: the earlier one must not undo it.
    later, earlier = mail_batch.accept_batch(
        db, [_received(succeeded, 60), _received(failed, 0)], now=NOW
    )

    assert later.run_ids == earlier.run_ids and len(later.run_ids) == 1
    with db() as session:
        [run] = session.scalars(select(Run)).all()
        assert run.status == "success" and run.received_at == NOW + timedelta(minutes=60)


def test_a_later_batch_updates_the_run_an_earlier_batch_made_and_replaces_its_objects(
    db: sessionmaker[Session],
) -> None:
    _with_rule(db, sender="ws-anna.example.com")
    [first] = mail_batch.accept_batch(
        db, [_received(fixture("veeam_agent/windows-first-error-mail"), 0)], now=NOW
    )
    final_mail = fixture("veeam_agent/windows-final-result-same-session")
    [final] = mail_batch.accept_batch(db, [_received(final_mail, 40)], now=NOW)

    assert final.run_ids == first.run_ids and len(first.run_ids) == 1
    [report] = parse_message(final_mail).reports
    with db() as session:
        run = session.get(Run, first.run_ids[0])
        assert run is not None and run.status == "success"
        assert run.received_at == NOW + timedelta(minutes=40)
        assert run.ended_at == report.ended_at
        assert sorted((o.name, o.status) for o in run.objects) == sorted(
            (o.name, o.status.value) for o in report.objects
        )
    # Read again in an older batch, the first mail leaves the final result alone.
    mail_intake.reparse(db, now=lambda: NOW, mail_ids=[first.mail_id])
    with db() as session:
        assert [r.status for r in session.scalars(select(Run))] == ["success"]


def test_a_batch_stores_its_new_runs_as_mail_by_mail_routing_does(
    db: sessionmaker[Session],
) -> None:
    _with_rule(db, sender="ws-anna.example.com")
    raw = fixture("veeam_agent/windows-first-error-mail")
    [accepted] = mail_batch.accept_batch(db, [_received(raw, 5)], now=NOW)
    [report] = parse_message(raw).reports

    with db() as session:
        [run] = session.scalars(select(Run)).all()
        assert accepted.run_ids == (run.id,) and run.source == "mail"
        assert (run.status, run.started_at, run.ended_at) == (
            report.status.value,
            report.started_at,
            report.ended_at,
        )
        assert run.received_at == NOW + timedelta(minutes=5)
        assert run.external_id is not None and run.external_id.startswith("mail:")
        assert len(run.objects) == len(report.objects) > 0
        assert run.job.customer.name == "Acme"


def test_a_batch_writes_the_state_of_all_its_routed_mails_in_one_statement(
    db: sessionmaker[Session],
) -> None:
    """Parsed, unparsed, failed and waiting mails alike: routing's writes on the mails of a batch
    go as one UPDATE run over every row, not one statement per kind of outcome."""
    with db.begin() as session:
        customer = catalog.create_customer(session, "Acme", actor="test")
        inbox.create_rule(
            session, sender="", subject_pattern="*Veeam*", customer_id=customer.id, actor="t"
        )
    corpus = sorted(FIXTURES.glob("*/*.eml"))
    updates: list[int] = []

    def count_mail_updates(*args: Any) -> None:
        statement, parameters, executemany = args[2], args[3], args[5]
        if statement.startswith("UPDATE mail_messages"):
            updates.append(len(parameters) if executemany else 1)

    engine = db.kw["bind"]
    event.listen(engine, "before_cursor_execute", count_mail_updates)
    try:
        accepted = mail_batch.accept_batch(db, _batch(*(p.read_bytes() for p in corpus)), now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count_mail_updates)

    with db() as session:
        states = set(session.scalars(select(MailMessage.state)))
    assert {"parsed", "no_parser"} <= states and any(one.awaiting_approval for one in accepted)
    assert updates == [len(corpus)]
