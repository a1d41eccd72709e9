"""Sign in and out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ticketbridge.services import accounts, audit
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, auth_hash
from ticketbridge.web.ui.templating import local_path, render

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: DbSession, next: str | None = None) -> Response:
    return render(
        request, "login.html", session=session, principal=None, next=local_path(next, "/")
    )


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
    error = None
    try:
        user = accounts.authenticate(
            session,
            username,
            password,
            max_failures=settings.login_max_failures,
            lockout=timedelta(seconds=settings.login_lockout_seconds),
            now=ctx.clock(),
        )
    except accounts.LoginThrottled:
        user = None
        error = "Too many failed attempts. Wait a few minutes and try again."
    audit.record(
        session,
        actor=username[:150] or "(empty)",
        action="auth.login",
        outcome="ok" if user else ("throttled" if error else "failed"),
        details={"client": request.client.host if request.client else None},
    )
    session.commit()
    if user is None:
        return render(
            request,
            "login.html",
            session=session,
            principal=None,
            next=local_path(next, "/"),
            error=error or "Unknown username or wrong password.",
            username=username,
            status_code=401 if not error else 429,
        )
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["auth_hash"] = auth_hash(user)
    return RedirectResponse(local_path(next, "/"), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
