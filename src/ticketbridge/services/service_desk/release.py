"""An operator's answer to the filters: "Create anyway" for a filtered mail, "Release" for one
held by loop protection, and the link from a conversation to its ticket in the PSA.

Both go through `process.process_mail`, the path every desk mail takes, with the filters
skipped: the PSA is asked outside any transaction, and the mail's one row per Message-ID is
what keeps a second click (or a second operator) from making a second ticket. The row is taken
from the filters in one conditional update, so only one click wins; it is marked as having
used its attempts, so the worker does not screen it again in between. The filter's reason is
kept on the row afterwards: the page shows why the mail was stopped and what it made anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk.process import FAILED, MAX_ATTEMPTS, process_mail
from ticketbridge.services.service_desk.threads import MADE
from ticketbridge.services.system import audit
from ticketbridge.services.tickets.psa import ticket_url
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import (
    PsaConnection,
    ServiceDeskConversation,
    ServiceDeskMail,
)

STOPPED = ("filtered", "held")


class DeskNotFound(LookupError):
    """No such desk mail or conversation."""


@dataclass(frozen=True)
class Released:
    """What an operator's click made. ``outcome``: ticket, comment, failed, done_before (made
    before: nothing new), busy (another click has it), or gone (the stored mail was purged)."""

    desk_mail_id: int
    outcome: str
    message: str
    ticket_key: str | None = None

    @property
    def made(self) -> bool:
        return self.outcome in MADE


def may_release(row: ServiceDeskMail) -> bool:
    """A stopped mail, or one whose creation anyway failed at the PSA (it keeps its reason)."""
    return row.outcome in STOPPED or (row.outcome == FAILED and bool(row.reason))


def create_anyway(runtime: Runtime, desk_mail_id: int, *, actor: str) -> Released:
    """Make the mail's ticket (or comment) past the filters; at most once per Message-ID.
    Every click is audited, the one that made nothing too."""
    result, reason = _create(runtime, desk_mail_id)
    with session_scope(runtime.session_factory) as session:
        row = session.get(ServiceDeskMail, desk_mail_id)
        if row is not None and reason and not row.reason:
            row.reason = reason  # process_mail clears it; the page still says why it stopped
        audit.record(
            session,
            actor=actor,
            action="service_desk.create_anyway",
            subject=f"service desk mail {desk_mail_id}",
            outcome="ok" if result.made else result.outcome,
            details={"reason": reason, "ticket": result.ticket_key, "message": result.message},
        )
    return result


def _create(runtime: Runtime, desk_mail_id: int) -> tuple[Released, str]:
    with session_scope(runtime.session_factory) as session:
        row = session.get(ServiceDeskMail, desk_mail_id)
        if row is None:
            raise DeskNotFound(f"There is no desk mail {desk_mail_id}.")
        reason, mail_id = row.reason, row.mail_id
        if not may_release(row):
            return Released(desk_mail_id, "done_before", _made_before(session, row)), reason
        if mail_id is None:
            message = "The stored mail was purged: there is nothing to make a ticket from."
            return Released(desk_mail_id, "gone", message), reason
        if not _take(session, row):
            message = "Another operator is handling this mail."
            return Released(desk_mail_id, "busy", message), reason
    handled = process_mail(runtime, mail_id, again=True, screened=False)
    key = handled.ticket_key
    if handled.outcome == "ticket":
        return Released(desk_mail_id, "ticket", f"Ticket {key} created.", key), reason
    if handled.outcome == "comment":
        return Released(desk_mail_id, "comment", f"Added as a comment on {key}.", key), reason
    if handled.outcome == "done_before":
        message = f"Made before: {handled.detail}"
        return Released(desk_mail_id, "done_before", message, key), reason
    return Released(desk_mail_id, handled.outcome, f"Not created: {handled.detail}", key), reason


def _take(session: Session, row: ServiceDeskMail) -> bool:
    taken = session.execute(
        update(ServiceDeskMail)
        .where(
            ServiceDeskMail.id == row.id,
            ServiceDeskMail.outcome == row.outcome,
            ServiceDeskMail.attempts == row.attempts,
        )
        .values(outcome=FAILED, attempts=max(row.attempts, MAX_ATTEMPTS))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(taken, "rowcount", 0) or 0) == 1


def _made_before(session: Session, row: ServiceDeskMail) -> str:
    conversation = (
        session.get(ServiceDeskConversation, row.conversation_id) if row.conversation_id else None
    )
    if row.outcome in MADE and conversation is not None:
        return f"This mail already made {row.outcome} on {conversation.ticket_key}; nothing new."
    return f"This mail is {row.outcome} already; nothing new."


def has_ticket_link(kind: str) -> bool:
    return "ticket_url" in registry.PSA_CAPABILITIES.get(kind, {})


def ticket_link(runtime: Runtime, conversation_id: int) -> str | None:
    """The ticket's page in the PSA, when its connection's kind has one. Asked when clicked,
    not while the list is drawn: a Jira key unknown to the connector costs one request.
    Raises IntegrationUnavailable or ConnectorError."""
    with runtime.session_factory() as session:
        conversation = session.get(ServiceDeskConversation, conversation_id)
        if conversation is None:
            raise DeskNotFound(f"There is no conversation {conversation_id}.")
        connection = (
            session.get(PsaConnection, conversation.connection_id)
            if conversation.connection_id is not None
            else None
        )
        if connection is None or not has_ticket_link(connection.kind):
            return None
        ticket_id = conversation.ticket_id
        with active_connection.active(
            runtime, session, connection.id, priority=Priority.OPERATOR
        ) as psa:
            session.commit()  # nothing held while the PSA answers
            return ticket_url(psa, ticket_id)
