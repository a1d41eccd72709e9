"""A fetched batch in one transaction: a bad mail is isolated and kept, duplicates stored once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.mail_support import report_mail
from ticketbridge.services import catalog, inbox, mail_batch, mail_routing
from ticketbridge.services.mail_batch import Received
from ticketbridge.storage.models import Job, MailMessage, Run


def _with_rule(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        customer = catalog.create_customer(session, "Acme", actor="test")
        inbox.create_rule(
            session, sender="acme.example", subject_pattern="", customer_id=customer.id, actor="t"
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
    record_run = mail_routing.record_run

    def breaks_a_constraint_for_poison(session: Session, job: Job, *args: Any, **kw: Any) -> int:
        if job.job_name.endswith("Poison"):
            session.add(Job(customer_id=None, backup_product="x", job_name="x"))
            session.flush()  # NOT NULL: the database refuses it
        return record_run(session, job, *args, **kw)

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
