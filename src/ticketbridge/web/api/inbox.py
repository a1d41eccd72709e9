"""The Inbox over the API: mail waiting for approval, mail nobody could read, failures, and
mail someone ignored (which can be restored)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ticketbridge.services.mail import inbox
from ticketbridge.storage.models import MailMessage
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id, IdField, Page
from ticketbridge.web.deps import ApiReader, ApiReviewer, Ctx, DbSession

router = APIRouter(prefix="/inbox", tags=["inbox"], responses=ERROR_RESPONSES)


class MailOut(BaseModel):
    id: int
    lane: str | None
    state: str
    awaiting_approval: bool
    sender: str
    subject: str
    size: int
    received_at: datetime
    parsed_at: datetime | None
    parser: str | None
    failure: str
    detected: list[dict[str, Any]]
    run_ids: list[int]
    raw_available: bool
    raw_url: str
    filename: str | None = Field(description="The uploaded file's name, for uploaded mail")
    ignored_from: str | None = Field(
        description="Where an ignored mail was: waiting, no_parser, failed, parsed or approved"
    )
    ignored_by: str | None
    ignored_at: datetime | None

    @classmethod
    def of(cls, mail: MailMessage) -> MailOut:
        return cls(
            id=mail.id,
            lane=inbox.lane_of(mail),
            state=mail.state,
            awaiting_approval=mail.awaiting_approval,
            sender=mail.sender,
            subject=mail.subject,
            size=mail.size,
            received_at=mail.received_at,
            parsed_at=mail.parsed_at,
            parser=mail.parser,
            failure=mail.failure,
            detected=list(mail.detected or []),
            run_ids=list(mail.run_ids or []),
            raw_available=mail.raw is not None,
            raw_url=f"/api/v1/mail/{mail.id}/raw",
            filename=mail.filename,
            ignored_from=mail.ignored_from,
            ignored_by=mail.ignored_by,
            ignored_at=mail.ignored_at,
        )


class InboxPageOut(BaseModel):
    lane: str
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    items: list[MailOut]


class ApproveIn(BaseModel):
    customer_id: IdField


@router.get("", response_model=InboxPageOut, summary="Mail waiting for an operator")
def list_inbox(
    session: DbSession,
    _: ApiReader,
    lane: Annotated[str, Query(pattern="^(waiting|could_not_tell|failed|ignored)$")] = "waiting",
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxPageOut:
    """One lane: `waiting` (a job not approved yet), `could_not_tell` (no parser read it),
    `failed` (malformed or over a limit; `failure` says why, `filename` names an uploaded file)
    or `ignored` (`ignored_from`, `ignored_by`, `ignored_at`; restore undoes it). `detected`
    holds one entry per report: kind, product, job type, job name, host, status and start."""
    result = inbox.list_lane(session, lane, page=page, per_page=per_page)
    return InboxPageOut(
        lane=lane,
        total=result.total,
        page=result.page,
        pages=result.pages,
        counts=inbox.lane_counts(session),
        items=[MailOut.of(mail) for mail in result.mails],
    )


@router.post("/{mail_id}/approve", response_model=MailOut, summary="Approve under a customer")
def approve(
    mail_id: Id, body: ApproveIn, ctx: Ctx, session: DbSession, principal: ApiReviewer
) -> MailOut:
    """Creates the mail's jobs under the customer and their runs; later mails of the same
    sender, product and job name become runs directly."""
    mail = inbox.approve(
        session,
        mail_id,
        body.customer_id,
        actor=principal.actor,
        now=ctx.clock(),
        max_bytes=ctx.settings.mail_max_bytes,
    )
    session.commit()
    return MailOut.of(mail)


@router.post("/{mail_id}/ignore", response_model=MailOut, summary="Ignore a mail")
def ignore(mail_id: Id, ctx: Ctx, session: DbSession, principal: ApiReviewer) -> MailOut:
    """Moves the mail to the `ignored` lane, remembering where it was; repeating it changes
    nothing. `POST /inbox/{id}/restore` undoes it."""
    mail = inbox.ignore(session, mail_id, actor=principal.actor, now=ctx.clock())
    session.commit()
    return MailOut.of(mail)


@router.post("/{mail_id}/restore", response_model=MailOut, summary="Restore an ignored mail")
def restore(mail_id: Id, ctx: Ctx, session: DbSession, principal: ApiReviewer) -> MailOut:
    """Undoes an ignore: the mail is read and routed again and lands where it belongs today
    (`lane`: usually the one it left; none when its job became known meanwhile and it made
    runs). A mail that cannot be read again goes back to the lane it left. 422 when the mail
    is not ignored."""
    mail = inbox.restore(
        session,
        mail_id,
        actor=principal.actor,
        now=ctx.clock(),
        max_bytes=ctx.settings.mail_max_bytes,
    )
    session.commit()
    return MailOut.of(mail)
