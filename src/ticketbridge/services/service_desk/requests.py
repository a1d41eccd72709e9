"""Tickets and comments asked for through the API (issue 16, item 7), made the way a mail makes
them: the mailbox's routing (core/service_desk/requests), the connection's ticket fields
(psa_calls.ticket_draft), and the same three steps, so no database connection is held while
the PSA answers:

1. plan, in one transaction: the request's row in service_desk_mails is claimed, keyed by the
   request's idempotency key ("api:<key>", unique per mailbox like a Message-ID);
2. ask the PSA, outside any transaction (a retried create first searches the PSA for the
   ticket by our de-duplication key, so a create whose answer was lost is found, not repeated);
3. record the conversation, in another transaction.

A request repeated with the same key answers the ticket the first one made; one still being
made answers 409; one that failed is tried again. Without a key every request is new.

A request's row keeps no sender: loop protection counts the tickets a sender's *mails* made.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorConfigError, ConnectorError
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.connectors.psa.capabilities import Attachments
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.service_desk.drafts import MailCommentDraft
from ticketbridge.core.service_desk.mail_files import FileLimits, MailFile
from ticketbridge.core.service_desk.requests import (
    AttachmentInfo,
    TicketRequest,
    as_mail,
    attachment_errors,
    draft_request,
    request_errors,
    request_route,
)
from ticketbridge.core.service_desk.routing import FieldError
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import notices, targets, threads
from ticketbridge.services.service_desk.claims import claim_row, external_id
from ticketbridge.services.service_desk.listing import (
    API_PREFIX,
)
from ticketbridge.services.service_desk.mail_uploads import FilesSent, send_files, upload_limits
from ticketbridge.services.service_desk.mailboxes import settings_of
from ticketbridge.services.service_desk.process import LEASE
from ticketbridge.services.service_desk.psa_calls import Plan, page_of, ticket_draft
from ticketbridge.services.system import audit
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import (
    PsaConnection,
    ServiceDeskConversation,
    ServiceDeskMail,
    ServiceDeskMailbox,
)

PENDING, FAILED = "pending", "failed"


class DeskRequestRefused(TicketError):
    """The request names something the desk cannot use; ``fields`` say where."""

    status = 422

    def __init__(self, errors: list[FieldError]) -> None:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        fields = [{"field": e.field, "message": e.message} for e in errors]
        super().__init__(f"invalid input: {summary}", details={"fields": fields})


class DeskRequestConflict(TicketError):
    status = 409


@dataclass(frozen=True)
class Created:
    conversation_id: int
    created: bool  # False: the ticket an earlier request with the same key made
    files: FilesSent | None = None  # None: not sent by this request


def create_ticket(
    runtime: Runtime,
    request: TicketRequest,
    *,
    mailbox_id: int | None,
    connection_id: int | None,
    key: str | None,
    actor: str,
    files: Sequence[MailFile] = (),
) -> Created:
    """Raises DeskRequestRefused, DeskRequestConflict, IntegrationUnavailable (before anything
    is sent) or ConnectorError (from the PSA). Files go onto the new ticket once; one the PSA
    refuses is reported in ``files``, and the ticket stands."""
    _refuse_files(files, FileLimits())
    with session_scope(runtime.session_factory) as session:
        planned = _plan(session, request, mailbox_id, connection_id, key, runtime.clock(), files)
    if isinstance(planned, Created):
        return planned
    try:
        ticket, sent, url = _ask(runtime, planned, list(files))
    except (IntegrationUnavailable, ConnectorError) as exc:
        message = exc.message if isinstance(exc, IntegrationUnavailable) else str(exc)
        with session_scope(runtime.session_factory) as session:
            row = session.get(ServiceDeskMail, planned.record_id)
            if row is not None:
                row.outcome, row.detail = FAILED, message[:2000]
        raise
    with session_scope(runtime.session_factory) as session:
        made = _record(session, planned, ticket, sent, runtime.clock())
        audit.record(
            session,
            actor=actor,
            action="service_desk.ticket_created",
            subject=made.ticket_key,
            details={
                "conversation_id": made.id,
                "mailbox_id": planned.mailbox_id,
                "files": sent.sent,
            },
        )
        # The reporter hears back as a mail's sender does, when the mailbox notifies.
        notice = notices.queue(
            session,
            mailbox_id=planned.mailbox_id,
            desk_mail_id=planned.record_id,
            mail=planned.mail,
            ticket_key=made.ticket_key,
            board=planned.ticket.board,
            ticket_url=url,
            now=runtime.clock(),
        )
        created = Created(made.id, created=True, files=sent)
    if notice is not None:
        notices.send(runtime, notice)  # a failure stays on the notice; the ticket is made
    return created


def _refuse_files(files: Sequence[MailFile], limits: FileLimits) -> None:
    infos = [AttachmentInfo(f.name, f.content_type, len(f.data)) for f in files]
    errors = attachment_errors(infos, limits)
    if errors:
        raise DeskRequestRefused(errors)


def _files_capability(kind: str, files: Sequence[MailFile]) -> Attachments | None:
    """The kind's attachments, the files checked against its own upload limit; None without
    files."""
    if not files:
        return None
    try:
        capability = registry.attachments(kind)
    except ConnectorConfigError:
        message = f"Attachments are not supported by {kind} connections."
        raise DeskRequestRefused([FieldError("attachments", message)]) from None
    _refuse_files(files, upload_limits(capability))
    return capability


def _mailbox(
    session: Session, mailbox_id: int | None, connection_id: int | None
) -> ServiceDeskMailbox:
    if mailbox_id is not None:
        found = session.get(ServiceDeskMailbox, mailbox_id)
        if found is None:
            raise DeskRequestRefused([FieldError("mailbox_id", "There is no such mailbox.")])
        return found
    targets = list(
        session.scalars(
            select(ServiceDeskMailbox).where(ServiceDeskMailbox.connection_id == connection_id)
        )
    )
    if len(targets) == 1:
        return targets[0]
    message = (
        "No service-desk mailbox targets this connection."
        if not targets
        else "Several mailboxes target this connection: name one (source_id)."
    )
    raise DeskRequestRefused([FieldError("connection_id", message)])


def _plan(
    session: Session,
    request: TicketRequest,
    mailbox_id: int | None,
    connection_id: int | None,
    key: str | None,
    now: datetime,
    files: Sequence[MailFile],
) -> Plan | Created:
    mailbox = _mailbox(session, mailbox_id, connection_id)
    settings = settings_of(session, mailbox)
    errors = request_errors(request, settings.routing)
    if errors:
        raise DeskRequestRefused(errors)
    connection = session.get(PsaConnection, settings.connection_id or 0)
    desk_target = targets.of_connection(connection)
    if connection is None or desk_target is None:
        detail = "The mailbox has no PSA connection that can open tickets from desk mail."
        raise DeskRequestConflict(detail)
    _files_capability(connection.kind, files)
    message_key = API_PREFIX + (key or uuid.uuid4().hex)
    row = session.scalars(
        select(ServiceDeskMail).where(
            ServiceDeskMail.mailbox_id == mailbox.id, ServiceDeskMail.message_key == message_key
        )
    ).first()
    if row is not None and row.outcome == "ticket" and row.conversation_id is not None:
        return Created(row.conversation_id, created=False)
    if row is not None and row.outcome == PENDING and row.processed_at + LEASE > now:
        raise DeskRequestConflict("A ticket is being created for this Idempotency-Key.")
    claimed = _claim(session, row, mailbox.id, message_key, now)
    if claimed is None:
        raise DeskRequestConflict("A ticket is being created for this Idempotency-Key.")
    routed = request_route(request, settings.routing)
    return Plan(
        record_id=claimed,
        mail_id=0,
        mailbox_id=mailbox.id,
        connection_id=connection.id,
        desk_target=desk_target,
        sender=request.reporter.lower(),
        received_at=now,
        conversation_key=message_key,
        ticket=draft_request(request, routed, limits=targets.draft_limits(desk_target)),
        comment=MailCommentDraft("", "", "", ""),
        target=None,
        replaces=None,
        external_id=external_id(mailbox.id, message_key),
        search_first=row is not None,  # tried before: the ticket may exist already
        company_id=settings.company_id,
        reason=routed.reason,
        mail=as_mail(request),
    )


def _claim(
    session: Session, row: ServiceDeskMail | None, mailbox_id: int, key: str, now: datetime
) -> int | None:
    """The request's row, pending, for this caller alone; None when another got there first."""
    fresh = ServiceDeskMail(
        mailbox_id=mailbox_id,
        message_key=key,
        outcome=PENDING,
        reason="",
        detail="",
        external_id=external_id(mailbox_id, key),
        sender="",
        received_at=now,
        processed_at=now,
        attempts=1,
    )
    return claim_row(session, row, fresh, outcome=PENDING, now=now)


def _ask(
    runtime: Runtime, plan: Plan, files: list[MailFile]
) -> tuple[RemoteTicket, FilesSent, str]:
    with (
        runtime.session_factory() as session,
        active_connection.active(
            runtime, session, plan.connection_id, priority=Priority.OPERATOR
        ) as psa,
    ):
        session.commit()  # the settings are read: no connection is held while the PSA answers
        existing = (
            psa.connector.find_tickets(external_id=plan.external_id) if plan.search_first else []
        )
        ticket = existing[0] if existing else psa.connector.create_ticket(ticket_draft(plan, psa))
        url = page_of(psa, ticket.id)
        capability = _files_capability(psa.kind, files)
        if capability is None:
            return ticket, FilesSent(), url
        # Found again: an earlier attempt may have sent some files; each goes once.
        sent = send_files(
            capability,
            psa.connector,
            ticket.id,
            files,
            found_again=bool(existing),
            limits=upload_limits(capability),
        )
        return ticket, sent, url


def _record(
    session: Session, plan: Plan, ticket: RemoteTicket, sent: FilesSent, now: datetime
) -> ServiceDeskConversation:
    conversation = ServiceDeskConversation(
        mailbox_id=plan.mailbox_id,
        conversation_key=plan.conversation_key,
        connection_id=plan.connection_id,
        ticket_id=ticket.id,
        ticket_key=ticket.number or str(ticket.id),
        state=threads.OPEN,
        sender=plan.sender,
        board=plan.ticket.board,
        category=plan.ticket.category,
        labels=list(plan.ticket.labels),
        created_at=now,
        last_mail_at=now,
    )
    session.add(conversation)
    session.flush()
    row = session.get(ServiceDeskMail, plan.record_id)
    if row is not None:
        row.outcome, row.conversation_id = "ticket", conversation.id
        row.processed_at, row.detail = now, (plan.reason + _files_sentence(sent))[:2000]
    return conversation


def _files_sentence(sent: FilesSent) -> str:
    said = f" Files attached: {', '.join(sent.sent)}." if sent.sent else ""
    if sent.skipped:
        skipped = "; ".join(f"{s.name} ({s.reason})" for s in sent.skipped)
        said += f" Not attached: {skipped}."
    return said
