"""Ticket actions from Run Checks rows and the Job Details run page (plain forms, no script).

Each action redirects back to the row it was taken on, with a one-time message shown next to
that run's ticket; a refused or failed action says why. An action Autotask has not finished
within about a second goes on in the background and the run shows where it stands.

Create is asked once: the row's button opens "Create ticket for this run" (GET), which shows
what would be sent and posts to the create. Link existing refused for a ticket of another
company brings the number back with a box to confirm the mismatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing
from ticketbridge.services.tickets.linking import COMPANY_MISMATCH
from ticketbridge.services.tickets.store import LinkResult, TicketError
from ticketbridge.web.api.schemas import Id
from ticketbridge.web.deps import (
    CsrfChecked,
    Ctx,
    DbSession,
    TicketActions,
    UiReader,
    UiReviewer,
)
from ticketbridge.web.ui.templating import flash, local_path, render

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
        if exc.details.get("code") == COMPANY_MISMATCH:
            # The cell offers the same number again with the box to confirm the mismatch.
            request.session["flash"] = {
                **request.session["flash"],
                "mismatch_number": exc.details.get("ticket_number"),
            }
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


@router.get("/runs/{run_id}/ticket/create", response_class=HTMLResponse)
def create_ticket_page(
    request: Request,
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    return_to: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Create ticket for this run: what would be sent, and one button to send it. The create
    comes back to ``return_to``, else to the page the operator came from (a Run Checks row
    with its filters), else to the run page."""
    shown = ticketing.preview(ctx, run_id)
    run = runs.get_run(session, run_id)
    back = _back(session, run_id, return_to or _came_from(request))
    return render(
        request,
        "ticket_create.html",
        session=session,
        principal=principal,
        preview=shown,
        run=run,
        job=run.job,
        return_to=back,
        cancel_to=back + f"#run-{run_id}",
    )


def _came_from(request: Request) -> str:
    """The same-site page that linked here (path and query), or ''."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.path == request.url.path:
        return ""
    return referer.path + (f"?{referer.query}" if referer.query else "")


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
    confirm_company_mismatch: Annotated[bool, Form()] = False,
    return_to: ReturnTo = "",
) -> Response:
    _act(
        request,
        run_id,
        lambda: actions.run(
            lambda: ticketing.link_existing(
                ctx,
                run_id,
                ticket_number,
                actor=principal.actor,
                confirm_company_mismatch=confirm_company_mismatch,
            )
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
