"""The service desk's tickets over the API (docs/service-desk.md, "API"): list and read the
conversations with their PSA ticket, open a ticket (JSON, or multipart with files), comment on
one, and the boards and categories the mailboxes are configured with.

Reading takes the read permission; opening and commenting the review permission (operators
and admins). A PSA that cannot answer gives 503 (with Retry-After when it said), one that
refuses 502, a connection that is disabled or misconfigured 409; never 500.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.datastructures import FormData, UploadFile

from ticketbridge.core.service_desk.mail_files import FileLimits, MailFile
from ticketbridge.core.service_desk.requests import TicketRequest
from ticketbridge.core.service_desk.routing import FieldError
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import comments, listing
from ticketbridge.services.service_desk import requests as desk_requests
from ticketbridge.services.service_desk.listing import DeskTicketDetail
from ticketbridge.services.service_desk.mailboxes import mailbox_of_source
from ticketbridge.web.api.desk_ticket_schemas import (
    OLD_MAILBOX_ID,
    BoardOut,
    BoardsOut,
    CategoriesOut,
    CategoryOut,
    DeskTicketDetailOut,
    DeskTicketOut,
    DeskTicketPage,
)
from ticketbridge.web.api.schemas import (
    ERROR_RESPONSES,
    MAX_ID,
    ErrorOut,
    Id,
    IdField,
    IdFilter,
    TimeFilter,
)
from ticketbridge.web.deps import ApiReader, ApiReviewer, Ctx, DbSession

PSA_ERRORS: dict[int | str, dict[str, Any]] = {
    410: {"model": ErrorOut, "description": "The ticket was deleted in the PSA"},
    502: {"model": ErrorOut, "description": "The PSA refused the request"},
    503: {"model": ErrorOut, "description": "The PSA is unavailable; see Retry-After"},
}
router = APIRouter(tags=["service desk"], responses=ERROR_RESPONSES)

KEY_PATTERN = r"^[!-~]{1,200}$"  # visible ASCII: a UUID, a ticket reference
Label = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S+$")]


# Kept working where it was documented; its number is not the one the rest of the API uses.
OldMailboxId = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description=OLD_MAILBOX_ID, deprecated=True)
]


@router.get("/tickets", response_model=DeskTicketPage, summary="The service desk's tickets")
def list_tickets(
    session: DbSession,
    _: ApiReader,
    source_id: IdFilter = None,
    mailbox_id: OldMailboxId = None,
    connection_id: IdFilter = None,
    state: Annotated[str | None, Query(pattern="^(open|deleted)$")] = None,
    board: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    sender: Annotated[str | None, Query(max_length=320)] = None,
    since: TimeFilter | None = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeskTicketPage:
    """Newest first; `next_cursor` fetches the next page. `since` keeps tickets opened at or
    after that time; `sender` is the reporter's address (case does not matter)."""
    filters = listing.TicketFilter(
        source_id=source_id,
        mailbox_id=mailbox_id,
        connection_id=connection_id,
        state=state,
        board=board,
        category=category,
        sender=sender,
        since=since,
    )
    rows, next_cursor = listing.page_of_tickets(session, filters, cursor=cursor, limit=limit)
    return DeskTicketPage(items=[DeskTicketOut.of(t) for t in rows], next_cursor=next_cursor)


@router.get("/tickets/{ticket_id}", response_model=DeskTicketDetailOut, summary="One ticket")
def get_ticket(ticket_id: Id, session: DbSession, _: ApiReader) -> DeskTicketDetailOut:
    """The ticket, and every mail or API request that made it or commented on it."""
    return DeskTicketDetailOut.of_detail(listing.get_ticket(session, ticket_id))


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=255, pattern=r"\S")
    description: str = Field(default="", max_length=30_000)
    reporter: str = Field(
        max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="An address"
    )
    reporter_name: str = Field(default="", max_length=200)
    board: str | None = Field(
        default=None, min_length=1, max_length=100, description="Default: as the rules route it"
    )
    category: str | None = Field(
        default=None, min_length=1, max_length=100, description="Default: as the rules route it"
    )
    labels: list[Label] = Field(default_factory=list, max_length=20, description="Added")
    source_id: IdField | None = Field(
        default=None, description="The mailbox whose rules apply, by its mail source's id"
    )
    mailbox_id: IdField | None = Field(
        default=None,
        description=OLD_MAILBOX_ID + "; instead of source_id",
        json_schema_extra={"deprecated": True},
    )
    connection_id: IdField | None = Field(
        default=None, description="Instead of source_id: the one mailbox targeting it"
    )
    client_reference: str | None = Field(
        default=None, pattern=KEY_PATTERN, description="Like Idempotency-Key"
    )

    @model_validator(mode="after")
    def one_target(self) -> TicketIn:
        named = [self.source_id, self.mailbox_id, self.connection_id]
        if sum(x is not None for x in named) != 1:
            raise ValueError("name source_id or connection_id (one of them)")
        return self


def _create_body() -> dict[str, Any]:
    """JSON, or the same fields as a form with files: TicketIn's schema, written inline since
    no parameter names the model (the route reads the body itself)."""
    fields = TicketIn.model_json_schema(ref_template="#/components/schemas/{model}")
    files = {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "Files for the ticket (at most 20, each at most 10 MiB, 25 MiB in all)",
    }
    form = {**fields, "properties": {**fields["properties"], "attachments": files}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": fields},
                "multipart/form-data": {"schema": form},
            },
        }
    }


async def _ticket_in(request: Request) -> tuple[TicketIn, list[UploadFile], FormData | None]:
    """The request's fields, from JSON or from a form, judged by TicketIn either way."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    form: FormData | None = None
    files: list[UploadFile] = []
    if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # One file over the limit still reaches attachment_errors, which names the limit.
        most = FileLimits().max_files + 1
        form = await request.form(max_files=most, max_fields=50, max_part_size=64 * 1024)
        files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile)]
        data: Any = {
            key: form.getlist(key) if key == "labels" else form.get(key)
            for key in form
            if key != "attachments"
        }
    else:
        try:
            data = json.loads(await request.body() or b"null")
        except ValueError:
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "the body is not JSON", "type": "json_invalid"}]
            ) from None
    try:
        return TicketIn.model_validate(data), files, form
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


def _key(body: TicketIn, header: str | None) -> str | None:
    if header is not None and body.client_reference not in (None, header):
        message = "Idempotency-Key and client_reference differ: send one, or the same"
        raise RequestValidationError(
            [{"loc": ("body", "client_reference"), "msg": message, "type": "value_error"}]
        )
    return header or body.client_reference


def _create(
    ctx: Runtime, body: TicketIn, key: str | None, files: list[MailFile], actor: str
) -> tuple[DeskTicketDetail, desk_requests.Created]:
    request = TicketRequest(
        summary=body.summary,
        description=body.description,
        reporter=body.reporter,
        reporter_name=body.reporter_name,
        board=body.board,
        category=body.category,
        labels=tuple(body.labels),
    )
    mailbox_id = body.mailbox_id
    if body.source_id is not None:
        with ctx.session_factory() as session:
            mailbox = mailbox_of_source(session, body.source_id)
        if mailbox is None:
            refused = FieldError("source_id", "This mail source is not a service-desk mailbox.")
            raise desk_requests.DeskRequestRefused([refused])
        mailbox_id = mailbox.id
    made = desk_requests.create_ticket(
        ctx,
        request,
        mailbox_id=mailbox_id,
        connection_id=body.connection_id,
        key=key,
        actor=actor,
        files=files,
    )
    with ctx.session_factory() as session:
        return listing.get_ticket(session, made.conversation_id), made


class SkippedFileOut(BaseModel):
    name: str
    reason: str


class FilesOut(BaseModel):
    sent: list[str]
    skipped: list[SkippedFileOut] = Field(description="Files the PSA refused, with its reason")


class CreatedOut(DeskTicketDetailOut):
    files: FilesOut | None = Field(
        description="The files this request attached; null for a request made before"
    )


@router.post(
    "/tickets",
    response_model=CreatedOut,
    status_code=201,
    summary="Open a ticket",
    openapi_extra=_create_body(),
    responses={
        200: {"model": CreatedOut, "description": "Made before with this key"},
        **PSA_ERRORS,
    },
)
async def create_ticket(
    request: Request,
    response: Response,
    ctx: Ctx,
    principal: ApiReviewer,
    idempotency_key: Annotated[
        str | None,
        Header(pattern=KEY_PATTERN, description="Repeat it and the ticket is made once"),
    ] = None,
) -> CreatedOut:
    """Opens a ticket in the mailbox's connection, routed by the mailbox's rules as a mail from
    `reporter` with `summary` as its subject would be; `board`, `category` (each one of the
    mailbox's, see /boards and /categories) and `labels` override or add. A request repeated
    with the same `Idempotency-Key` (or `client_reference`) answers 200 with the ticket the
    first made; while that one is still being made, 409. Files (multipart, `attachments`: at
    most 20, each at most 10 MiB or the PSA's own limit, 25 MiB in all, no programs; 422 at
    `attachments[n]` otherwise) go onto the new ticket once; one the PSA refuses is listed in
    `files.skipped` and the ticket stands."""
    body, uploads, form = await _ticket_in(request)
    try:
        key = _key(body, idempotency_key)
        # Under the route's body cap (web/limits.py): 25 MiB of files at most.
        files = [
            MailFile(f.filename or "", f.content_type or "", await f.read(), inline=False)
            for f in uploads
        ]
        detail, made = await anyio.to_thread.run_sync(
            _create, ctx, body, key, files, principal.actor
        )
    finally:
        if form is not None:
            await form.close()
    response.status_code = 201 if made.created else 200
    sent = (
        FilesOut(
            sent=made.files.sent,
            skipped=[SkippedFileOut(name=f.name, reason=f.reason) for f in made.files.skipped],
        )
        if made.files is not None
        else None
    )
    return CreatedOut(**DeskTicketDetailOut.of_detail(detail).model_dump(), files=sent)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=32_000, pattern=r"\S")
    internal: bool = Field(
        default=False,
        description="An internal note (Jira: restricted comment; Autotask: internal note), "
        "never shown to the reporter",
    )


class CommentOut(BaseModel):
    id: int = Field(description="The comment's record (in the ticket's mails)")
    ticket_id: int
    ticket_key: str
    comment_id: str = Field(description="The comment's id in the PSA")
    internal: bool
    created_at: datetime


@router.post(
    "/tickets/{ticket_id}/comments",
    response_model=CommentOut,
    status_code=201,
    summary="Comment on a ticket",
    responses=PSA_ERRORS,
)
def add_comment(ticket_id: Id, body: CommentIn, ctx: Ctx, principal: ApiReviewer) -> CommentOut:
    """A public comment the reporter may read, or with `internal` a note they never see (a
    Jira connection without a restriction for internal notes refuses it: 409). 410 when the
    ticket was deleted in the PSA."""
    made = comments.add_comment(
        ctx, ticket_id, body.text, internal=body.internal, actor=principal.actor
    )
    return CommentOut(
        id=made.record_id,
        ticket_id=ticket_id,
        ticket_key=made.ticket_key,
        comment_id=made.comment_id,
        internal=body.internal,
        created_at=made.at,
    )


@router.get("/boards", response_model=BoardsOut, summary="Boards tickets can go to")
def list_boards(
    session: DbSession,
    _: ApiReader,
    source_id: IdFilter = None,
    mailbox_id: OldMailboxId = None,
    connection_id: IdFilter = None,
) -> BoardsOut:
    """Each service-desk mailbox's boards, as configured (no PSA is asked)."""
    found = listing.boards(
        session, source_id=source_id, mailbox_id=mailbox_id, connection_id=connection_id
    )
    return BoardsOut(items=[BoardOut(**{**vars(b), "rules": list(b.rules)}) for b in found])


@router.get("/categories", response_model=CategoriesOut, summary="Ticket categories")
def list_categories(
    session: DbSession,
    _: ApiReader,
    source_id: IdFilter = None,
    mailbox_id: OldMailboxId = None,
    connection_id: IdFilter = None,
) -> CategoriesOut:
    """Each service-desk mailbox's categories (labels on its tickets), as configured."""
    found = listing.categories(
        session, source_id=source_id, mailbox_id=mailbox_id, connection_id=connection_id
    )
    return CategoriesOut(items=[CategoryOut(**{**vars(c), "rules": list(c.rules)}) for c in found])
