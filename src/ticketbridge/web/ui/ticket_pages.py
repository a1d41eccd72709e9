"""Ticket actions from Run Checks rows and the Job Details run page (plain forms, no script).

Each action redirects back with a one-time message; a refused or failed action says why.
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
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiReader, UiReviewer
from ticketbridge.web.ui.templating import flash, local_path

router = APIRouter()
ReturnTo = Annotated[str, Form()]
TicketNumber = Annotated[str, Form(max_length=200)]


def _back(session: Session, run_id: int, return_to: str) -> str:
    if local_path(return_to, ""):
        return return_to
    run = runs.get_run(session, run_id)
    return f"/jobs/{run.job_id}/runs/{run.id}"


def _act(request: Request, action: Callable[[], LinkResult]) -> None:
    try:
        result = action()
    except TicketError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, result.message)


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
    run_id: int,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    return_to: ReturnTo = "",
) -> Response:
    _act(request, lambda: ticketing.create(ctx, run_id, actor=principal.actor))
    return _done(request, session, run_id, return_to)


@router.post("/runs/{run_id}/ticket/resolve", dependencies=[CsrfChecked])
def resolve_ticket(
    request: Request,
    run_id: int,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    return_to: ReturnTo = "",
) -> Response:
    _act(request, lambda: ticketing.resolve(ctx, run_id, actor=principal.actor))
    return _done(request, session, run_id, return_to)


@router.post("/runs/{run_id}/ticket/link", dependencies=[CsrfChecked])
def link_ticket(
    request: Request,
    run_id: int,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    ticket_number: TicketNumber = "",
    return_to: ReturnTo = "",
) -> Response:
    _act(
        request,
        lambda: ticketing.link_existing(ctx, run_id, ticket_number, actor=principal.actor),
    )
    return _done(request, session, run_id, return_to)


@router.post("/runs/{run_id}/ticket/manual", dependencies=[CsrfChecked])
def manual_ticket(
    request: Request,
    run_id: int,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    ticket_number: TicketNumber = "",
    return_to: ReturnTo = "",
) -> Response:
    _act(
        request,
        lambda: ticketing.set_manual_number(ctx, run_id, ticket_number, actor=principal.actor),
    )
    return _done(request, session, run_id, return_to)


@router.get("/runs/{run_id}/ticket/open")
def open_ticket(
    request: Request, run_id: int, ctx: Ctx, session: DbSession, principal: UiReader
) -> Response:
    """Open ticket: checked in Autotask first, then a redirect to the ticket's page there."""
    try:
        url = ticketing.open_ticket(ctx, run_id, actor=principal.actor)
    except TicketError as exc:
        flash(request, exc.message, "error")
        return _done(request, session, run_id, "")
    return RedirectResponse(url, status_code=303)
