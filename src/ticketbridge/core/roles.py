"""Roles and what each may do. The web layer asks these questions; it never compares roles."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    REPORTER = "reporter"
    OPERATOR = "operator"
    ADMIN = "admin"


class Permission(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    READ = "read"  # runs, jobs, customers, tickets: everything an operator sees
    REVIEW = "review"  # review runs, ticket actions
    INGEST = "ingest"  # report runs through the API or an import
    ADMIN = "admin"  # settings, users, tokens, customers, audit log


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW_DASHBOARD}),
    Role.REPORTER: frozenset({Permission.VIEW_DASHBOARD, Permission.READ}),
    Role.OPERATOR: frozenset(
        {Permission.VIEW_DASHBOARD, Permission.READ, Permission.REVIEW, Permission.INGEST}
    ),
    Role.ADMIN: frozenset(Permission),
}


def can(role: Role, permission: Permission) -> bool:
    return permission in _GRANTS[role]


def ingest_creates_customers(role: Role) -> bool:
    """Whether runs reported by this role create the customers they name unless told otherwise:
    only for those who manage customers. An operator's report naming an unknown customer is
    refused with the close matches, so a typo never becomes a customer (issue 11)."""
    return can(role, Permission.ADMIN)
