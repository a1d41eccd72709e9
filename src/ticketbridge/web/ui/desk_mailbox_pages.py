"""The Service desk page's Mailboxes tab (admins; docs/service-desk.md): which mail sources are
desk mailboxes, and a form per source with its target, routing, filters and notifications.
HTTP only: saving, checking and removing are services.service_desk.desk_admin's.

The form shows each problem beside its field and keeps what was typed. The relay's password
is never rendered: a blank keeps the stored one, "clear" forgets it, and the form says that a
change of relay or user forgets it too (services/service_desk/notify_settings.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ticketbridge.core.service_desk.routing import FieldError
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.connections import named
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail.sources import SourceView
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import desk_admin
from ticketbridge.services.service_desk.board_choices import BoardChoices, board_choices
from ticketbridge.services.service_desk.desk_admin import MailboxInUse, MailboxView
from ticketbridge.services.service_desk.mailboxes import MailboxRefused, MailboxSetup
from ticketbridge.services.service_desk.notify_settings import NotifySetup, Transport
from ticketbridge.web.api.schemas import Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui.mail_admin_pages import SourceForm
from ticketbridge.web.ui.service_desk_pages import split_list
from ticketbridge.web.ui.templating import redirect, render

router = APIRouter()
Checked = [CsrfChecked]
MAILBOXES = "/service-desk/mailboxes"
LISTS = ("boards", "categories", "labels", "addresses", "allowed_domains", "blocked_senders")
TEXTS = (
    "connection_id", "company_id", "default_board", "default_category", *LISTS, "loop_limit",
    "loop_minutes", "transport", "smtp_host", "smtp_port", "smtp_security", "smtp_username",
    "from_address", "from_name", "subject_template", "body_template",
)  # fmt: skip
CHECKS = ("company_by_sender", "enabled", "relay_comments", "smtp_verify_tls", "clear_password")
LABELS = {
    "connection_id": "Target connection", "company_id": "Company", "default_board": "Default board",
    "company_by_sender": "The sender's company first",
    "boards": "Boards", "default_category": "Default category", "categories": "Categories",
    "labels": "Labels", "addresses": "Mailbox addresses", "allowed_domains": "Allowed domains",
    "blocked_senders": "Blocked senders", "loop_limit": "Loop limit",
    "loop_minutes": "Loop minutes", "rules": "Routing rules", "enabled": "Notifications",
    "relay_comments": "Relay public PSA comments",
    "transport": "Send through", "smtp_host": "Relay host", "smtp_port": "Relay port",
    "smtp_security": "Relay security", "smtp_username": "Relay user name",
    "smtp_verify_tls": "Check the relay's certificate", "password": "Relay password",
    "clear_password": "Clear the stored relay password",
    "from_address": "From address", "from_name": "From name",
    "subject_template": "Subject template", "body_template": "Body template",
}  # fmt: skip


@router.get(MAILBOXES, response_class=HTMLResponse)
def mailboxes_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    desk = {view.source_id: view for view in desk_admin.list_mailboxes(session)}
    sources = [SourceView.of(s) for s in mail_sources.list_sources(session)]
    return render(
        request, "service_desk_mailboxes.html", session=session, principal=principal,
        tab="mailboxes", sources=sources, desk=desk,
    )  # fmt: skip


@router.get(MAILBOXES + "/{source_id}", response_class=HTMLResponse)
def mailbox_page(
    request: Request, source_id: Id, ctx: Ctx, session: DbSession, principal: UiAdmin
) -> Response:
    mail_sources.get_source(session, source_id)  # 404 for no such source
    view = _desk_view(session, source_id)
    values = _values(view)
    boards = _boards(ctx, session, values)
    return _form(request, session, principal, source_id, view, values, {}, boards=boards)


def _boards(ctx: Runtime, session: Session, values: dict[str, str | bool]) -> BoardChoices:
    """The chosen (or typed) connection's boards; the page's reads end first, so no database
    connection waits while a PSA lists them."""
    session.commit()
    typed = str(values.get("connection_id") or "")
    return board_choices(ctx, int(typed) if typed.isdigit() and len(typed) < 10 else None)


def _desk_view(session: Session, source_id: int) -> MailboxView | None:
    try:
        return desk_admin.get_mailbox(session, source_id)
    except desk_admin.DeskMailboxNotFound:
        return None


def _values(view: MailboxView | None) -> dict[str, str | bool]:
    """The form as stored; a new desk mailbox starts with notifications off."""
    if view is None:
        return {"loop_limit": "5", "loop_minutes": "60", "transport": "smtp",
                "smtp_security": "starttls", "smtp_verify_tls": True,
                "subject_template": NotifySetup().subject_template,
                "body_template": NotifySetup().body_template}  # fmt: skip
    setup, notify, smtp = view.setup, view.notify, view.notify.smtp
    values: dict[str, str | bool] = {name: ", ".join(getattr(setup, name)) for name in LISTS}
    values["labels"] = " ".join(setup.labels)
    values |= {
        "connection_id": str(setup.connection_id or ""),
        "company_id": str(setup.company_id or ""), "default_board": setup.default_board,
        "default_category": setup.default_category, "loop_limit": str(setup.loop_limit),
        "loop_minutes": str(setup.loop_minutes), "enabled": notify.enabled,
        "transport": notify.transport, "smtp_host": str(smtp.get("host") or ""),
        "smtp_port": str(smtp.get("port") or ""),
        "smtp_security": str(smtp.get("security") or "starttls"),
        "smtp_username": str(smtp.get("username") or ""),
        "smtp_verify_tls": bool(smtp.get("verify_tls", True)),
        "from_address": notify.from_address, "from_name": notify.from_name,
        "subject_template": notify.subject_template, "body_template": notify.body_template,
        "relay_comments": notify.relay_comments, "company_by_sender": setup.company_by_sender,
    }  # fmt: skip
    return values


def _form(
    request: Request,
    session: Session,
    principal: Principal,
    source_id: int,
    view: MailboxView | None,
    values: dict[str, str | bool],
    errors: dict[str, str],
    status_code: int = 200,
    *,
    boards: BoardChoices,
) -> Response:
    source = SourceView.of(mail_sources.get_source(session, source_id))
    return render(
        request, "service_desk_mailbox.html", session=session, principal=principal,
        tab="mailboxes", source=source, view=view, values=values, errors=errors,
        labels=LABELS, connections=named.all_connections(session), status_code=status_code,
        boards=boards, chosen_boards=set(split_list(str(values.get("boards") or ""))),
    )  # fmt: skip


def _typed(form: FormData) -> dict[str, str | bool]:
    values: dict[str, str | bool] = {name: str(form.get(name) or "") for name in TEXTS}
    # Boards come as ticked boxes when the connection lists them, else as typed text.
    values["boards"] = ", ".join(str(b) for b in form.getlist("boards") if str(b).strip())
    values |= {name: bool(form.get(name)) for name in CHECKS}
    return values


def _number(
    values: dict[str, str | bool], name: str, default: int | None, errors: list[FieldError]
) -> int | None:
    text = str(values[name]).strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 9:
        errors.append(FieldError(name, "A whole number."))
        return default
    return int(text)


def _parsed(values: dict[str, str | bool]) -> tuple[MailboxSetup, NotifySetup, list[FieldError]]:
    errors: list[FieldError] = []
    text = {name: str(values[name]).strip() for name in TEXTS}
    setup = MailboxSetup(
        connection_id=_number(values, "connection_id", 0, errors) or 0,
        company_id=_number(values, "company_id", None, errors),
        company_by_sender=bool(values["company_by_sender"]),
        default_board=text["default_board"], default_category=text["default_category"],
        boards=split_list(text["boards"]), categories=split_list(text["categories"]),
        labels=split_list(text["labels"]), addresses=split_list(text["addresses"]),
        allowed_domains=split_list(text["allowed_domains"]),
        blocked_senders=split_list(text["blocked_senders"]),
        loop_limit=_number(values, "loop_limit", 5, errors) or 0,
        loop_minutes=_number(values, "loop_minutes", 60, errors) or 0,
    )  # fmt: skip
    smtp = {
        "host": text["smtp_host"], "port": text["smtp_port"] or None,
        "security": text["smtp_security"] or "starttls", "username": text["smtp_username"],
        "verify_tls": bool(values["smtp_verify_tls"]),
    }  # fmt: skip
    transport: Transport = "graph" if text["transport"] == "graph" else "smtp"
    notify = NotifySetup(
        enabled=bool(values["enabled"]), transport=transport,
        smtp=smtp if transport == "smtp" else {}, password=str(values.get("password") or ""),
        clear_password=bool(values["clear_password"]), from_address=text["from_address"],
        from_name=text["from_name"], subject_template=str(values["subject_template"]),
        body_template=str(values["body_template"]),
        relay_comments=bool(values["relay_comments"]),
    )  # fmt: skip
    return setup, notify, errors


def form_key(field: str) -> str:
    """A service's field path as the form's input name."""
    if field.startswith("rules"):
        return "rules"
    field = field.removeprefix("notifications.")
    if field.startswith("smtp"):
        rest = field.removeprefix("smtp").lstrip(".").split(".")[0]
        return f"smtp_{rest}" if f"smtp_{rest}" in LABELS else "smtp_username"
    return field


@router.post(MAILBOXES + "/{source_id}", dependencies=Checked)
def save_mailbox(
    request: Request,
    source_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    form: SourceForm,
) -> Response:
    mail_sources.get_source(session, source_id)
    values = _typed(form)
    setup, notify, errors = _parsed({**values, "password": str(form.get("password") or "")})
    try:
        desk_admin.save(
            session, ctx.secret_box, source_id, setup, notify, actor=principal.actor,
            now=ctx.clock(),
        )  # fmt: skip
    except MailboxRefused as exc:
        errors += exc.errors
    if errors:
        session.rollback()
        shown: dict[str, str] = {}
        for error in errors:
            shown.setdefault(form_key(error.field), error.message)
        view = _desk_view(session, source_id)
        boards = _boards(ctx, session, values)
        return _form(
            request, session, principal, source_id, view, values, shown, 422, boards=boards
        )
    session.commit()
    return redirect(request, f"{MAILBOXES}#source-{source_id}", "Service-desk mailbox saved.")


@router.post(MAILBOXES + "/{source_id}/delete", dependencies=Checked)
def remove_mailbox(
    request: Request,
    source_id: Id,
    session: DbSession,
    principal: UiAdmin,
    discard_history: Annotated[bool, Form()] = False,
) -> Response:
    try:
        desk_admin.remove(
            session, source_id, discard_history=discard_history, actor=principal.actor
        )
    except MailboxInUse as exc:
        return redirect(request, f"{MAILBOXES}/{source_id}", str(exc), "error")
    session.commit()
    return redirect(request, MAILBOXES, "The mail source reads backup reports again.")
