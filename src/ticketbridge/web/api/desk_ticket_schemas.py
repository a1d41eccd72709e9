"""What the service desk's ticket calls answer (web/api/desk_tickets.py): a conversation with
its PSA ticket, the mails that made it and its comments, a page of them, and the boards and
categories the mailboxes are configured with."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ticketbridge.services.service_desk import listing
from ticketbridge.services.service_desk.listing import DeskTicket, DeskTicketDetail
from ticketbridge.storage.models import ServiceDeskMail

SOURCE_ID = "The mailbox, by its mail source's id: /api/v1/service-desk/mailboxes/{source_id}"
OLD_MAILBOX_ID = "Deprecated: the mailbox's internal id, the name these calls had first"


class DeskTicketOut(BaseModel):
    id: int = Field(description="The conversation's id in ticketbridge")
    source_id: int = Field(description=SOURCE_ID)
    mailbox_id: int = Field(description=OLD_MAILBOX_ID, json_schema_extra={"deprecated": True})
    mailbox: str = Field(description="The mail source's name")
    connection_id: int | None
    connection: str | None
    kind: str | None = Field(description="jira or autotask")
    ticket_id: int = Field(description="The ticket's id in the PSA")
    ticket_key: str = Field(description="SUP-123, T20240101.0001")
    state: str = Field(description="open, or deleted (deleted in the PSA)")
    origin: str = Field(description="mail (a mail opened it) or api")
    replaces: str | None = Field(description="The deleted ticket this one stands in for")
    sender: str = Field(description="The reporter's address")
    board: str
    category: str
    labels: list[str]
    created_at: datetime
    last_mail_at: datetime

    @classmethod
    def of(cls, ticket: DeskTicket) -> DeskTicketOut:
        c = ticket.conversation
        return cls(
            id=c.id,
            source_id=ticket.source_id,
            mailbox_id=c.mailbox_id,
            mailbox=ticket.mailbox,
            connection_id=c.connection_id,
            connection=ticket.connection,
            kind=ticket.kind,
            ticket_id=c.ticket_id,
            ticket_key=c.ticket_key,
            state=c.state,
            origin=ticket.origin,
            replaces=ticket.replaces,
            sender=c.sender,
            board=c.board,
            category=c.category,
            labels=list(c.labels or []),
            created_at=c.created_at,
            last_mail_at=c.last_mail_at,
        )


class DeskMailOut(BaseModel):
    id: int
    origin: str = Field(description="mail, or api (a request or comment sent through the API)")
    message_key: str = Field(description="The Message-ID, or api:<Idempotency-Key>")
    mail_id: int | None = Field(description="The stored mail (GET /api/v1/mail/{id})")
    outcome: str = Field(description="ticket, comment, pending or failed")
    detail: str
    comment_id: str | None
    received_at: datetime
    processed_at: datetime

    @classmethod
    def of(cls, row: ServiceDeskMail) -> DeskMailOut:
        api = row.message_key.startswith((listing.API_PREFIX, listing.API_COMMENT_PREFIX))
        return cls(
            id=row.id,
            origin="api" if api else "mail",
            message_key=row.message_key,
            mail_id=row.mail_id,
            outcome=row.outcome,
            detail=row.detail,
            comment_id=row.comment_id,
            received_at=row.received_at,
            processed_at=row.processed_at,
        )


class DeskTicketDetailOut(DeskTicketOut):
    replaced_by: str | None = Field(description="The ticket opened when this one was deleted")
    mails: list[DeskMailOut] = Field(description="What made the ticket and its comments")

    @classmethod
    def of_detail(cls, detail: DeskTicketDetail) -> DeskTicketDetailOut:
        base = DeskTicketOut.of(detail.ticket).model_dump()
        mails = [DeskMailOut.of(row) for row in detail.mails]
        return cls(**base, replaced_by=detail.replaced_by, mails=mails)


class DeskTicketPage(BaseModel):
    items: list[DeskTicketOut]
    next_cursor: str | None


class BoardOut(BaseModel):
    source_id: int = Field(description=SOURCE_ID)
    mailbox_id: int = Field(description=OLD_MAILBOX_ID, json_schema_extra={"deprecated": True})
    mailbox: str
    connection_id: int | None
    connection: str | None
    kind: str | None
    board: str
    meaning: str = Field(description="Jira project id, Autotask queue id")
    is_default: bool
    rules: list[str] = Field(description="The routing rules that send tickets here")


class BoardsOut(BaseModel):
    items: list[BoardOut]


class CategoryOut(BaseModel):
    source_id: int = Field(description=SOURCE_ID)
    mailbox_id: int = Field(description=OLD_MAILBOX_ID, json_schema_extra={"deprecated": True})
    mailbox: str
    category: str
    is_default: bool
    rules: list[str] = Field(description="The routing rules that give this category")


class CategoriesOut(BaseModel):
    items: list[CategoryOut]
