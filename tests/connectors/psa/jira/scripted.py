"""A scripted Jira for unit tests: answers by (method, path) and records every request.

Not an emulator: each test states the answers it needs, so request shapes and error mapping
are seen exactly. Anything unscripted answers 599 so a test fails loudly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.psa.jira.connector import JiraConnector
from ticketbridge.connectors.psa.jira.projects import JiraCache

BASE = "https://example.atlassian.net"
TOKEN = "cloud-api-token-0123456789"
PAT = "dc-personal-access-token-987"
Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


@dataclass
class Sent:
    method: str
    path: str
    params: dict[str, list[str]]
    body: Any
    headers: httpx.Headers


@dataclass
class ScriptedJira:
    answers: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Answers in order; the last one repeats."""
        self.answers.setdefault((method, path), []).extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            params.setdefault(key, []).append(value)
        body = json.loads(request.content) if request.content else None
        self.sent.append(Sent(request.method, request.url.path, params, body, request.headers))
        queue = self.answers.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(599, text=f"unscripted {request.method} {request.url.path}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def paths(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.sent]


def config(**changes: Any) -> JiraConfig:
    settings: dict[str, Any] = {
        "base_url": BASE,
        "email": "bot@example.com",
        "api_token": TOKEN,
    } | changes
    return JiraConfig(**settings)


def datacenter(**changes: Any) -> JiraConfig:
    settings: dict[str, Any] = {
        "base_url": "https://jira.example.com",
        "deployment": "datacenter",
        "personal_access_token": PAT,
    } | changes
    return JiraConfig(**settings)


def connector(
    jira: ScriptedJira, cfg: JiraConfig | None = None, *, sleeps: list[float] | None = None
) -> JiraConnector:
    made = config() if cfg is None else cfg
    client = httpx.Client(transport=httpx.MockTransport(jira))
    slept = sleeps if sleeps is not None else []
    return JiraConnector(made, http_client=client, cache=JiraCache(), sleep=slept.append)


def issue(
    issue_id: int,
    key: str,
    *,
    status: tuple[str, str, str] = ("10000", "To Do", "new"),
    project: tuple[str, str] = ("10001", "software"),
    labels: tuple[str, ...] = (),
    reference: str | None = None,
    updated: str = "2026-01-02T10:00:00.000+0000",
    resolved: str | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": str(issue_id),
        "key": key,
        "fields": {
            "summary": "Backup failed",
            "status": {
                "id": status[0],
                "name": status[1],
                "statusCategory": {"id": 2, "key": status[2]},
            },
            "project": {"id": project[0], "key": key.split("-")[0], "projectTypeKey": project[1]},
            "labels": list(labels),
            "updated": updated,
            "resolutiondate": resolved,
        },
    }
    if reference is not None:
        found["properties"] = {"ticketbridge": {"reference": reference, "udfs": {}}}
    return found


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def jira_error(status: int, *messages: str, **errors: str) -> httpx.Response:
    return httpx.Response(status, json={"errorMessages": list(messages), "errors": errors})
