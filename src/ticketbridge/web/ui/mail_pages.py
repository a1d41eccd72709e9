"""The Inbox, a stored mail, .eml upload and raw downloads.

Approving asks for a customer every time (none is chosen for the operator). Ignoring asks to be
confirmed on a page of its own (no script: the CSP allows none inline), moves the mail to the
Ignored lane, and Restore there undoes it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketbridge.core.roles import Permission
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import view as mail_view
from ticketbridge.services.mail.inbox import InboxError
from ticketbridge.services.mail.intake import raw_bytes
from ticketbridge.services.runs import catalog
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runs.catalog import NotFound
from ticketbridge.storage.models import MailMessage
from ticketbridge.web.api.mail import store, upload_form, uploaded_files
from ticketbridge.web.api.schemas import MAX_ID, Id, Page
from ticketbridge.web.deps import (
    CsrfChecked,
    Ctx,
    DbSession,
    UiReader,
    UiReviewer,
    ui_access,
    verify_csrf,
)
from ticketbridge.web.ui.templating import flash, redirect, render

router = APIRouter()
Checked = [CsrfChecked]
UiIngester = Annotated[Principal, ui_access(Permission.INGEST)]
LANE_TITLES = {
    "waiting": "Waiting for approval",
    "could_not_tell": "Could not tell",
    "failed": "Failed",
    "ignored": "Ignored",
}
LanePattern = "^(waiting|could_not_tell|failed|ignored)$"


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: DbSession,
    principal: UiReader,
    lane: Annotated[str, Query(pattern=LanePattern)] = "waiting",
    page: Page = 1,
) -> Response:
    return render(
        request,
        "inbox.html",
        session=session,
        principal=principal,
        lane=lane,
        lanes=LANE_TITLES,
        counts=inbox.lane_counts(session),
        result=inbox.list_lane(session, lane, page=page),
        customers=catalog.list_customers(session, include_inactive=False),
    )


@router.get("/inbox/{mail_id}", response_class=HTMLResponse)
async def mail_page(
    request: Request,
    mail_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReader,
    view: Annotated[str, Query(pattern="^(text|html)$")] = "text",
) -> Response:
    # Async so that waiting for a large mail's view holds no request thread: the database
    # work and the page run on worker threads, the view renders on its own (services/mail_view).
    mail, key = await anyio.to_thread.run_sync(_mail_and_key, session, mail_id)
    content = await asyncio.wrap_future(mail_view.content(ctx.session_factory, key))
    return await anyio.to_thread.run_sync(
        lambda: render(
            request,
            "mail.html",
            session=session,
            principal=principal,
            mail=mail,
            view=view,
            content=content,
            shown_chars=mail_view.MAX_SHOWN_CHARS,
            customers=catalog.list_customers(session, include_inactive=False),
        )
    )


def _mail_and_key(session: Session, mail_id: int) -> tuple[MailMessage, mail_view.ViewKey]:
    mail = mail_view.load_mail(session, mail_id)
    return mail, mail_view.view_key(mail)


def _eml(mail: MailMessage) -> Response:
    raw = raw_bytes(mail)
    if raw is None:
        raise HTTPException(410, "this mail's raw bytes were purged by the retention setting")
    # An attachment of a type browsers do not render: the mail's HTML never runs here.
    return Response(
        raw,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{mail_view.eml_filename(mail)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/inbox/{mail_id}/raw")
def mail_raw(mail_id: Id, session: DbSession, _: UiReader) -> Response:
    return _eml(inbox.get_mail(session, mail_id))


@router.get("/runs/{run_id}/mail.eml")
def run_mail_raw(run_id: Id, session: DbSession, _: UiReader) -> Response:
    mail = inbox.mail_for_run(session, runs.get_run(session, run_id))
    if mail is None:
        raise HTTPException(404, "this run did not come from a mail")
    return _eml(mail)


@router.post("/inbox/{mail_id}/approve", dependencies=Checked)
def approve_mail(
    request: Request,
    mail_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    # Optional here so that "Choose a customer…" left as it is gets a word, not a 422.
    customer_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    if customer_id is None:
        message = "Not approved: choose the customer this mail belongs to."
        return redirect(request, f"/inbox/{mail_id}", message, "error")
    try:
        mail = inbox.approve(
            session,
            mail_id,
            customer_id,
            actor=principal.actor,
            now=ctx.clock(),
            max_bytes=ctx.settings.mail_max_bytes,
        )
    except (InboxError, NotFound) as exc:
        return redirect(request, f"/inbox/{mail_id}", f"Not approved: {exc}", "error")
    session.commit()
    return redirect(
        request, "/inbox", f"Approved: {len(mail.run_ids)} run(s) stored; later mails become runs."
    )


@router.get("/inbox/{mail_id}/ignore", response_class=HTMLResponse)
def confirm_ignore(
    request: Request, mail_id: Id, session: DbSession, principal: UiReviewer
) -> Response:
    mail = inbox.get_mail(session, mail_id)
    return render(
        request,
        "inbox_ignore.html",
        session=session,
        principal=principal,
        mail=mail,
        lane=inbox.lane_of(mail),
        lanes=LANE_TITLES,
    )


@router.post("/inbox/{mail_id}/ignore", dependencies=Checked)
def ignore_mail(
    request: Request,
    mail_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if confirm != "yes":  # an Ignore button of an older page: ask first
        return redirect(request, f"/inbox/{mail_id}/ignore")
    mail = inbox.get_mail(session, mail_id)
    lane = inbox.lane_of(mail) or "waiting"
    inbox.ignore(session, mail_id, actor=principal.actor, now=ctx.clock())
    session.commit()
    return redirect(
        request,
        f"/inbox?lane={lane}",
        f"Mail ignored: “{_title(mail)}” is in the Ignored lane, where Restore undoes it.",
    )


@router.post("/inbox/{mail_id}/restore", dependencies=Checked)
def restore_mail(
    request: Request, mail_id: Id, ctx: Ctx, session: DbSession, principal: UiReviewer
) -> Response:
    try:
        mail = inbox.restore(
            session,
            mail_id,
            actor=principal.actor,
            now=ctx.clock(),
            max_bytes=ctx.settings.mail_max_bytes,
        )
    except InboxError as exc:
        return redirect(request, "/inbox?lane=ignored", f"Not restored: {exc}", "error")
    session.commit()
    lane = inbox.lane_of(mail)
    if lane is None:
        where = f"its job is known now: {len(mail.run_ids or [])} run(s) stored"
    else:
        where = f"back in {LANE_TITLES[lane]}"
    return redirect(request, "/inbox?lane=ignored", f"Restored “{_title(mail)}”: {where}.")


def _title(mail: MailMessage) -> str:
    return (mail.subject or mail.filename or f"mail {mail.id}")[:120]


@router.post("/inbox/upload")
async def upload_mail(request: Request, ctx: Ctx, _: UiIngester) -> Response:
    # Who may upload is settled before the body is read (here, and by web/limits.py); the
    # form is parsed with the API's limits, then the CSRF token in it is checked.
    try:
        form = await upload_form(request)
    except StarletteHTTPException as exc:
        raise _not_uploaded(exc) from exc
    try:
        await verify_csrf(request)
        try:
            items = await store(ctx, uploaded_files(form))
        except StarletteHTTPException as exc:
            if exc.status_code == 413:  # an error page with 413, like the API's answer
                raise _not_uploaded(exc) from exc
            return redirect(request, "/inbox", f"Not uploaded: {exc.detail}", "error")
    finally:
        await form.close()
    new = sum(1 for item in items if item.created)
    run_count = sum(len(item.run_ids) for item in items)
    failed = [item for item in items if item.state == "failed"]
    message = (
        f"{len(items)} mail(s) uploaded: {new} new, {len(items) - new} stored before; "
        f"{run_count} run(s)."
    )
    if failed:
        # The file name is all a malformed mail can be told by (it may have no subject).
        reasons = "; ".join(f"{item.filename}: {item.failure or 'failed'}" for item in failed)
        message += f" {len(failed)} could not be read (in the Failed lane): {reasons}"
    flash(request, message[:2000], "error" if failed else "ok")
    return redirect(request, "/inbox?lane=failed" if failed else "/inbox")


def _not_uploaded(exc: StarletteHTTPException) -> HTTPException:
    return HTTPException(exc.status_code, f"Not uploaded: {exc.detail}", headers=exc.headers)
