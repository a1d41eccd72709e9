"""Service-desk mailboxes over the API (docs/service-desk.md): which mail sources are desk
mailboxes, with their target, routing, filters, rules and notification settings (operators
read); make a source one or change it, and take the purpose away (admins).

PUT sends the whole mailbox; every problem comes back at once (422, `details.fields`, a field
path each: "rules[1].board", "notifications.smtp.host"). The relay's password is write-only:
absent or empty keeps the stored one, `clear_password` forgets it, and views say only whether
one is set. DELETE is refused (409) while the mailbox has recorded conversations or mails,
unless `discard_history=true`: they are deleted with it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketbridge.core.service_desk.routing import RoutingRule
from ticketbridge.services.mail.sources import get_source
from ticketbridge.services.service_desk import desk_admin
from ticketbridge.services.service_desk.desk_admin import MailboxView
from ticketbridge.services.service_desk.mailboxes import MailboxRefused, MailboxSetup
from ticketbridge.services.service_desk.notify_settings import NotifySetup
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id, IdField
from ticketbridge.web.deps import ApiAdmin, ApiReader, Ctx, DbSession

router = APIRouter(prefix="/service-desk", tags=["service desk"], responses=ERROR_RESPONSES)

Entry = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)]
Entries = Annotated[list[Entry], Field(max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class RuleModel(BaseModel):
    """First match decides, in list order; a rule without conditions only as the last."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    board: Name
    recipients: Entries = Field(default_factory=list)
    sender_domains: Entries = Field(default_factory=list)
    subject_pattern: str = Field("", max_length=400, description="Text, or a glob with * and ?")
    category: Name = Field("", description="Empty: the default category")
    labels: Entries = Field(default_factory=list)


class SmtpIn(BaseModel):
    """The relay (connectors/mail/smtp_relay.py); the password apart, write-only."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field("", max_length=255)
    port: int | None = Field(None, ge=1, le=65535, description="None: the security's usual port")
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = Field("", max_length=320)
    verify_tls: bool = True
    timeout_seconds: float = Field(30.0, gt=0, le=300)


class NotificationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    transport: Literal["smtp", "graph"] = Field(
        "smtp", description="graph: sendMail as the mailbox (a source read through Graph only)"
    )
    smtp: SmtpIn | None = None
    password: str | None = Field(
        None, max_length=4000, description="Write-only; absent or empty keeps the stored one"
    )
    clear_password: bool = False
    from_address: str = Field("", max_length=320, description="Empty: the mailbox's address")
    from_name: str = Field("", max_length=200)
    subject_template: str | None = Field(None, max_length=1000, description="Absent: default")
    body_template: str | None = Field(None, max_length=20_000, description="Absent: default")
    relay_comments: bool = Field(
        False,
        description="Mail the reporter each public comment added in the PSA (never internal "
        "ones), threaded, from when it is turned on, while notifications are on",
    )


class MailboxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connection_id: IdField = Field(description="The named PSA connection tickets go to")
    default_board: Name
    default_category: Name
    boards: Entries = Field(default_factory=list, description="Empty: the default alone")
    categories: Entries = Field(default_factory=list, description="Empty: the default alone")
    labels: Entries = Field(default_factory=list, description="On every new ticket")
    addresses: Entries = Field(default_factory=list, description="The mailbox's own addresses")
    allowed_domains: Entries = Field(default_factory=list, description="Empty: every domain")
    blocked_senders: Entries = Field(default_factory=list)
    loop_limit: int = Field(5, ge=0, le=10_000, description="Tickets a sender may make ...")
    loop_minutes: int = Field(60, ge=1, le=100_000, description="... within these minutes")
    company_id: IdField | None = Field(None, description="Where the target needs a company")
    company_by_sender: bool = Field(
        False,
        description="Autotask: open each ticket for the sender's company (their contact's, "
        "else the company whose web address is their domain), company_id when neither is found",
    )
    rules: list[RuleModel] | None = Field(
        None, max_length=200, description="Replaces the rules; absent keeps them"
    )
    notifications: NotificationsIn = Field(default_factory=NotificationsIn)


class NotificationsOut(BaseModel):
    enabled: bool
    transport: str
    smtp: dict[str, Any]
    password_set: bool
    from_address: str
    from_name: str
    subject_template: str
    body_template: str
    relay_comments: bool


class MailboxOut(BaseModel):
    source_id: int
    source_name: str
    source_kind: str
    connection_id: int | None
    connection_name: str | None = Field(description="None: deleted; mails wait for a target")
    default_board: str
    default_category: str
    boards: list[str]
    categories: list[str]
    labels: list[str]
    addresses: list[str]
    allowed_domains: list[str]
    blocked_senders: list[str]
    loop_limit: int
    loop_minutes: int
    company_id: int | None
    company_by_sender: bool
    rules: list[RuleModel]
    notifications: NotificationsOut
    conversations: int = Field(description="Conversations recorded (DELETE deletes them)")
    mails: int

    @classmethod
    def of(cls, view: MailboxView) -> MailboxOut:
        setup, notify = view.setup, view.notify
        return cls(
            source_id=view.source_id, source_name=view.source_name,
            source_kind=view.source_kind, connection_id=setup.connection_id or None,
            connection_name=view.connection_name, default_board=setup.default_board,
            default_category=setup.default_category, boards=list(setup.boards),
            categories=list(setup.categories), labels=list(setup.labels),
            addresses=list(setup.addresses), allowed_domains=list(setup.allowed_domains),
            blocked_senders=list(setup.blocked_senders), loop_limit=setup.loop_limit,
            loop_minutes=setup.loop_minutes, company_id=setup.company_id,
            company_by_sender=setup.company_by_sender,
            rules=[RuleModel.model_validate(rule.__dict__) for rule in setup.rules],
            notifications=NotificationsOut.model_validate(notify.__dict__),
            conversations=view.conversations, mails=view.mails,
        )  # fmt: skip


def setup_of(body: MailboxIn) -> MailboxSetup:
    return MailboxSetup(
        connection_id=body.connection_id, default_board=body.default_board,
        default_category=body.default_category, boards=tuple(body.boards),
        categories=tuple(body.categories), labels=tuple(body.labels),
        addresses=tuple(body.addresses), allowed_domains=tuple(body.allowed_domains),
        blocked_senders=tuple(body.blocked_senders), loop_limit=body.loop_limit,
        loop_minutes=body.loop_minutes, company_id=body.company_id,
        company_by_sender=body.company_by_sender,
    )  # fmt: skip


def rules_of(body: MailboxIn) -> tuple[RoutingRule, ...] | None:
    if body.rules is None:
        return None
    return tuple(
        RoutingRule(
            name=r.name,
            board=r.board,
            recipients=tuple(r.recipients),
            sender_domains=tuple(r.sender_domains),
            subject_pattern=r.subject_pattern.strip(),
            category=r.category,
            labels=tuple(r.labels),
        )
        for r in body.rules
    )


def notify_of(body: NotificationsIn) -> NotifySetup:
    defaults = NotifySetup()
    return NotifySetup(
        enabled=body.enabled,
        transport=body.transport,
        smtp=body.smtp.model_dump() if body.smtp is not None else {},
        password=body.password or "",
        clear_password=body.clear_password,
        from_address=body.from_address.strip(),
        from_name=body.from_name,
        subject_template=body.subject_template or defaults.subject_template,
        body_template=body.body_template or defaults.body_template,
        relay_comments=body.relay_comments,
    )


@router.get("/mailboxes", response_model=list[MailboxOut], summary="List desk mailboxes")
def list_mailboxes(session: DbSession, _: ApiReader) -> list[MailboxOut]:
    return [MailboxOut.of(view) for view in desk_admin.list_mailboxes(session)]


@router.get("/mailboxes/{source_id}", response_model=MailboxOut)
def get_mailbox(source_id: Id, session: DbSession, _: ApiReader) -> MailboxOut:
    """404 when the mail source is not a service-desk mailbox (it reads backup reports)."""
    return MailboxOut.of(desk_admin.get_mailbox(session, source_id))


@router.put("/mailboxes/{source_id}", response_model=MailboxOut)
def put_mailbox(
    source_id: Id, body: MailboxIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> MailboxOut:
    """Make the mail source a service-desk mailbox, or change one. 404 for no such source."""
    get_source(session, source_id)
    try:
        view = desk_admin.save(
            session, ctx.secret_box, source_id, setup_of(body), notify_of(body.notifications),
            rules=rules_of(body), actor=principal.actor, now=ctx.clock(),
        )  # fmt: skip
    except MailboxRefused as exc:
        session.rollback()
        raise exc from None
    session.commit()
    return MailboxOut.of(view)


@router.delete("/mailboxes/{source_id}", status_code=204)
def delete_mailbox(
    source_id: Id,
    session: DbSession,
    principal: ApiAdmin,
    discard_history: Annotated[bool, Query(description="Delete recorded conversations")] = False,
) -> Response:
    """The source reads backup reports again. 409 while conversations or mails are recorded,
    unless `discard_history=true`; to stop the mailbox and keep them, turn its source off."""
    desk_admin.remove(session, source_id, discard_history=discard_history, actor=principal.actor)
    session.commit()
    return Response(status_code=204)
