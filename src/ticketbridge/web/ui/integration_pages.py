"""Settings > Integrations > Autotask and the customers' Autotask company mapping (admin).

Actions that talk to Autotask never fail the page: their outcome (or the connector's error)
is shown on the next page. While the integration is disabled nothing here sends a request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import CompanyPage
from ticketbridge.core import resolve_policy
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.connections import autotask as autotask_connection
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import mapping, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.autotask import IntegrationUnavailable
from ticketbridge.services.connections.mapping import MappingError
from ticketbridge.services.connections.settings import InvalidIntegrationSettings
from ticketbridge.services.runs import catalog
from ticketbridge.web.api.schemas import MAX_REMOTE_ID, Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui.templating import local_path, redirect, render

router = APIRouter()
Checked = [CsrfChecked]
PAGE = "/admin/integrations/autotask"
RESULT_KEY = "autotask_result"
Text = Annotated[str, Form(max_length=500)]

SELECTS = (
    ("default_queue_id", "Queue", "queue"),
    ("default_source_id", "Ticket source", "source"),
    ("default_status_id", "Status", "status"),
    ("priority_warning_id", "Priority for Warning", "priority"),
    ("priority_error_id", "Priority for Error", "priority"),
)


def _result(request: Request, title: str, ok: bool, lines: list[str]) -> None:
    """An action's outcome for the next page view (post/redirect/get)."""
    request.session[RESULT_KEY] = {"title": title, "ok": ok, "lines": lines[:30]}


def _failure(request: Request, title: str, exc: ConnectorError | IntegrationUnavailable) -> None:
    message = exc.message
    code = getattr(exc, "status_code", None)
    _result(request, title, False, [message + (f" (Autotask HTTP {code})" if code else "")])


def _settings_page(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    stored = integration_settings.load(session)
    values = stored.settings.model_dump() | (entered or {})
    return render(
        request,
        "integration_autotask.html",
        session=session,
        principal=principal,
        status_code=status_code,
        stored=stored,
        values=values,
        errors=errors or {},
        options=reference.options(session),
        selects=SELECTS,
        notes=(resolve_policy.RESOLVE_NOTE_TEXT, resolve_policy.TIME_ENTRIES_NOTE_TEXT),
        result=request.session.pop(RESULT_KEY, None),
        usage=autotask_connection.usage(ctx, session),
    )


@router.get(PAGE, response_class=HTMLResponse)
def autotask_page(request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin) -> Response:
    return _settings_page(request, session, ctx, principal)


@router.post(PAGE, dependencies=Checked)
def save_autotask(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
    environment: Text = "production",
    api_host: Text = "",
    username: Text = "",
    secret: Text = "",
    integration_code: Text = "",
    base_url: Text = "",
    default_queue_id: Text = "",
    default_source_id: Text = "",
    default_status_id: Text = "",
    priority_warning_id: Text = "",
    priority_error_id: Text = "",
    logging_level: Text = "off",
    title_prefix: Text = "",
    max_listed_objects: Text = "",
    enabled: Annotated[bool, Form()] = False,
    allow_resolve: Annotated[bool, Form()] = False,
    allow_manual_ticket_numbers: Annotated[bool, Form()] = False,
    allow_success_tickets: Annotated[bool, Form()] = False,
) -> Response:
    entered: dict[str, Any] = {
        "enabled": enabled,
        "environment": environment,
        "api_host": api_host,
        "username": username,
        "integration_code": integration_code,
        "base_url": base_url,
        "default_queue_id": default_queue_id,
        "default_source_id": default_source_id,
        "default_status_id": default_status_id,
        "priority_warning_id": priority_warning_id,
        "priority_error_id": priority_error_id,
        "allow_resolve": allow_resolve,
        "allow_manual_ticket_numbers": allow_manual_ticket_numbers,
        "allow_success_tickets": allow_success_tickets,
        "logging_level": logging_level,
        "title_prefix": title_prefix,
        "max_listed_objects": max_listed_objects,
    }
    try:
        saved = integration_settings.save(
            session,
            ctx.secret_box,
            entered | {"secret": secret},
            actor=principal.actor,
            now=ctx.clock(),
        )
    except InvalidIntegrationSettings as exc:
        session.rollback()
        errors = {e.field: e.message for e in exc.errors}
        # The secret is never echoed back, even when the rest of the form is.
        return _settings_page(
            request, session, ctx, principal, errors=errors, entered=entered, status_code=422
        )
    session.commit()
    if saved.secret_cleared_by:
        changed = ", ".join(f.replace("_", " ") for f in saved.secret_cleared_by)
        return redirect(
            request,
            PAGE,
            f"Autotask settings saved. The stored API secret was cleared because the {changed} "
            "changed: enter the secret again.",
            "error",
        )
    return redirect(request, PAGE, "Autotask settings saved.")


@router.post(f"{PAGE}/test", dependencies=Checked)
def test_autotask(request: Request, ctx: Ctx, principal: UiAdmin) -> Response:
    title = "Test connection"
    try:
        result = integration_checks.test_connection(ctx, actor=principal.actor)
    except IntegrationUnavailable as exc:
        _failure(request, title, exc)
        return redirect(request, PAGE)
    labels = integration_checks.STEP_LABELS
    lines = [
        f"{labels[name]}: {'ok' if step['ok'] else 'not tried' if step['ok'] is None else 'FAILED'}"
        f" — {step['message']}"
        for name, step in integration_checks.step_details(result).items()
    ]
    _result(request, title, result.ok, lines)
    return redirect(request, PAGE)


@router.post(f"{PAGE}/refresh", dependencies=Checked)
def refresh_autotask(request: Request, ctx: Ctx, principal: UiAdmin) -> Response:
    title = "Refresh reference data"
    try:
        done = reference.refresh(ctx, actor=principal.actor)
    except (ConnectorError, IntegrationUnavailable) as exc:
        _failure(request, title, exc)
        return redirect(request, PAGE)
    lines = [", ".join(f"{n} {c.replace('_', ' ')}" for c, n in done.counts.items())]
    lines.append(f"Synced at {done.synced_at.isoformat(timespec='seconds')}.")
    if done.preselected:
        lines.append("Pre-selected defaults: " + ", ".join(sorted(done.preselected)) + ".")
    _result(request, title, True, lines)
    return redirect(request, PAGE)


@router.post(f"{PAGE}/validate", dependencies=Checked)
def validate_autotask(request: Request, ctx: Ctx, principal: UiAdmin) -> Response:
    report = integration_checks.validate_configuration(ctx, actor=principal.actor)
    lines = [f"{p.field}: {p.message}" for p in report.problems] or ["No problems found."]
    _result(request, "Validate configuration", report.ok, lines)
    return redirect(request, PAGE)


@router.post(f"{PAGE}/mappings/validate", dependencies=Checked)
def validate_mappings(request: Request, ctx: Ctx, principal: UiAdmin) -> Response:
    try:
        summary = mapping.validate(ctx, actor=principal.actor)
    except (ConnectorError, IntegrationUnavailable) as exc:
        return redirect(request, "/customers", f"Mappings not validated: {exc.message}", "error")
    counts = ", ".join(f"{n} {status}" for status, n in summary.statuses.items())
    return redirect(request, "/customers", f"{summary.checked} mappings validated: {counts}.")


@router.get(f"{PAGE}/suggestions", response_class=HTMLResponse)
def suggestions_page(
    request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin
) -> Response:
    found: list[mapping.CustomerSuggestion] = []
    problem = None
    try:
        found = mapping.suggestions(ctx)
    except (ConnectorError, IntegrationUnavailable) as exc:
        problem = exc.message
    return render(
        request,
        "autotask_suggestions.html",
        session=session,
        principal=principal,
        suggestions=found,
        problem=problem,
    )


@router.get("/customers/{customer_id}/autotask", response_class=HTMLResponse)
def customer_mapping_page(
    request: Request,
    customer_id: Id,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
    search: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    customer = catalog.get_customer(session, customer_id)
    enabled = integration_settings.is_enabled(session)
    page: CompanyPage | None = None
    problem = None
    if search.strip() and enabled:
        try:
            page = mapping.search_companies(ctx, search, cursor=cursor or None)
        except (ConnectorError, IntegrationUnavailable, MappingError) as exc:
            problem = str(exc)
    return render(
        request,
        "customer_autotask.html",
        session=session,
        principal=principal,
        customer=customer,
        current=mapping.mapping_for_customer(session, customer_id),
        enabled=enabled,
        search=search,
        page=page,
        problem=problem,
    )


@router.post("/customers/{customer_id}/autotask", dependencies=Checked)
def map_customer(
    request: Request,
    customer_id: Id,
    ctx: Ctx,
    principal: UiAdmin,
    company_id: Annotated[int, Form(gt=0, le=MAX_REMOTE_ID)],
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    target = local_path(back, "/customers")
    try:
        made = mapping.map_customer(ctx, customer_id, company_id, actor=principal.actor)
    except (ConnectorError, IntegrationUnavailable, MappingError) as exc:
        return redirect(
            request, f"/customers/{customer_id}/autotask", f"Not mapped: {exc}", "error"
        )
    return redirect(
        request, target, f"Mapped to Autotask company {made.cached_name} ({made.company_id})."
    )


@router.post("/customers/{customer_id}/autotask/unmap", dependencies=Checked)
def unmap_customer(
    request: Request, customer_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    mapping.unmap_customer(session, customer_id, actor=principal.actor)
    session.commit()
    return redirect(request, f"/customers/{customer_id}/autotask", "Mapping removed.")


@router.post("/customers/{customer_id}/autotask/acknowledge", dependencies=Checked)
def acknowledge_rename(
    request: Request, customer_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    try:
        mapping.acknowledge_rename(session, customer_id, actor=principal.actor)
    except MappingError as exc:
        return redirect(request, f"/customers/{customer_id}/autotask", str(exc), "error")
    session.commit()
    return redirect(request, f"/customers/{customer_id}/autotask", "Rename acknowledged.")
