"""Settings > Connections: the PSA connections of any kind, one page each (admin).

A connection's page shows the kind's own fields (read from its config model, so a new kind
brings no page code), the ticket policy every kind shares, and its diagnostics. Actions that
talk to the PSA never fail the page: their outcome (or the connector's error) is shown on the
next page. While a connection is disabled nothing here sends it a request.

``/admin/integrations/{kind}`` is the address from before named connections: it leads to the
first connection of that kind (POSTs keep their method and form, 307).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core import resolve_policy
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import (
    connector_fields,
    forms,
    mapping,
    named,
    reference,
    suggestions,
)
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.connections.named import ConnectionRefused
from ticketbridge.services.connections.settings import InvalidIntegrationSettings
from ticketbridge.web.api.schemas import Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui.templating import redirect, render

router = APIRouter()
Checked = [CsrfChecked]
LIST = "/admin/connections"
RESULT_KEY = "connection_result"
Text = Annotated[str, Form(max_length=500)]

SELECTS = (
    ("default_queue_id", "Queue", "queue"),
    ("default_source_id", "Ticket source", "source"),
    ("default_status_id", "Status", "status"),
    ("priority_warning_id", "Priority for Warning", "priority"),
    ("priority_error_id", "Priority for Error", "priority"),
)
SWITCHES = ("enabled", "allow_resolve", "allow_manual_ticket_numbers", "allow_success_tickets")
POLICY_TEXTS = ("base_url", "title_prefix", "max_listed_objects", *(s[0] for s in SELECTS))


async def form_data(request: Request) -> FormData:
    return await request.form(max_fields=200)


Posted = Annotated[FormData, Depends(form_data)]


def page_of(connection_id: int) -> str:
    return f"{LIST}/{connection_id}"


def _result(request: Request, title: str, ok: bool, lines: list[str]) -> None:
    """An action's outcome for the next page view (post/redirect/get)."""
    request.session[RESULT_KEY] = {"title": title, "ok": ok, "lines": lines[:30]}


def _failure(request: Request, title: str, exc: ConnectorError | IntegrationUnavailable) -> None:
    code = getattr(exc, "status_code", None)
    _result(request, title, False, [exc.message + (f" (HTTP {code})" if code else "")])


# --- the list --------------------------------------------------------------------------------


@router.get(LIST, response_class=HTMLResponse)
def connections_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    return render(
        request,
        "connections.html",
        session=session,
        principal=principal,
        connections=named.all_connections(session),
        kinds=forms.kinds(),
    )


@router.post(LIST, dependencies=Checked)
def create_connection(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=named.NAME_MAX)] = "",
    kind: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    try:
        row = named.create(session, name=name, kind=kind, actor=principal.actor, now=ctx.clock())
    except ConnectionRefused as exc:
        session.rollback()
        return redirect(request, LIST, f"Not created: {exc.message}", "error")
    session.commit()
    return redirect(request, page_of(row.id), f"Connection {row.name} created; it is disabled.")


# --- one connection --------------------------------------------------------------------------


def _settings_page(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: Principal,
    connection_id: int,
    *,
    errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    row = named.get(session, connection_id)
    stored = integration_settings.load(session, row.id)
    values = {"name": row.name, **stored.settings.model_dump(), **(entered or {})}
    connector = {**stored.connector, **((entered or {}).get("connector") or {})}
    binding = integration_settings.destination(row.kind, stored.connector)
    return render(
        request,
        "connection.html",
        session=session,
        principal=principal,
        status_code=status_code,
        connection=row,
        stored=stored,
        values=values,
        connector=connector,
        fields=forms.form_fields(row.kind),
        binding=[name.replace("_", " ") for name in binding],
        errors=errors or {},
        options=reference.options(session, row.id),
        selects=SELECTS,
        notes=(resolve_policy.RESOLVE_NOTE_TEXT, resolve_policy.TIME_ENTRIES_NOTE_TEXT),
        result=request.session.pop(RESULT_KEY, None),
        usage=active_connection.usage(ctx, session, row.id),
        has_roundtrip="roundtrip" in registry.PSA_CAPABILITIES.get(row.kind, {}),
    )


@router.get(f"{LIST}/{{connection_id}}", response_class=HTMLResponse)
def connection_page(
    request: Request, connection_id: Id, session: DbSession, ctx: Ctx, principal: UiAdmin
) -> Response:
    return _settings_page(request, session, ctx, principal, connection_id)


def _entered(kind: str, posted: FormData) -> dict[str, Any]:
    """The form as settings changes: the policy flat, the kind's fields under ``connector``."""
    entered: dict[str, Any] = {name: posted.get(name) == "true" for name in SWITCHES}
    for name in POLICY_TEXTS:
        entered[name] = str(posted.get(name) or "")
    connector: dict[str, Any] = {}
    for field in forms.form_fields(kind):
        raw = posted.get(field.input_name)
        if field.type == "switch":
            connector[field.name] = raw == "true"
        elif raw is not None:
            connector[field.name] = forms.parse(field, str(raw))
    entered["connector"] = connector
    return entered


@router.post(f"{LIST}/{{connection_id}}", dependencies=Checked)
def save_connection(
    request: Request,
    connection_id: Id,
    posted: Posted,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
) -> Response:
    row = named.get(session, connection_id)
    entered = _entered(row.kind, posted)
    name = str(posted.get("name") or row.name)
    try:
        named.rename(session, row.id, name, actor=principal.actor)
        saved = integration_settings.save(
            session,
            ctx.secret_box,
            entered,
            actor=principal.actor,
            now=ctx.clock(),
            connection_id=row.id,
        )
    except (InvalidIntegrationSettings, ConnectionRefused) as exc:
        session.rollback()
        errors = (
            {e.field: e.message for e in exc.errors}
            if isinstance(exc, InvalidIntegrationSettings)
            else {exc.field: exc.message}
        )
        # Secrets are never echoed back, even when the rest of the form is.
        shown = {**entered, "name": name}
        shown["connector"] = {
            k: v
            for k, v in entered["connector"].items()
            if k not in connector_fields.secret_fields(row.kind)
        }
        return _settings_page(
            request, session, ctx, principal, row.id, errors=errors, entered=shown,
            status_code=422,
        )  # fmt: skip
    session.commit()
    if saved.secret_cleared_by:
        changed = ", ".join(f.replace("_", " ") for f in saved.secret_cleared_by)
        return redirect(
            request,
            page_of(row.id),
            f"{saved.name} settings saved. The stored API secret was cleared because the "
            f"{changed} changed: enter the secret again.",
            "error",
        )
    return redirect(request, page_of(row.id), f"{saved.name} settings saved.")


@router.post(f"{LIST}/{{connection_id}}/test", dependencies=Checked)
def test_connection(request: Request, connection_id: Id, ctx: Ctx, principal: UiAdmin) -> Response:
    title = "Test connection"
    try:
        result = integration_checks.test_connection(
            ctx, actor=principal.actor, connection_id=connection_id
        )
    except IntegrationUnavailable as exc:
        _failure(request, title, exc)
        return redirect(request, page_of(connection_id))
    labels = integration_checks.STEP_LABELS
    lines = [
        f"{labels[name]}: {'ok' if step['ok'] else 'not tried' if step['ok'] is None else 'FAILED'}"
        f" — {step['message']}"
        for name, step in integration_checks.step_details(result).items()
    ]
    _result(request, title, result.ok, lines)
    return redirect(request, page_of(connection_id))


@router.post(f"{LIST}/{{connection_id}}/refresh", dependencies=Checked)
def refresh_reference(
    request: Request, connection_id: Id, ctx: Ctx, principal: UiAdmin
) -> Response:
    title = "Refresh reference data"
    try:
        done = reference.refresh(ctx, actor=principal.actor, connection_id=connection_id)
    except (ConnectorError, IntegrationUnavailable) as exc:
        _failure(request, title, exc)
        return redirect(request, page_of(connection_id))
    lines = [", ".join(f"{n} {c.replace('_', ' ')}" for c, n in done.counts.items())]
    lines.append(f"Synced at {done.synced_at.isoformat(timespec='seconds')}.")
    if done.preselected:
        lines.append("Pre-selected defaults: " + ", ".join(sorted(done.preselected)) + ".")
    _result(request, title, True, lines)
    return redirect(request, page_of(connection_id))


@router.post(f"{LIST}/{{connection_id}}/validate", dependencies=Checked)
def validate_connection(
    request: Request, connection_id: Id, ctx: Ctx, principal: UiAdmin
) -> Response:
    report = integration_checks.validate_configuration(
        ctx, actor=principal.actor, connection_id=connection_id
    )
    lines = [f"{p.field}: {p.message}" for p in report.problems] or ["No problems found."]
    _result(request, "Validate configuration", report.ok, lines)
    return redirect(request, page_of(connection_id))


@router.post(f"{LIST}/{{connection_id}}/ticketing-default", dependencies=Checked)
def make_ticketing_default(
    request: Request, connection_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    named.make_ticketing_default(session, connection_id, actor=principal.actor)
    session.commit()
    return redirect(request, LIST, "Runs' tickets now go to this connection by default.")


@router.post(f"{LIST}/{{connection_id}}/delete", dependencies=Checked)
def delete_connection(
    request: Request, connection_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    try:
        named.delete(session, connection_id, actor=principal.actor)
    except ConnectionRefused as exc:
        session.rollback()
        return redirect(request, page_of(connection_id), f"Not deleted: {exc.message}", "error")
    session.commit()
    return redirect(request, LIST, "Connection deleted.")


@router.post(f"{LIST}/{{connection_id}}/mappings/validate", dependencies=Checked)
def validate_mappings(
    request: Request, connection_id: Id, ctx: Ctx, principal: UiAdmin
) -> Response:
    try:
        summary = mapping.validate(ctx, actor=principal.actor, connection_id=connection_id)
    except (ConnectorError, IntegrationUnavailable) as exc:
        return redirect(request, "/customers", f"Mappings not validated: {exc.message}", "error")
    counts = ", ".join(f"{n} {status}" for status, n in summary.statuses.items())
    return redirect(request, "/customers", f"{summary.checked} mappings validated: {counts}.")


@router.get(f"{LIST}/{{connection_id}}/suggestions", response_class=HTMLResponse)
def suggestions_page(
    request: Request, connection_id: Id, session: DbSession, ctx: Ctx, principal: UiAdmin
) -> Response:
    row = named.get(session, connection_id)
    found: list[suggestions.CustomerSuggestion] = []
    problem = None
    try:
        found = suggestions.suggestions(ctx, connection_id)
    except (ConnectorError, IntegrationUnavailable) as exc:
        problem = exc.message
    return render(
        request,
        "autotask_suggestions.html",
        session=session,
        principal=principal,
        connection=row,
        suggestions=found,
        problem=problem,
    )


# --- the addresses by kind -------------------------------------------------------------------


# What /admin/integrations/{kind}/{action} may lead to (round trip has pages of its own).
KIND_ACTIONS = frozenset({"test", "refresh", "validate", "suggestions"})


KindPath = Annotated[str, Path(max_length=30)]


@router.get("/admin/integrations/{kind}", response_class=HTMLResponse)
@router.post("/admin/integrations/{kind}")
def by_kind(
    request: Request, kind: KindPath, session: DbSession, ctx: Ctx, principal: UiAdmin
) -> Response:
    """The first connection of the kind (made on a first save)."""
    return _to_first(request, kind, "", session, ctx, principal)


@router.get("/admin/integrations/{kind}/{action}", response_class=HTMLResponse)
@router.post("/admin/integrations/{kind}/{action}")
def by_kind_action(
    request: Request,
    kind: KindPath,
    action: KindPath,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
) -> Response:
    """The same action on the first connection of the kind."""
    return _to_first(request, kind, action, session, ctx, principal)


def _to_first(
    request: Request, kind: str, action: str, session: DbSession, ctx: Ctx, principal: Principal
) -> Response:
    if kind not in forms.kinds() or (action and action not in KIND_ACTIONS):
        raise StarletteHTTPException(404)
    found = named.first_of_kind(session, kind)
    if found is None and request.method == "POST" and not action:
        found = named.ensure_of_kind(session, kind, actor=principal.actor, now=ctx.clock())
        session.commit()
    if found is None:
        return RedirectResponse(LIST, status_code=303)
    target = page_of(found.id) + (f"/{action}" if action else "")
    return RedirectResponse(target, status_code=307 if request.method == "POST" else 303)
