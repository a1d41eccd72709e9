"""The product and the Autotask emulator wired both ways for round-trip tests.

The product reaches the emulator through ``Runtime.psa_transport``; the emulator's callouts and
webhooks go out through :class:`Relay`, which records each delivery and hands it to a target:
the round-trip services directly (:func:`to_services`) or the product's web app
(:func:`to_app`). The emulator runs on the product's clock, so last activities, watermarks and
retry intervals all move together when a test advances it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.services.autotask_world import BASE_URL, EMULATOR_URL, AutotaskWorld
from tests.services.tickets.support import Clock
from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    InProcessTransport,
    create_app,
)
from ticketbridge.services.roundtrip import Incoming, callout_batch, config, webhooks
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing
from ticketbridge.storage.models import AuditEvent, HookRequest

Target = Callable[[httpx.Request], httpx.Response]
HOOK = re.compile(
    r"^/hooks/autotask/(?:callouts/(?P<name>[^/]+)|webhooks/(?P<id>\d+)(?P<off>/deactivated)?)$"
)
API_HEADERS = {
    "UserName": DEMO_API_USER,
    "Secret": DEMO_API_SECRET,
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
}
TARA = "Tara Technician"  # resource 31: the emulator's admin edits act as her


class Relay:
    """The emulator's outbound transport."""

    def __init__(self) -> None:
        self.target: Target | None = None
        self.requests: list[httpx.Request] = []
        self.answers: list[int] = []
        # Answer the emulator this status whatever the product said (to make it retry).
        self.force_status: int | None = None
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        response = self.target(request) if self.target is not None else httpx.Response(200)
        self.answers.append(response.status_code)
        if self.force_status is not None:
            return httpx.Response(self.force_status)
        return response


class HookWorld(AutotaskWorld):
    """An emulator on the given clock whose hooks go through a Relay."""

    def __init__(self, clock: Clock) -> None:
        self.relay = Relay()
        self.transport = InProcessTransport(
            create_app(seed="demo", clock=clock, outbound_client=self.relay.transport)
        )
        self.http = httpx.Client(transport=self.transport, base_url=EMULATOR_URL)

    def deliver(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self.admin("POST", "hooks/deliver")["results"]
        return results

    def set_status(self, ticket_id: int, status: int) -> None:
        self.admin("PATCH", f"tickets/{ticket_id}", {"status": status})

    def api(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(
            method, f"/atservicesrest/v1.0/{path}", json=body, headers=API_HEADERS
        )
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def add_callout(self, name: str, password: str, **options: Any) -> None:
        self.admin(
            "POST",
            "callouts",
            {
                "url": config.callout_url(BASE_URL, name),
                "username": options.pop("username", "autotask"),
                "password": password,
            }
            | options,
        )


def to_services(runtime: Runtime) -> Target:
    """Deliveries straight into the round-trip services (no web layer)."""

    def handle(request: httpx.Request) -> httpx.Response:
        incoming = Incoming.of(
            request.method, request.url.query.decode(), request.headers, request.content
        )
        match = HOOK.match(request.url.path)
        if match is None:
            return httpx.Response(404)
        if match["name"]:
            answer = callout_batch.receive(runtime, match["name"], incoming)
        elif match["off"]:
            answer = webhooks.deactivated(runtime, int(match["id"]), incoming)
        else:
            answer = webhooks.receive(runtime, int(match["id"]), incoming)
        return httpx.Response(answer.status, text=answer.message, headers=answer.headers)

    return handle


def to_app(client: TestClient) -> Target:
    """Deliveries into the product's web app, as Autotask would send them."""

    def handle(request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        path = url.path + (f"?{url.query}" if url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        answer = client.request(request.method, path, headers=headers, content=request.content)
        return httpx.Response(answer.status_code, content=answer.content)

    return handle


def new_ticket(runtime: Runtime, run_id: int) -> int:
    result = ticketing.create(runtime, run_id, actor="olivia")
    assert result.link.ticket_id is not None
    return int(result.link.ticket_id)


def make_callout(
    runtime: Runtime, world: HookWorld, name: str = "autotask", fmt: str = "name_value", **emu: Any
) -> str:
    """The callout configured on both sides; its password."""
    with runtime.session_factory() as session:
        _, password = config.create_callout(
            session, runtime.secret_box, name=name, username="autotask", fmt=fmt,
            udf_filter=None, actor="test", now=runtime.clock(),
        )  # fmt: skip
        session.commit()
    world.add_callout(name, password, format=fmt, **emu)
    return password


def hook_requests(runtime: Runtime, channel: str | None = None) -> list[HookRequest]:
    with runtime.session_factory() as session:
        query = select(HookRequest).order_by(HookRequest.id)
        if channel:
            query = query.where(HookRequest.channel == channel)
        return list(session.scalars(query))


def roundtrip_audits(runtime: Runtime) -> list[AuditEvent]:
    with runtime.session_factory() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "ticket.roundtrip")
                .order_by(AuditEvent.id)
            )
        )
