"""Alerts (docs/alerts.md): the operators' page, grouped per customer like Run Checks, with
Create ticket / Join / Ignore; the correlation explainer; and the admins' sources page with
the per-source CustomerID mappings."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.services.alerts import explain as explainer
from ticketbridge.services.alerts import sources, views
from ticketbridge.services.alerts.actions import AlertAction, act
from ticketbridge.services.alerts.store import AlertError, AlertNotFound, CreateRule
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.runs import catalog
from ticketbridge.services.tickets.store import TicketError
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
from ticketbridge.web.ui.templating import local_path, pager_base, redirect, render

router = APIRouter()
STILL_WORKING = "Autotask is still working on it; reload to see the outcome."
Checked = [CsrfChecked]
ALERTS = "/alerts"
EXPLAIN = "/alerts/explain"
SOURCES = "/admin/alert-sources"
PER_PAGE = 100
EXPLAIN_MAX = 1_000_000


@router.get(ALERTS, response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: DbSession,
    principal: UiReader,
    view: views.AlertView = views.AlertView.ATTENTION,
    customer_id: IdFilter = None,
    page: Page = 1,
) -> Response:
    found = views.list_alerts(session, view, customer_id=customer_id, page=page, per_page=PER_PAGE)
    groups = [
        (name, list(rows))
        for name, rows in groupby(found.rows, key=lambda r: r.customer or "Not mapped")
    ]
    query = request.url.query
    return render(
        request, "alerts.html", session=session, principal=principal,
        groups=groups, found=found, view=view, views=list(views.AlertView),
        customers=catalog.list_customers(session), customer_id=customer_id,
        return_to=f"{ALERTS}?{query}" if query else ALERTS, pager_base=pager_base(request),
    )  # fmt: skip


@router.post(ALERTS + "/{alert_id}/action", dependencies=Checked)
def alert_action(
    request: Request,
    alert_id: Id,
    ctx: Ctx,
    actions: TicketActions,
    principal: UiReviewer,
    action: Annotated[AlertAction, Form()],
    ticket_number: Annotated[str, Form(max_length=50)] = "",
    return_to: Annotated[str, Form(max_length=2000)] = ALERTS,
) -> Response:
    back = local_path(return_to, ALERTS)
    actor = principal.actor
    try:
        outcome = actions.run(
            lambda: act(ctx, alert_id, action, actor=actor, ticket_number=ticket_number or None)
        )
    except AlertNotFound:
        raise
    except (TicketError, AlertError, IntegrationUnavailable, ConnectorError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return redirect(request, back, f"Alert {alert_id}: {message}", "error")
    if outcome is None:
        return redirect(request, back, f"Alert {alert_id}: {STILL_WORKING}")
    return redirect(request, back, f"Alert {alert_id}: {outcome.message}")


@router.get(EXPLAIN, response_class=HTMLResponse)
def explain_page(request: Request, session: DbSession, principal: UiReviewer) -> Response:
    return render(request, "alert_explain.html", session=session, principal=principal)


@router.post(EXPLAIN, response_class=HTMLResponse, dependencies=Checked)
def explain_alert(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    text: Annotated[str, Form(max_length=EXPLAIN_MAX)],
) -> Response:
    # The pasted text is not shown again: it may hold the token's credentials.
    result = explainer.explain(ctx, text)
    return render(
        request, "alert_explain.html", session=session, principal=principal, result=result
    )


@router.get(SOURCES, response_class=HTMLResponse)
def sources_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    return render(
        request, "alert_sources.html", session=session, principal=principal,
        sources=sources.list_sources(session), rules=list(CreateRule),
        customers=catalog.list_customers(session),
    )  # fmt: skip


@router.post(SOURCES, dependencies=Checked)
def create_source(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=255)],
) -> Response:
    try:
        source = sources.create_source(session, name, actor=principal.actor)
    except AlertError as exc:
        return redirect(request, SOURCES, f"Not added: {exc}", "error")
    session.commit()
    return redirect(request, SOURCES, f"Alert source {source.name} added.")


@router.post(SOURCES + "/{source_id}", dependencies=Checked)
def update_source(
    request: Request,
    source_id: Id,
    session: DbSession,
    principal: UiAdmin,
    create_rule: Annotated[CreateRule, Form()],
    device_udf: Annotated[str, Form(max_length=255)] = "",
    alert_udf: Annotated[str, Form(max_length=255)] = "",
    ticket_udf: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    udfs: dict[str, str | None] = {
        "device_udf": device_udf, "alert_udf": alert_udf, "ticket_udf": ticket_udf,
    }  # fmt: skip
    try:
        source = sources.update_source(
            session, source_id, actor=principal.actor, create_rule=create_rule.value, udfs=udfs
        )
    except AlertError as exc:
        return redirect(request, SOURCES, f"Not saved: {exc}", "error")
    session.commit()
    return redirect(request, SOURCES, f"Alert source {source.name} saved.")


@router.post(SOURCES + "/{source_id}/mappings", dependencies=Checked)
def map_customer(
    request: Request,
    source_id: Id,
    session: DbSession,
    principal: UiAdmin,
    customer_ref: Annotated[str, Form(max_length=255)],
    customer_id: IdForm,
) -> Response:
    try:
        sources.map_customer(session, source_id, customer_ref, customer_id, actor=principal.actor)
    except AlertError as exc:
        return redirect(request, SOURCES, f"Not mapped: {exc}", "error")
    session.commit()
    return redirect(request, SOURCES, f"CustomerID {customer_ref.strip()} mapped.")


@router.post(SOURCES + "/{source_id}/mappings/{mapping_id}/delete", dependencies=Checked)
def unmap_customer(
    request: Request, source_id: Id, mapping_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    sources.unmap_customer(session, source_id, mapping_id, actor=principal.actor)
    session.commit()
    return redirect(request, SOURCES, "Mapping removed.")
