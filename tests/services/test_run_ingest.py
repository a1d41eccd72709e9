from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import run_payload
from ticketbridge.core.statuses import RunSource
from ticketbridge.services import run_ingest
from ticketbridge.services.run_ingest import IngestResult, RunIn
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


def test_concurrent_writers_of_one_batch_store_every_run_once(db: sessionmaker[Session]) -> None:
    items = _items(60)
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
    assert _count(db, Run) == 60 and _count(db, Customer) == 3 and _count(db, Job) == 15
    ids = [[r.run_id for r in outcome] for outcome in outcomes]
    assert ids[0] == ids[1] == ids[2]
    assert sum(r.created for outcome in outcomes for r in outcome) == 60
