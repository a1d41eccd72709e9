"""Admin pages: mail sources (secrets write-only) and the Inbox matching rules."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from ticketbridge.services import catalog, inbox, mail_polling, mail_sources
from ticketbridge.services.catalog import NotFound
from ticketbridge.services.inbox import InboxError
from ticketbridge.services.mail_sources import SourceError, SourceView
from ticketbridge.web.api.schemas import Id, IdForm
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui.templating import flash, redirect, render

router = APIRouter()
Checked = [CsrfChecked]
SOURCES = "/admin/mail-sources"
RULES = "/admin/mail-rules"


def _config(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise SourceError("config", f"config is not valid JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise SourceError("config", "config must be a JSON object")
    return value


@router.get(SOURCES, response_class=HTMLResponse)
def sources_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    views = [SourceView.of(s) for s in mail_sources.list_sources(session)]
    return render(
        request,
        "mail_sources.html",
        session=session,
        principal=principal,
        sources=views,
        kinds=mail_sources.KINDS,
        secret_fields=mail_sources.SECRET_FIELDS,
    )


@router.post(SOURCES, dependencies=Checked)
def create_source(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    kind: Annotated[str, Form(max_length=20)],
    name: Annotated[str, Form(max_length=300)],
    config: Annotated[str, Form(max_length=20_000)] = "{}",
    secret: Annotated[str, Form(max_length=4000)] = "",
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    try:
        source = mail_sources.create_source(
            session,
            ctx.secret_box,
            kind=kind,
            name=name,
            config=_config(config),
            secret=secret or None,
            enabled=enabled,
            actor=principal.actor,
        )
    except SourceError as exc:
        return redirect(request, SOURCES, f"Not created: {exc}", "error")
    session.commit()
    return redirect(request, SOURCES, f"Mail source {source.name} created.")


@router.post(SOURCES + "/{source_id}", dependencies=Checked)
def update_source(
    request: Request,
    source_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=300)],
    config: Annotated[str, Form(max_length=20_000)] = "{}",
    secret: Annotated[str, Form(max_length=4000)] = "",
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    try:
        source = mail_sources.update_source(
            session,
            ctx.secret_box,
            source_id,
            name=name,
            config=_config(config),
            secret=secret or None,
            enabled=enabled,
            actor=principal.actor,
        )
    except SourceError as exc:
        return redirect(request, SOURCES, f"Not saved: {exc}", "error")
    session.commit()
    if source.kind in mail_sources.SECRET_FIELDS and not source.secret:
        label = mail_sources.SECRET_FIELDS[source.kind].replace("_", " ")
        return redirect(
            request,
            SOURCES,
            f"Mail source saved. Its {label} is not set (a change of destination clears it): "
            "enter it again, or the source is not polled.",
            "error",
        )
    return redirect(request, SOURCES, "Mail source saved.")


@router.post(SOURCES + "/{source_id}/delete", dependencies=Checked)
def delete_source(
    request: Request, source_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    mail_sources.delete_source(session, source_id, actor=principal.actor)
    session.commit()
    return redirect(request, SOURCES, "Mail source deleted; its stored mail stays.")


@router.post(SOURCES + "/{source_id}/poll", dependencies=Checked)
def poll_source(request: Request, source_id: Id, ctx: Ctx, _: UiAdmin) -> Response:
    result = mail_polling.poll(ctx, source_id)
    if not result.polled:
        flash(request, "Not polled: the source is disabled or being polled right now.", "error")
    elif result.error:
        flash(request, f"Poll failed: {result.error}", "error")
    else:
        flash(
            request,
            f"Polled: {result.fetched} fetched, {result.stored} new, "
            f"{result.duplicates} stored before.",
        )
    return redirect(request, SOURCES)


@router.get(RULES, response_class=HTMLResponse)
def rules_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    customers = catalog.list_customers(session)
    return render(
        request,
        "mail_rules.html",
        session=session,
        principal=principal,
        rules=inbox.list_rules(session),
        customers=customers,
        names={c.id: c.name for c in customers},
    )


@router.post(RULES, dependencies=Checked)
def create_rule(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    customer_id: IdForm,
    sender: Annotated[str, Form(max_length=400)] = "",
    subject_pattern: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        inbox.create_rule(
            session,
            sender=sender,
            subject_pattern=subject_pattern,
            customer_id=customer_id,
            actor=principal.actor,
        )
    except (InboxError, NotFound) as exc:
        return redirect(request, RULES, f"Not created: {exc}", "error")
    session.commit()
    return redirect(request, RULES, "Rule created: matching mail becomes runs of that customer.")


@router.post(RULES + "/{rule_id}/delete", dependencies=Checked)
def delete_rule(request: Request, rule_id: Id, session: DbSession, principal: UiAdmin) -> Response:
    inbox.delete_rule(session, rule_id, actor=principal.actor)
    session.commit()
    return redirect(request, RULES, "Rule deleted.")
