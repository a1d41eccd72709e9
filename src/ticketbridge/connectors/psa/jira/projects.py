"""Jira projects as the protocol's companies, and the picklists Jira has (docs/connector-jira.md).

Cloud searches projects server-side (``GET project/search``, offset paged, up to 50 ids per
call); Data Center has no such resource before 9.x, so it lists every project once
(``GET project?includeArchived=true``) and filters here. Archived projects are inactive
companies; projects in the trash are absent, as deleted ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ticketbridge.connectors.psa.base import CompanyPage, PicklistValue, RemoteCompany
from ticketbridge.connectors.psa.jira.client import JiraClient
from ticketbridge.connectors.psa.jira.people import ACCOUNT_TTL_SECONDS, ACCOUNTS_KEPT
from ticketbridge.connectors.psa.values import opt_int
from ticketbridge.connectors.ttl_cache import TtlCache

SERVICE_DESK = "service_desk"
IDS_PER_SEARCH = 50  # project/search's limit on repeated id parameters
_LIVE_OR_ARCHIVED = (("status", "live"), ("status", "archived"))
_CATEGORY_ORDER = {"new": 0, "indeterminate": 1, "done": 2}


@dataclass(frozen=True)
class ServiceDesk:
    """A service desk project whose organizations are the companies, with the id of the
    site's Organizations field (a custom field, so its id differs from site to site)."""

    id: str
    project_id: int
    project_key: str
    field_id: str


@dataclass
class JiraCache:
    """What a process may share between connector instances of one Jira connection: each
    project's type (whether it is a service desk), which never changes after creation, and
    the service desks found for ``organizations_of``, by site and project (refreshed with the
    reference data), and the accounts of addresses recently looked up (people.accounts), by
    site and sign-in."""

    project_types: dict[int, str] = field(default_factory=dict)
    desks: dict[tuple[str, str], ServiceDesk] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    accounts: TtlCache[tuple[str, str], dict[str, Any]] = field(
        default_factory=lambda: TtlCache(ACCOUNT_TTL_SECONDS, max_items=ACCOUNTS_KEPT)
    )

    def learn(self, project: Any) -> None:
        if not isinstance(project, dict):
            return
        project_id, kind = opt_int(project.get("id")), project.get("projectTypeKey")
        if project_id is not None and isinstance(kind, str):
            with self.lock:
                self.project_types[project_id] = kind

    def service_desk(self, project_id: int) -> bool | None:
        with self.lock:
            kind = self.project_types.get(project_id)
        return None if kind is None else kind == SERVICE_DESK


def company(project: dict[str, Any]) -> RemoteCompany:
    return RemoteCompany(
        id=int(project["id"]),
        name=str(project.get("name") or project.get("key") or ""),
        active=not project.get("archived"),
    )


class Projects:
    def __init__(self, client: JiraClient, cache: JiraCache) -> None:
        self.client = client
        self.cache = cache

    def search(self, text: str, page_size: int, cursor: str | None) -> CompanyPage:
        start = int(cursor) if cursor else 0
        if not self.client.cloud:
            matches = [p for p in self._all() if _name_has(p, text)]
            page = matches[start : start + page_size]
            more = start + page_size < len(matches)
            return CompanyPage(tuple(map(company, page)), str(start + page_size) if more else None)
        params = [("startAt", str(start)), ("maxResults", str(page_size)), ("orderBy", "id")]
        if text:
            params.append(("query", text))
        answer = self.client.call("GET", "project/search", params=params + list(_LIVE_OR_ARCHIVED))
        values = self._learned(answer.get("values") if isinstance(answer, dict) else None)
        # Jira's query also matches keys; the protocol promises names.
        items = tuple(company(p) for p in values if _name_has(p, text))
        last = not isinstance(answer, dict) or answer.get("isLast", True) or not values
        return CompanyPage(items, None if last else str(start + len(values)))

    def by_ids(self, ids: Sequence[int]) -> dict[int, RemoteCompany]:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return {}
        if not self.client.cloud:
            return {c.id: c for c in map(company, self._all()) if c.id in wanted}
        found: dict[int, RemoteCompany] = {}
        for start in range(0, len(wanted), IDS_PER_SEARCH):
            batch = wanted[start : start + IDS_PER_SEARCH]
            params = [("id", str(i)) for i in batch] + [("maxResults", str(IDS_PER_SEARCH))]
            answer = self.client.call(
                "GET", "project/search", params=params + list(_LIVE_OR_ARCHIVED)
            )
            values = self._learned(answer.get("values") if isinstance(answer, dict) else None)
            found |= {c.id: c for c in map(company, values) if c.id in batch}
        return found

    # What a ticket's company means (the same methods as Organizations): here its project.

    def refresh(self) -> None:
        """Nothing to find again: a project is its own place."""

    def issue_target(self, company_id: int) -> dict[str, Any]:
        return {"project": {"id": str(company_id)}}

    def project_of(self, company_id: int) -> int:
        return company_id

    def ticket_fields(self) -> tuple[str, ...]:
        return ()

    def company_of(self, issue: dict[str, Any]) -> int | None:
        return opt_int(((issue.get("fields") or {}).get("project") or {}).get("id"))

    def _all(self) -> list[dict[str, Any]]:
        answer = self.client.call("GET", "project", params={"includeArchived": "true"})
        return self._learned(answer)

    def _learned(self, values: Any) -> list[dict[str, Any]]:
        projects = [p for p in values or [] if isinstance(p, dict) and opt_int(p.get("id"))]
        for project in projects:
            self.cache.learn(project)
        return sorted(projects, key=lambda p: int(p["id"]))


def _name_has(project: dict[str, Any], text: str) -> bool:
    return text.casefold() in str(project.get("name") or "").casefold()


def issue_types(values: Any, default_name: str) -> tuple[PicklistValue, ...]:
    """Queues: the issue types a ticket can be created as (sub-tasks need a parent: left out)."""
    usable = [v for v in _dicts(values) if not v.get("subtask") and opt_int(v.get("id"))]
    # Team-managed projects each have their own "Task"; one name, one choice (the lowest id).
    unique: dict[str, dict[str, Any]] = {}
    for value in sorted(usable, key=lambda v: int(v["id"])):
        unique.setdefault(str(value.get("name")).casefold(), value)
    wanted = default_name.casefold()
    return tuple(
        PicklistValue(int(v["id"]), str(v.get("name")), True, k == wanted, n)
        for n, (k, v) in enumerate(unique.items())
    )


def priorities(values: Any) -> tuple[PicklistValue, ...]:
    listed = [v for v in _dicts(values) if opt_int(v.get("id"))]
    has_default = any(v.get("isDefault") for v in listed)
    middle = len(listed) // 2  # Jira lists highest first; without a flag, the middle one
    return tuple(
        PicklistValue(
            int(v["id"]),
            str(v.get("name")),
            True,
            bool(v.get("isDefault")) if has_default else n == middle,
            n,
        )
        for n, v in enumerate(listed)
    )


def statuses(values: Any) -> tuple[PicklistValue, ...]:
    """Every status with its category; the default is the first of the "new" category."""
    listed = []
    for value in _dicts(values):
        status_id = opt_int(value.get("id"))
        category = value.get("statusCategory")
        key = category.get("key") if isinstance(category, dict) else None
        if status_id is not None:
            listed.append(
                (status_id, str(value.get("name")), key if isinstance(key, str) else None)
            )
    listed.sort(key=lambda s: (_CATEGORY_ORDER.get(s[2] or "", 3), s[0]))
    return tuple(
        PicklistValue(sid, name, True, n == 0 and category == "new", n, category)
        for n, (sid, name, category) in enumerate(listed)
    )


def _dicts(values: Any) -> Iterable[dict[str, Any]]:
    return [v for v in values or [] if isinstance(v, dict)] if isinstance(values, list) else []
