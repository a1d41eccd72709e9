"""Who exists in the sandbox's Entra ID: tenants, their users and app registrations, and the
grants the token endpoint hands out (see :mod:`.identity` for the rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class User:
    object_id: str
    upn: str
    display_name: str


@dataclass
class AppRegistration:
    client_id: str
    display_name: str
    secrets: tuple[str, ...]
    application_permissions: frozenset[str]  # "roles" once an administrator consented
    delegated_permissions: frozenset[str]  # "scp" a user or administrator consented to
    admin_consent: bool = True
    public_client_flows: bool = True  # device code without a secret


@dataclass
class Tenant:
    id: str
    domain: str
    display_name: str
    users: dict[str, User] = field(default_factory=dict)
    apps: dict[str, AppRegistration] = field(default_factory=dict)

    def user(self, ref: str) -> User | None:
        lowered = ref.lower()
        return next(
            (u for u in self.users.values() if lowered in (u.upn.lower(), u.object_id)), None
        )


@dataclass
class AccessGrant:
    tenant_id: str
    client_id: str
    user: User | None
    permissions: frozenset[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class RefreshGrant:
    tenant_id: str
    client_id: str
    user: User
    scopes: tuple[str, ...]
    issued_at: datetime
    last_used: datetime
    revoked: bool = False


@dataclass
class DeviceAuthorization:
    device_code: str
    user_code: str
    tenant_id: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    approved_by: User | None = None
    declined: bool = False
