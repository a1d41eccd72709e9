from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import run_payload
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs.ingest import IngestResult
from ticketbridge.services.runs.input import RunIn
from ticketbridge.storage import bulk
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import Customer, Job, Run, RunObject


def _items(count: int) -> list[RunIn]:
    return [
        RunIn.model_validate(
            run_payload(
                customer=f"Customer {i % 3}",
                job_name=f"Job {i % 5}",
                external_id=f"ext-{i}",
                objects=[{"name": f"obj-{i}-{n}", "status": "success"} for n in range(i % 4)],
            )
        )
        for i in range(count)
    ]


def _count(db: sessionmaker[Session], model: object) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def test_objects_are_stored_with_their_own_run(db: sessionmaker[Session]) -> None:
    results = run_ingest.ingest(db, _items(8), source=RunSource.API, actor="test")

    with db() as session:
        for index, result in enumerate(results):
            names = session.scalars(
                select(RunObject.name)
                .where(RunObject.run_id == result.run_id)
                .order_by(RunObject.id)
            ).all()
            assert names == [f"obj-{index}-{n}" for n in range(index % 4)]


def test_the_same_external_id_from_another_source_is_another_run(db: sessionmaker[Session]) -> None:
    api = run_ingest.ingest(db, _items(1), source=RunSource.API, actor="test")
    mail = run_ingest.ingest(db, _items(1), source=RunSource.MAIL, actor="test")

    assert api[0].run_id != mail[0].run_id and mail[0].created


def _three_writers_at_once(db: sessionmaker[Session], items: list[RunIn]) -> list[list[int]]:
    """Each writer's run ids, after all three sent the same batch at the same moment."""
    outcomes: list[list[IngestResult]] = []
    barrier = threading.Barrier(3)

    def write() -> None:
        barrier.wait()
        outcomes.append(run_ingest.ingest(db, items, source=RunSource.API, actor="test"))

    threads = [threading.Thread(target=write) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 3
    assert sum(r.created for outcome in outcomes for r in outcome) == len(items)
    return [[r.run_id for r in outcome] for outcome in outcomes]


def test_concurrent_writers_of_one_batch_store_every_run_once(db: sessionmaker[Session]) -> None:
    ids = _three_writers_at_once(db, _items(60))

    assert _count(db, Run) == 60 and _count(db, Customer) == 3 and _count(db, Job) == 15
    assert ids[0] == ids[1] == ids[2]


def test_concurrent_writers_of_known_jobs_store_every_run_once(db: sessionmaker[Session]) -> None:
    # Jobs stored before: each writer reads and plans its batch before its turn to write.
    run_ingest.ingest(db, _items(15), source=RunSource.MAIL, actor="test")

    ids = _three_writers_at_once(db, _items(60))

    assert _count(db, Run) == 75 and _count(db, Job) == 15
    assert ids[0] == ids[1] == ids[2]


def test_runs_stored_by_another_writer_after_the_look_up_are_answered_not_stored_again(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ingest.ingest(db, _items(15), source=RunSource.API, actor="test")  # the jobs
    batch = _items(40)[15:]
    meanwhile = batch[5:25:2]  # ten of them, sent again by another client
    handed_out = bulk.next_ids
    other: list[IngestResult] = []
    calls = []

    def another_writer_first(session: Session, model: type, count: int) -> list[int]:
        # The first call: this batch has looked its runs up and not yet had its turn to write.
        calls.append(count)
        if len(calls) == 1:
            other.extend(run_ingest.ingest(db, meanwhile, source=RunSource.API, actor="other"))
        return handed_out(session, model, count)

    monkeypatch.setattr(bulk, "next_ids", another_writer_first)
    # store() itself, without ingest()'s retries on a unique key's refusal.
    with session_scope(db) as session:
        results = run_ingest.store(session, batch, source=RunSource.API)

    by_external = {item.external_id: r for item, r in zip(batch, results, strict=True)}
    assert [by_external[item.external_id].run_id for item in meanwhile] == [r.run_id for r in other]
    assert not any(by_external[item.external_id].created for item in meanwhile)
    assert sum(r.created for r in results) == 15
    assert _count(db, Run) == 40
    with db() as session:
        stored = session.scalars(select(Run.id).where(Run.id.in_([r.run_id for r in results])))
        assert len(set(stored)) == 25


def _payload_items(*payloads: dict[str, object]) -> list[RunIn]:
    return [RunIn.model_validate(payload) for payload in payloads]


def test_a_batch_sent_again_stores_nothing_and_answers_the_stored_runs(
    db: sessionmaker[Session],
) -> None:
    items = _items(12)
    first = run_ingest.ingest(db, items, source=RunSource.API, actor="test")
    objects = _count(db, RunObject)

    again = run_ingest.ingest(db, items, source=RunSource.API, actor="test")

    assert [r.run_id for r in again] == [r.run_id for r in first]
    assert not any(r.created for r in again) and all(r.created for r in first)
    assert _count(db, Run) == 12 and _count(db, RunObject) == objects


def test_a_repeat_inside_one_batch_is_the_first_item_stored_once(
    db: sessionmaker[Session],
) -> None:
    items = _payload_items(
        run_payload(external_id="x", status="error", objects=[{"name": "A", "status": "error"}]),
        run_payload(external_id="y"),
        run_payload(
            external_id="x", status="success", objects=[{"name": "B", "status": "success"}]
        ),
    )

    results = run_ingest.ingest(db, items, source=RunSource.API, actor="test")

    assert [r.created for r in results] == [True, True, False]
    assert results[0].run_id == results[2].run_id != results[1].run_id
    with db() as session:
        run = session.get(Run, results[0].run_id)
        assert run is not None and run.status == "error"
        assert [o.name for o in run.objects] == ["A"]
    assert _count(db, Run) == 2


def test_stored_runs_read_back_as_reported_and_are_found_by_their_times(
    db: sessionmaker[Session],
) -> None:
    """Runs go in as bulk rows, not through the ORM: what the ORM reads back and filters on
    (a start time compared for equality, as mail intake does) must be what it would store."""
    items = _payload_items(
        run_payload(
            external_id="a",
            started_at="2026-11-20T03:15:07.250000+02:00",
            ended_at=None,
            overall_remark="Disk\tfull\nretry \\ later",
            objects=[
                {"name": "DC01", "type": "VM", "status": "error", "message": "snap\\shot"},
                {"name": "FS01", "status": "success"},
            ],
        ),
        run_payload(external_id=None, started_at="2026-11-19T23:00:00Z"),
    )
    received = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

    results = run_ingest.ingest(db, items, source=RunSource.API, actor="test", received_at=received)

    started = datetime(2026, 11, 20, 1, 15, 7, 250000, tzinfo=UTC)
    with db() as session:
        [found] = session.scalars(select(Run).where(Run.started_at == started)).all()
        assert found.id == results[0].run_id
        assert found.ended_at is None and found.received_at == received
        assert found.overall_remark == "Disk\tfull\nretry \\ later"
        assert (found.source, found.external_id, found.review_note) == ("api", "a", "")
        assert found.reviewed_at is None and found.reviewed_by is None
        assert [(o.name, o.type, o.status, o.message) for o in found.objects] == [
            ("DC01", "VM", "error", "snap\\shot"),
            ("FS01", "", "success", ""),
        ]
        second = session.get(Run, results[1].run_id)
        assert second is not None and second.external_id is None
        assert second.ended_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def test_run_ids_follow_the_order_of_the_batch(db: sessionmaker[Session]) -> None:
    run_ingest.ingest(db, _items(3), source=RunSource.MAIL, actor="test")

    ids = [r.run_id for r in run_ingest.ingest(db, _items(40), source=RunSource.API, actor="t")]

    assert ids == sorted(ids) and len(set(ids)) == 40
    with db() as session:
        assert min(ids) > max(session.scalars(select(Run.id).where(Run.source == "mail")))


def test_new_customers_and_jobs_take_their_first_spelling_once(
    db: sessionmaker[Session],
) -> None:
    items = _payload_items(
        run_payload(customer="ÖKO Bau", job_name="Nightly", external_id="1"),
        run_payload(customer="öko  bau", job_name="NIGHTLY", external_id="2"),
        run_payload(customer="Öko Bau", job_name="Weekly", external_id="3"),
    )

    results = run_ingest.ingest(db, items, source=RunSource.API, actor="test")

    with db() as session:
        assert session.scalars(select(Customer.name)).all() == ["ÖKO Bau"]
        assert sorted(session.scalars(select(Job.job_name))) == ["Nightly", "Weekly"]
        jobs = [session.get(Run, r.run_id).job_id for r in results]  # type: ignore[union-attr]
    assert jobs[0] == jobs[1] != jobs[2]
