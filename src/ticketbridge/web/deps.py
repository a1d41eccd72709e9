"""Dependencies shared by the API and the UI: the database session and who is calling."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from ticketbridge.core.roles import Permission, Role, can
from ticketbridge.services import accounts
from ticketbridge.services.accounts import Principal
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.ticket_actions import ActionPool
from ticketbridge.storage.models import User


def get_context(request: Request) -> Runtime:
    ctx: Runtime = request.app.state.ctx
    return ctx


Ctx = Annotated[Runtime, Depends(get_context)]


def get_ticket_actions(request: Request) -> ActionPool:
    pool: ActionPool = request.app.state.ticket_actions
    return pool


TicketActions = Annotated[ActionPool, Depends(get_ticket_actions)]


def get_session(ctx: Ctx) -> Iterator[Session]:
    """A session per request. Routes that write commit explicitly, so a failed commit still
    reaches the client as an error; anything uncommitted is rolled back here."""
    session = ctx.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


DbSession = Annotated[Session, Depends(get_session)]


class NotSignedIn(Exception):
    """No valid session (UI) or bearer token (API)."""


def _token_principal(request: Request, session: Session) -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return None
    token = accounts.authenticate_token(session, credentials.strip())
    if token is None:
        return None
    return Principal("token", token.id, token.name, Role(token.role))


def _session_principal(request: Request, session: Session) -> Principal | None:
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or request.session.get("auth_hash") != auth_hash(user):
        request.session.clear()
        return None
    return Principal("user", user.id, user.username, Role(user.role))


def auth_hash(user: User) -> str:
    """Ties a browser session to the password: changing it signs every session out."""
    return user.password_hash[-16:]


def _release(session: Session) -> None:
    """End the sign-in read so the request holds no connection while the route works: a route
    that waits on a PSA, or opens a session of its own, must not keep a second one checked
    out (the pool would run dry under concurrent clicks). The session takes a connection again
    when the route uses it."""
    session.commit()


def api_principal(request: Request, session: DbSession) -> Principal:
    principal = _token_principal(request, session)
    _release(session)
    if principal is None:
        raise HTTPException(
            status_code=401,
            detail="a valid API token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def ui_principal(request: Request, session: DbSession) -> Principal:
    principal = _session_principal(request, session)
    _release(session)
    if principal is None:
        raise NotSignedIn()
    return principal


def api_access(permission: Permission) -> Any:
    def check(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
        if not can(principal.role, permission):
            raise HTTPException(
                status_code=403, detail=f"the {principal.role} role may not do this"
            )
        return principal

    return Depends(check)


def ui_access(permission: Permission) -> Any:
    def check(principal: Annotated[Principal, Depends(ui_principal)]) -> Principal:
        if not can(principal.role, permission):
            raise HTTPException(
                status_code=403, detail=f"the {principal.role} role may not do this"
            )
        return principal

    return Depends(check)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise HTTPException(
            status_code=400, detail="the form expired; reload the page and try again"
        )
    if not secrets.compare_digest(sent, expected):
        raise HTTPException(
            status_code=400, detail="the form expired; reload the page and try again"
        )


CsrfChecked = Depends(verify_csrf)


ApiReader = Annotated[Principal, api_access(Permission.READ)]
ApiReviewer = Annotated[Principal, api_access(Permission.REVIEW)]
ApiIngester = Annotated[Principal, api_access(Permission.INGEST)]
ApiAdmin = Annotated[Principal, api_access(Permission.ADMIN)]
UiViewer = Annotated[Principal, ui_access(Permission.VIEW_DASHBOARD)]
UiReader = Annotated[Principal, ui_access(Permission.READ)]
UiReviewer = Annotated[Principal, ui_access(Permission.REVIEW)]
UiAdmin = Annotated[Principal, ui_access(Permission.ADMIN)]
