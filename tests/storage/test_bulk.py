"""Bulk writes (storage/bulk.py) behave as writes through the session do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
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
