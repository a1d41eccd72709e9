from __future__ import annotations

from typing import Any

import pytest

from ticketbridge.core.roles import Role
from ticketbridge.core.sso import GroupsOmitted, mapped_role, username_candidates

MAPPING = {"g-admins": "admin", "g-ops": "operator", "example.com": "viewer", "7": "reporter"}


@pytest.mark.parametrize(
    ("claims", "path", "role"),
    [
        ({"groups": ["g-ops", "g-admins", "other"]}, "groups", Role.ADMIN),  # highest wins
        ({"groups": ["other"]}, "groups", None),
        ({"groups": []}, "groups", None),
        ({}, "groups", None),
        ({"hd": "example.com"}, "hd", Role.VIEWER),  # a single string (Google's domain)
        ({"realm_access": {"roles": ["g-ops"]}}, "realm_access.roles", Role.OPERATOR),
        ({"realm_access": "g-ops"}, "realm_access.roles", None),
        ({"groups": [7, True, None, {"x": 1}]}, "groups", Role.REPORTER),  # odd items skipped
        ({"groups": "g-admins"}, "groups", Role.ADMIN),
    ],
)
def test_the_role_is_the_highest_any_claim_value_maps_to(
    claims: dict[str, Any], path: str, role: Role | None
) -> None:
    assert mapped_role(claims, path, MAPPING) is role


def test_groups_left_out_for_size_are_told_apart_from_no_groups() -> None:
    overage = {"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {}}}
    with pytest.raises(GroupsOmitted, match="left the 'groups' claim out"):
        mapped_role(overage, "groups", MAPPING)
    with pytest.raises(GroupsOmitted):
        mapped_role({"hasgroups": True}, "groups", MAPPING)
    # Another claim read for roles is not affected by the groups overage.
    assert mapped_role({**overage, "roles": ["g-ops"]}, "roles", MAPPING) is Role.OPERATOR


def test_usernames_come_from_the_issuers_names_then_are_marked_with_the_provider() -> None:
    assert username_candidates({"preferred_username": " ada@x ", "email": "e"}, "Entra") == [
        "ada@x",
        "ada@x (Entra)",
    ]
    assert username_candidates({"sub": "abc", "name": ""}, "Google") == [
        "user abc",
        "user abc (Google)",
    ]
