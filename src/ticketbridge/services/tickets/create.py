"""Create an Autotask ticket for a run, exactly once (design §4, §5, §5A, §6B.2, §7.3; issue 9).

1. :func:`reserve`: refuse early, without a request, when the run's link or the mode does not
   allow it, or when the customer has no company to ticket; then insert the run's current link
   in state ``creating`` (phase ``queued``) and commit. The unique ``current_run_id`` lets
   exactly one click through. Database only, so a click is answered at once whatever
   Autotask does.
2. :func:`settle` moves a reservation on. Unless nothing was sent yet, Autotask is searched for
   the run's reference first: a ticket found is linked. Otherwise
   :func:`ticketbridge.core.create_progress.next_step` decides: send a create (the first, or
   another one after a quiet period in which the earlier one could have committed), wait, or
   give the run back after the last attempt. Clicks, the API and the periodic job
   ``tickets.recover_creating`` all settle through here.
3. Sending: the company mapping is checked (one request), the content composed by the pure
   rules in core, the send claimed (one sender per attempt), and the create sent with its own
   timeout. The ticket carries the run's reference as externalID and in the description's
   marker line. A ticket returned: linked. A certain refusal: released, kept as history. No
   answer (timeout, reset, 5xx): one search right away links a create that committed before
   the answer was lost; otherwise the reservation stays ``unknown`` and no second create is
   sent before the quiet period is over.

No database connection is held while Autotask answers. How a reservation ends (linked,
released, left unknown) is in :mod:`ticketbridge.services.tickets.reservation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError, ConnectorUnavailable
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.core import create_progress, ticket_content, ticket_fields
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.create_progress import CreatePhase, CreateProgress, CreateTiming, Step
from ticketbridge.core.mapping_status import CompanyMapping
from ticketbridge.core.ticket_links import Action, LinkState
from ticketbridge.services.connections import mapping
from ticketbridge.services.connections.active import ActiveConnection
from ticketbridge.services.connections.settings import ConnectionSettings
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import settings as system_settings
from ticketbridge.services.tickets import draft as ticket_draft
from ticketbridge.services.tickets import reservation as ticket_reservation
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.psa import (
    connect,
    current_settings,
    error_details,
    mode_of,
    new_ticket_connection,
    translate,
)
from ticketbridge.services.tickets.store import (
    LinkResult,
    PsaUnavailable,
    TicketActionRefused,
    TicketBeingCreated,
    TicketCreationBlocked,
)
from ticketbridge.storage.models import TicketLinkRow

# Creates sent for one reservation at most: each after a search proved the previous one left
# nothing, a quiet period after it.
MAX_CREATE_ATTEMPTS = 3
# Autotask's create timeout when the connection does not say (the connector's default).
DEFAULT_CREATE_TIMEOUT_SECONDS = 60.0
BEING_CREATED = "A ticket is being created for this run."


def create_timing(runtime: Runtime, create_timeout: float | None = None) -> CreateTiming:
    """The quiet period (configured, never shorter than the create timeout plus a minute) and
    the longest one create call can last: every attempt the connector may make at the create
    timeout, the waits between them, and as long again queued for a free request slot."""
    timeout = create_timeout or DEFAULT_CREATE_TIMEOUT_SECONDS
    retry = RetryPolicy()
    quiet = max(float(runtime.settings.ticket_create_quiet_seconds), timeout + 60)
    longest = timeout * (retry.max_attempts + 1) + retry.max_total_wait
    return CreateTiming(
        quiet_period=timedelta(seconds=quiet),
        longest_call=timedelta(seconds=longest),
        max_attempts=MAX_CREATE_ATTEMPTS,
    )


def _create_timeout(autotask: ActiveConnection) -> float | None:
    timeout = getattr(getattr(autotask.connector, "config", None), "create_timeout_seconds", None)
    return float(timeout) if timeout else None


# --- the action --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    link_id: int
    run_id: int
    action: Action


def create(runtime: Runtime, run_id: int, *, actor: str) -> LinkResult:
    """Create Autotask ticket, or Create new after a deletion, and wait for the outcome.
    Raises a TicketError."""
    reservation = reserve(runtime, run_id, actor=actor)
    return settle(runtime, reservation.link_id, actor=actor, action=reservation.action)


def reserve(runtime: Runtime, run_id: int, *, actor: str) -> Reservation:
    """The click's part, database only: refusals, blocks that need no request, and the
    reservation. A run whose create is pending and worth checking now gets that reservation
    back (settling it searches Autotask); otherwise the click is told a ticket is being
    created."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        run = runs.get_run(session, run_id)
        connection, settings = new_ticket_connection(session, run.job.customer_id)
        row = store.current(session, run_id)
        if row is not None and row.state == LinkState.CREATING.value:
            progress = store.progress(row)
            if not create_progress.worth_checking(progress, now, create_timing(runtime)):
                raise TicketBeingCreated(_being_created(progress, row.created_at, now))
            return Reservation(row.id, run_id, Action.CREATE)
        link = store.to_link(row) if row is not None else None
        action = (
            Action.CREATE_NEW
            if link is not None and link.state is LinkState.DELETED_EXTERNAL
            else Action.CREATE
        )
        why = rules.refusal(action, link, mode_of(settings), settings.allow_resolve)
        if why is not None:
            _refused(runtime, actor, action, run_id, why, row)
        known = mapping.mapping_for_customer(session, run.job.customer_id)
        if known.company_id is None:  # blocked without a request: no company to ask about
            _fields(session, ticket_draft.run_facts(run), known, settings, actor, action, run_id)
        assert connection is not None  # refused above while there is none
        reservation = store.new_row(
            rules.reserve(run_id, actor, now),
            connection,
            attempted_at=now,
            create_phase=CreatePhase.QUEUED.value,
            create_attempts=0,
        )
        reserved = (
            store.replace(session, row, reservation, now)
            if row is not None
            else store.insert_current(session, reservation)
        )
        if not reserved:
            holder = store.current(session, run_id)
            if holder is not None and holder.state == LinkState.CREATING.value:
                raise TicketBeingCreated(BEING_CREATED)
            raise TicketActionRefused("This run already has a ticket.")
        return Reservation(reservation.id, run_id, action)


def settle(
    runtime: Runtime, link_id: int, *, actor: str, action: Action = Action.CREATE
) -> LinkResult:
    """Move a reservation on (module docstring, step 2). Raises TicketBeingCreated while the
    earlier create may still commit, and a TicketError when Autotask cannot be asked."""
    with runtime.session_factory() as session:
        row = store.get(session, link_id)
        if row is None or row.state != LinkState.CREATING.value:
            raise TicketActionRefused("The run's ticket changed meanwhile; reload the page.")
        progress = store.progress(row)
        run_id, reference, clicked_at = row.run_id, row.reference, row.created_at
        connection_id = row.connection_id
    if reference and progress.attempts > 0:
        with (
            runtime.session_factory() as session,
            connect(runtime, session, connection_id) as autotask,
        ):
            found = _search(runtime, autotask, link_id, reference, actor, action, run_id)
            if found:
                return ticket_reservation.finish(
                    runtime, autotask, link_id, found, actor, action, [], searched=True
                )
            timing = create_timing(runtime, _create_timeout(autotask))
    else:
        timing = create_timing(runtime)
    now = runtime.clock()
    step = create_progress.next_step(progress, now, timing)
    if step is Step.WAIT:
        raise TicketBeingCreated(_being_created(progress, clicked_at, now))
    if step is Step.RELEASE:
        ticket_reservation.release(
            runtime, link_id, actor, action, [],
            "Autotask did not confirm the ticket after several tries and none was created.",
        )  # fmt: skip
        raise PsaUnavailable(
            "Autotask did not confirm the ticket after several tries and none was created; "
            "try again later."
        )
    return _send(runtime, link_id, actor=actor, action=action)


def _being_created(progress: CreateProgress, clicked_at: datetime, now: datetime) -> str:
    return f"{BEING_CREATED} {create_progress.waiting_label(progress, clicked_at, now)}."


def _search(
    runtime: Runtime,
    autotask: ActiveConnection,
    link_id: int,
    reference: str,
    actor: str,
    action: Action,
    run_id: int,
) -> list[Any]:
    try:
        return list(autotask.connector.find_tickets(external_id=reference))
    except ConnectorError as exc:
        ticket_reservation.audit_failed(runtime, actor, action, run_id, exc)
        raise PsaUnavailable(
            f"Autotask could not be searched for the run's ticket ({exc.message}). "
            + ticket_reservation.NOT_CONFIRMED,
            details={"link_id": link_id, **error_details(exc)},
        ) from None


def _send(runtime: Runtime, link_id: int, *, actor: str, action: Action) -> LinkResult:
    """Check the mapping, compose, claim the attempt and send one create."""
    with runtime.session_factory() as session:
        row = store.get(session, link_id)
        assert row is not None
        run = runs.get_run(session, row.run_id)
        customer_id = run.job.customer_id
        facts = ticket_draft.run_facts(run)
        settings = current_settings(session, row.connection_id)
        zone = system_settings.ui_timezone(session)
        # ends the read transaction
        with connect(runtime, session, row.connection_id) as autotask:
            try:
                company = mapping.check_customer(
                    session, autotask.connector, customer_id, runtime.clock()
                )
            except ConnectorError as exc:
                session.rollback()
                problems = [error_details(exc)]
                ticket_reservation.release(
                    runtime, link_id, actor, action, problems, str(exc), outcome="failed"
                )
                raise translate(exc, autotask.name) from None
            context = {"mapping": mapping.evidence(company)}
            fields = ticket_fields.new_ticket_fields(
                facts.status, facts.customer_name, company, settings.defaults, settings.base_url
            )
            session.commit()  # the refreshed mapping stands whatever the create does
            if isinstance(fields, ticket_fields.Blocked):
                ticket_reservation.release(
                    runtime, link_id, actor, action, [], fields.reason, outcome="blocked",
                    context={"code": fields.code.value, "reason": fields.reason, **context},
                )  # fmt: skip
                raise TicketCreationBlocked(fields.reason, details={"code": fields.code.value})
            content = ticket_draft.compose(autotask, facts, zone)
            if not store.claim_send(session, row, runtime.clock(), content.external_id):
                raise TicketBeingCreated(BEING_CREATED, details={"link_id": link_id})
            draft = TicketDraft(
                company_id=fields.company_id,
                title=content.title,
                description=content.description,
                queue_id=fields.queue_id,
                source_id=fields.source_id,
                status_id=fields.status_id,
                priority_id=fields.priority_id,
                external_id=content.external_id,
            )
            return _deliver(runtime, autotask, link_id, draft, actor, action, context)


def _deliver(
    runtime: Runtime,
    autotask: ActiveConnection,
    link_id: int,
    draft: TicketDraft,
    actor: str,
    action: Action,
    context: dict[str, Any],
) -> LinkResult:
    """Send the claimed create; every ending is audited with ``context``."""
    connector = autotask.connector
    try:
        ticket = connector.create_ticket(draft)
    except ConnectorError as exc:
        problems = [error_details(exc)]
        ambiguous = exc.remote_id is not None or (
            isinstance(exc, ConnectorUnavailable) and exc.outcome_unknown
        )
        if not ambiguous and isinstance(exc, ConnectorUnavailable):
            # Refused before processing: nothing can commit; the job sends it again shortly.
            return ticket_reservation.requeue(
                runtime, link_id, actor, action, problems, context=context
            )
        if not ambiguous:
            ticket_reservation.release(
                runtime, link_id, actor, action, problems, str(exc), context=context
            )
            raise translate(exc, autotask.name) from None
        try:
            found = connector.find_tickets(external_id=draft.external_id or "")
        except ConnectorError as search_exc:
            problems.append(error_details(search_exc))
            found = []
        if found:
            return ticket_reservation.finish(
                runtime, autotask, link_id, found, actor, action, problems, context=context
            )
        return ticket_reservation.leave_unknown(
            runtime, link_id, actor, action, problems, context=context
        )
    return ticket_reservation.finish(
        runtime, autotask, link_id, [ticket], actor, action, [], context=context
    )


def _fields(
    session: Session,
    facts: ticket_content.RunFacts,
    company: CompanyMapping,
    settings: ConnectionSettings,
    actor: str,
    action: Action,
    run_id: int,
) -> ticket_fields.TicketFields:
    """The ticket's fields, or the block audited (with the mapping checked) and raised."""
    fields = ticket_fields.new_ticket_fields(
        facts.status, facts.customer_name, company, settings.defaults, settings.base_url
    )
    if isinstance(fields, ticket_fields.Blocked):
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id, outcome="blocked",
            details={
                "code": fields.code.value, "reason": fields.reason,
                "mapping": mapping.evidence(company),
            },
        )  # fmt: skip
        session.commit()
        raise TicketCreationBlocked(fields.reason, details={"code": fields.code.value})
    return fields


def _refused(
    runtime: Runtime,
    actor: str,
    action: Action,
    run_id: int,
    why: str,
    row: TicketLinkRow | None,
) -> None:
    with runtime.session_factory() as session:
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id, outcome="refused",
            details={"reason": why, **store.describe(row)},
        )  # fmt: skip
        session.commit()
    raise TicketActionRefused(why)
