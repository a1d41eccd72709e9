"""Duplicate tickets in Autotask on the run page and in Run Checks (issue 9): the operator
chooses which ticket stays linked (a plain form per ticket, no script)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import duplicate_choice
from ticketbridge.services.tickets import duplicates as ticket_duplicates
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.web.api.schemas import MAX_REMOTE_ID, Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiReviewer
from ticketbridge.web.ui.templating import local_path, redirect

router = APIRouter()


def for_run(ctx: Runtime, session: Session, run_id: int) -> ticket_duplicates.DuplicatesView:
    """The run's duplicates for its page: Autotask is asked first when the last check is a few
    minutes old (one quick request; a failure leaves what was recorded)."""
    ticket_duplicates.check_run(ctx, run_id)
    return ticket_duplicates.view(session, run_id)


def for_runs(session: Session, run_ids: Sequence[int]) -> set[int]:
    """Runs of a Run Checks page with duplicates waiting for a choice (stored; no request)."""
    return ticket_duplicates.open_runs(session, run_ids)


@router.post("/runs/{run_id}/ticket/duplicates/keep", dependencies=[CsrfChecked])
def keep_duplicate(
    request: Request,
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    ticket_id: Annotated[int, Form(ge=0, le=MAX_REMOTE_ID)] = 0,
    return_to: Annotated[str, Form()] = "",
) -> Response:
    run = runs.get_run(session, run_id)
    back = local_path(return_to, f"/jobs/{run.job_id}/runs/{run.id}")
    session.close()  # nothing held while Autotask answers
    try:
        result = duplicate_choice.keep(ctx, run_id, ticket_id, actor=principal.actor)
    except TicketError as exc:
        return redirect(request, back, exc.message, "error")
    return redirect(request, back, result.message)
