"""Tickets on runs: the one entry point for the web layer, the API and the worker.

The actions live in their own modules (create, resolve, link, validation); this module shows a
run's ticket as the pages and the API need it: the current link, what it says, which actions
the integration mode, the link's state and the run (its status, its customer's mapping) allow,
which are shown disabled and why, and the run's link history. Create goes through here so the
run's rules (``services/ticket_preview.py``) apply before the exactly-once create. See
docs/tickets.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ticketbridge.core import create_progress
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.roles import Role, can
from ticketbridge.core.ticket_links import Action, IntegrationMode
from ticketbridge.services.connections.settings import ConnectionSettings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import actions as ticket_actions
from ticketbridge.services.tickets import create as ticket_create
from ticketbridge.services.tickets import preview as ticket_preview
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.actions import ActionPool
from ticketbridge.services.tickets.linking import link_existing, set_manual_number
from ticketbridge.services.tickets.preview import ConnectionPolicy, RunTicketContext, preview
from ticketbridge.services.tickets.psa import mode_of
from ticketbridge.services.tickets.recovery import settle_pending
from ticketbridge.services.tickets.resolve import resolve
from ticketbridge.services.tickets.store import LinkResult, TicketError
from ticketbridge.services.tickets.validation import (
    for_page,
    open_ticket,
    validate,
    validate_open_links,
)
from ticketbridge.storage.models import TicketLinkRow, utcnow

__all__ = [
    "ActionPool",
    "TicketError",
    "TicketView",
    "create",
    "create_soon",
    "for_page",
    "link_existing",
    "open_ticket",
    "preview",
    "resolve",
    "set_manual_number",
    "settle_pending",
    "validate",
    "validate_open_links",
    "view",
    "views",
]


@dataclass(frozen=True)
class TicketView:
    run_id: int
    mode: IntegrationMode
    link: TicketLinkRow | None
    label: str | None
    actions: frozenset[Action]
    history: list[TicketLinkRow] = field(default_factory=list)
    # Actions shown but not possible now, with the reason (Create for an unmapped customer).
    disabled: dict[Action, str] = field(default_factory=dict)
    customer_id: int | None = None
    # The connection the run's ticket lives in (or a new one would go to): its name and kind.
    psa_name: str | None = None
    psa_kind: str | None = None

    @property
    def suspected(self) -> bool:
        return self.link is not None and store.to_link(self.link).suspected_missing

    def offers(self, action: str, role: Role) -> bool:
        """Whether this role is offered ``action`` (a value of core.ticket_links.Action)."""
        wanted = Action(action)
        return wanted in self.actions and can(role, rules.REQUIRED_PERMISSION[wanted])

    def disabled_reason(self, action: str, role: Role) -> str | None:
        """Why ``action`` is shown disabled to this role, or None when it is not."""
        wanted = Action(action)
        if not can(role, rules.REQUIRED_PERMISSION[wanted]):
            return None
        return self.disabled.get(wanted)

    @property
    def mapping_url(self) -> str | None:
        return ticket_preview.mapping_url(self.customer_id) if self.customer_id else None


def _view(
    run_id: int,
    row: TicketLinkRow | None,
    context: RunTicketContext | None,
    known: dict[int, ConnectionPolicy],
    history: list[TicketLinkRow] | None = None,
) -> TicketView:
    """The run's ticket under the policy of the connection its link names, or for a run
    without a link, of the connection a new ticket would go to."""
    link = store.to_link(row) if row is not None else None
    run = context.context if context is not None else None
    connection_id = (
        row.connection_id
        if row is not None
        else (context.connection_id if context is not None else None)
    )
    policy = known.get(connection_id) if connection_id is not None else None
    settings = policy.settings if policy is not None else ConnectionSettings()
    mode, allow_resolve = mode_of(settings), settings.allow_resolve
    return TicketView(
        run_id=run_id,
        mode=mode,
        link=row,
        label=_label(row, link, policy.name if policy is not None else "the PSA"),
        actions=rules.allowed_actions(link, mode, allow_resolve, run),
        history=history or [],
        disabled=rules.disabled_actions(link, mode, allow_resolve, run),
        customer_id=context.customer_id if context is not None else None,
        psa_name=policy.name if policy is not None else None,
        psa_kind=policy.kind if policy is not None else None,
    )


def _label(row: TicketLinkRow | None, link: rules.TicketLink | None, psa: str) -> str | None:
    if row is None or link is None:
        return None
    if link.state is rules.LinkState.CREATING:
        # How long the operator has been waiting, and on what.
        return create_progress.waiting_label(store.progress(row), row.created_at, utcnow())
    return rules.state_label(link, psa)


def views(session: Session, run_ids: Sequence[int]) -> dict[int, TicketView]:
    """Every run's ticket cell, from stored links (one query; no Autotask request)."""
    known = ticket_preview.policies(session)
    rows = store.current_for_runs(session, run_ids)
    contexts = ticket_preview.run_contexts(session, run_ids, known)
    return {
        run_id: _view(run_id, rows.get(run_id), contexts.get(run_id), known) for run_id in run_ids
    }


def view(session: Session, run_id: int) -> TicketView:
    """One run's ticket with its history (newest first)."""
    known = ticket_preview.policies(session)
    return _view(
        run_id,
        store.current(session, run_id),
        ticket_preview.run_contexts(session, [run_id], known).get(run_id),
        known,
        store.history(session, run_id),
    )


def create(runtime: Runtime, run_id: int, *, actor: str) -> LinkResult:
    """Create Autotask ticket (or Create new) and wait for the outcome: the run's rules first
    (a Success run needs the setting), then the exactly-once create. Raises a TicketError."""
    ticket_preview.refuse_unwanted(runtime, run_id, actor=actor)
    return ticket_create.create(runtime, run_id, actor=actor)


def create_soon(
    runtime: Runtime, pool: ActionPool, run_id: int, *, actor: str
) -> LinkResult | None:
    """Create from a click: the run's rules and the reservation now, Autotask on the pool
    (None: still waiting for Autotask)."""
    ticket_preview.refuse_unwanted(runtime, run_id, actor=actor)
    return ticket_actions.create_soon(runtime, pool, run_id, actor=actor)
