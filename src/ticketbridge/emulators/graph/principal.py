"""Who a Graph call comes from: the bearer token checked against the grants the token endpoint
issued, and what that caller may do (application roles, or delegated scopes on the signed-in
user's own mailbox)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .directory import User
from .state import GraphState
from .wire import error

FIXED_TOKEN_CLIENT = "fixed-token"


@dataclass(frozen=True)
class Principal:
    client_id: str
    tenant_id: str | None
    user: User | None  # None: an app-only token
    permissions: frozenset[str] | None  # None: a fixed test token, which may do anything

    def may(self, needs: Iterable[str]) -> bool:
        """True when any one of ``needs`` was granted (Mail.ReadWrite covers Mail.Read)."""
        return self.permissions is None or any(n in self.permissions for n in needs)

    def reaches(self, mailbox: str) -> bool:
        """Application permissions reach every mailbox (unless an Exchange access policy
        narrows them, which the sandbox does not model); delegated ones the user's own."""
        return self.user is None or self.user.upn.lower() == mailbox.lower()


def _unauthorized(message: str) -> Response:
    return error(
        401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": 'Bearer realm=""'}
    )


def authenticate(state: GraphState, authorization: str) -> Principal | Response:
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized("Access token is empty.")
    if token in state.tokens:
        return Principal(FIXED_TOKEN_CLIENT, None, None, None)
    if state.identity is None:
        return _unauthorized("Access token validation failure.")
    grant = state.identity.check(token)
    if isinstance(grant, str):
        return _unauthorized(grant)
    return Principal(grant.client_id, grant.tenant_id, grant.user, grant.permissions)


def principal_of(request: Request) -> Principal:
    """The caller of a Graph call the emulator admitted."""
    principal: Principal = request.state.principal
    return principal
