"""Header authentication and security levels.

Failure modes follow what maintainers of public clients observed: an unknown user name or an
invalid integration code is a 500, a wrong secret is a 401, and a security level that denies
an entity answers 500 with the permission text inside ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, app_error

DEMO_API_USER = "api@ticketbridge.example"
DEMO_API_SECRET = "demo-secret"
DEMO_INTEGRATION_CODE = "TICKETBRIDGE-DEMO"
DEMO_RESOURCE_ID = 29
# A second user whose security level cannot write companies or read time entries.
LIMITED_API_USER = "limited@ticketbridge.example"
LIMITED_API_SECRET = "limited-secret"
LIMITED_RESOURCE_ID = 30

UNKNOWN_USER_TEXT = "Unable to authenticate: UserName is invalid or is not an API user."
BAD_CODE_TEXT = "IntegrationCode is invalid."
BAD_SECRET_TEXT = "Authentication failed"
OPERATIONS = ("query", "create", "update", "delete")


@dataclass(frozen=True)
class ApiUser:
    username: str
    secret: str
    integration_code: str
    resource_id: int = DEMO_RESOURCE_ID
    # entity URL name (e.g. "Companies") -> operations its security level denies
    denied: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def allows(self, entity: str, operation: str) -> bool:
        for name, ops in self.denied.items():
            if name.lower() == entity.lower() and operation in ops:
                return False
        return True

    @classmethod
    def coerce(cls, value: ApiUser | Mapping[str, Any]) -> ApiUser:
        if isinstance(value, ApiUser):
            return value
        denied = {k: frozenset(v) for k, v in dict(value.get("denied") or {}).items()}
        return cls(
            username=str(value["username"]),
            secret=str(value["secret"]),
            integration_code=str(value.get("integration_code", DEMO_INTEGRATION_CODE)),
            resource_id=int(value.get("resource_id", DEMO_RESOURCE_ID)),
            denied=denied,
        )


def default_users() -> list[ApiUser]:
    return [
        ApiUser(DEMO_API_USER, DEMO_API_SECRET, DEMO_INTEGRATION_CODE, DEMO_RESOURCE_ID),
        ApiUser(
            LIMITED_API_USER,
            LIMITED_API_SECRET,
            DEMO_INTEGRATION_CODE,
            LIMITED_RESOURCE_ID,
            denied={
                "Companies": frozenset({"create", "update", "delete"}),
                "TimeEntries": frozenset(OPERATIONS),
            },
        ),
    ]


def coerce_users(users: Sequence[ApiUser | Mapping[str, Any]] | None) -> list[ApiUser]:
    return default_users() if users is None else [ApiUser.coerce(u) for u in users]


def find_user(users: Sequence[ApiUser], username: str) -> ApiUser | None:
    wanted = username.strip().lower()
    for user in users:
        if user.username.lower() == wanted:
            return user
    return None


def authenticate(users: Sequence[ApiUser], headers: Mapping[str, str]) -> ApiUser:
    """``headers`` has lower-case names (ASGI), so header names are case-insensitive."""
    user = find_user(users, headers.get("username", ""))
    if user is None:
        raise app_error(UNKNOWN_USER_TEXT)
    if headers.get("secret", "") != user.secret:
        raise ApiError(401, {"errors": [BAD_SECRET_TEXT]})
    if headers.get("apiintegrationcode", "") != user.integration_code:
        raise app_error(BAD_CODE_TEXT)
    return user


def permission_error(operation: str) -> ApiError:
    verb = {"query": "query", "create": "create", "update": "update", "delete": "delete"}
    return app_error(
        "The logged in Resource does not have the adequate permissions to "
        f"{verb.get(operation, operation)} this entity."
    )


def require(user: ApiUser, entity: str, operation: str) -> None:
    if not user.allows(entity, operation):
        raise permission_error(operation)
