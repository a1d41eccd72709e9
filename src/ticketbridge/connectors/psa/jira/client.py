"""Jira REST transport: authentication, URLs per deployment, Jira's error bodies, JQL paging.

Jira answers errors as ``{"errorMessages": [...], "errors": {"field": "text"}}``; both parts
are kept in the error's message (``remote_messages`` holds the list part, as the HTTP channel
reads it). Paging: Cloud's ``/rest/api/3/search/jql`` by ``nextPageToken`` (the offset
``/search`` answers 410 there since CHANGE-2046, 2025), Data Center's ``/rest/api/2/search``
by ``startAt``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlencode

import httpx

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermissionError,
    ConnectorUnavailable,
    RemoteNotFound,
    RemoteRejected,
    RemoteTooLarge,
)
from ticketbridge.connectors.governor import Governor
from ticketbridge.connectors.http import HttpChannel
from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.redaction import Redactor
from ticketbridge.connectors.ttl_cache import TtlCache
from ticketbridge.core.psa_governor import Priority

SERVICE = "Jira"
PAGE_SIZE = 100
_MESSAGE_CHARS = 300


class JiraGate:
    """One governor slot per REST resource (``issue``, ``search``, ...). Jira publishes no
    hourly budget for API-token traffic (burst limits only, answered 429), so slots only."""

    def __init__(self, governor: Governor, priority: Priority) -> None:
        self.governor = governor
        self.priority = priority

    def hold(self, method: str, url: str, *, wait: float) -> AbstractContextManager[object]:
        parts = [p for p in httpx.URL(url).path.split("/") if p]
        if len(parts) < 4 or parts[0] != "rest":
            return nullcontext()
        return self.governor.slot(parts[3], self.priority, wait=wait, budgeted=False)


def error_text(response: httpx.Response) -> str:
    """errorMessages and field errors of a Jira error body, joined."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    found = [m for m in body.get("errorMessages") or [] if isinstance(m, str) and m.strip()]
    errors = body.get("errors")
    if isinstance(errors, dict):
        found += [f"{k}: {v}" for k, v in errors.items() if isinstance(v, str)]
    for key in ("errorMessage", "message"):  # the service desk API's shapes
        if not found and isinstance(body.get(key), str):
            found.append(body[key])
    return "; ".join(m.strip() for m in found)[:_MESSAGE_CHARS]


class JiraErrors:
    """The channel's error hook: Jira's statuses with its own texts kept, redacted."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(
        self, response: httpx.Response, messages: tuple[str, ...]
    ) -> ConnectorError | None:
        status = response.status_code
        text = self.redactor.text(error_text(response))
        detail = f": {text}" if text else "."
        if status == 401:
            return ConnectorAuthError(f"Jira refused the credentials (HTTP 401){detail}")
        if status == 403:
            return ConnectorPermissionError(f"The Jira user lacks permission (HTTP 403){detail}")
        if status == 404:
            return RemoteNotFound(f"Jira reports no such object (HTTP 404){detail}")
        if status == 413:
            return RemoteTooLarge(f"Jira refused the file as too large (HTTP 413){detail}")
        if status == 410:
            return ConnectorConfigError(f"Jira has removed this API (HTTP 410){detail}")
        if status in (400, 409, 422):
            return RemoteRejected(f"Jira rejected the request (HTTP {status}){detail}")
        if status == 429:
            return ConnectorUnavailable(f"Jira is throttling requests (HTTP 429){detail}")
        if status >= 500:
            return ConnectorUnavailable(f"Jira is unavailable (HTTP {status}){detail}")
        return None


class JiraClient:
    def __init__(
        self,
        channel: HttpChannel,
        config: JiraConfig,
        *,
        accounts: TtlCache[tuple[str, str], dict[str, Any]] | None = None,
    ) -> None:
        self.channel = channel
        self.config = config
        # Accounts by address, as recently looked up (people.accounts); None: always asked.
        self.accounts = accounts
        self.base = config.base_url
        self.api = f"{self.base}/rest/api/{config.rest_version}"
        self.cloud = config.deployment == "cloud"
        self.headers = {"Accept": "application/json", **_auth_header(config)}

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        read: bool = False,
        timeout: float | None = None,
        root: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One request to ``{root or the REST api}/{path}``; the JSON answer (None when empty).
        ``read`` marks a POST that only reads (a search), so it may be retried."""
        url = f"{root or self.api}/{path}"
        if params:
            # Built here: some Jira parameters repeat (project/search?id=1&id=2).
            pairs = list(params.items()) if isinstance(params, Mapping) else params
            url = f"{url}?{urlencode(pairs)}"
        response = self.channel.request(
            method,
            url,
            json=json,
            headers={**self.headers, **headers} if headers else self.headers,
            idempotent=True if read else None,
            timeout=timeout,
        )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConnectorConfigError(
                f"Jira answered {method} {path} with something other than JSON; "
                "check the Jira address.",
                status_code=response.status_code,
            ) from None

    def search(
        self,
        jql: str,
        *,
        fields: Sequence[str],
        properties: Sequence[str] = (),
        reconcile: Sequence[int] = (),
        page_size: int = PAGE_SIZE,
        expand: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Every issue the JQL matches, page by page. ``expand`` (``changelog``) comes with
        each page: Cloud's search/jql takes it as one comma-separated string, Data Center's
        search as a list."""
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": page_size}
        if properties:
            body["properties"] = list(properties)
        if expand:
            body["expand"] = ",".join(expand) if self.cloud else list(expand)
        if self.cloud:
            if reconcile:
                body["reconcileIssues"] = list(reconcile)
            yield from self._search_tokens(body)
        else:
            yield from self._search_offsets(body)

    def _search_tokens(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        while True:
            page = self.call("POST", "search/jql", json=body, read=True) or {}
            yield from _issues(page)
            token = page.get("nextPageToken")
            if not token or page.get("isLast") is True:
                return
            if token in seen:
                raise ConnectorUnavailable("Jira repeated a search page token; paging stopped.")
            seen.add(token)
            body = body | {"nextPageToken": token}

    def _search_offsets(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        # validateQuery=warn: an id that no longer exists is a warning, not a 400.
        body = body | {"startAt": 0, "validateQuery": "warn"}
        while True:
            page = self.call("POST", "search", json=body, read=True) or {}
            issues = _issues(page)
            yield from issues
            start = int(body["startAt"]) + len(issues)
            total = page.get("total")
            if not issues or (isinstance(total, int) and start >= total):
                return
            body = body | {"startAt": start}


def _issues(page: Any) -> list[dict[str, Any]]:
    found = page.get("issues") if isinstance(page, dict) else None
    return [i for i in found or [] if isinstance(i, dict)]


def _auth_header(config: JiraConfig) -> dict[str, str]:
    if config.deployment == "datacenter":
        assert config.personal_access_token is not None
        return {"Authorization": f"Bearer {config.personal_access_token.get_secret_value()}"}
    assert config.api_token is not None and config.email
    pair = f"{config.email}:{config.api_token.get_secret_value()}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


def redactor_for(config: JiraConfig) -> Redactor:
    """Masks the token, the PAT and the encoded Basic pair wherever they could appear."""
    values = config.secrets()
    values += [v.split(" ", 1)[1] for v in _auth_header(config).values()]
    return Redactor(values)
