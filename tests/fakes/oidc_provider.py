"""A small OpenID Connect provider for tests, written from OpenID Connect Core 1.0 (3.1, the
authorization code flow), Discovery 1.0 (4) and RFC 7636 (PKCE, S256).

It serves a discovery document, a JWKS holding an RSA key generated per provider, an
``/authorize`` that signs in ``user`` at once (no login form) and redirects back with a code,
and a ``/token`` that checks the client, the redirect URI and the PKCE verifier and answers
with an ID token signed by that key. ``id_token_claims`` overrides claims of the next ID
tokens and ``signing_key`` signs them with another key, to test what the relying party
refuses. Serve ``app`` on a loopback port and set ``issuer`` to its base URL; ``reset()``
forgets what a test set or left (user, overrides, grants, counts) and keeps the key.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "ticketbridge-test"
CLIENT_SECRET = "provider-client-secret-for-tests"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    claims: dict[str, Any]


@dataclass
class FakeIssuer:
    issuer: str = "http://127.0.0.1:0"
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    # Who /authorize signs in: sub and any other claims (groups, email, ...).
    user: dict[str, Any] = field(default_factory=lambda: {"sub": "user-1"})
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    signing_key: RSAKey | None = None
    now: Callable[[], float] = time.time
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    def reset(self) -> None:
        """Back to a fresh issuer's state, keeping its key and address, so one served issuer
        can stand in for a new one in every test."""
        fresh = FakeIssuer(issuer=self.issuer, key=self.key)
        for name in ("user", "id_token_claims", "signing_key", "now", "grants", "token_requests"):
            setattr(self, name, getattr(fresh, name))

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if "openid" not in (query.get("scope") or "").split():
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            client_id=self.client_id,
            redirect_uri=query["redirect_uri"],
            nonce=query.get("nonce"),
            challenge=query["code_challenge"],
            claims=dict(self.user),
        )
        back = urlencode({"code": code, "state": query.get("state", "")})
        return RedirectResponse(f"{query['redirect_uri']}?{back}", status_code=302)

    def _client_ok(self, request: Request, form: Any) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        else:
            user, password = form.get("client_id", ""), form.get("client_secret", "")
        return bool(user == self.client_id and password == self.client_secret)

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.grants.pop(str(form.get("code")), None)  # a code is good once
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant),
            }
        )

    def id_token(self, grant: Grant) -> str:
        now = int(self.now())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            **grant.claims,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.id_token_claims)
        key = self.signing_key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid or ""}, claims, key)
