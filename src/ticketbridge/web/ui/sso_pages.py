"""Single sign-on pages: start a sign-in at the identity provider, take its answer back, and
show admins how sign-in is configured. The rules live in services.sso."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from ticketbridge.services.accounts import sessions as user_sessions
from ticketbridge.services.accounts import sso
from ticketbridge.settings import OidcProvider
from ticketbridge.web.deps import Ctx, DbSession, UiAdmin, sign_in
from ticketbridge.web.ui.auth_pages import login_form
from ticketbridge.web.ui.templating import local_path, render

router = APIRouter()

# What the browser's (signed) session keeps between the start and the callback: which provider,
# the state, the nonce and the PKCE verifier. One flow at a time; the callback consumes it.
FLOW_KEY = "sso_flow"
Text = Annotated[str | None, Query(max_length=4096)]


def _provider(request: Request, name: str) -> OidcProvider:
    provider = request.app.state.ctx.settings.oidc_provider(name)
    if provider is None:
        raise HTTPException(status_code=404, detail="no such sign-in provider")
    return provider


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _callback_url(request: Request, name: str) -> str:
    return str(request.url_for("sso_callback", name=name))


@router.get("/login/sso/{name}")
def sso_start(request: Request, session: DbSession, name: str, next: Text = None) -> Response:
    provider = _provider(request, name)
    try:
        started = sso.start(provider, _callback_url(request, name))
    except sso.SsoError as exc:
        return login_form(request, session, error=str(exc), status_code=502)
    request.session[FLOW_KEY] = {
        "provider": name,
        "state": started.state,
        "nonce": started.nonce,
        "verifier": started.code_verifier,
        "next": local_path(next, "/"),
    }
    return RedirectResponse(started.url, status_code=303)


@router.get("/login/sso/{name}/callback", name="sso_callback")
def sso_callback(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    name: str,
    code: Text = None,
    state: Text = None,
    error: Text = None,
) -> Response:
    provider = _provider(request, name)
    flow = request.session.pop(FLOW_KEY, None)
    client = _client(request)

    def failed(reason: str, message: str, status: int) -> Response:
        sso.record_failure(session, provider, reason, client)
        session.commit()
        return login_form(request, session, error=message, status_code=status)

    if (
        not isinstance(flow, dict)
        or flow.get("provider") != name
        or not isinstance(state, str)
        or not secrets.compare_digest(state.encode(), str(flow.get("state")).encode())
    ):
        # No flow of this browser, or another one's answer: a forged or replayed callback.
        return failed("state mismatch", "The sign-in could not be matched; start again.", 400)
    if error or not code:
        reason = f"provider error: {error}" if error else "no code"
        return failed(reason, f"{provider.label} did not sign you in ({error or 'no code'}).", 401)
    try:
        claims = sso.finish(
            provider,
            _callback_url(request, name),
            code=code,
            code_verifier=str(flow["verifier"]),
            nonce=str(flow["nonce"]),
            now=ctx.clock(),
        )
    except sso.SsoError as exc:
        return failed(str(exc), str(exc), 401)
    now = ctx.clock()
    try:
        user = sso.sign_in(session, provider, claims, now=now, client=client)
    except sso.SsoRefused as exc:
        session.commit()
        return render(
            request,
            "sso_refused.html",
            session=session,
            principal=None,
            provider=provider,
            message=str(exc),
            issuer=exc.issuer,
            subject=exc.subject,
            status_code=403,
        )
    except sso.SsoError as exc:
        return failed(str(exc), str(exc), 403)
    session_id = user_sessions.start(
        session, user, now=now, lifetime=timedelta(seconds=ctx.settings.session_max_age_seconds)
    )
    session.commit()
    sign_in(request, session_id)
    return RedirectResponse(str(flow.get("next") or "/"), status_code=303)


@router.get("/admin/sso")
def sso_settings_page(
    request: Request, ctx: Ctx, session: DbSession, principal: UiAdmin
) -> Response:
    """How sign-in is configured, read-only: it comes from the environment."""
    return render(
        request,
        "sso_settings.html",
        session=session,
        principal=principal,
        providers=ctx.settings.oidc_providers,
        local_login=ctx.settings.local_login,
        callback=lambda name: _callback_url(request, name),
    )
