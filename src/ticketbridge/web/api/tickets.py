"""A run's Autotask ticket: read it, create, link, resolve, record a manual number.

Ticket errors answer 409 (refused in this state or by a setting, a ticket of another company,
or a ticket is being created), 422 (blocked creation, bad ticket number), 502 (Autotask refused)
or 503 (Autotask unavailable); never 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.runs import records as runs
from ticketbridge.services.tickets import ticketing
from ticketbridge.services.tickets.preview import Choice
from ticketbridge.services.tickets.store import LinkResult
from ticketbridge.storage.models import TicketLinkRow
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id
from ticketbridge.web.deps import ApiReader, ApiReviewer, Ctx, DbSession, TicketActions

router = APIRouter(prefix="/runs", tags=["tickets"], responses=ERROR_RESPONSES)


class TicketNumberIn(BaseModel):
    ticket_number: str = Field(min_length=1, max_length=50)


class LinkIn(TicketNumberIn):
    confirm_company_mismatch: bool = Field(
        default=False,
        description="Link a ticket of another company than the customer's mapped one "
        "(refused with 409 company_mismatch otherwise); audited as such",
    )


class LinkOut(BaseModel):
    id: int
    connection_id: int = Field(description="The PSA connection the ticket lives in")
    kind: str = Field(description="That connection's kind: autotask, jira")
    state: str
    origin: str
    ticket_id: int | None
    ticket_number: str | None
    ticket_url: str | None
    created_by: str
    created_at: datetime
    last_status: str | None
    last_status_at: datetime | None
    suspected_missing_since: datetime | None
    deleted_at: datetime | None
    superseded_at: datetime | None
    superseded_by: int | None
    time_entries: int | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolve_evidence: dict[str, Any] | None

    @classmethod
    def of(cls, row: TicketLinkRow) -> LinkOut:
        return cls(
            id=row.id,
            connection_id=row.connection_id,
            kind=row.kind,
            state=row.state,
            origin=row.origin,
            ticket_id=row.ticket_id,
            ticket_number=row.ticket_number,
            ticket_url=row.ticket_url,
            created_by=row.created_by,
            created_at=row.created_at,
            last_status=row.last_status_label,
            last_status_at=row.last_status_at,
            suspected_missing_since=row.missing_since,
            deleted_at=row.deleted_at,
            superseded_at=row.superseded_at,
            superseded_by=row.superseded_by_id,
            time_entries=row.time_entries,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
            resolve_evidence=row.resolve_evidence,
        )


class TicketOut(BaseModel):
    run_id: int
    mode: str
    psa: str | None = Field(
        description="The connection the ticket lives in, or a new one would go to (its name)"
    )
    label: str | None = Field(description="What the run's ticket cell says")
    actions: list[str] = Field(
        description="Actions the link's state, the mode and the run (its status, its customer's "
        "mapping) allow"
    )
    disabled: dict[str, str] = Field(
        default_factory=dict,
        description="Actions not possible now, with the reason (Create for an unmapped customer)",
    )
    current: LinkOut | None
    history: list[LinkOut] = Field(description="Every link of the run, newest first")
    message: str | None = None


def _out(session: Session, run_id: int, message: str | None = None) -> TicketOut:
    """The run's ticket as stored now, read in the request's one session."""
    view = ticketing.view(session, run_id)
    return TicketOut(
        run_id=run_id,
        mode=view.mode.value,
        psa=view.psa_name,
        label=view.label,
        actions=sorted(a.value for a in view.actions),
        disabled={a.value: why for a, why in sorted(view.disabled.items())},
        current=LinkOut.of(view.link) if view.link is not None else None,
        history=[LinkOut.of(row) for row in view.history],
        message=message,
    )


@router.get("/{run_id}/ticket", response_model=TicketOut, summary="A run's ticket and history")
def get_ticket(run_id: Id, session: DbSession, _: ApiReader) -> TicketOut:
    runs.get_run(session, run_id)
    return _out(session, run_id)


class ChoiceOut(BaseModel):
    id: int
    label: str


class PreviewOut(BaseModel):
    run_id: int
    action: str = Field(description="create, or create_new after a deletion")
    can_create: bool
    refused: str | None = Field(description="Why Create is not possible now")
    code: str | None = Field(
        description="success_run, mapping_missing, mapping_invalid, base_url, default_missing, "
        "state or unavailable"
    )
    mapping_url: str | None = Field(description="Where to fix the customer's mapping")
    customer: str
    company: ChoiceOut | None
    queue: ChoiceOut | None
    status: ChoiceOut | None
    priority: ChoiceOut | None
    source: ChoiceOut | None
    title: str | None
    description: str | None
    external_id: str | None


def _choice(value: Choice | None) -> ChoiceOut | None:
    return ChoiceOut(id=value.id, label=value.label) if value is not None else None


@router.get("/{run_id}/ticket/preview", response_model=PreviewOut, summary="What Create would send")
def preview_ticket(run_id: Id, ctx: Ctx, _: ApiReviewer) -> PreviewOut:
    """The ticket Create would send for this run, composed by the same rules, or why it cannot
    be created. Reserves nothing; no Autotask request while the field metadata is cached."""
    shown = ticketing.preview(ctx, run_id)
    return PreviewOut(
        run_id=shown.run_id,
        action=shown.action.value,
        can_create=shown.can_create,
        refused=shown.refused,
        code=shown.code,
        mapping_url=shown.mapping_url,
        customer=shown.customer_name,
        company=_choice(shown.company),
        queue=_choice(shown.queue),
        status=_choice(shown.status),
        priority=_choice(shown.priority),
        source=_choice(shown.source),
        title=shown.title,
        description=shown.description,
        external_id=shown.external_id,
    )


STILL_WORKING: dict[int | str, dict[str, Any]] = {
    202: {"model": TicketOut, "description": "Accepted: Autotask is still working"}
}


def _answer(
    session: Session, run_id: int, result: LinkResult | None, response: Response
) -> TicketOut:
    """The action's outcome, or 202 with the run's ticket as it stands while the action goes on
    (the ticket's ``label`` says what is awaited; GET the ticket again to see the outcome)."""
    if result is None:
        response.status_code = 202
        return _out(session, run_id, "Autotask is still working; the run shows the outcome.")
    if result.link.state == LinkState.CREATING.value:
        response.status_code = 202  # not confirmed yet, or queued behind a busy Autotask
    return _out(session, run_id, result.message)


@router.post(
    "/{run_id}/ticket",
    response_model=TicketOut,
    status_code=201,
    summary="Create a ticket",
    responses=STILL_WORKING,
)
def create_ticket(
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    actions: TicketActions,
    principal: ApiReviewer,
    response: Response,
) -> TicketOut:
    """Create the run's Autotask ticket (or a new one after the old was deleted in Autotask).
    Exactly once: a concurrent attempt answers 409 "A ticket is being created". Answers 202
    when Autotask has not answered within about a second; the create goes on. A Success run
    is refused (409) unless Settings allow tickets for Success runs; a customer without a
    valid company mapping is blocked (422)."""
    result = ticketing.create_soon(ctx, actions, run_id, actor=principal.actor)
    return _answer(session, run_id, result, response)


@router.post(
    "/{run_id}/ticket/link",
    response_model=TicketOut,
    summary="Link existing ticket",
    responses=STILL_WORKING,
)
def link_ticket(
    run_id: Id,
    body: LinkIn,
    ctx: Ctx,
    session: DbSession,
    actions: TicketActions,
    principal: ApiReviewer,
    response: Response,
) -> TicketOut:
    """Link an existing Autotask ticket by its number (validated in Autotask); also Re-link
    after the linked ticket was deleted, and turns a manual number into a validated link. A
    ticket of another company than the customer's mapped one answers 409 (`company_mismatch`,
    both companies in the details) unless `confirm_company_mismatch` is true."""
    result = actions.run(
        lambda: ticketing.link_existing(
            ctx,
            run_id,
            body.ticket_number,
            actor=principal.actor,
            confirm_company_mismatch=body.confirm_company_mismatch,
        )
    )
    return _answer(session, run_id, result, response)


@router.post(
    "/{run_id}/ticket/resolve",
    response_model=TicketOut,
    summary="Resolve the ticket",
    responses=STILL_WORKING,
)
def resolve_ticket(
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    actions: TicketActions,
    principal: ApiReviewer,
    response: Response,
) -> TicketOut:
    """Close the ticket when it has no time entries (with the fixed internal note); with time
    entries, add the note and leave it open."""
    result = actions.run(lambda: ticketing.resolve(ctx, run_id, actor=principal.actor))
    return _answer(session, run_id, result, response)


@router.post(
    "/{run_id}/ticket/manual", response_model=TicketOut, summary="Record a manual ticket number"
)
def manual_ticket(
    run_id: Id, body: TicketNumberIn, ctx: Ctx, session: DbSession, principal: ApiReviewer
) -> TicketOut:
    """Only while the integration is disabled or compatibility mode is on; never resolved."""
    result = ticketing.set_manual_number(ctx, run_id, body.ticket_number, actor=principal.actor)
    return _out(session, run_id, result.message)
