"""Jira Service Management organizations as the protocol's companies, when the connection
names a service desk project (``organizations_of``; docs/connector-jira.md).

The service desk is found once by its project in ``GET /rest/servicedeskapi/servicedesk`` and
the Organizations field (a custom field of type ``sd-customer-organizations``) in ``GET field``;
both are kept in the ``JiraCache`` and found again when the reference data is refreshed. A
project the service desk list does not name is not a service desk: every path that needs the
desk says so with a ``ConnectorConfigError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ticketbridge.connectors.errors import ConnectorConfigError, RemoteNotFound
from ticketbridge.connectors.psa.base import CompanyPage, RemoteCompany
from ticketbridge.connectors.psa.jira.client import JiraClient
from ticketbridge.connectors.psa.jira.projects import SERVICE_DESK, JiraCache, ServiceDesk
from ticketbridge.connectors.psa.values import opt_int

FIELD_TYPE = "com.atlassian.servicedesk:sd-customer-organizations"
DESK_PAGE = 50  # the service desk API's default and usual maximum page
# The organization resources were experimental in JSM's REST API for years; Jira ignores the
# opt-in header where a resource is no longer experimental, and needs it where it still is.
EXPERIMENTAL = {"X-ExperimentalApi": "opt-in"}


class Organizations:
    def __init__(self, client: JiraClient, cache: JiraCache, project: str) -> None:
        self.client = client
        self.cache = cache
        self.project = project
        self.root = f"{client.base}/rest/servicedeskapi"
        self._key = (client.base, project.casefold())

    def desk(self, *, fresh: bool = False) -> ServiceDesk:
        """The service desk and the Organizations field: cached, or two requests (more only
        with over 50 service desks)."""
        if not fresh:
            with self.cache.lock:
                known = self.cache.desks.get(self._key)
            if known is not None:
                return known
        desk_id, project_id, project_key = self._find_desk()
        found = ServiceDesk(desk_id, project_id, project_key, self._field_id())
        self.cache.learn({"id": str(project_id), "projectTypeKey": SERVICE_DESK})
        with self.cache.lock:
            self.cache.desks[self._key] = found
        return found

    # What a ticket's company means (the same methods as Projects): an organization of the
    # desk, carried in the Organizations field of an issue in the desk's project.

    def refresh(self) -> None:
        """Find the desk and the field again (with the reference data): fails, saying so,
        when the project is no longer a service desk."""
        self.desk(fresh=True)

    def issue_target(self, company_id: int) -> dict[str, Any]:
        desk = self.desk()
        return {"project": {"id": str(desk.project_id)}, desk.field_id: [company_id]}

    def project_of(self, company_id: int) -> int:
        return self.desk().project_id

    def ticket_fields(self) -> tuple[str, ...]:
        return (self.desk().field_id,)

    def company_of(self, issue: dict[str, Any]) -> int | None:
        return organization_of(issue, self.desk().field_id)

    def search(self, text: str, page_size: int, cursor: str | None) -> CompanyPage:
        """One page of the desk's organizations (Jira filters them by nothing but a member's
        account), so the name filter is applied here and a page may hold fewer than it read."""
        desk = self.desk()
        start = int(cursor) if cursor else 0
        page = self._get(
            f"servicedesk/{desk.id}/organization", start=start, limit=max(1, page_size)
        )
        values = [v for v in page.get("values") or [] if isinstance(v, dict)]
        wanted = text.casefold()
        items = tuple(
            company(v)
            for v in values
            if opt_int(v.get("id")) is not None and wanted in str(v.get("name") or "").casefold()
        )
        last = page.get("isLastPage", True) is not False or not values
        return CompanyPage(items, None if last else str(start + len(values)))

    def by_ids(self, ids: Sequence[int]) -> dict[int, RemoteCompany]:
        """``GET organization/{id}`` per id: JSM has no read of several organizations by id
        (only whole lists), and a 404 is an organization deleted."""
        found: dict[int, RemoteCompany] = {}
        for organization_id in dict.fromkeys(int(i) for i in ids):
            try:
                answer = self.client.call(
                    "GET", f"organization/{organization_id}", root=self.root, headers=EXPERIMENTAL
                )
            except RemoteNotFound:
                continue
            if isinstance(answer, dict) and opt_int(answer.get("id")) == organization_id:
                found[organization_id] = company(answer)
        return found

    def _find_desk(self) -> tuple[str, int, str]:
        wanted = self.project.casefold()
        start = 0
        while True:
            try:
                page = self._get("servicedesk", start=start, limit=DESK_PAGE)
            except RemoteNotFound:
                raise ConnectorConfigError(
                    f"Jira project {self.project} is not a service desk: this Jira has no "
                    "Jira Service Management, so it has no organizations to map customers to."
                ) from None
            values = [v for v in page.get("values") or [] if isinstance(v, dict)]
            for desk in values:
                key, project_id = str(desk.get("projectKey") or ""), opt_int(desk.get("projectId"))
                if project_id is not None and wanted in (key.casefold(), str(project_id)):
                    return str(desk.get("id")), project_id, key
            if page.get("isLastPage", True) is not False or not values:
                break
            start += len(values)
        raise ConnectorConfigError(
            f"Jira project {self.project} is not a service desk (Jira Service Management lists "
            "no service desk for it), so it has no organizations to map customers to. Name a "
            "service desk project, or leave 'Organizations of' empty to map customers to projects."
        )

    def _field_id(self) -> str:
        for field in self.client.call("GET", "field") or []:
            schema = field.get("schema") if isinstance(field, dict) else None
            if isinstance(schema, dict) and schema.get("custom") == FIELD_TYPE:
                return str(field["id"])
        raise ConnectorConfigError(
            "Jira lists no Organizations field (Jira Service Management's "
            "sd-customer-organizations), so a ticket cannot carry its organization."
        )

    def _get(self, path: str, *, start: int, limit: int) -> dict[str, Any]:
        params = {"start": str(start), "limit": str(limit)}
        answer = self.client.call("GET", path, params=params, root=self.root, headers=EXPERIMENTAL)
        return answer if isinstance(answer, dict) else {}


def company(organization: dict[str, Any]) -> RemoteCompany:
    """An organization has no inactive state in Jira: it exists (active) or is gone."""
    return RemoteCompany(int(organization["id"]), str(organization.get("name") or ""), True)


def organization_of(issue: dict[str, Any], field_id: str) -> int | None:
    """The first organization an issue's Organizations field holds (ids or objects)."""
    for value in (issue.get("fields") or {}).get(field_id) or []:
        found = opt_int(value.get("id") if isinstance(value, dict) else value)
        if found is not None:
            return found
    return None
