"""The Service desk page (docs/service-desk.md): conversations with their ticket, the mails the
filters stopped with their reason and a "Create anyway" (operators), and the routing rules
(admins). HTTP only: the lists, the click and the rules are services.service_desk's."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core.service_desk.routing import RoutingRule
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.service_desk import mailboxes, release, rules, views
from ticketbridge.services.service_desk.release import DeskNotFound
from ticketbridge.services.service_desk.rules import RuleNotFound, RuleRefused
from ticketbridge.storage.models import ServiceDeskMailbox, ServiceDeskRoutingRule
from ticketbridge.web.api.schemas import Id, IdFilter, IdForm, Page
from ticketbridge.web.deps import (
    CsrfChecked,
    Ctx,
    DbSession,
    TicketActions,
    UiAdmin,
    UiReader,
    UiReviewer,
)
from ticketbridge.web.ui.templating import flash, local_path, pager_base, redirect, render

router = APIRouter()
Checked = [CsrfChecked]
DESK = "/service-desk"
STOPPED = DESK + "/filtered"
RULES = DESK + "/rules"
PER_PAGE = 50
STILL_WORKING = "The PSA is still working on it; reload to see the outcome."
Text = Annotated[str, Form(max_length=2000)]
_SEPARATORS = re.compile(r"[\s,;]+")


@router.get(DESK, response_class=HTMLResponse)
def conversations_page(
    request: Request,
    session: DbSession,
    principal: UiReader,
    mailbox_id: IdFilter = None,
    state: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Page = 1,
) -> Response:
    _one_of("state", state, views.STATES)
    found = views.conversations(
        session, mailbox_id=mailbox_id, state=state or None, search=q, page=page,
        per_page=PER_PAGE,
    )  # fmt: skip
    return render(
        request, "service_desk.html", session=session, principal=principal, tab="conversations",
        found=found, mailboxes=views.mailboxes(session), mailbox_id=mailbox_id, state=state,
        states=views.STATES, q=q, pager_base=pager_base(request),
    )  # fmt: skip


@router.get(DESK + "/conversations/{conversation_id}/ticket")
def open_ticket(request: Request, conversation_id: Id, ctx: Ctx, principal: UiReader) -> Response:
    """To the ticket's page in the PSA (asked of the PSA only now, on the click)."""
    try:
        url = release.ticket_link(ctx, conversation_id)
    except DeskNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (IntegrationUnavailable, ConnectorError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return redirect(request, DESK, f"The ticket's page is unknown: {message}", "error")
    if url is None:
        return redirect(request, DESK, "This connection has no ticket page to open.", "error")
    return RedirectResponse(url, status_code=303)


@router.get(STOPPED, response_class=HTMLResponse)
def stopped_page(
    request: Request,
    session: DbSession,
    principal: UiReader,
    mailbox_id: IdFilter = None,
    reason: Annotated[str, Query(max_length=40)] = "",
    page: Page = 1,
) -> Response:
    _one_of("reason", reason, views.REASONS)
    found = views.stopped_mails(
        session, mailbox_id=mailbox_id, reason=reason or None, page=page, per_page=PER_PAGE
    )
    query = request.url.query
    return render(
        request, "service_desk_filtered.html", session=session, principal=principal,
        tab="filtered", found=found, mailboxes=views.mailboxes(session), mailbox_id=mailbox_id,
        reason=reason, reasons=views.REASONS, pager_base=pager_base(request),
        return_to=f"{STOPPED}?{query}" if query else STOPPED,
    )  # fmt: skip


@router.post(STOPPED + "/{desk_mail_id}/create", dependencies=Checked)
def create_anyway(
    request: Request,
    desk_mail_id: Id,
    ctx: Ctx,
    actions: TicketActions,
    principal: UiReviewer,
    return_to: Annotated[str, Form(max_length=2000)] = STOPPED,
) -> Response:
    back = local_path(return_to, STOPPED)
    actor = principal.actor
    try:
        done = actions.run(lambda: release.create_anyway(ctx, desk_mail_id, actor=actor))
    except DeskNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    row = f"mail-{desk_mail_id}"
    if done is None:
        flash(request, STILL_WORKING, row=row)
    else:
        flash(request, done.message, "ok" if done.made else "error", row=row)
    return RedirectResponse(f"{back}#{row}", status_code=303)


# --- routing rules (admins) ----------------------------------------------------------------


def split_list(text: str) -> tuple[str, ...]:
    """A list typed in one field: entries separated by spaces, commas or semicolons."""
    return tuple(part for part in _SEPARATORS.split(text.strip()) if part)


def _rule_of(
    name: str,
    board: str,
    category: str,
    recipients: str,
    sender_domains: str,
    subject_pattern: str,
    labels: str,
) -> RoutingRule:
    return RoutingRule(
        name=name, board=board.strip(), recipients=split_list(recipients),
        sender_domains=split_list(sender_domains), subject_pattern=subject_pattern.strip(),
        category=category.strip(), labels=split_list(labels),
    )  # fmt: skip


def _typed(rule: ServiceDeskRoutingRule | RoutingRule) -> dict[str, str]:
    return {
        "name": rule.name, "board": rule.board, "category": rule.category,
        "recipients": ", ".join(rule.recipients), "sender_domains": ", ".join(rule.sender_domains),
        "subject_pattern": rule.subject_pattern, "labels": " ".join(rule.labels),
    }  # fmt: skip


def _choices(session: Session) -> dict[int, dict[str, tuple[str, ...]]]:
    """Each mailbox's configured boards and categories, for the rule forms' lists."""
    found = {}
    for mailbox in session.scalars(select(ServiceDeskMailbox)):
        routing = mailboxes.settings_of(session, mailbox).routing
        found[mailbox.id] = {"boards": routing.boards, "categories": routing.categories}
    return found


def _rules_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    listed = [(m, rules.rules_of(session, m.id)) for m in views.mailboxes(session)]
    return render(
        request, "service_desk_rules.html", session=session, principal=principal, tab="rules",
        listed=listed, choices=_choices(session), typed=typed or {}, errors=errors or {},
        status_code=status_code,
    )  # fmt: skip


@router.get(RULES, response_class=HTMLResponse)
def rules_page(
    request: Request, session: DbSession, principal: UiAdmin, mailbox_id: IdFilter = None
) -> Response:
    typed = {"mailbox_id": str(mailbox_id)} if mailbox_id is not None else {}
    return _rules_page(request, session, principal, typed=typed)


@router.post(RULES, dependencies=Checked)
def add_rule(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    mailbox_id: IdForm,
    name: Annotated[str, Form(max_length=100)] = "",
    board: Annotated[str, Form(max_length=100)] = "",
    category: Annotated[str, Form(max_length=100)] = "",
    recipients: Text = "",
    sender_domains: Text = "",
    subject_pattern: Annotated[str, Form(max_length=400)] = "",
    labels: Text = "",
) -> Response:
    rule = _rule_of(name, board, category, recipients, sender_domains, subject_pattern, labels)
    try:
        made = rules.add_rule(session, mailbox_id, rule, actor=principal.actor)
    except RuleRefused as exc:
        session.rollback()
        typed = {**_typed(rule), "mailbox_id": str(mailbox_id)}
        typed.update(recipients=recipients, sender_domains=sender_domains, labels=labels)
        return _rules_page(
            request, session, principal, typed=typed, errors=exc.errors, status_code=422
        )
    session.commit()
    return redirect(request, f"{RULES}#rule-{made.id}", f"Routing rule {made.name} added.")


@router.get(RULES + "/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, rule_id: Id, session: DbSession, principal: UiAdmin) -> Response:
    row = _found(session, rule_id)
    return _rule_form(request, session, principal, row, _typed(row), {})


def _found(session: Session, rule_id: int) -> ServiceDeskRoutingRule:
    try:
        return rules.get_rule(session, rule_id)
    except RuleNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _rule_form(
    request: Request,
    session: Session,
    principal: Principal,
    row: ServiceDeskRoutingRule,
    typed: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request, "service_desk_rule.html", session=session, principal=principal, tab="rules",
        rule=row, choices=_choices(session).get(row.mailbox_id, {}), typed=typed, errors=errors,
        status_code=status_code,
    )  # fmt: skip


@router.post(RULES + "/{rule_id}", dependencies=Checked)
def update_rule(
    request: Request,
    rule_id: Id,
    session: DbSession,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=100)] = "",
    board: Annotated[str, Form(max_length=100)] = "",
    category: Annotated[str, Form(max_length=100)] = "",
    recipients: Text = "",
    sender_domains: Text = "",
    subject_pattern: Annotated[str, Form(max_length=400)] = "",
    labels: Text = "",
) -> Response:
    row = _found(session, rule_id)
    rule = _rule_of(name, board, category, recipients, sender_domains, subject_pattern, labels)
    try:
        rules.update_rule(session, rule_id, rule, actor=principal.actor)
    except RuleRefused as exc:
        session.rollback()
        typed = {**_typed(rule), "recipients": recipients, "sender_domains": sender_domains}
        typed["labels"] = labels
        row = _found(session, rule_id)
        return _rule_form(request, session, principal, row, typed, exc.errors, 422)
    session.commit()
    return redirect(request, f"{RULES}#rule-{rule_id}", f"Routing rule {row.name} saved.")


@router.post(RULES + "/{rule_id}/delete", dependencies=Checked)
def delete_rule(request: Request, rule_id: Id, session: DbSession, principal: UiAdmin) -> Response:
    try:
        name = rules.delete_rule(session, rule_id, actor=principal.actor)
    except RuleNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    session.commit()
    return redirect(request, RULES, f"Routing rule {name} deleted.")


def _one_of(name: str, value: str, allowed: Collection[str]) -> None:
    """A filter left empty shows everything; any other value must be one the page offers."""
    if value and value not in allowed:
        raise HTTPException(422, f"{name} must be one of: {', '.join(allowed)}")
