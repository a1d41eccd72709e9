"""Duplicate tickets in Autotask for a run (issue 9): what was found, and the operator's choice.

Reading shows what the sweep and the run page recorded (no Autotask request). Keeping a ticket
answers 404 (unknown run), 409 (nothing to choose, a ticket being created, the integration
disabled), 422 (not one of the duplicates), 502 or 503 (Autotask failed); never 500.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ticketbridge.services.runs import records as runs
from ticketbridge.services.tickets import duplicate_choice
from ticketbridge.services.tickets import duplicates as ticket_duplicates
from ticketbridge.storage.models import TicketDuplicateRow
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id, RemoteIdField
from ticketbridge.web.deps import ApiReader, ApiReviewer, Ctx, DbSession

router = APIRouter(prefix="/runs", tags=["tickets"], responses=ERROR_RESPONSES)


class KeepIn(BaseModel):
    ticket_id: RemoteIdField = Field(
        description="The Autotask ticket ID that stays linked to the run"
    )


class FoundTicketOut(BaseModel):
    id: int
    number: str


class DetectionOut(BaseModel):
    id: int
    reference: str
    tickets: list[FoundTicketOut]
    found_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None = Field(description="kept (the operator chose) or gone")
    kept_ticket_id: int | None
    noted_ticket_ids: list[int]

    @classmethod
    def of(cls, row: TicketDuplicateRow) -> DetectionOut:
        return cls(
            id=row.id,
            reference=row.reference,
            tickets=[
                FoundTicketOut(id=t.id, number=t.number) for t in ticket_duplicates.tickets_of(row)
            ],
            found_at=row.found_at,
            last_seen_at=row.last_seen_at,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            resolution=row.resolution,
            kept_ticket_id=row.kept_ticket_id,
            noted_ticket_ids=list(row.noted_ticket_ids or []),
        )


class DuplicatesOut(BaseModel):
    run_id: int
    open: DetectionOut | None = Field(description="Duplicates waiting for the operator's choice")
    linked_ticket_id: int | None
    suggested_ticket_id: int | None = Field(description="The linked ticket, else the oldest")
    history: list[DetectionOut] = Field(description="Every detection of the run, newest first")
    message: str | None = None


def _out(ctx: Ctx, run_id: int, message: str | None = None) -> DuplicatesOut:
    with ctx.session_factory() as session:
        view = ticket_duplicates.view(session, run_id)
        return DuplicatesOut(
            run_id=run_id,
            open=DetectionOut.of(view.open) if view.open is not None else None,
            linked_ticket_id=view.linked_ticket_id,
            suggested_ticket_id=view.suggested_ticket_id,
            history=[DetectionOut.of(row) for row in view.history],
            message=message,
        )


@router.get(
    "/{run_id}/ticket/duplicates",
    response_model=DuplicatesOut,
    summary="Duplicate tickets found in Autotask for a run",
)
def get_duplicates(run_id: Id, ctx: Ctx, session: DbSession, _: ApiReader) -> DuplicatesOut:
    runs.get_run(session, run_id)
    return _out(ctx, run_id)


@router.post(
    "/{run_id}/ticket/duplicates/keep",
    response_model=DuplicatesOut,
    summary="Choose the duplicate ticket that stays linked",
)
def keep_duplicate(run_id: Id, body: KeepIn, ctx: Ctx, principal: ApiReviewer) -> DuplicatesOut:
    """The run links the chosen ticket; every other ticket carrying the run's reference gets an
    internal note naming it. Nothing is closed or deleted."""
    result = duplicate_choice.keep(ctx, run_id, body.ticket_id, actor=principal.actor)
    return _out(ctx, run_id, result.message)
