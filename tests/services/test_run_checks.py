"""The review queue: worst first, pages by cursor in both directions, search, bulk review, Undo."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_runs
from ticketbridge.core.run_order import Cursor, Direction, Sort, decode_cursor
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.runs import checks as run_checks
from ticketbridge.services.runs import pages as run_pages
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runs import review as run_review
from ticketbridge.services.runs.records import RunFilter
from ticketbridge.storage.models import AuditEvent, Run

QUEUE = RunFilter(reviewed=False)


def _walk_forward(
    session: Session, filters: RunFilter, sort: Sort, limit: int
) -> tuple[list[int], int]:
    seen: list[int] = []
    cursor: Cursor | None = None
    pages = 0
    while True:
        page = run_pages.run_page(session, filters, sort, cursor, limit=limit)
        pages += 1
        seen.extend(run.id for run in page.runs)
        if page.links.next is None:
            return seen, pages
        cursor = decode_cursor(page.links.next)


def _expected(session: Session, sort: Sort) -> list[int]:
    rows = session.execute(select(Run.status, Run.started_at, Run.id)).all()
    order = ["failed", "error", "missed", "warning", "unknown", "success"]
    if sort is Sort.WORST:
        rows.sort(key=lambda r: (order.index(r.status), r.started_at, r.id))
    elif sort is Sort.OLDEST:
        rows.sort(key=lambda r: (r.started_at, r.id))
    else:
        rows.sort(key=lambda r: (r.started_at, r.id), reverse=True)
    return [r.id for r in rows]


@pytest.fixture
def mixed(db: sessionmaker[Session]) -> sessionmaker[Session]:
    """37 runs of four statuses on three jobs, with many runs sharing a start time."""
    for index, status in enumerate([RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.WARNING]):
        add_runs(db, 9, job_name=f"Job {index}", status=status, step=timedelta(hours=-1))
        add_runs(db, 3, job_name=f"Job {index}", status=status, started_at=NOW,
                 step=timedelta(0), customer="Brightwater Dental")  # fmt: skip
    add_runs(db, 1, job_name="Job 9", status=RunStatus.MISSED)
    return db


@pytest.mark.parametrize("sort", list(Sort))
def test_pages_by_cursor_cover_every_run_once_in_order(
    mixed: sessionmaker[Session], sort: Sort
) -> None:
    with mixed() as session:
        seen, pages = _walk_forward(session, RunFilter(), sort, limit=5)

        assert seen == _expected(session, sort)
        assert pages == 8


@pytest.mark.parametrize("sort", list(Sort))
def test_the_last_page_and_previous_links_walk_back_to_the_first(
    mixed: sessionmaker[Session], sort: Sort
) -> None:
    with mixed() as session:
        expected = _expected(session, sort)
        page = run_pages.run_page(session, RunFilter(), sort, None, last=True, limit=5)
        assert [run.id for run in page.runs] == expected[-5:]
        assert page.links.next is None and page.links.previous is not None
        seen = [run.id for run in page.runs]
        while page.links.previous:
            cursor = decode_cursor(page.links.previous)
            assert cursor.direction is Direction.BEFORE
            page = run_pages.run_page(session, RunFilter(), sort, cursor, limit=5)
            seen = [run.id for run in page.runs] + seen
        assert seen == expected
        assert not page.links.first and page.links.next is not None


def test_worst_first_reads_only_the_statuses_asked_for(mixed: sessionmaker[Session]) -> None:
    with mixed() as session:
        filters = RunFilter(statuses=(RunStatus.SUCCESS, RunStatus.MISSED))
        seen, _ = _walk_forward(session, filters, Sort.WORST, limit=4)
        statuses = [session.get(Run, run_id).status for run_id in seen]  # type: ignore[union-attr]

    assert statuses == ["missed"] + ["success"] * 12


def test_the_queue_has_a_row_per_job_worst_first_then_oldest(db: sessionmaker[Session]) -> None:
    add_runs(db, 2, job_name="Quiet", status=RunStatus.SUCCESS)
    add_runs(db, 1, job_name="Old error", status=RunStatus.ERROR, started_at=NOW - timedelta(3))
    add_runs(db, 1, job_name="New error", status=RunStatus.ERROR)
    add_runs(db, 1, job_name="Failing", status=RunStatus.FAILED, started_at=NOW - timedelta(1))
    add_runs(db, 2, job_name="Failing", status=RunStatus.SUCCESS)
    add_runs(db, 1, job_name="Silent", status=RunStatus.MISSED, started_at=NOW - timedelta(9))

    with db() as session:
        page = run_checks.job_page(session, QUEUE, Sort.WORST, None)

    assert [row.job.job_name for row in page.rows] == [
        "Failing", "Old error", "New error", "Silent", "Quiet"]  # fmt: skip
    failing = page.rows[0]
    assert failing.counts == [(RunStatus.FAILED, 1), (RunStatus.SUCCESS, 2)]
    assert failing.total == 3 and failing.runs[0].status == "failed"
    assert page.rows[1].latest_remark == ""  # the factory's runs carry no remark


def test_job_rows_page_by_cursor_both_ways(db: sessionmaker[Session]) -> None:
    for index in range(7):
        add_runs(db, 1 + index % 3, job_name=f"Job {index}", started_at=NOW - timedelta(index),
                 step=timedelta(hours=1))  # fmt: skip
    with db() as session:
        first = run_checks.job_page(session, QUEUE, Sort.WORST, None, limit=3)
        second = run_checks.job_page(
            session, QUEUE, Sort.WORST, decode_cursor(first.links.next or ""), limit=3
        )
        last = run_checks.job_page(session, QUEUE, Sort.WORST, None, last=True, limit=3)
        back = run_checks.job_page(
            session, QUEUE, Sort.WORST, decode_cursor(last.links.previous or ""), limit=3
        )

    def names(page: run_checks.JobPage) -> list[str]:
        return [row.job.job_name.removeprefix("Job ") for row in page.rows]

    assert (names(first), names(second)) == (["6", "5", "4"], ["3", "2", "1"])
    assert (names(last), names(back)) == (["2", "1", "0"], ["5", "4", "3"])
    assert first.links.previous is None and last.links.next is None


def test_a_job_row_shows_its_first_runs_and_counts_them_all(db: sessionmaker[Session]) -> None:
    add_runs(db, 14, status=RunStatus.WARNING, step=timedelta(hours=-1))
    with db() as session:
        [row] = run_checks.job_page(session, QUEUE, Sort.NEWEST, None).rows

    assert row.total == 14 and len(row.runs) == run_checks.RUNS_PER_JOB
    assert row.runs[0].started_at == NOW


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("acme log", {"acme"}),  # customer
        ("bw backup", {"bright"}),  # job name
        ("dc01", {"acme", "bright"}),  # object name
        ("SNAPSHOT", {"acme", "bright"}),  # object message
        ("repository offline", {"bright"}),  # remark
        ("100%", set()),  # % is a character, not a wildcard
    ],
)
def test_search_looks_at_names_objects_messages_and_remarks(
    db: sessionmaker[Session], text: str, found: set[str]
) -> None:
    [acme] = add_runs(db, 1)
    [bright] = add_runs(db, 1, customer="Brightwater Dental", job_name="BW Backup")
    with db() as session:
        run = session.get(Run, bright)
        assert run is not None
        run.overall_remark = "The repository offline at 02:00"
        session.commit()
        page = run_pages.run_page(session, RunFilter(search=text), Sort.WORST, None)

    names = {"acme": acme, "bright": bright}
    assert {run.id for run in page.runs} == {names[n] for n in found}


def test_counts_for_the_review_buttons(db: sessionmaker[Session]) -> None:
    add_runs(db, 3, status=RunStatus.SUCCESS)
    add_runs(db, 2, job_name="Other", status=RunStatus.ERROR)
    with db() as session:
        waiting = run_checks.totals(session, QUEUE)
        errors = run_checks.totals(session, RunFilter(statuses=(RunStatus.ERROR,), reviewed=False))

    assert (waiting.runs, waiting.jobs, waiting.reviewable, waiting.successes) == (5, 2, 5, 3)
    assert (errors.runs, errors.successes) == (2, 0)
    assert waiting.upto > 0


def test_review_of_everything_matching_stops_at_the_runs_the_page_knew(
    db: sessionmaker[Session],
) -> None:
    shown = add_runs(db, 4)
    with db() as session:
        upto = run_checks.totals(session, QUEUE).upto
    later = add_runs(db, 1, started_at=NOW - timedelta(hours=1))  # arrives after the page
    with db() as session:
        ids = run_review.matching_ids(session, replace(QUEUE, upto=upto))
        done = run_review.review_ids(
            session, ids, actor="olivia", note="all fine", now=NOW, matching="everything"
        )
        session.commit()

    assert done.count == 4 and sorted(ids) == sorted(shown)
    with db() as session:
        waiting = session.scalars(select(Run.id).where(Run.reviewed_at.is_(None))).all()
        assert waiting == later
        notes = set(session.scalars(select(Run.review_note).where(Run.id.in_(shown))))
        assert notes == {"all fine"}
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "runs.review")).one()
        assert event.details["count"] == 4 and event.details["matching"] == "everything"


def test_reviewing_in_batches_keeps_the_first_reviewer(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_review, "REVIEW_BATCH", 2)
    ids = add_runs(db, 5)
    with db() as session:
        runs.review(session, [ids[0]], actor="first", now=NOW)
        session.commit()
        done = run_review.review_ids(session, ids, actor="second", note="", now=NOW)
        session.commit()
        reviewers = {run.id: run.reviewed_by for run in session.scalars(select(Run))}

    assert done.count == 4
    assert reviewers == {ids[0]: "first", **{i: "second" for i in ids[1:]}}


def test_a_selected_job_means_its_waiting_runs_the_filters_match(
    db: sessionmaker[Session],
) -> None:
    errors = add_runs(db, 2)
    [success] = add_runs(db, 1, status=RunStatus.SUCCESS, started_at=NOW - timedelta(hours=2))
    add_runs(db, 1, job_name="Other job")
    with db() as session:
        job_id = session.get(Run, errors[0]).job_id  # type: ignore[union-attr]
        only_errors = RunFilter(statuses=(RunStatus.ERROR,), reviewed=False)
        assert sorted(run_review.jobs_runs(session, only_errors, [job_id])) == sorted(errors)
        assert success in run_review.jobs_runs(session, QUEUE, [job_id])


GRACE = timedelta(minutes=10)


def _reviewed(db: sessionmaker[Session], actor: str) -> list[int]:
    ids = add_runs(db, 3)
    with db() as session:
        run_review.review_ids(session, ids, actor=actor, note="looked", now=NOW)
        session.commit()
    return ids


def test_the_reviewer_undoes_a_whole_review_action_within_the_grace_period(
    db: sessionmaker[Session],
) -> None:
    ids = _reviewed(db, "olivia")
    with db() as session:
        undone = runs.unreview(
            session, actor="olivia", is_admin=False, now=NOW + GRACE, grace=GRACE, reviewed_at=NOW
        )
        session.commit()

    assert undone.count == 3 and undone.refused == 0
    with db() as session:
        rows = session.execute(select(Run.reviewed_at, Run.reviewed_by, Run.review_note)).all()
        assert set(rows) == {(None, None, "")}
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "runs.unreview")
        ).one()
        assert sorted(event.details["run_ids"]) == sorted(ids)
        assert event.details["reviews"] == [
            {"reviewed_by": "olivia", "reviewed_at": NOW.isoformat()}
        ]
        assert event.details["notes"] == ["looked"]


def test_undo_is_refused_to_others_and_after_the_grace_period(db: sessionmaker[Session]) -> None:
    ids = _reviewed(db, "olivia")
    with db() as session:
        other = runs.unreview(
            session, actor="oscar", is_admin=False, now=NOW, grace=GRACE, run_ids=ids
        )
        late = runs.unreview(
            session, actor="olivia", is_admin=False, now=NOW + GRACE + timedelta(seconds=1),
            grace=GRACE, run_ids=ids,
        )  # fmt: skip
        off = runs.unreview(
            session, actor="olivia", is_admin=False, now=NOW, grace=timedelta(0), run_ids=ids
        )
        admin = runs.unreview(
            session, actor="root", is_admin=True, now=NOW, grace=GRACE, run_ids=ids[:1]
        )
        session.commit()

    assert (other.count, other.refused) == (0, 3)
    assert (late.count, off.count) == (0, 0)
    assert admin.count == 1
    with db() as session:
        assert session.scalar(select(Run.reviewed_at).where(Run.id == ids[0])) is None
        assert session.scalar(select(Run.reviewed_by).where(Run.id == ids[1])) == "olivia"


def test_a_job_row_shows_the_latest_remark_of_its_waiting_runs(db: sessionmaker[Session]) -> None:
    old, new, _quiet = add_runs(db, 3, step=timedelta(hours=1))
    with db() as session:
        for run_id, remark in ((old, "Disk full"), (new, "Snapshot failed")):
            run = session.get(Run, run_id)
            assert run is not None
            run.overall_remark = remark
        session.commit()
        [row] = run_checks.job_page(session, QUEUE, Sort.OLDEST, None).rows

    assert row.latest_remark == "Snapshot failed"
    assert [run.id for run in row.runs] == [old, new, _quiet]
