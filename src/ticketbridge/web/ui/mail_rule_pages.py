"""Admin pages: the Inbox matching rules, and applying a rule to the mail already waiting.

A rule decides where mail that arrives from now on goes. Mail that waits in the Inbox already is
not moved behind the admin's back: once a rule is created, the page says how many waiting mails
it fits and offers to apply it to them, which routes them as if they arrived after the rule.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail.inbox import InboxError, MailNotFound
from ticketbridge.services.runs import catalog
from ticketbridge.services.runs.catalog import NotFound
from ticketbridge.web.api.schemas import MAX_ID, Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui.templating import redirect, render

router = APIRouter()
Checked = [CsrfChecked]
RULES = "/admin/mail-rules"
# How many of the fitting mails the offer names; the count covers them all.
SHOWN_MATCHES = 10


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    max_bytes: int,
    offer: int | None = None,
    typed: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    customers = catalog.list_customers(session)
    offered = None
    if offer is not None:
        try:
            rule = inbox.get_rule(session, offer)
        except MailNotFound:
            rule = None
        if rule is not None:
            fitting = inbox.waiting_for_rule(session, rule.id, max_bytes=max_bytes)
            offered = {"rule": rule, "count": len(fitting), "mails": fitting[:SHOWN_MATCHES]}
    return render(
        request,
        "mail_rules.html",
        session=session,
        principal=principal,
        rules=inbox.list_rules(session),
        customers=customers,
        names={c.id: c.name for c in customers},
        offered=offered,
        typed=typed or {},
        error=error,
        status_code=status_code,
    )


@router.get(RULES, response_class=HTMLResponse)
def rules_page(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    offer: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    return _page(request, session, principal, max_bytes=ctx.settings.mail_max_bytes, offer=offer)


@router.post(RULES, dependencies=Checked)
def create_rule(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    customer_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    sender: Annotated[str, Form(max_length=400)] = "",
    subject_pattern: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    chosen = str(customer_id or "")
    typed = {"customer_id": chosen, "sender": sender, "subject_pattern": subject_pattern}
    try:
        if customer_id is None:
            raise InboxError("customer_id", "choose the customer the mail belongs to")
        rule = inbox.create_rule(
            session,
            sender=sender,
            subject_pattern=subject_pattern,
            customer_id=customer_id,
            actor=principal.actor,
        )
    except (InboxError, NotFound) as exc:
        session.rollback()
        return _page(
            request,
            session,
            principal,
            max_bytes=ctx.settings.mail_max_bytes,
            typed=typed,
            error=f"Not created: {exc}",
            status_code=422,
        )
    session.commit()
    return redirect(
        request,
        f"{RULES}?offer={rule.id}",
        "Rule created: mail that matches it from now on becomes runs of that customer.",
    )


@router.post(RULES + "/{rule_id}/apply", dependencies=Checked)
def apply_rule(
    request: Request, rule_id: Id, ctx: Ctx, session: DbSession, principal: UiAdmin
) -> Response:
    result = inbox.apply_rule(
        session,
        rule_id,
        actor=principal.actor,
        now=ctx.clock(),
        max_bytes=ctx.settings.mail_max_bytes,
    )
    session.commit()
    left = len(result.matched) - len(result.routed)
    message = (
        f"Rule applied: {len(result.routed)} waiting mail(s) routed, "
        f"{len(result.run_ids)} run(s) stored."
    )
    if left:
        message += f" {left} could not be routed and wait in the Inbox."
    return redirect(request, RULES, message)


@router.post(RULES + "/{rule_id}/delete", dependencies=Checked)
def delete_rule(request: Request, rule_id: Id, session: DbSession, principal: UiAdmin) -> Response:
    inbox.delete_rule(session, rule_id, actor=principal.actor)
    session.commit()
    return redirect(request, RULES, "Rule deleted.")
