"""Comments on the desk's tickets through the API (issue 16, item 7): a public comment the
reporter may read, or an internal note they never see, asked of the PSA outside any
transaction and recorded beside the mails of the conversation (``api-comment:<uuid>``). A
ticket gone from the PSA is marked deleted and answers 410.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ticketbridge.connectors.errors import RemoteNotFound
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.service_desk.requests import draft_api_comment
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import targets, threads
from ticketbridge.services.service_desk.listing import API_COMMENT_PREFIX, DeskTicketNotFound
from ticketbridge.services.service_desk.requests import DeskRequestConflict
from ticketbridge.services.system import audit
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import PsaConnection, ServiceDeskConversation, ServiceDeskMail


class DeskTicketGone(TicketError):
    status = 410


@dataclass(frozen=True)
class Commented:
    record_id: int  # its row among the conversation's mails
    ticket_key: str
    comment_id: str  # the PSA's
    at: datetime


def add_comment(
    runtime: Runtime, ticket_id: int, text: str, *, internal: bool, actor: str
) -> Commented:
    """A public comment, or an internal note (never shown to the reporter), on the ticket of
    conversation ``ticket_id``; recorded beside the mails of the conversation. A ticket gone
    from the PSA is marked deleted and answers 410."""
    with session_scope(runtime.session_factory) as session:
        conversation = session.get(ServiceDeskConversation, ticket_id)
        if conversation is None:
            raise DeskTicketNotFound(ticket_id)
        if conversation.state == threads.DELETED:
            newer = threads.current(session, conversation)
            instead = ""
            if newer.id != ticket_id:
                instead = f"; {newer.ticket_key} (id {newer.id}) replaces it"
            raise DeskTicketGone(f"{conversation.ticket_key} was deleted in the PSA{instead}.")
        connection = session.get(PsaConnection, conversation.connection_id or 0)
        desk_target = targets.of_connection(connection)
        if connection is None or desk_target is None:
            raise DeskRequestConflict("The ticket's connection was deleted.")
        mailbox_id, remote_id = conversation.mailbox_id, conversation.ticket_id
        connection_id, ticket_key = connection.id, conversation.ticket_key
        draft = draft_api_comment(text, limits=targets.draft_limits(desk_target))
    try:
        with (
            runtime.session_factory() as session,
            active_connection.active(
                runtime, session, connection_id, priority=Priority.OPERATOR
            ) as psa,
        ):
            session.commit()
            note_id = psa.connector.add_note(remote_id, draft.text, internal=internal)
    except RemoteNotFound:
        with session_scope(runtime.session_factory) as session:
            gone = session.get(ServiceDeskConversation, ticket_id)
            if gone is not None:
                gone.state = threads.DELETED
        raise DeskTicketGone(
            f"{ticket_key} was deleted in the PSA; the conversation is marked deleted."
        ) from None
    now = runtime.clock()
    with session_scope(runtime.session_factory) as session:
        visibility = "internal note" if internal else "public comment"
        row = ServiceDeskMail(
            mailbox_id=mailbox_id,
            message_key=f"{API_COMMENT_PREFIX}{uuid.uuid4().hex}",
            conversation_id=ticket_id,
            outcome="comment",
            reason="",
            detail=f"An {visibility} added through the API by {actor}.",
            comment_id=str(note_id),
            external_id="",
            sender="",
            received_at=now,
            processed_at=now,
            attempts=1,
        )
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="service_desk.comment_added",
            subject=ticket_key,
            details={"conversation_id": ticket_id, "internal": internal, "note_id": note_id},
        )
        session.flush()
        return Commented(row.id, ticket_key, str(note_id), now)
