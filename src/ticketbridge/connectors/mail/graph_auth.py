"""Delegated sign-in for a Microsoft 365 mailbox: the device code flow, and tokens from the
token cache it leaves (msal's `SerializableTokenCache`, which holds the refresh token).

A delegated source reads the mailbox as the user who signed in, not as the app: for tenants
that grant no application permission. msal does the protocol: `initiate_device_flow` /
`acquire_token_by_device_flow` once, then `acquire_token_silent_with_error` with the cache's
account, which refreshes the access token when it is due. The cache is handed to a
`TokenCacheStore` only when msal changed it (`has_state_changed`), so a read that used a
cached token writes nothing.

Entra's refusals are turned into messages that say what to do (`explain`): consent missing
(AADSTS65001, ``consent_required``), a refresh token expired or revoked (``invalid_grant``),
an unknown tenant or app. Messages never hold a token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermissionError,
)
from ticketbridge.connectors.mail.graph import GraphConfig
from ticketbridge.connectors.mail.graph_tokens import msal_call, msal_options

# What the service desk does with a delegated mailbox: read and move mail, send notices.
DELEGATED_PERMISSIONS = ("Mail.ReadWrite", "Mail.Send")
SIGN_IN_AGAIN = "sign in again with `ticketbridge mailbox authenticate {name} --device-code`"


class TokenCacheStore(Protocol):
    """Where a source's serialized token cache lives (encrypted by the caller)."""

    name: str

    def load(self) -> str | None: ...

    def save(self, serialized: str) -> None: ...


def delegated_scopes() -> list[str]:
    # Unprefixed: Entra reads them as Graph's and answers them unprefixed, so msal's cache
    # finds the access token again (a prefixed request would miss it and refresh every time).
    return list(DELEGATED_PERMISSIONS)


def _public_app(config: GraphConfig, cache: Any, http_client: Any = None) -> Any:
    import msal  # imported late: only production sources need it

    return msal.PublicClientApplication(
        config.client_id,
        authority=f"{config.authority_url}/{config.tenant_id}",
        token_cache=cache,
        **msal_options(config, http_client),
    )


def explain(result: Any, *, name: str, action: str) -> ConnectorError:
    """Entra's refusal in an msal result as a message that says what to do next."""
    result = result if isinstance(result, dict) else {}
    error = str(result.get("error", "unknown_error"))
    suberror = str(result.get("suberror", ""))
    description = str(result.get("error_description", ""))
    # Entra's first line: the AADSTS code and its sentence, then trace ids nobody needs here.
    first = description.splitlines()[0].split(" Trace ID:")[0][:300] if description else ""
    codes = {int(c) for c in result.get("error_codes") or () if str(c).isdigit()}
    again = SIGN_IN_AGAIN.format(name=name)
    if 65001 in codes or suberror == "consent_required" or error == "consent_required":
        return ConnectorPermissionError(
            f"{action}: consent is missing. An administrator must grant the app the delegated "
            f"permissions {', '.join(DELEGATED_PERMISSIONS)} (Entra admin center, App "
            f"registrations, API permissions, Grant admin consent), then {again}. ({first})"
        )
    if error == "invalid_grant":
        return ConnectorAuthError(
            f"{action}: the sign-in expired or was revoked (its refresh token is no longer "
            f"accepted); {again}. ({first})"
        )
    if error in ("invalid_tenant", "unauthorized_client", "invalid_client"):
        return ConnectorConfigError(
            f"{action}: Entra ID does not accept this tenant or app ({error}); check the source's "
            f"tenant_id and client_id, and that the app allows public client flows for device "
            f"code sign-in. ({first})"
        )
    if error in ("authorization_declined", "expired_token", "access_denied"):
        return ConnectorAuthError(f"{action}: the sign-in did not complete ({error}); {again}.")
    return ConnectorAuthError(f"{action}: Entra ID refused ({error}). {first}".strip())


class DelegatedTokenProvider:
    """Access tokens for the signed-in user of a source, from its stored token cache."""

    def __init__(
        self,
        config: GraphConfig,
        store: TokenCacheStore,
        *,
        force_refresh: bool = False,
        http_client: Any = None,
    ) -> None:
        self.config = config
        self._store = store
        self._force_refresh = force_refresh
        self._http_client = http_client
        self._app: Any = None
        self._cache: Any = None

    def __call__(self) -> str:
        action = f"Reading mailbox {self.config.mailbox} as its signed-in user"
        result = msal_call(self.config, self._acquire)
        if isinstance(result, dict) and isinstance(result.get("access_token"), str):
            return str(result["access_token"])
        if result is None:
            raise ConnectorAuthError(
                f"{action}: no sign-in is stored for this source; "
                f"{SIGN_IN_AGAIN.format(name=self._store.name)}."
            )
        raise explain(result, name=self._store.name, action=action)

    def _acquire(self) -> Any:
        import msal

        if self._app is None:
            self._cache = msal.SerializableTokenCache()
            stored = self._store.load()
            if stored:
                self._cache.deserialize(stored)
            self._app = _public_app(self.config, self._cache, self._http_client)
        accounts = self._app.get_accounts()
        if not accounts:
            return None
        force, self._force_refresh = self._force_refresh, False
        result = self._app.acquire_token_silent_with_error(
            delegated_scopes(), account=accounts[0], force_refresh=force
        )
        if self._cache.has_state_changed:
            self._store.save(self._cache.serialize())
            self._cache.has_state_changed = False
        return result


def sign_in_with_device_code(
    config: GraphConfig,
    *,
    name: str,
    show: Callable[[str, str, str], None],
    http_client: Any = None,
) -> tuple[str, str]:
    """The device code flow: ``show(verification_uri, user_code, message)``, then wait for the
    user to sign in. Returns (the serialized token cache, the account that signed in)."""
    import msal

    cache = msal.SerializableTokenCache()
    action = f"Signing in to mailbox {config.mailbox}"

    def run() -> Any:
        app = _public_app(config, cache, http_client)
        flow = app.initiate_device_flow(scopes=delegated_scopes())
        if "user_code" not in flow:
            return flow
        show(str(flow["verification_uri"]), str(flow["user_code"]), str(flow.get("message", "")))
        return app.acquire_token_by_device_flow(flow)  # polls at the interval Entra gave

    result = msal_call(config, run)
    if not isinstance(result, dict) or "access_token" not in result:
        raise explain(result, name=name, action=action)
    claims = result.get("id_token_claims") or {}
    account = str(claims.get("preferred_username") or "")
    return cache.serialize(), account
