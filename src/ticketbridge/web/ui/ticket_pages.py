"""Ticket actions from Run Checks rows and the Job Details run page (plain forms, no script).

Each action redirects back to the row it was taken on, with a one-time message shown next to
that run's ticket; a refused or failed action says why. An action Autotask has not finished
within about a second goes on in the background and the run shows where it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from ticketbridge.services import runs, ticketing
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.ticket_store import LinkResult, TicketError
from ticketbridge.web.api.schemas import Id
from ticketbridge.web.deps import (
    CsrfChecked,
    Ctx,
    DbSession,
    TicketActions,
    UiReader,
    UiReviewer,
)
from ticketbridge.web.ui.templating import flash, local_path

router = APIRouter()
ReturnTo = Annotated[str, Form()]
TicketNumber = Annotated[str, Form(max_length=200)]


def _back(session: Session, run_id: int, return_to: str) -> str:
    if local_path(return_to, ""):
        return return_to
    run = runs.get_run(session, run_id)
    return f"/jobs/{run.job_id}/runs/{run.id}"


STILL_WORKING = "Autotask is still working on it; reload to see the outcome."


def _act(request: Request, run_id: int, action: Callable[[], LinkResult | None]) -> None:
    try:
        result = action()
    except TicketError as exc:
        flash(request, exc.message, "error", run_id=run_id)
    else:
        flash(request, result.message if result else STILL_WORKING, run_id=run_id)


def _done(request: Request, session: Session, run_id: int, return_to: str) -> Response:
    return RedirectResponse(_back(session, run_id, return_to) + f"#run-{run_id}", status_code=303)


def for_runs(ctx: Runtime, session: Session, run_ids: list[int]) -> dict[int, ticketing.TicketView]:
    """Ticket cells for runs about to be shown: due links are checked in Autotask first (one
    query per page, cached a few minutes), then read from the database."""
    ticketing.for_page(ctx, run_ids)
    return ticketing.views(session, run_ids)


def for_run(ctx: Runtime, session: Session, run_id: int) -> ticketing.TicketView:
    ticketing.for_page(ctx, [run_id])
    return ticketing.view(session, run_id)


@router.post("/runs/{run_id}/ticket/create", dependencies=[CsrfChecked])
def create_ticket(
    request: Request,
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    actions: TicketActions,
    principal: UiReviewer,
    return_to: ReturnTo = "",
) -> Response:
    _act(
        request, run_id, lambda: ticketing.create_soon(ctx, actions, run_id, actor=principal.actor)
    )
    return _done(request, session, run_id, return_to)


@router.post("/runs/{run_id}/ticket/resolve", dependencies=[CsrfChecked])
def resolve_ticket(
    request: Request,
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    actions: TicketActions,
    principal: UiReviewer,
    return_to: ReturnTo = "",
) -> Response:
    _act(
        request,
        run_id,
        lambda: actions.run(lambda: ticketing.resolve(ctx, run_id, actor=principal.actor)),
    )
    return _done(request, session, run_id, return_to)


@router.post("/runs/{run_id}/ticket/link", dependencies=[CsrfChecked])
def link_ticket(
    request: Request,
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    actions: TicketActions,
    principal: UiReviewer,
    ticket_number: TicketNumber = "",
    return_to: ReturnTo = "",
) -> Response:
    _act(
        request,
        run_id,
        lambda: actions.run(
            lambda: ticketing.link_existing(ctx, run_id, ticket_number, actor=principal.actor)
        ),
    )
    return _done(request, session, run_id, return_to)


@router.post("/runs/{run_id}/ticket/manual", dependencies=[CsrfChecked])
def manual_ticket(
    request: Request,
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    ticket_number: TicketNumber = "",
    return_to: ReturnTo = "",
) -> Response:
    _act(
        request,
        run_id,
        lambda: ticketing.set_manual_number(ctx, run_id, ticket_number, actor=principal.actor),
    )
    return _done(request, session, run_id, return_to)


@router.get("/runs/{run_id}/ticket/open")
def open_ticket(
    request: Request, run_id: Id, ctx: Ctx, session: DbSession, principal: UiReader
) -> Response:
    """Open ticket: checked in Autotask first, then a redirect to the ticket's page there."""
    try:
        url = ticketing.open_ticket(ctx, run_id, actor=principal.actor)
    except TicketError as exc:
        flash(request, exc.message, "error", run_id=run_id)
        return _done(request, session, run_id, "")
    return RedirectResponse(url, status_code=303)
