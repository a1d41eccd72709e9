"""Single sign-on rules that need no I/O: which role an ID token's claims earn, whether the
issuer left the groups out (Entra ID's overage), and a username for a first sign-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ticketbridge.core.roles import Role

# Lowest first: of several matching claim values the highest role wins.
_RANK = (Role.VIEWER, Role.REPORTER, Role.OPERATOR, Role.ADMIN)


class GroupsOmitted(ValueError):
    """The issuer did not put the groups in the token (Entra ID sends `_claim_names` instead
    of `groups` when a user is in more than 200 groups): we cannot tell the role."""


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The values of the claim at a dotted ``path``, as strings: a list claim gives its items,
    a single string or number gives itself, anything else nothing."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    items = value if isinstance(value, list) else [value]
    return [
        str(item) for item in items if isinstance(item, str | int) and not isinstance(item, bool)
    ]


def groups_omitted(claims: Mapping[str, Any], path: str) -> bool:
    """True when the token says the claim lives elsewhere (distributed claims, OpenID Connect
    Core 5.6.2: `_claim_names`) or, for Entra ID's implicit flow, `hasgroups`."""
    top = path.split(".")[0]
    names = claims.get("_claim_names")
    in_sources = isinstance(names, Mapping) and top in names
    return top not in claims and (in_sources or claims.get("hasgroups") is True)


def mapped_role(claims: Mapping[str, Any], path: str, mapping: Mapping[str, str]) -> Role | None:
    """The highest role any value of the claim maps to, or None. Raises GroupsOmitted when the
    issuer left the claim out for size, so that the refusal can say why."""
    if groups_omitted(claims, path):
        raise GroupsOmitted(
            f"the identity provider left the '{path}' claim out of the token (too many groups); "
            "assign the groups to the application, or map app roles instead"
        )
    roles = {Role(mapping[value]) for value in claim_values(claims, path) if value in mapping}
    ranked = [role for role in _RANK if role in roles]
    return ranked[-1] if ranked else None


def username_candidates(claims: Mapping[str, Any], label: str) -> list[str]:
    """Usernames to try, in order, for a user created at first sign-in: the name the issuer
    gives (preferred_username, email, name), then the same marked with the provider. The
    account is found by issuer and subject later; the name is only for people to read."""
    base = ""
    for key in ("preferred_username", "email", "name"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            base = " ".join(value.split())[:100]
            break
    if not base:
        base = f"user {str(claims.get('sub', ''))[:40]}"
    marked = f"{base} ({label[:40]})"
    return [base, marked]
