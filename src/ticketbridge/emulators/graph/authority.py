"""The Entra ID endpoints msal talks to, served by the Graph emulator at its own root, so
``https://HOST:PORT/{tenant}`` is an authority msal accepts with ``instance_discovery=False``:

- ``GET  /{tenant}/v2.0/.well-known/openid-configuration``  (tenant discovery; msal reads
  ``token_endpoint``, ``authorization_endpoint`` and ``device_authorization_endpoint``)
- ``POST /{tenant}/oauth2/v2.0/token``       client credentials, device code, refresh token
- ``POST /{tenant}/oauth2/v2.0/devicecode``  starts a device flow
- ``GET|POST /devicelogin``                  the sandbox's sign-in page, where a person (or a
  test) enters the user code and picks the account that approves it

``{tenant}`` is the tenant id or its domain. Errors have Entra's shape (``error``,
``error_description`` beginning ``AADSTS<n>:``, ``error_codes``, ``timestamp``, ``trace_id``,
``correlation_id``, ``error_uri`` and ``suberror`` where Entra sends one); msal hands them back
as they are.
"""

from __future__ import annotations

import base64
import binascii
import html
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .directory import Tenant
from .identity import AadError

if TYPE_CHECKING:
    from .app import GraphEmulator

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def aad_error(request: Request, base: str, exc: AadError) -> Response:
    now = request.app.state.graph.now()
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace = str(uuid.uuid4())
    correlation = request.headers.get("client-request-id") or str(uuid.uuid4())
    body: dict[str, Any] = {
        "error": exc.error,
        "error_description": f"AADSTS{exc.code}: {exc.description} Trace ID: {trace} "
        f"Correlation ID: {correlation} Timestamp: {stamp}",
        "error_codes": [exc.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{base}/error?code={exc.code}",
    }
    if exc.suberror:
        body["suberror"] = exc.suberror
    return JSONResponse(body, exc.status, headers=NO_STORE)


def _unknown_tenant(ref: str) -> AadError:
    return AadError(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{ref}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded body, with client_secret_basic credentials folded in."""
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return form
        form.setdefault("client_id", client_id)
        form.setdefault("client_secret", secret)
    return form


def discovery(base: str, tenant: Tenant) -> dict[str, Any]:
    root = f"{base}/{tenant.id}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{root}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "oid", "tid"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    }


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Enter code - sandbox sign-in</title></head>
<body><main>
<h1>Enter code</h1>
<p>Sandbox sign-in of the ticketbridge Graph emulator: enter the code the application showed
you and pick the account that signs in.</p>
{notice}
<form method="post" action="/devicelogin">
<p><label>Code <input name="user_code" autocomplete="off" required></label></p>
<p><label>Account <select name="user">{options}</select></label></p>
<p><button name="action" value="approve">Sign in</button>
<button name="action" value="decline">Cancel sign-in</button></p>
</form></main></body></html>
"""


def routes(emulator: GraphEmulator) -> list[Route]:
    identity = emulator.state.identity
    assert identity is not None

    def tenant_of(request: Request) -> Tenant:
        ref = request.path_params["tenant"]
        tenant = identity.tenant(ref)
        if tenant is None:
            raise _unknown_tenant(ref)
        return tenant

    async def openid_configuration(request: Request) -> Response:
        base = emulator.base_url(request)
        try:
            return JSONResponse(discovery(base, tenant_of(request)))
        except AadError as exc:
            return aad_error(request, base, exc)

    async def token(request: Request) -> Response:
        base = emulator.base_url(request)
        try:
            body = identity.token(tenant_of(request), await _form(request), base)
        except AadError as exc:
            return aad_error(request, base, exc)
        return JSONResponse(body, headers=NO_STORE)

    async def devicecode(request: Request) -> Response:
        base = emulator.base_url(request)
        try:
            body = identity.start_device_flow(
                tenant_of(request), await _form(request), f"{base}/devicelogin"
            )
        except AadError as exc:
            return aad_error(request, base, exc)
        return JSONResponse(body, headers=NO_STORE)

    async def keys(request: Request) -> Response:
        return JSONResponse({"keys": []})  # tokens are HMAC-signed: there is no public key

    async def devicelogin(request: Request) -> Response:
        notice = ""
        if request.method == "POST":
            form = await _form(request)
            try:
                flow = identity.approve(
                    form.get("user_code", ""),
                    form.get("user", ""),
                    decline=form.get("action") == "decline",
                )
            except LookupError as exc:
                notice = f"<p role='alert'>{html.escape(str(exc))}</p>"
            else:
                app = identity.app(flow.client_id)
                name = html.escape(app.display_name if app else flow.client_id)
                text = (
                    "You cancelled the sign-in."
                    if flow.declined
                    else f"You have signed in to the {name} application on your device. You "
                    "may now close this window."
                )
                return HTMLResponse(
                    f"<!doctype html><html lang='en'><body><p>{text}</p></body></html>"
                )
        options = "".join(
            f"<option>{html.escape(user.upn)}</option>"
            for tenant in identity.tenants.values()
            for user in tenant.users.values()
        )
        return HTMLResponse(_PAGE.format(notice=notice, options=options))

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/devicecode", devicecode, methods=["POST"]),
        Route("/{tenant}/discovery/v2.0/keys", keys),
        Route("/devicelogin", devicelogin, methods=["GET", "POST"]),
    ]
