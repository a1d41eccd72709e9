"""A scripted stand-in for Autotask behind httpx.MockTransport, with answers shaped as the
reference documents them. For unit tests of one behaviour at a time; the contract suite runs
against the real emulator."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from ticketbridge.connectors.psa.autotask.client import AutotaskCache
from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig, AutotaskConnector

ZONE_URL = "https://webservices14.autotask.net/ATServicesRest/"
API = "https://webservices14.autotask.net/ATServicesRest/V1.0"
SECRET = "s3cret-Value-42"
CODE = "TRACKINGCODE27CHARSXXXXXXXX"
USER = "api.user@example.com"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def errors(status: int, *messages: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"errors": list(messages)}, headers=headers)


def picklist_field(name: str, values: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {
        "name": name,
        "dataType": "integer" if values is not None else "string",
        "length": 0,
        "isPickList": values is not None,
        "picklistValues": values,
        "picklistParentValueField": "",
    }


def value(
    v: str, label: str, *, order: int, default: bool = False, active: bool = True
) -> dict[str, Any]:
    return {
        "value": v,
        "label": label,
        "isDefaultValue": default,
        "sortOrder": order,
        "parentValue": "",
        "isActive": active,
        "isSystem": False,
    }


TICKET_FIELDS = {
    "fields": [
        picklist_field("id", None),
        picklist_field(
            "queueID",
            [
                value("29683482", "Helpdesk", order=2, default=True),
                value("29683483", "Monitoring", order=1),
                value("29683484", "Retired", order=3, active=False),
            ],
        ),
        picklist_field("source", [value("8", "Monitoring Alert", order=1, default=True)]),
        picklist_field(
            "status",
            [value("1", "New", order=1, default=True), value("5", "Complete", order=5)],
        ),
        picklist_field(
            "priority",
            [
                value("1", "High", order=1),
                value("2", "Medium", order=2, default=True),
                value("x", "Broken", order=9),
            ],
        ),
    ]
}
NOTE_FIELDS = {
    "fields": [
        picklist_field("noteType", [value("1", "Summary", order=1, default=True)]),
        picklist_field(
            "publish",
            [
                value("1", "All Autotask Users", order=1, default=True),
                value("2", "Internal Users", order=2),
                value("4", "Internal & Co-Managed", order=3),
            ],
        ),
        {**picklist_field("description", None), "length": 3200},
    ]
}


class ApiDouble:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._routes: list[tuple[str, re.Pattern[str], list[Answer]]] = []
        self.zone_url = ZONE_URL
        self.on("GET", r".*/zoneInformation", lambda r: httpx.Response(200, json=self._zone()))

    def _zone(self) -> dict[str, Any]:
        return {"zoneName": "AE02", "url": self.zone_url, "webUrl": "https://ww14.autotask.net/"}

    def on(self, method: str, pattern: str, *answers: Answer) -> None:
        """Answer matching requests with ``answers`` in turn; the last one repeats."""
        self._routes.insert(0, (method, re.compile(pattern + "$", re.I), list(answers)))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url).split("?", 1)[0]
        for method, pattern, answers in self._routes:
            if method == request.method and pattern.match(url):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                return answer(request) if callable(answer) else answer
        return httpx.Response(404, json={"Message": "No HTTP resource was found."})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_connector(
    api: ApiDouble,
    *,
    sleeps: Sleeps | None = None,
    cache: AutotaskCache | None = None,
    **config: Any,
) -> AutotaskConnector:
    settings: dict[str, Any] = {
        "username": USER,
        "secret": SECRET,
        "integration_code": CODE,
    } | config
    return AutotaskConnector(
        AutotaskConfig(**settings),
        http_client=api.client(),
        cache=cache,
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=lambda: 1_700_000_000.0,
    )
