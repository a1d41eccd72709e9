"""Reviewing many runs at once: what a ticked job, "every Success" or "everything the filters
match" means, and marking those runs reviewed in batches as one action."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.runs.records import RunFilter, filtered, record_review
from ticketbridge.storage.models import Run

REVIEW_BATCH = 1000


def successes_of(filters: RunFilter) -> RunFilter:
    """The Success runs among those `filters` match (none if they exclude Success)."""
    if filters.statuses and RunStatus.SUCCESS not in filters.statuses:
        return replace(filters, statuses=(RunStatus.SUCCESS,), upto=0)
    return replace(filters, statuses=(RunStatus.SUCCESS,))


@dataclass(frozen=True)
class Reviewed:
    count: int
    at: datetime


def matching_ids(session: Session, filters: RunFilter) -> list[int]:
    """Ids of the runs waiting for review that `filters` match."""
    waiting = replace(filters, reviewed=False)
    return list(session.scalars(filtered(select(Run.id), waiting)))


def review_ids(
    session: Session,
    run_ids: Sequence[int],
    *,
    actor: str,
    note: str,
    now: datetime,
    matching: str = "",
) -> Reviewed:
    """Mark the runs among `run_ids` still waiting reviewed, in batches, as one action: one
    time (which Undo finds them by), one audit event. Runs reviewed meanwhile keep their
    first reviewer."""
    ids = sorted(set(run_ids))
    done: list[int] = []
    for start in range(0, len(ids), REVIEW_BATCH):
        batch = ids[start : start + REVIEW_BATCH]
        still = list(
            session.scalars(select(Run.id).where(Run.id.in_(batch), Run.reviewed_at.is_(None)))
        )
        if still:
            session.execute(
                update(Run)
                .where(Run.id.in_(still))
                .values(reviewed_at=now, reviewed_by=actor, review_note=note.strip())
                .execution_options(synchronize_session=False)
            )
            done.extend(still)
    if done:
        record_review(
            session, done, actor=actor, note=note, at=now, count=len(done), matching=matching
        )
    session.expire_all()
    return Reviewed(len(done), now)


def jobs_runs(session: Session, filters: RunFilter, job_ids: Sequence[int]) -> list[int]:
    """Ids of the waiting runs of these jobs that `filters` match: a ticked job row."""
    if not job_ids:
        return []
    waiting = replace(filters, reviewed=False)
    return list(session.scalars(filtered(select(Run.id), waiting).where(Run.job_id.in_(job_ids))))
