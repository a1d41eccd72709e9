"""Dependencies shared by the API and the UI: the database session and who is calling."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from ticketbridge.core.roles import Permission, Role, can
from ticketbridge.services.accounts import sessions as user_sessions
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import log_context
from ticketbridge.services.tickets.actions import ActionPool
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


# The signed browser session holds this random id (and the form token and one-time messages),
# never the user's id or anything derived from their password: the sign-in itself lives in the
# database (services.user_sessions), where signing out or a password, role or active change
# ends it.
SESSION_ID_KEY = "sid"


def session_principal(request: Request, session: Session) -> Principal | None:
    if SESSION_ID_KEY not in request.session:
        return None
    found = user_sessions.resolve(
        session, request.session.get(SESSION_ID_KEY), now=get_context(request).clock()
    )
    if found is None:
        request.session.clear()
        return None
    sign_in, user = found
    return Principal("user", user.id, user.username, Role(user.role), session_id=sign_in.id)


def sign_in(request: Request, session_id: str) -> None:
    """Hand a new sign-in to the browser. Everything the session held before (its form token
    above all) goes, so that a session id planted before sign-in is worth nothing after."""
    request.session.clear()
    request.session[SESSION_ID_KEY] = session_id


def sign_out(request: Request, session: Session) -> User | None:
    """End this browser's sign-in server-side, so that a copy of its cookie stops working, and
    forget the session. Returns whose sign-in it was."""
    user = user_sessions.end(
        session, request.session.get(SESSION_ID_KEY), now=get_context(request).clock()
    )
    request.session.clear()
    return user


def _release(session: Session) -> None:
    """End the sign-in read so the request holds no connection while the route works: a route
    that waits on a PSA, or opens a session of its own, must not keep a second one checked
    out (the pool would run dry under concurrent clicks). The session takes a connection again
    when the route uses it."""
    session.commit()


def api_principal(request: Request, session: DbSession) -> Principal:
    principal = _token_principal(request, session)
    _release(session)
    if principal is not None:
        log_context.set_user(f"token:{principal.name}")
    if principal is None:
        raise HTTPException(
            status_code=401,
            detail="a valid API token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def ui_principal(request: Request, session: DbSession) -> Principal:
    principal = session_principal(request, session)
    _release(session)
    if principal is not None:
        log_context.set_user(principal.name)
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


ApiViewer = Annotated[Principal, api_access(Permission.VIEW_DASHBOARD)]
ApiReader = Annotated[Principal, api_access(Permission.READ)]
ApiReviewer = Annotated[Principal, api_access(Permission.REVIEW)]
ApiIngester = Annotated[Principal, api_access(Permission.INGEST)]
ApiAdmin = Annotated[Principal, api_access(Permission.ADMIN)]
UiViewer = Annotated[Principal, ui_access(Permission.VIEW_DASHBOARD)]
UiReader = Annotated[Principal, ui_access(Permission.READ)]
UiReviewer = Annotated[Principal, ui_access(Permission.REVIEW)]
UiAdmin = Annotated[Principal, ui_access(Permission.ADMIN)]
