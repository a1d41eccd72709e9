"""Settings > Integrations > Autotask > Round trip (admin): the callouts to configure in Autotask
(with the URL to copy), webhook registration and its state, polling and hint coverage, and the
requests received, each replayable.

A callout's password is shown once, on the page that answers the action that set it (not
carried through a redirect, so it never sits in the session cookie).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.roundtrip import (
    RoundtripInputError,
    RoundtripNotFound,
    config,
    hook_log,
    polling,
    status,
    webhooks,
)
from ticketbridge.services.roundtrip.replay import replay
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.web.api.schemas import MAX_ID, Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui.templating import redirect, render

router = APIRouter()
Checked = [CsrfChecked]
PAGE = "/admin/integrations/autotask/round-trip"
Text = Annotated[str, Form(max_length=255)]
FORMATS = (
    ("name_value", "Name-Value pairs (HTTP POST or GET)"),
    ("soap", "SOAP"),
    ("xml_rpc", "XML-RPC"),
)


def _page(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: Principal,
    *,
    shown_password: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "roundtrip.html",
        session=session,
        principal=principal,
        status_code=status_code,
        status=status.status(session, ctx.clock()),
        formats=FORMATS,
        shown_password=shown_password,
        errors=errors or {},
        page=PAGE,
    )


@router.get(PAGE, response_class=HTMLResponse)
def roundtrip_page(request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin) -> Response:
    return _page(request, session, ctx, principal)


@router.post(PAGE + "/settings", dependencies=Checked)
def save_settings(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    review_on_complete: Annotated[bool, Form()] = False,
) -> Response:
    config.set_review_on_complete(session, review_on_complete, actor=principal.name)
    session.commit()
    return redirect(request, PAGE, "Round-trip settings saved.")


@router.post(PAGE + "/callouts", dependencies=Checked)
def create_callout(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=50)],
    username: Text = "autotask",
    format: Text = "name_value",
    udf_filter: Text = "",
) -> Response:
    try:
        row, password = config.create_callout(
            session, ctx.secret_box, name=name, username=username, fmt=format,
            udf_filter=udf_filter or None, actor=principal.name, now=ctx.clock(),
        )  # fmt: skip
    except RoundtripInputError as exc:
        session.rollback()
        return _page(request, session, ctx, principal, errors=exc.errors, status_code=422)
    session.commit()
    return _page(request, session, ctx, principal, shown_password=_shown(row.name, password))


def _shown(name: str, password: str) -> dict[str, str]:
    return {"name": name, "password": password}


@router.post(PAGE + "/callouts/{callout_id}", dependencies=Checked)
def update_callout(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
    callout_id: Id,
    username: Text = "autotask",
    format: Text = "name_value",
    udf_filter: Text = "",
    active: Annotated[bool, Form()] = False,
    new_password: Annotated[bool, Form()] = False,
) -> Response:
    password = config.new_password() if new_password else None
    try:
        row = config.update_callout(
            session, ctx.secret_box, callout_id, actor=principal.name, username=username,
            fmt=format, udf_filter=udf_filter, active=active, password=password,
        )  # fmt: skip
    except RoundtripNotFound as exc:
        return redirect(request, PAGE, exc.message, "error")
    except RoundtripInputError as exc:
        session.rollback()
        return _page(request, session, ctx, principal, errors=exc.errors, status_code=422)
    session.commit()
    if password is not None:
        return _page(request, session, ctx, principal, shown_password=_shown(row.name, password))
    return redirect(request, PAGE, f"Callout {row.name} saved.")


@router.post(PAGE + "/callouts/{callout_id}/delete", dependencies=Checked)
def delete_callout(
    request: Request, session: DbSession, principal: UiAdmin, callout_id: Id
) -> Response:
    try:
        config.delete_callout(session, callout_id, actor=principal.name)
    except RoundtripNotFound as exc:
        return redirect(request, PAGE, exc.message, "error")
    session.commit()
    return redirect(request, PAGE, "Callout deleted; requests it received are kept.")


@router.post(PAGE + "/webhooks", dependencies=Checked)
def register_webhook(
    request: Request,
    ctx: Ctx,
    principal: UiAdmin,
    excluded_resource_id: Annotated[int | None, Form(ge=1, le=2**53 - 1)] = None,
) -> Response:
    try:
        row = webhooks.register(
            ctx, actor=principal.name, excluded_resource_id=excluded_resource_id
        )
    except RoundtripInputError as exc:
        return redirect(request, PAGE, "; ".join(exc.errors.values()), "error")
    if row.state == "failed":
        return redirect(request, PAGE, f"Webhook not registered: {row.last_error}", "error")
    return redirect(request, PAGE, f"Webhook registered in Autotask ({row.state}).")


@router.post(PAGE + "/webhooks/{registration_id}/remove", dependencies=Checked)
def remove_webhook(request: Request, ctx: Ctx, principal: UiAdmin, registration_id: Id) -> Response:
    try:
        webhooks.remove(ctx, registration_id, actor=principal.name)
    except RoundtripNotFound as exc:
        return redirect(request, PAGE, exc.message, "error")
    except (ConnectorError, TicketError) as exc:
        return redirect(request, PAGE, f"Not removed in Autotask: {exc.message}", "error")
    return redirect(request, PAGE, "Webhook removed.")


@router.post(PAGE + "/poll", dependencies=Checked)
def poll_now(request: Request, ctx: Ctx, principal: UiAdmin) -> Response:
    result = polling.poll(ctx)
    if result is None:
        return redirect(request, PAGE, "The Autotask integration is disabled.", "error")
    if not result.ok:
        return redirect(request, PAGE, f"Poll failed: {result.error}", "error")
    fetched = polling.fetch_hinted(ctx)
    read = f", {fetched.fetched} hinted ticket(s) read" if fetched and fetched.fetched else ""
    return redirect(
        request,
        PAGE,
        f"Polled: {result.changed} changed ticket(s), {result.linked} linked, "
        f"{result.applied} applied, {result.requests} request(s){read}.",
    )


@router.get(PAGE + "/requests", response_class=HTMLResponse)
def requests_page(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    channel: Annotated[str, Query(max_length=20)] = "",
    outcome: Annotated[str, Query(max_length=20)] = "",
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    rows = hook_log.listing(
        session,
        channel=channel if channel in hook_log.CHANNELS else None,
        outcome=outcome if outcome in hook_log.OUTCOMES else None,
        before_id=before_id,
        limit=100,
    )
    return render(
        request,
        "roundtrip_requests.html",
        session=session,
        principal=principal,
        rows=rows,
        channels=hook_log.CHANNELS,
        outcomes=hook_log.OUTCOMES,
        channel=channel,
        outcome=outcome,
        older=rows[-1].id if len(rows) == 100 else None,
        page=PAGE,
    )


@router.get(PAGE + "/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request: Request, session: DbSession, principal: UiAdmin, request_id: Id
) -> Response:
    row = hook_log.get(session, request_id)
    if row is None:
        return redirect(
            request, PAGE + "/requests", f"Request {request_id} does not exist.", "error"
        )
    body: Any = row.body.decode("utf-8", "replace")
    return render(
        request,
        "roundtrip_request.html",
        session=session,
        principal=principal,
        row=row,
        body=body,
        page=PAGE,
    )


@router.post(PAGE + "/requests/{request_id}/replay", dependencies=Checked)
def replay_request(request: Request, ctx: Ctx, principal: UiAdmin, request_id: Id) -> Response:
    target = f"{PAGE}/requests/{request_id}"
    try:
        row = replay(ctx, request_id, actor=principal.name)
    except RoundtripNotFound as exc:
        return redirect(request, PAGE + "/requests", exc.message, "error")
    except RoundtripInputError as exc:
        return redirect(request, target, "; ".join(exc.errors.values()), "error")
    return redirect(request, target, f"Replayed: {row.outcome}.")
