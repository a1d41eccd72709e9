"""Entra ID's side of the sandbox: tenants, their users and app registrations, and the grants
the v2.0 token endpoint answers (client credentials, device code, refresh token).

Written from the Microsoft identity platform documentation (OAuth 2.0 client credentials flow,
device authorization grant, refresh tokens, AADSTS error codes) as summarised in the project's
research notes. What is kept because clients rely on it:

- Error bodies carry ``error`` (the OAuth code clients branch on) and ``error_description``
  starting with the ``AADSTS`` number people search for; ``suberror`` where Entra sends one.
- An app-only token's permissions are the ``roles`` an administrator consented to; without
  that consent Entra still issues a token, with no roles, and Graph answers 403.
- A delegated grant without consent fails at the token endpoint with AADSTS65001.
- A refresh token expires after 90 days without use (AADSTS700082); a refresh hands out a new
  one and leaves the old one valid.
- Access tokens are JWTs; clients must treat them as opaque, so the signature is an HMAC with
  a key of this emulator. Graph calls are checked against the grants issued here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from .directory import (
    AccessGrant,
    AppRegistration,
    DeviceAuthorization,
    RefreshGrant,
    Tenant,
    User,
)

ACCESS_TOKEN_LIFETIME = timedelta(seconds=3599)
REFRESH_INACTIVITY_LIMIT = timedelta(days=90)
DEVICE_CODE_LIFETIME = timedelta(minutes=15)
GRAPH_RESOURCE = "https://graph.microsoft.com"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"


class AadError(Exception):
    """A refusal of the token endpoint: HTTP status, OAuth error and AADSTS number."""

    def __init__(
        self, status: int, error: str, code: int, description: str, suberror: str | None = None
    ) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description
        self.suberror = suberror


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _graph_scope(scope: str) -> str:
    """``https://graph.microsoft.com/Mail.Read`` and ``Mail.Read`` are one scope to Entra."""
    return scope.rsplit("/", 1)[1] if scope.lower().startswith("https://") else scope


class Identity:
    def __init__(self, tenants: Iterable[Tenant], clock: Callable[[], datetime]) -> None:
        self.tenants = {t.id: t for t in tenants}
        self.clock = clock
        self.access: dict[str, AccessGrant] = {}
        self.refresh: dict[str, RefreshGrant] = {}
        self.devices: dict[str, DeviceAuthorization] = {}
        self._key = secrets.token_bytes(32)

    def tenant(self, ref: str) -> Tenant | None:
        lowered = ref.lower()
        return next((t for t in self.tenants.values() if lowered in (t.id, t.domain.lower())), None)

    def user(self, ref: str) -> User | None:
        return next((u for t in self.tenants.values() if (u := t.user(ref))), None)

    def app(self, client_id: str) -> AppRegistration | None:
        lowered = client_id.lower()
        return next((t.apps[lowered] for t in self.tenants.values() if lowered in t.apps), None)

    # -- the token endpoint ---------------------------------------------------------------------

    def token(self, tenant: Tenant, form: dict[str, str], issuer: str) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            return self._client_credentials(tenant, form)
        if grant_type == DEVICE_CODE_GRANT:
            return self._device_code(tenant, form, issuer)
        if grant_type == "refresh_token":
            return self._refresh(tenant, form, issuer)
        raise AadError(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _client(
        self, tenant: Tenant, form: dict[str, str], *, secret_required: bool
    ) -> AppRegistration:
        app = self._known_app(tenant, form)
        secret = form.get("client_secret")
        if secret is None:
            if secret_required or not app.public_client_flows:
                raise AadError(
                    401,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: "
                    "'client_assertion' or 'client_secret'.",
                )
        elif not any(hmac.compare_digest(secret.encode(), s.encode()) for s in app.secrets):
            raise AadError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
            )
        return app

    def _client_credentials(self, tenant: Tenant, form: dict[str, str]) -> dict[str, Any]:
        app = self._client(tenant, form, secret_required=True)
        scopes = form.get("scope", "").split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise AadError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {' '.join(scopes)} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        roles = app.application_permissions if app.admin_consent else frozenset()
        return self._access(tenant, app, None, roles, scope=None)

    def _consented(self, app: AppRegistration, requested: Iterable[str]) -> tuple[str, ...]:
        wanted = {_graph_scope(s) for s in requested} - OIDC_SCOPES
        if ".default" in wanted:
            wanted = (wanted - {".default"}) | set(app.delegated_permissions)
        if not app.admin_consent or not wanted <= app.delegated_permissions:
            raise AadError(
                400,
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{app.client_id}' named '{app.display_name}'. Send an interactive "
                "authorization request for this user and resource.",
                suberror="consent_required",
            )
        return tuple(sorted(wanted or {"User.Read"}))

    def _delegated(
        self,
        tenant: Tenant,
        app: AppRegistration,
        user: User,
        requested: Iterable[str],
        form: dict[str, str],
        issuer: str,
    ) -> dict[str, Any]:
        requested = tuple(requested)
        scopes = self._consented(app, requested)
        reserved = [s for s in ("openid", "profile", "email") if s in requested]
        body = self._access(tenant, app, user, frozenset(scopes), scope=[*scopes, *reserved])
        now = self.clock()
        if "offline_access" in requested:
            token = _b64(secrets.token_bytes(48))
            self.refresh[token] = RefreshGrant(tenant.id, app.client_id, user, requested, now, now)
            body["refresh_token"] = token
        if "openid" in requested:
            claims = {
                "aud": app.client_id,
                "iss": f"{issuer}/{tenant.id}/v2.0",
                "iat": int(now.timestamp()),
                "nbf": int(now.timestamp()),
                "exp": int((now + ACCESS_TOKEN_LIFETIME).timestamp()),
                "name": user.display_name,
                "oid": user.object_id,
                "preferred_username": user.upn,
                "sub": _b64(hashlib.sha256(f"{user.object_id}{app.client_id}".encode()).digest()),
                "tid": tenant.id,
                "ver": "2.0",
            }
            body["id_token"] = self._jwt(claims)
        if form.get("client_info") == "1":
            info = {"uid": user.object_id, "utid": tenant.id}
            body["client_info"] = _b64(json.dumps(info).encode())
        return body

    def _access(
        self,
        tenant: Tenant,
        app: AppRegistration,
        user: User | None,
        permissions: frozenset[str],
        scope: list[str] | None,
    ) -> dict[str, Any]:
        now = self.clock()
        expires = now + ACCESS_TOKEN_LIFETIME
        claims: dict[str, Any] = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{tenant.id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "appid": app.client_id,
            "app_displayname": app.display_name,
            "tid": tenant.id,
            "idtyp": "user" if user else "app",
            "ver": "1.0",
            "uti": _b64(secrets.token_bytes(16)),
        }
        if user is None:
            claims["roles"] = sorted(permissions)
        else:
            claims.update(scp=" ".join(sorted(permissions)), oid=user.object_id, upn=user.upn)
        token = self._jwt(claims)
        self.access[token] = AccessGrant(tenant.id, app.client_id, user, permissions, expires)
        seconds = int(ACCESS_TOKEN_LIFETIME.total_seconds())
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": seconds,
            "ext_expires_in": seconds,
            "access_token": token,
        }
        if scope is not None:
            body["scope"] = " ".join(scope)
        return body

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    # -- device code ----------------------------------------------------------------------------

    def start_device_flow(
        self, tenant: Tenant, form: dict[str, str], verification_uri: str
    ) -> dict[str, Any]:
        app = self._known_app(tenant, form)
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        flow = DeviceAuthorization(
            device_code=_b64(secrets.token_bytes(48)),
            user_code=user_code,
            tenant_id=tenant.id,
            client_id=app.client_id,
            scopes=tuple(form.get("scope", "").split()),
            expires_at=self.clock() + DEVICE_CODE_LIFETIME,
        )
        self.devices[flow.device_code] = flow
        return {
            "user_code": user_code,
            "device_code": flow.device_code,
            "verification_uri": verification_uri,
            "expires_in": int(DEVICE_CODE_LIFETIME.total_seconds()),
            "interval": 5,
            "message": f"To sign in, use a web browser to open the page {verification_uri} "
            f"and enter the code {user_code} to authenticate.",
        }

    def _known_app(self, tenant: Tenant, form: dict[str, str]) -> AppRegistration:
        client_id = form.get("client_id", "")
        if not client_id:
            raise AadError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        app = tenant.apps.get(client_id.lower())
        if app is None:
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant.display_name}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in "
                "the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        return app

    def approve(
        self, user_code: str, user_ref: str, *, decline: bool = False
    ) -> DeviceAuthorization:
        """The user's side of the device flow: the code typed at the sign-in page."""
        wanted = user_code.replace("-", "").strip().upper()
        flow = next((f for f in self.devices.values() if f.user_code == wanted), None)
        if flow is None or flow.expires_at <= self.clock():
            raise LookupError("That code didn't work. Check the code and try again.")
        user = self.tenants[flow.tenant_id].user(user_ref)
        if user is None:
            raise LookupError(f"No account {user_ref!r} in this tenant.")
        flow.approved_by, flow.declined = (None, True) if decline else (user, False)
        return flow

    def _device_code(self, tenant: Tenant, form: dict[str, str], issuer: str) -> dict[str, Any]:
        app = self._client(tenant, form, secret_required=False)
        flow = self.devices.get(form.get("device_code", ""))
        if flow is None or flow.client_id != app.client_id or flow.tenant_id != tenant.id:
            raise AadError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
        if flow.expires_at <= self.clock():
            del self.devices[flow.device_code]
            raise AadError(
                400,
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. This "
                "device code has expired.",
            )
        if flow.declined:
            del self.devices[flow.device_code]
            raise AadError(
                400, "authorization_declined", 70000, "The user declined the authorization."
            )
        if flow.approved_by is None:
            raise AadError(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        del self.devices[flow.device_code]  # a device code is used once
        return self._delegated(tenant, app, flow.approved_by, flow.scopes, form, issuer)

    # -- refresh --------------------------------------------------------------------------------

    def _refresh(self, tenant: Tenant, form: dict[str, str], issuer: str) -> dict[str, Any]:
        app = self._client(tenant, form, secret_required=False)
        grant = self.refresh.get(form.get("refresh_token", ""))
        if grant is None or grant.tenant_id != tenant.id:
            raise AadError(
                400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        if grant.client_id != app.client_id:
            raise AadError(
                400,
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed. The refresh token was issued to a "
                "different client id.",
            )
        now = self.clock()
        if grant.revoked or now - grant.last_used > REFRESH_INACTIVITY_LIMIT:
            raise AadError(
                400,
                "invalid_grant",
                700082,
                f"The refresh token has expired due to inactivity. The token was issued on "
                f"{grant.issued_at.strftime('%Y-%m-%dT%H:%M:%SZ')} and was inactive for "
                "90.00:00:00.",
                suberror="bad_token",
            )
        grant.last_used = now
        requested = form.get("scope", "").split() or list(grant.scopes)
        return self._delegated(tenant, app, grant.user, requested, form, issuer)

    # -- Graph's side ---------------------------------------------------------------------------

    def check(self, token: str) -> AccessGrant | str:
        """The grant behind a bearer token, or why Graph refuses it."""
        grant = self.access.get(token)
        if grant is None:
            return "Access token validation failure. Invalid audience."
        if grant.revoked or grant.expires_at <= self.clock():
            return "Lifetime validation failed, the token is expired."
        return grant

    def expire_refresh_tokens(self) -> int:
        for grant in self.refresh.values():
            grant.revoked = True
        return len(self.refresh)

    def expire_access_tokens(self) -> int:
        for grant in self.access.values():
            grant.revoked = True
        return len(self.access)
