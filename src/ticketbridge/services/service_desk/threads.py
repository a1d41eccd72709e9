"""What a mailbox recorded, read for the rules: the `ThreadIndex` of one mail (only the rows its
headers and subject can name), the conversation behind a ticket key, and the sender's recent
tickets for loop protection.

A conversation whose ticket was deleted in the PSA and then replaced by a new one answers with
the new ticket: a reply to any mail of the old ticket comments on its replacement instead of
opening yet another ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.core.service_desk.conversations import (
    GRAPH_PREFIX,
    KnownTicket,
    ThreadIndex,
    thread_candidates,
)
from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.services.service_desk import mail_uploads
from ticketbridge.storage.models import ServiceDeskConversation, ServiceDeskMail

OPEN = "open"
DELETED = "deleted"
# Outcomes of a mail that made something in the PSA.
MADE = ("ticket", "comment")
# A replacement of a replacement of ...: a chain this long is a loop in the data, not history.
MAX_REPLACEMENTS = 20


def index_for(session: Session, mailbox_id: int, mail: DeskMail) -> ThreadIndex:
    candidates = thread_candidates(mail)
    message_ids: dict[str, KnownTicket] = {}
    if candidates.message_ids:
        rows = session.execute(
            select(ServiceDeskMail.message_key, ServiceDeskConversation)
            .join(
                ServiceDeskConversation,
                ServiceDeskConversation.id == ServiceDeskMail.conversation_id,
            )
            .where(
                ServiceDeskMail.mailbox_id == mailbox_id,
                ServiceDeskMail.message_key.in_(candidates.message_ids),
                ServiceDeskMail.outcome.in_(MADE),
            )
        )
        for key, conversation in rows:
            message_ids[key] = known(current(session, conversation))
    conversation_ids: dict[str, KnownTicket] = {}
    if candidates.conversation_id:
        found = _latest(
            session,
            ServiceDeskConversation.mailbox_id == mailbox_id,
            ServiceDeskConversation.conversation_key == GRAPH_PREFIX + candidates.conversation_id,
        )
        if found is not None:
            conversation_ids[candidates.conversation_id] = known(current(session, found))
    ticket_keys: dict[str, KnownTicket] = {}
    for key in candidates.ticket_keys:
        found = by_ticket_key(session, mailbox_id, key)
        if found is not None:
            ticket_keys[key] = known(current(session, found))
    return ThreadIndex(message_ids, conversation_ids, ticket_keys)


def known(conversation: ServiceDeskConversation) -> KnownTicket:
    return KnownTicket(conversation.ticket_key, deleted=conversation.state == DELETED)


def current(session: Session, conversation: ServiceDeskConversation) -> ServiceDeskConversation:
    """The conversation's ticket now: its replacement's (and so on) when it was deleted."""
    seen = conversation
    for _ in range(MAX_REPLACEMENTS):
        if seen.state != DELETED:
            return seen
        newer = _latest(session, ServiceDeskConversation.replaces_id == seen.id)
        if newer is None:
            return seen
        seen = newer
    return seen


def by_ticket_key(
    session: Session, mailbox_id: int, ticket_key: str
) -> ServiceDeskConversation | None:
    return _latest(
        session,
        ServiceDeskConversation.mailbox_id == mailbox_id,
        ServiceDeskConversation.ticket_key == ticket_key,
    )


def _latest(session: Session, *where: object) -> ServiceDeskConversation | None:
    return session.scalars(
        select(ServiceDeskConversation)
        .where(*where)  # type: ignore[arg-type]
        .order_by(ServiceDeskConversation.id.desc())
        .limit(1)
    ).first()


def recent_ticket_times(
    session: Session, mailbox_id: int, sender: str, *, now: datetime, minutes: int
) -> Iterable[datetime]:
    """When the sender's mails made tickets within the loop window (their handling time)."""
    if not sender:
        return []
    return list(
        session.scalars(
            select(ServiceDeskMail.processed_at).where(
                ServiceDeskMail.mailbox_id == mailbox_id,
                ServiceDeskMail.sender == sender,
                ServiceDeskMail.outcome == "ticket",
                ServiceDeskMail.processed_at > now - timedelta(minutes=minutes),
            )
        )
    )


def files_sent(session: Session, conversation_id: int) -> frozenset[str]:
    """The sha256 of every file the conversation's mails sent to its ticket."""
    records = session.scalars(
        select(ServiceDeskMail.files).where(
            ServiceDeskMail.conversation_id == conversation_id,
            ServiceDeskMail.files.is_not(None),
        )
    )
    return mail_uploads.sent_hashes(records)
