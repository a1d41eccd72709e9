"""Tickets on runs: the one entry point for the web layer, the API and the worker.

The actions live in their own modules (create, resolve, link, validation); this module shows a
run's ticket as the pages and the API need it: the current link, what it says, which actions
the integration mode and the link's state allow, and the run's link history. See
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
from ticketbridge.services import ticket_store as store
from ticketbridge.services.ticket_actions import ActionPool, create_soon
from ticketbridge.services.ticket_create import create
from ticketbridge.services.ticket_linking import link_existing, set_manual_number
from ticketbridge.services.ticket_psa import current_settings, mode_of
from ticketbridge.services.ticket_recovery import settle_pending
from ticketbridge.services.ticket_resolve import resolve
from ticketbridge.services.ticket_store import TicketError
from ticketbridge.services.ticket_validation import (
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

    @property
    def suspected(self) -> bool:
        return self.link is not None and store.to_link(self.link).suspected_missing

    def offers(self, action: str, role: Role) -> bool:
        """Whether this role is offered ``action`` (a value of core.ticket_links.Action)."""
        wanted = Action(action)
        return wanted in self.actions and can(role, rules.REQUIRED_PERMISSION[wanted])


def _view(
    run_id: int,
    row: TicketLinkRow | None,
    mode: IntegrationMode,
    allow_resolve: bool,
    history: list[TicketLinkRow] | None = None,
) -> TicketView:
    link = store.to_link(row) if row is not None else None
    return TicketView(
        run_id=run_id,
        mode=mode,
        link=row,
        label=_label(row, link),
        actions=rules.allowed_actions(link, mode, allow_resolve),
        history=history or [],
    )


def _label(row: TicketLinkRow | None, link: rules.TicketLink | None) -> str | None:
    if row is None or link is None:
        return None
    if link.state is rules.LinkState.CREATING:
        # How long the operator has been waiting, and on what.
        return create_progress.waiting_label(store.progress(row), row.created_at, utcnow())
    return rules.state_label(link)


def views(session: Session, run_ids: Sequence[int]) -> dict[int, TicketView]:
    """Every run's ticket cell, from stored links (one query; no Autotask request)."""
    settings = current_settings(session)
    mode = mode_of(settings)
    rows = store.current_for_runs(session, run_ids)
    return {
        run_id: _view(run_id, rows.get(run_id), mode, settings.allow_resolve) for run_id in run_ids
    }


def view(session: Session, run_id: int) -> TicketView:
    """One run's ticket with its history (newest first)."""
    settings = current_settings(session)
    return _view(
        run_id,
        store.current(session, run_id),
        mode_of(settings),
        settings.allow_resolve,
        store.history(session, run_id),
    )
