"""Bulk writes (storage/bulk.py) behave as writes through the session do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
from ticketbridge.core.statuses import RunSource
from ticketbridge.storage import bulk
from ticketbridge.storage.db import serialise_writers
from ticketbridge.storage.models import Run

COLUMNS = ("id", "job_id", "status", "started_at", "overall_remark", "source", "external_id")
COLUMNS += ("received_at", "review_note")


def test_ids_handed_out_are_new_ascending_and_never_twice(db: sessionmaker[Session]) -> None:
    stored = add_runs(db, 3)
    with db() as session:
        serialise_writers(session, 1)
        first = bulk.next_ids(session, Run, 5)
        second = bulk.next_ids(session, Run, 0)
        session.commit()

    assert first == sorted(set(first)) and len(first) == 5 and min(first) > max(stored)
    assert second == []


def test_a_broken_unique_key_is_an_integrity_error_and_stores_nothing(
    db: sessionmaker[Session],
) -> None:
    [run_id] = add_runs(db, 1)
    with db() as session:
        run = session.get(Run, run_id)
        assert run is not None
        job_id, started = run.job_id, run.started_at
        serialise_writers(session, 1)
        ids = bulk.next_ids(session, Run, 2)
        rows = [
            (ids[0], job_id, "success", started, "", "api", "dup", started, ""),
            (ids[1], job_id, "success", started, "", "api", "dup", started, ""),
        ]
        with pytest.raises(IntegrityError):
            bulk.insert_rows(session, Run, COLUMNS, rows)
        session.rollback()

    with db() as session:
        assert session.scalars(select(Run.id)).all() == [run_id]


def test_times_are_stored_as_the_orm_stores_them(db: sessionmaker[Session]) -> None:
    [run_id] = add_runs(db, 1, started_at=datetime(2026, 11, 20, 0, 0, tzinfo=UTC))
    with db() as session:
        job_id = session.scalars(select(Run.job_id)).one()
        serialise_writers(session, 1)
        [new_id] = bulk.next_ids(session, Run, 1)
        midnight = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
        bulk.insert_rows(
            session,
            Run,
            COLUMNS,
            [(new_id, job_id, "error", midnight, "", "api", None, midnight, "")],
        )
        session.commit()

    with db() as session:
        # A bound at midnight compares text on SQLite: both rows must be in its format.
        later = select(Run.id).where(Run.started_at >= datetime(2026, 11, 20, 0, 0, tzinfo=UTC))
        assert sorted(session.scalars(later)) == [run_id, new_id]
        exact = session.scalars(select(Run.id).where(Run.started_at == midnight)).all()
        assert exact == [new_id]


def test_a_look_up_by_unique_key_answers_each_stored_value_once(
    db: sessionmaker[Session],
) -> None:
    add_runs(db, 3)
    add_runs(db, 1, source=RunSource.MAIL)
    with db() as session:
        stored = {key: run_id for key, run_id in session.execute(select(Run.external_id, Run.id))}
        wanted = [*stored, "never-stored"]
        found = bulk.by_unique_key(
            session, Run.external_id, wanted, (Run.external_id, Run.id), Run.source == "api"
        )
        mail = session.scalars(select(Run.external_id).where(Run.source == "mail")).one()

    assert sorted(found) == sorted((key, run_id) for key, run_id in stored.items() if key != mail)
    assert bulk.by_unique_key(session, Run.external_id, [], (Run.id,)) == []


def test_a_look_up_by_unique_key_probes_the_index_while_statistics_lag(
    db: sessionmaker[Session],
) -> None:
    """Statistics taken when the table held other rows (a fresh install, before an import):
    a join or an IN list of the wanted ids was planned as a scan of every run."""
    [first] = add_runs(db, 1, source=RunSource.MAIL)
    engine = db.kw["bind"]
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE runs"))
    with db() as session:
        job_id = session.get_one(Run, first).job_id
        serialise_writers(session, 1)
        ids = bulk.next_ids(session, Run, 3000)
        now = datetime(2026, 11, 20, tzinfo=UTC)
        rows = [(i, job_id, "success", now, "", "api", f"ext-{i}", now, "") for i in ids]
        bulk.insert_rows(session, Run, COLUMNS, rows)
        session.commit()

    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with db() as session:
            wanted = [f"ext-{i}" for i in ids[:200]]
            found = bulk.by_unique_key(
                session, Run.external_id, wanted, (Run.external_id, Run.id), Run.source == "api"
            )
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    [(statement, parameters)] = statements
    with engine.connect() as connection:
        explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
        plan = "\n".join(
            str(row[-1]) for row in connection.exec_driver_sql(explain + statement, parameters)
        )

    assert len(found) == 200
    if postgresql:  # one probe of the unique index per wanted id, no pass over every run
        assert "(external_id)::text = " in plan.split("Index Cond:")[-1], plan
        assert not any(scan in plan for scan in ("Hash", "Seq Scan", "Bitmap")), plan
    else:
        assert "INDEX sqlite_autoindex_runs_1 (source=? AND external_id=?)" in plan, plan
        assert "SCAN runs" not in plan, plan
