"""Sign in and out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ticketbridge.services.accounts import sessions as user_sessions
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.accounts.login_throttle import ThrottlePolicy
from ticketbridge.services.system import audit
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, sign_in, sign_out
from ticketbridge.web.ui.templating import local_path, render

router = APIRouter()

# Said alike for an unknown user, a wrong password and a deactivated account.
FAILED = "Unknown username or wrong password."
THROTTLED = "Too many failed attempts. Wait a little and try again."
LOCAL_OFF = "Password sign-in is switched off here; sign in with single sign-on."


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_form(
    request: Request,
    session: Session,
    *,
    next: str | None = None,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    """The sign-in page: the password form unless it is switched off, and a button for each
    single sign-on provider."""
    settings = request.app.state.ctx.settings
    return render(
        request,
        "login.html",
        session=session,
        principal=None,
        next=local_path(next, "/"),
        providers=settings.oidc_providers,
        local_login=settings.local_login,
        status_code=status_code,
        **context,
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: DbSession, next: str | None = None) -> Response:
    return login_form(request, session, next=next)


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings = ctx.settings
    now = ctx.clock()
    client = _client(request)
    if not settings.local_login:
        # Refused before any password check: with single sign-on only, a password proves nothing.
        audit.record(
            session,
            actor=username[:150].replace("\x00", "\ufffd") or "(empty)",
            action="auth.login",
            outcome="refused",
            details={"client": client, "reason": "password sign-in is off"},
        )
        session.commit()
        return login_form(request, session, next=next, error=LOCAL_OFF, status_code=403)
    throttled: accounts.LoginThrottled | None = None
    try:
        user = accounts.authenticate(
            session,
            username,
            password,
            client=client,
            policy=ThrottlePolicy(
                max_failures=settings.login_max_failures,
                longest_wait=timedelta(seconds=settings.login_lockout_seconds),
            ),
            now=now,
        )
    except accounts.LoginThrottled as exc:
        user, throttled = None, exc
    # Recorded alike whether the username exists or not: the trail is no oracle either.
    audit.record(
        session,
        actor=username[:150].replace("\x00", "\ufffd") or "(empty)",
        action="auth.login",
        outcome="ok" if user else ("throttled" if throttled else "failed"),
        details={"client": client},
    )
    if user is None:
        session.commit()
        response = login_form(
            request,
            session,
            next=next,
            error=THROTTLED if throttled else FAILED,
            username=username,
            status_code=429 if throttled else 401,
        )
        if throttled:
            response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    session_id = user_sessions.start(
        session, user, now=now, lifetime=timedelta(seconds=settings.session_max_age_seconds)
    )
    session.commit()
    sign_in(request, session_id)
    return RedirectResponse(local_path(next, "/"), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: DbSession) -> Response:
    user = sign_out(request, session)
    if user is not None:
        audit.record(session, actor=user.username, action="auth.logout")
    session.commit()
    return RedirectResponse("/login", status_code=303)
