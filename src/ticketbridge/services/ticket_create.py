"""Create an Autotask ticket for a run, exactly once (design §4, §5, §5A, §6B.2, §7.3).

1. Refuse early, without a request, when the run's link or the mode does not allow it; a
   reservation older than a few minutes is a crashed attempt and is recovered first.
2. Validate the customer's company mapping (one request, through the same connector as the
   create), build the fields and the content with the pure rules in core; a missing or invalid
   mapping blocks with its reason. Every audit event of the create carries the mapping checked.
3. Reserve: insert the run's current link in state ``creating`` and commit. The unique
   ``current_run_id`` lets exactly one click or worker through; the others are told a ticket is
   being created.
4. Send the create. The ticket carries the run's reference as externalID and in the
   description's marker line. After an ambiguous outcome (timeout, dropped connection, a 5xx
   after the write may have committed) Autotask is searched for that reference before another
   create may be sent. A definite refusal releases the reservation (kept as history).
5. A crash between Autotask's commit and ours leaves the row in ``creating``: the next attempt
   or the periodic job (:func:`ticketbridge.services.ticket_recovery.recover_stale`) searches for
   the reference and links what it finds, or releases the row when nothing was created.

How a reservation ends (linked, released, left for recovery) is in
:mod:`ticketbridge.services.ticket_reservation`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError, ConnectorUnavailable
from ticketbridge.connectors.psa.autotask import picklists
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.core import ticket_content, ticket_fields
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.mapping_status import CompanyMapping
from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_links import Action, LinkState
from ticketbridge.services import mapping, runs, system_settings, ticket_reservation
from ticketbridge.services import ticket_store as store
from ticketbridge.services.autotask_connection import ActiveAutotask
from ticketbridge.services.integration_settings import AutotaskSettings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.ticket_psa import (
    connect,
    current_settings,
    error_details,
    mode_of,
    translate,
)
from ticketbridge.services.ticket_recovery import recover
from ticketbridge.services.ticket_store import (
    LinkResult,
    PsaUnavailable,
    TicketActionRefused,
    TicketBeingCreated,
    TicketCreationBlocked,
)
from ticketbridge.storage.models import Run, TicketLinkRow

# Creates sent for one click at most: each after a search proved the previous one left nothing.
MAX_CREATE_ATTEMPTS = 3
BEING_CREATED = "A ticket is being created for this run."


def installation_of(base_url: str) -> str:
    """The installation part of the run reference: the base URL's host, so two ticketbridge
    instances on one Autotask tenant never share references."""
    return urlsplit(base_url.strip()).hostname or "ticketbridge"


def run_facts(run: Run) -> ticket_content.RunFacts:
    return ticket_content.RunFacts(
        run_id=run.id,
        job_id=run.job_id,
        customer_name=run.job.customer.name,
        job_name=run.job.job_name,
        backup_product=run.job.backup_product,
        job_type=run.job.job_type,
        status=_status(run.status),
        started_at=run.started_at,
        overall_remark=run.overall_remark or None,
        objects=tuple(
            ticket_content.RunObject(o.name, o.type, _status(o.status), o.message or None)
            for o in run.objects
        ),
    )


def _status(value: str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.UNKNOWN


# --- the action --------------------------------------------------------------------------------


def create(runtime: Runtime, run_id: int, *, actor: str) -> LinkResult:
    """Create Autotask ticket, or Create new after a deletion. Raises a TicketError."""
    with runtime.session_factory() as session:
        run = runs.get_run(session, run_id)
        settings = current_settings(session)
        row = store.current(session, run_id)
        if row is not None and row.state == LinkState.CREATING.value:
            if not store.is_stale_creation(row, runtime.clock()):
                raise TicketBeingCreated(BEING_CREATED)
            session.close()
            recovered = recover(runtime, row.id, actor=actor)
            if recovered is not None and recovered.state != LinkState.SUPERSEDED.value:
                return LinkResult(recovered, "The ticket created earlier was found and linked.")
            return create(runtime, run_id, actor=actor)
        link = store.to_link(row) if row is not None else None
        action = (
            Action.CREATE_NEW
            if link is not None and link.state is LinkState.DELETED_EXTERNAL
            else Action.CREATE
        )
        why = rules.refusal(action, link, mode_of(settings), settings.allow_resolve)
        if why is not None:
            _refused(runtime, actor, action, run_id, why, row)
        customer_id = run.job.customer_id
        facts = run_facts(run)
        zone = system_settings.ui_timezone(session)
        old_id = row.id if row is not None else None
        known = mapping.mapping_for_customer(session, customer_id)
        if known.company_id is None:  # blocked without a request: no company to ask about
            _fields(session, facts, known, settings, actor, action, run_id)

    with runtime.session_factory() as session, connect(runtime, session) as autotask:
        try:
            company = mapping.check_customer(
                session, autotask.connector, customer_id, runtime.clock()
            )
        except ConnectorError as exc:
            session.rollback()
            ticket_reservation.audit_failed(runtime, actor, action, run_id, exc)
            raise translate(exc) from None
        fields = _fields(session, facts, company, settings, actor, action, run_id)
        session.commit()  # the refreshed mapping stands whatever the create does
        content = _content(autotask, facts, zone)
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
        now = runtime.clock()
        reservation = store.new_row(
            rules.reserve(run_id, actor, now), reference=content.external_id, attempted_at=now
        )
        old = store.get(session, old_id) if old_id is not None else None
        reserved = (
            store.replace(session, old, reservation, now)
            if old is not None
            else store.insert_current(session, reservation)
        )
        if not reserved:
            holder = store.current(session, run_id)
            if holder is not None and holder.state == LinkState.CREATING.value:
                raise TicketBeingCreated(BEING_CREATED)
            raise TicketActionRefused("This run already has a ticket.")
        context = {"mapping": mapping.evidence(company)}
        return _send(
            runtime, autotask, reservation.id, draft, actor=actor, action=action, context=context
        )


def _fields(
    session: Session,
    facts: ticket_content.RunFacts,
    company: CompanyMapping,
    settings: AutotaskSettings,
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


def _content(
    autotask: ActiveAutotask, facts: ticket_content.RunFacts, zone: str
) -> ticket_content.TicketContent:
    settings = autotask.settings
    try:
        # Field lengths from the metadata (cached for a day, so no request in the usual case).
        meta = autotask.connector.client.fields("Tickets")
    except ConnectorError:
        meta = {}
    return ticket_content.compose_ticket(
        facts,
        ticket_content.ContentSettings(
            base_url=settings.base_url,
            installation=installation_of(settings.base_url),
            ui_timezone=zone,
            title_prefix=settings.title_prefix,
            max_listed_objects=settings.max_listed_objects,
            title_max_length=picklists.field_length(meta, "title"),
            description_max_length=picklists.field_length(meta, "description"),
            external_id_max_length=picklists.field_length(meta, "externalID"),
        ),
    )


def _send(
    runtime: Runtime,
    autotask: ActiveAutotask,
    link_id: int,
    draft: TicketDraft,
    *,
    actor: str,
    action: Action,
    context: dict[str, Any],
) -> LinkResult:
    """Send the create; every ending of the reservation is audited with ``context``."""
    connector = autotask.connector
    reference = draft.external_id or ""
    problems: list[dict[str, Any]] = []
    for _attempt in range(MAX_CREATE_ATTEMPTS):
        try:
            ticket = connector.create_ticket(draft)
        except ConnectorError as exc:
            problems.append(error_details(exc))
            ambiguous = exc.remote_id is not None or (
                isinstance(exc, ConnectorUnavailable) and exc.outcome_unknown
            )
            if not ambiguous:
                ticket_reservation.release(
                    runtime, link_id, actor, action, problems, str(exc), context=context
                )
                raise translate(exc) from None
            try:
                found = connector.find_tickets(external_id=reference)
            except ConnectorError as search_exc:
                problems.append(error_details(search_exc))
                ticket_reservation.leave_unknown(
                    runtime, link_id, actor, action, problems, context=context
                )
                raise PsaUnavailable(
                    "Autotask did not confirm the ticket. Whether it was created will be checked "
                    "automatically; the run stays reserved until then.",
                    details={"attempts": problems},
                ) from None
            if found:
                return ticket_reservation.finish(
                    runtime, autotask, link_id, found, actor, action, problems, context=context
                )
            continue  # the search proved nothing was created: creating again is safe
        return ticket_reservation.finish(
            runtime, autotask, link_id, [ticket], actor, action, problems, context=context
        )
    ticket_reservation.release(
        runtime,
        link_id,
        actor,
        action,
        problems,
        "Autotask did not confirm the ticket.",
        context=context,
    )
    raise PsaUnavailable(
        "Autotask did not confirm the ticket after several tries and none was created; try again "
        "later.",
        details={"attempts": problems},
    )


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
