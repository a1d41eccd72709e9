"""The desk's tickets as the API lists them (issue 16, item 7): each conversation with its PSA
ticket, where it came from (a mail, or a request through the API), and the mails and requests
that made it or commented on it; and the boards and categories the mailboxes are configured
with. Reads only: nothing here asks a PSA.

Tickets are listed newest first and paged by an opaque cursor, as runs are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ticketbridge.services.runs.records import decode_cursor, encode_cursor
from ticketbridge.services.service_desk import targets
from ticketbridge.services.service_desk.mailboxes import settings_of
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.storage.models import (
    MailSource,
    PsaConnection,
    ServiceDeskConversation,
    ServiceDeskMail,
    ServiceDeskMailbox,
)

# A conversation (and its rows in service_desk_mails) opened through the API is keyed by the
# request's idempotency key behind this prefix; a Message-ID never starts with it.
API_PREFIX = "api:"
API_COMMENT_PREFIX = "api-comment:"


class DeskTicketNotFound(TicketError):
    status = 404

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"not found: there is no service desk ticket {ticket_id}")


@dataclass(frozen=True)
class TicketFilter:
    source_id: int | None = None  # the mailbox, by its mail source: the public id
    mailbox_id: int | None = None  # the desk row's own id, the name the API had first
    connection_id: int | None = None
    state: str | None = None
    board: str | None = None
    category: str | None = None
    sender: str | None = None
    since: datetime | None = None  # opened at or after


@dataclass(frozen=True)
class DeskTicket:
    conversation: ServiceDeskConversation
    source_id: int  # the mailbox's mail source
    mailbox: str  # the mail source's name
    connection: str | None
    kind: str | None
    replaces: str | None  # the ticket key of the deleted ticket this one stands in for

    @property
    def origin(self) -> str:
        return "api" if self.conversation.conversation_key.startswith(API_PREFIX) else "mail"


@dataclass(frozen=True)
class DeskTicketDetail:
    ticket: DeskTicket
    replaced_by: str | None
    mails: list[ServiceDeskMail]


# The connection's name and kind are None once it was deleted (the outer join).
Row = Select[ServiceDeskConversation, int, str, str, str]


def _base() -> Row:
    query: Row = (
        select(
            ServiceDeskConversation,
            MailSource.id,
            MailSource.name,
            PsaConnection.name,
            PsaConnection.kind,
        )
        .join(ServiceDeskMailbox, ServiceDeskMailbox.id == ServiceDeskConversation.mailbox_id)
        .join(MailSource, MailSource.id == ServiceDeskMailbox.source_id)
        .outerjoin(PsaConnection, PsaConnection.id == ServiceDeskConversation.connection_id)
    )
    return query


def _filtered(query: Row, filters: TicketFilter) -> Row:
    conversation = ServiceDeskConversation
    if filters.source_id is not None:
        query = query.where(MailSource.id == filters.source_id)
    if filters.mailbox_id is not None:
        query = query.where(conversation.mailbox_id == filters.mailbox_id)
    if filters.connection_id is not None:
        query = query.where(conversation.connection_id == filters.connection_id)
    if filters.state:
        query = query.where(conversation.state == filters.state)
    if filters.board:
        query = query.where(conversation.board == filters.board)
    if filters.category:
        query = query.where(conversation.category == filters.category)
    if filters.sender:
        query = query.where(conversation.sender == filters.sender.strip().lower())
    if filters.since is not None:
        query = query.where(conversation.created_at >= filters.since)
    return query


def page_of_tickets(
    session: Session, filters: TicketFilter, *, cursor: str | None, limit: int
) -> tuple[list[DeskTicket], str | None]:
    """Newest first by id; the cursor is opaque and stable under inserts."""
    query = _filtered(_base(), filters)
    if cursor:
        query = query.where(ServiceDeskConversation.id < decode_cursor(cursor))
    rows = list(session.execute(query.order_by(ServiceDeskConversation.id.desc()).limit(limit + 1)))
    tickets = _tickets(session, rows[:limit])
    next_cursor = encode_cursor(tickets[-1].conversation.id) if len(rows) > limit else None
    return tickets, next_cursor


def _tickets(session: Session, rows: Sequence[Any]) -> list[DeskTicket]:
    replaced_ids = {row[0].replaces_id for row in rows if row[0].replaces_id is not None}
    keys = (
        dict(
            session.execute(
                select(ServiceDeskConversation.id, ServiceDeskConversation.ticket_key).where(
                    ServiceDeskConversation.id.in_(replaced_ids)
                )
            ).tuples()
        )
        if replaced_ids
        else {}
    )
    return [
        DeskTicket(
            conversation, source_id, mailbox, connection, kind, keys.get(conversation.replaces_id)
        )
        for conversation, source_id, mailbox, connection, kind in rows
    ]


def get_ticket(session: Session, ticket_id: int) -> DeskTicketDetail:
    row = session.execute(_base().where(ServiceDeskConversation.id == ticket_id)).first()
    if row is None:
        raise DeskTicketNotFound(ticket_id)
    [ticket] = _tickets(session, [row])
    newer = session.scalars(
        select(ServiceDeskConversation.ticket_key)
        .where(ServiceDeskConversation.replaces_id == ticket_id)
        .order_by(ServiceDeskConversation.id.desc())
        .limit(1)
    ).first()
    mails = list(
        session.scalars(
            select(ServiceDeskMail)
            .where(ServiceDeskMail.conversation_id == ticket_id)
            .order_by(ServiceDeskMail.received_at, ServiceDeskMail.id)
        )
    )
    return DeskTicketDetail(ticket, newer, mails)


# --- boards and categories, from configuration ---------------------------------------------


@dataclass(frozen=True)
class Board:
    source_id: int
    mailbox_id: int
    mailbox: str
    connection_id: int | None
    connection: str | None
    kind: str | None
    board: str
    meaning: str  # "Jira project id", "Autotask queue id"
    is_default: bool
    rules: tuple[str, ...]  # the routing rules that send tickets here


@dataclass(frozen=True)
class Category:
    source_id: int
    mailbox_id: int
    mailbox: str
    category: str
    is_default: bool
    rules: tuple[str, ...]


def _mailboxes(
    session: Session, mailbox_id: int | None, connection_id: int | None, source_id: int | None
) -> list[tuple[ServiceDeskMailbox, str, PsaConnection | None]]:
    query = (
        select(ServiceDeskMailbox, MailSource.name, PsaConnection)
        .join(MailSource, MailSource.id == ServiceDeskMailbox.source_id)
        .outerjoin(PsaConnection, PsaConnection.id == ServiceDeskMailbox.connection_id)
        .order_by(MailSource.name, ServiceDeskMailbox.id)
    )
    if mailbox_id is not None:
        query = query.where(ServiceDeskMailbox.id == mailbox_id)
    if source_id is not None:
        query = query.where(ServiceDeskMailbox.source_id == source_id)
    if connection_id is not None:
        query = query.where(ServiceDeskMailbox.connection_id == connection_id)
    return [(mailbox, name, connection) for mailbox, name, connection in session.execute(query)]


def boards(
    session: Session,
    *,
    mailbox_id: int | None = None,
    connection_id: int | None = None,
    source_id: int | None = None,
) -> list[Board]:
    found = []
    for mailbox, name, connection in _mailboxes(session, mailbox_id, connection_id, source_id):
        routing = settings_of(session, mailbox).routing
        kind = connection.kind if connection is not None else None
        desk_target = targets.of_connection(connection)
        meaning = desk_target.board_name if desk_target is not None else ""
        for board in routing.boards:
            found.append(
                Board(
                    source_id=mailbox.source_id,
                    mailbox_id=mailbox.id,
                    mailbox=name,
                    connection_id=connection.id if connection is not None else None,
                    connection=connection.name if connection is not None else None,
                    kind=kind,
                    board=board,
                    meaning=meaning,
                    is_default=board == routing.default_board,
                    rules=tuple(rule.name for rule in routing.rules if rule.board == board),
                )
            )
    return found


def categories(
    session: Session,
    *,
    mailbox_id: int | None = None,
    connection_id: int | None = None,
    source_id: int | None = None,
) -> list[Category]:
    found = []
    for mailbox, name, _ in _mailboxes(session, mailbox_id, connection_id, source_id):
        routing = settings_of(session, mailbox).routing
        for category in routing.categories:
            rules = tuple(
                rule.name
                for rule in routing.rules
                if (rule.category or routing.default_category) == category
            )
            is_default = category == routing.default_category
            found.append(Category(mailbox.source_id, mailbox.id, name, category, is_default, rules))
    return found
