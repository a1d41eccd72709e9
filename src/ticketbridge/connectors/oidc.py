"""OpenID Connect relying party: discovery, the authorization request, the code exchange and the
ID token check, with Authlib's protocol pieces (its httpx integration is deprecated in favour of
a package we do not ship, so the two HTTP calls are ours, through httpx).

The flow is the authorization code flow with PKCE (S256), ``state`` and ``nonce`` (OpenID
Connect Core 3.1). The ID token's signature is checked against the issuer's JWKS, found through
its discovery document (OpenID Connect Discovery 4), with asymmetric algorithms only; ``iss``,
``aud``, ``exp``, ``iat``, ``nonce`` and, when present, ``azp`` and ``at_hash`` are validated by
Authlib's ``CodeIDToken``. Discovery documents and key sets are kept for an hour per discovery
URL; a token signed with a key id we do not know fetches the key set once more (key rotation).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from ticketbridge.connectors.errors import ConnectorAuthError, ConnectorConfigError, ConnectorError

TIMEOUT_SECONDS = 10.0
CACHE_SECONDS = 3600.0
# Clock difference tolerated between the issuer and us for exp, iat and nbf.
LEEWAY_SECONDS = 60
# Signature algorithms we accept; symmetric ones (HS256) are never taken from an issuer's list.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
WELL_KNOWN = "/.well-known/openid-configuration"


class IdTokenRejected(ConnectorAuthError):
    """The ID token (or the answer carrying it) failed a check: never sign anyone in on it."""


@dataclass(frozen=True)
class Client:
    """What we registered at the issuer."""

    discovery_url: str
    client_id: str
    client_secret: str | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_auth_method: str


@dataclass(frozen=True)
class AuthRequest:
    """Where to send the browser, and what to keep (in its session) for the callback."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, kind: str, key: str) -> Any:
        with self._lock:
            found = self._items.get((kind, key))
        if found is None or time.monotonic() - found[0] > CACHE_SECONDS:
            return None
        return found[1]

    def put(self, kind: str, key: str, value: Any) -> None:
        with self._lock:
            self._items[(kind, key)] = (time.monotonic(), value)


_cache = _Cache()


def _get_json(url: str, transport: httpx.BaseTransport | None) -> dict[str, Any]:
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport) as http:
            answer = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ConnectorError(
            f"the identity provider did not answer ({type(exc).__name__})"
        ) from exc
    if answer.status_code != 200:
        raise ConnectorError(
            f"the identity provider answered {answer.status_code} for {url}",
            status_code=answer.status_code,
        )
    try:
        body = answer.json()
    except ValueError as exc:
        raise ConnectorConfigError(f"{url} did not answer JSON") from exc
    if not isinstance(body, dict):
        raise ConnectorConfigError(f"{url} did not answer a JSON object")
    return body


def metadata(client: Client, transport: httpx.BaseTransport | None = None) -> Metadata:
    """The issuer's discovery document, checked: its issuer must be the discovery URL's prefix
    (Discovery 4.3; this refuses Entra ID's multi-tenant `/common` document, whose issuer is a
    template) and every endpoint https (or loopback http, for tests and labs)."""
    cached: Metadata | None = _cache.get("metadata", client.discovery_url)
    if cached is not None:
        return cached
    doc = _get_json(client.discovery_url, transport)
    issuer = doc.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") + WELL_KNOWN != client.discovery_url:
        raise ConnectorConfigError(
            f"the discovery document at {client.discovery_url} names the issuer {issuer!r}, "
            "which is not the URL it was fetched from; use the tenant's own discovery URL"
        )
    endpoints = {}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = doc.get(key)
        if not isinstance(value, str) or not is_secure_transport(value):
            raise ConnectorConfigError(f"the discovery document has no https {key}")
        endpoints[key] = value
    offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(alg for alg in offered if alg in ASYMMETRIC)
    if not algorithms:
        raise ConnectorConfigError(f"the issuer signs ID tokens only with {offered}")
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    found = Metadata(
        issuer=issuer,
        algorithms=algorithms,
        token_auth_method=(
            "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        ),
        **endpoints,
    )
    _cache.put("metadata", client.discovery_url, found)
    return found


def _keys(meta: Metadata, transport: httpx.BaseTransport | None, *, fresh: bool) -> KeySet:
    cached: KeySet | None = None if fresh else _cache.get("jwks", meta.jwks_uri)
    if cached is not None:
        return cached
    try:
        keys = KeySet.import_key_set(_get_json(meta.jwks_uri, transport))  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise ConnectorConfigError("the issuer's key set (jwks_uri) cannot be read") from exc
    _cache.put("jwks", meta.jwks_uri, keys)
    return keys


def start(
    client: Client, redirect_uri: str, transport: httpx.BaseTransport | None = None
) -> AuthRequest:
    """An authorization request with fresh state, nonce and PKCE verifier (RFC 7636, S256)."""
    meta = metadata(client, transport)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    url = prepare_grant_uri(
        meta.authorization_endpoint,
        client.client_id,
        "code",
        redirect_uri,
        scope=" ".join(client.scopes),
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return AuthRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


def _token_request(
    client: Client, meta: Metadata, redirect_uri: str, code: str, code_verifier: str
) -> dict[str, Any]:
    extra: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    secret = client.client_secret or ""
    if meta.token_auth_method == "client_secret_basic":
        # RFC 6749 2.3.1: both parts form-encoded before they go into Basic.
        auth = (quote(client.client_id, safe=""), quote(secret, safe=""))
    else:
        extra = {"client_id": client.client_id, "client_secret": secret}
    body = prepare_token_request(
        "authorization_code",
        redirect_uri=redirect_uri,
        code=code,
        code_verifier=code_verifier,
        **extra,
    )
    return {
        "content": body,
        "auth": auth,
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    }


def finish(
    client: Client,
    redirect_uri: str,
    *,
    code: str,
    code_verifier: str,
    nonce: str,
    now: int,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Exchange the code (with the PKCE verifier) and return the ID token's validated claims."""
    meta = metadata(client, transport)
    request = _token_request(client, meta, redirect_uri, code, code_verifier)
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport) as http:
            answer = http.post(meta.token_endpoint, **request)
    except httpx.HTTPError as exc:
        raise ConnectorError(f"the token endpoint did not answer ({type(exc).__name__})") from exc
    try:
        token = answer.json()
    except ValueError:
        token = None
    if not isinstance(token, dict):
        raise ConnectorError(f"the token endpoint answered {answer.status_code} without JSON")
    if answer.status_code != 200 or "error" in token:
        error = str(token.get("error", answer.status_code))[:100]
        raise IdTokenRejected(f"the identity provider refused the code ({error})")
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise IdTokenRejected("the identity provider sent no ID token")
    return validate_id_token(
        id_token,
        client=client,
        meta=meta,
        nonce=nonce,
        now=now,
        access_token=token.get("access_token"),
        transport=transport,
    )


def validate_id_token(
    id_token: str,
    *,
    client: Client,
    meta: Metadata,
    nonce: str,
    now: int,
    access_token: object = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """The claims of a signed, current ID token issued by ``meta.issuer`` to us for ``nonce``."""
    try:
        try:
            decoded = jwt.decode(id_token, _keys(meta, transport, fresh=False), meta.algorithms)
        except InvalidKeyIdError:
            decoded = jwt.decode(id_token, _keys(meta, transport, fresh=True), meta.algorithms)
        params: dict[str, Any] = {"nonce": nonce, "client_id": client.client_id}
        if isinstance(access_token, str):
            params["access_token"] = access_token
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": meta.issuer},
                "aud": {"essential": True, "value": client.client_id},
                "nonce": {"essential": True, "value": nonce},
            },
            params,
        )
        claims.validate(now=now, leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError) as exc:
        raise IdTokenRejected(f"the ID token was refused: {_reason(exc)}") from exc
    return dict(claims)


def _reason(exc: Exception) -> str:
    """A short, safe reason: the error's class and its claim, never the token."""
    error = getattr(exc, "error", None) or type(exc).__name__
    claim = getattr(exc, "claim", None)
    return f"{error} ({claim})" if claim else str(error)
