"""Customers, users, API tokens, the audit log and system settings."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from ticketbridge.core.roles import Role
from ticketbridge.core.timezones import zone_names
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.accounts.users import AccountError
from ticketbridge.services.connections import mapping, named
from ticketbridge.services.runs import catalog
from ticketbridge.services.runs.catalog import CatalogError
from ticketbridge.services.system import audit
from ticketbridge.services.system import settings as system_settings
from ticketbridge.storage.models import ApiToken, User
from ticketbridge.storage.secrets import SecretUnreadable
from ticketbridge.web.api.schemas import DayFilter, Id, Page
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin, UiReader
from ticketbridge.web.ui.templating import flash, pager_base, redirect, render, ui_zone

router = APIRouter()
Checked = [CsrfChecked]
NEW_TOKEN_KEY = "new_token"


@router.get("/customers", response_class=HTMLResponse)
def customers_page(request: Request, session: DbSession, principal: UiReader) -> Response:
    return render(
        request,
        "customers.html",
        session=session,
        principal=principal,
        customers=catalog.list_customers(session),
        mappings=mapping.where_tickets_go(session),
        default_connection=named.find(session, None),
    )


@router.post("/customers", dependencies=Checked)
def create_customer(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=300)],
) -> Response:
    try:
        customer = catalog.create_customer(session, name, actor=principal.actor)
    except CatalogError as exc:
        return redirect(request, "/customers", f"Not created: {exc}", "error")
    session.commit()
    return redirect(request, "/customers", f"Customer {customer.name} created.")


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(
    request: Request, customer_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    customer = catalog.get_customer(session, customer_id)
    jobs = catalog.list_jobs(session, customer_id=customer_id)
    return render(
        request, "customer.html", session=session, principal=principal, customer=customer, jobs=jobs
    )


@router.post("/customers/{customer_id}", dependencies=Checked)
def update_customer(
    request: Request,
    customer_id: Id,
    session: DbSession,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=300)],
    active: Annotated[bool, Form()] = False,
) -> Response:
    try:
        catalog.update_customer(
            session, customer_id, actor=principal.actor, name=name, active=active
        )
    except CatalogError as exc:
        return redirect(request, f"/customers/{customer_id}", f"Not saved: {exc}", "error")
    session.commit()
    return redirect(request, "/customers", "Customer saved.")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    users = session.scalars(select(User).order_by(User.username_key)).all()
    return render(
        request, "users.html", session=session, principal=principal, users=users, roles=list(Role)
    )


@router.post("/admin/users", dependencies=Checked)
def create_user(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[Role, Form()],
) -> Response:
    try:
        user = accounts.create_user(session, username, password, role)
    except AccountError as exc:
        return redirect(request, "/admin/users", f"Not created: {exc}", "error")
    audit.record(
        session,
        actor=principal.actor,
        action="user.create",
        subject=f"user {user.username}",
        details={"role": role.value},
    )
    session.commit()
    return redirect(request, "/admin/users", f"User {user.username} created.")


@router.post("/admin/users/{user_id}", dependencies=Checked)
def update_user(
    request: Request,
    user_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    role: Annotated[Role, Form()],
    active: Annotated[bool, Form()] = False,
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    user = session.get(User, user_id)
    if user is None:
        return redirect(request, "/admin/users", "That user no longer exists.", "error")
    if user.id == principal.id and (role != Role.ADMIN or not active):
        return redirect(
            request, "/admin/users", "You cannot demote or deactivate yourself.", "error"
        )
    try:
        # A new password, role or deactivation ends the user's sign-ins; an admin changing
        # their own password keeps the browser they are using.
        changes = accounts.update_user(
            user,
            role=role,
            active=active,
            password=password,
            now=ctx.clock(),
            keep_session=principal.session_id if user.id == principal.id else None,
        )
    except AccountError as exc:
        return redirect(request, "/admin/users", f"Not saved: {exc}", "error")
    audit.record(
        session,
        actor=principal.actor,
        action="user.update",
        subject=f"user {user.username}",
        details=changes,
    )
    session.commit()
    return redirect(request, "/admin/users", f"User {user.username} saved.")


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, ctx: Ctx, session: DbSession, principal: UiAdmin) -> Response:
    tokens = session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    new_token = _take_new_token(request, ctx)
    return render(
        request,
        "tokens.html",
        session=session,
        principal=principal,
        tokens=tokens,
        roles=list(Role),
        new_token=new_token,
    )


@router.post("/admin/tokens", dependencies=Checked)
def create_token(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    name: Annotated[str, Form(max_length=150)],
    role: Annotated[Role, Form()],
) -> Response:
    try:
        token, plaintext = accounts.create_token(session, name, role, created_by=principal.id)
    except AccountError as exc:
        return redirect(request, "/admin/tokens", f"Not created: {exc}", "error")
    audit.record(
        session,
        actor=principal.actor,
        action="token.create",
        subject=f"token {token.name}",
        details={"role": role.value},
    )
    session.commit()
    # Shown once on the next page, then gone: only its hash is stored. It travels to that page
    # in the session cookie, which is signed but readable, so it travels encrypted.
    request.session[NEW_TOKEN_KEY] = {
        "name": token.name,
        "sealed": ctx.secret_box.encrypt(plaintext),
    }
    return redirect(request, "/admin/tokens")


def _take_new_token(request: Request, ctx: Ctx) -> dict[str, str] | None:
    carried = request.session.pop(NEW_TOKEN_KEY, None)
    if not isinstance(carried, dict) or not isinstance(carried.get("sealed"), str):
        return None
    try:
        value = ctx.secret_box.decrypt(carried["sealed"])
    except SecretUnreadable:
        return None
    return {"name": str(carried.get("name", "")), "value": value}


@router.post("/admin/tokens/{token_id}/revoke", dependencies=Checked)
def revoke_token(
    request: Request, token_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    token = session.get(ApiToken, token_id)
    if token is not None:
        accounts.revoke_token(token)
        audit.record(
            session, actor=principal.actor, action="token.revoke", subject=f"token {token.name}"
        )
        session.commit()
        flash(request, f"Token {token.name} revoked.")
    return redirect(request, "/admin/tokens")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    date_from: DayFilter = None,
    date_to: DayFilter = None,
    page: Page = 1,
    request_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    tz = ZoneInfo(ui_zone(request, session))
    filters = audit.AuditFilter(
        actor=actor or None,
        action=action or None,
        outcome=outcome or None,
        since=datetime.combine(date_from, time.min, tz) if date_from else None,
        until=datetime.combine(date_to + timedelta(days=1), time.min, tz) if date_to else None,
        request_id=request_id or None,
    )
    events, total = audit.search(session, filters, page=page, per_page=50)
    return render(
        request,
        "audit.html",
        session=session,
        principal=principal,
        events=events,
        total=total,
        page=page,
        pages=max(1, -(-total // 50)),
        selected={
            "actor": actor or "",
            "action": action or "",
            "outcome": outcome or "",
            "date_from": date_from.isoformat() if date_from else "",
            "date_to": date_to.isoformat() if date_to else "",
            "request_id": request_id or "",
        },
        pager_base=pager_base(request),
    )


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    return render(
        request, "settings.html", session=session, principal=principal, zones=zone_names()
    )


@router.post("/admin/settings", dependencies=Checked)
def save_settings(
    request: Request,
    session: DbSession,
    principal: UiAdmin,
    ui_timezone: Annotated[str, Form(max_length=100)],
) -> Response:
    before = system_settings.ui_timezone(session)
    system_settings.set_ui_timezone(session, ui_timezone)
    audit.record(
        session,
        actor=principal.actor,
        action="settings.update",
        details={"ui_timezone": [before, ui_timezone]},
    )
    session.commit()
    return redirect(request, "/admin/settings", "Settings saved.")
