"""Whether a run is offered Create, and what Create would send (issue 11, item 3).

A run is offered Create by the pure rules in ``core.ticket_links`` (:func:`run_contexts` gives
them the run's status, the Success-run setting and the customer's stored mapping): not for a
Success run unless Settings allow it; shown disabled, with the reason and a link to the
mapping, for a customer without a valid company. :func:`refuse_unwanted` applies the Success
rule to a click before the exactly-once create is reserved (``services/ticket_create.py``
blocks unmapped customers itself, 422).

:func:`preview` is the "Create ticket for this run" page: the title, description, company,
queue, priority, status and source the create would send, composed by the same functions
(``core.ticket_fields``, ``services.ticket_draft``). It reserves nothing and sends no request
to Autotask while the Tickets field metadata is cached (a day); the stored mapping stands in
for the check the create makes right before sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.core import ticket_fields
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.mapping_status import CompanyMapping, creation_blocker
from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_content import check_base_url
from ticketbridge.core.ticket_links import Action, IntegrationMode, LinkState, RunContext
from ticketbridge.services.connections import mapping, named, reference
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.connections.settings import ConnectionSettings
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import settings as system_settings
from ticketbridge.services.tickets import draft as ticket_draft
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.psa import connect, mode_of, new_ticket_connection
from ticketbridge.services.tickets.store import TicketActionRefused, TicketError
from ticketbridge.storage.models import CompanyMappingRow, Customer, Job, Run


def mapping_url(customer_id: int) -> str:
    """Where a customer's PSA company is chosen (Settings, admins)."""
    return f"/customers/{customer_id}/psa"


def context_of(
    status: str, customer_name: str, known: CompanyMapping, settings: ConnectionSettings
) -> RunContext:
    return RunContext(
        status=ticket_draft.status_of(status),
        allow_success_tickets=settings.allow_success_tickets,
        mapping_blocker=creation_blocker(known, customer_name),
    )


@dataclass(frozen=True)
class RunTicketContext:
    customer_id: int
    context: RunContext
    # The connection a new ticket for the run goes to (None: no connection is set up).
    connection_id: int | None = None


@dataclass(frozen=True)
class ConnectionPolicy:
    """A connection as ticket views need it: its name and kind, and its ticket policy."""

    id: int
    name: str
    kind: str
    settings: ConnectionSettings
    ticketing_default: bool = False


def default_of(known: dict[int, ConnectionPolicy]) -> int | None:
    """The ticketing default among ``known`` (else the first), as ``named.find`` chooses."""
    ordered = sorted(known.values(), key=lambda p: (not p.ticketing_default, p.id))
    return ordered[0].id if ordered else None


def policies(session: Session) -> dict[int, ConnectionPolicy]:
    """Every connection's ticket policy, by id (one query)."""
    return {
        row.id: ConnectionPolicy(
            row.id,
            row.name,
            row.kind,
            connection_settings.load_row(row).settings,
            row.ticketing_default,
        )
        for row in named.all_connections(session)
    }


def run_contexts(
    session: Session, run_ids: Sequence[int], known: dict[int, ConnectionPolicy] | None = None
) -> dict[int, RunTicketContext]:
    """Every run's context for the Create rules, in three queries (runs, connections, their
    mappings): the connection the run's customer's tickets go to, and its mapping there."""
    if not run_ids:
        return {}
    rows = session.execute(
        select(Run.id, Run.status, Job.customer_id, Customer.name, Customer.ticketing_connection_id)
        .join(Job, Run.job_id == Job.id)
        .join(Customer, Job.customer_id == Customer.id)
        .where(Run.id.in_(run_ids))
    ).all()
    known = policies(session) if known is None else known
    default = default_of(known)
    customer_ids = {row.customer_id for row in rows}
    mappings = {
        (m.connection_id, m.customer_id): m
        for m in session.scalars(
            select(CompanyMappingRow).where(CompanyMappingRow.customer_id.in_(customer_ids))
        )
    }
    contexts = {}
    for row in rows:
        chosen = row.ticketing_connection_id
        connection_id = chosen if chosen in known else default
        policy = known.get(connection_id) if connection_id is not None else None
        settings = policy.settings if policy is not None else ConnectionSettings()
        stored = (
            mappings.get((connection_id, row.customer_id)) if connection_id is not None else None
        )
        contexts[row.id] = RunTicketContext(
            row.customer_id,
            context_of(row.status, row.name, mapping.to_mapping(stored), settings),
            connection_id,
        )
    return contexts


def refuse_unwanted(runtime: Runtime, run_id: int, *, actor: str) -> None:
    """A click on Create for a Success run while Settings do not allow it: refused (409) and
    audited before anything is reserved. Every other answer is left to the create itself."""
    with runtime.session_factory() as session:
        run = runs.get_run(session, run_id)
        _, settings = new_ticket_connection(session, run.job.customer_id)
        run_context = RunContext(ticket_draft.status_of(run.status), settings.allow_success_tickets)
        why = rules.success_refusal(run_context)
        if why is None:
            return
        row = store.current(session, run_id)
        link = store.to_link(row) if row is not None else None
        action = _create_action(link)
        if (
            rules.refusal(action, link, mode_of(settings), settings.allow_resolve, run_context)
            != why
        ):
            return  # the link or the mode refuses first; the create says so
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id, outcome="refused",
            details={"reason": why, "code": "success_run", **store.describe(row)},
        )  # fmt: skip
        session.commit()
    raise TicketActionRefused(why, details={"code": "success_run"})


def _create_action(link: rules.TicketLink | None) -> Action:
    deleted = link is not None and link.state is LinkState.DELETED_EXTERNAL
    return Action.CREATE_NEW if deleted else Action.CREATE


# --- the preview ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclass(frozen=True)
class CreatePreview:
    """What Create would send for a run, or why it cannot be sent (``refused``)."""

    run_id: int
    job_id: int
    customer_id: int
    customer_name: str
    job_name: str
    run_status: RunStatus
    action: Action
    # The connection the ticket would be created in.
    psa_name: str | None = None
    refused: str | None = None
    code: str | None = None  # mapping_missing, mapping_invalid, base_url, default_missing, ...
    company: Choice | None = None
    mapping_status: str = "missing"
    queue: Choice | None = None
    status: Choice | None = None
    priority: Choice | None = None
    source: Choice | None = None
    title: str | None = None
    description: str | None = None
    external_id: str | None = None

    @property
    def can_create(self) -> bool:
        return self.refused is None

    @property
    def mapping_url(self) -> str | None:
        """The link to fix the mapping, when that is what stands in the way."""
        blocked = self.code in (
            ticket_fields.BlockReason.MAPPING_MISSING.value,
            ticket_fields.BlockReason.MAPPING_INVALID.value,
        )
        return mapping_url(self.customer_id) if blocked else None


def preview(runtime: Runtime, run_id: int) -> CreatePreview:
    """The "Create ticket for this run" page's content (module docstring). Raises RunNotFound."""
    with runtime.session_factory() as session:
        run = runs.get_run(session, run_id)
        connection, settings = new_ticket_connection(session, run.job.customer_id)
        connection_id = connection.id if connection is not None else None
        mode = mode_of(settings)
        row = store.current(session, run_id)
        link = store.to_link(row) if row is not None else None
        action = _create_action(link)
        known = mapping.mapping_for_customer(session, run.job.customer_id)
        facts = ticket_draft.run_facts(run)
        run_context = context_of(run.status, facts.customer_name, known, settings)
        fields = ticket_fields.new_ticket_fields(
            facts.status, facts.customer_name, known, settings.defaults, settings.base_url
        )
        labels = _labels(session, connection_id)
        shown = CreatePreview(
            run_id=run.id,
            job_id=run.job_id,
            customer_id=run.job.customer_id,
            customer_name=facts.customer_name,
            job_name=facts.job_name,
            run_status=facts.status,
            action=action,
            psa_name=connection.name if connection is not None else None,
            company=(
                Choice(known.company_id, known.cached_name or str(known.company_id))
                if known.company_id is not None
                else None
            ),
            mapping_status=known.status.value,
        )
        shown = _with_choices(shown, fields, settings, labels)
        why = rules.refusal(action, link, mode, settings.allow_resolve, run_context)
        if why is None and isinstance(fields, ticket_fields.Blocked):
            why = fields.reason
        code = _code(why, run_context, fields)
        if mode is IntegrationMode.DISABLED or check_base_url(settings.base_url) is not None:
            return _refused(shown, why, code)
        if why is not None and code not in _STILL_COMPOSED:
            return _refused(shown, why, code)
        zone = system_settings.ui_timezone(session)
        try:
            # no request but a metadata cache miss
            with connect(runtime, session, connection_id) as autotask:
                content = ticket_draft.compose(autotask, facts, zone)
        except TicketError as exc:
            return _refused(shown, why or exc.message, code or "unavailable")
    composed = replace(
        shown,
        title=content.title,
        description=content.description,
        external_id=content.external_id,
    )
    return _refused(composed, why, code)


# Blocks the operator can fix in Settings: the ticket is still shown, so they see what for.
_STILL_COMPOSED = frozenset(
    {
        ticket_fields.BlockReason.MAPPING_MISSING.value,
        ticket_fields.BlockReason.MAPPING_INVALID.value,
        ticket_fields.BlockReason.DEFAULT_MISSING.value,
        "success_run",
    }
)


def _refused(shown: CreatePreview, why: str | None, code: str | None) -> CreatePreview:
    return replace(shown, refused=why, code=code if why else None)


def _code(
    why: str | None,
    run_context: RunContext,
    fields: ticket_fields.TicketFields | ticket_fields.Blocked,
) -> str | None:
    if why is None:
        return None
    if why == rules.success_refusal(run_context):
        return "success_run"
    if isinstance(fields, ticket_fields.Blocked) and why == fields.reason:
        return fields.code.value
    return "state"


def _labels(session: Session, connection_id: int | None) -> dict[str, dict[int, str]]:
    if connection_id is None:
        return {}
    return {
        category: {int(value.value_id): value.name for value in values}
        for category, values in reference.options(session, connection_id).items()
    }


def _with_choices(
    shown: CreatePreview,
    fields: ticket_fields.TicketFields | ticket_fields.Blocked,
    settings: ConnectionSettings,
    labels: dict[str, dict[int, str]],
) -> CreatePreview:
    """Queue, status, priority and source as the create would send them; while it is blocked,
    the defaults that are set, so the page still shows what is chosen."""
    queue: int | None
    status: int | None
    priority: int | None
    if isinstance(fields, ticket_fields.TicketFields):
        queue, status, priority = fields.queue_id, fields.status_id, fields.priority_id
        source = fields.source_id
    else:
        defaults = settings.defaults
        warning = (
            ticket_fields.priority_class(shown.run_status) is ticket_fields.PriorityClass.WARNING
        )
        queue, status, source = defaults.queue_id, defaults.status_id, defaults.source_id
        priority = defaults.priority_warning_id if warning else defaults.priority_error_id

    def choice(category: str, value: int | None) -> Choice | None:
        if value is None:
            return None
        return Choice(value, labels.get(category, {}).get(value, str(value)))

    return replace(
        shown,
        queue=choice("queue", queue),
        status=choice("status", status),
        priority=choice("priority", priority),
        source=choice("source", source),
    )
