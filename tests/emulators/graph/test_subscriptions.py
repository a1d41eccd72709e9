"""Change notifications end to end: the emulator validates a real loopback receiver with the
token handshake, then posts a notification to it when a message arrives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from ticketbridge.emulators.graph import DEFAULT_TOKEN, DEMO_AGENT, DEMO_MAILBOX, create_app

from .conftest import serve_on_loopback

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Prefer": 'IdType="ImmutableId"'}
WAIT_SECONDS = 10.0  # a bound on a lost notification, not a figure under test
MAIL = "From: Dana <dana@customer.example>\r\nSubject: {s}\r\nMessage-ID: <{s}@x>\r\n\r\nhi\r\n"


@dataclass
class Receiver:
    """A notification endpoint as a service desk would run one: echoes validation tokens,
    answers 202 to notifications; ``echo`` False makes it answer validations wrongly."""

    url: str = ""
    echo: bool = True
    validations: list[tuple[str, str]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def endpoint(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            self.validations.append((token, request.headers.get("content-type", "")))
            return PlainTextResponse(token if self.echo else "wrong")
        self.notifications.append(await request.json())
        self.arrived.set()
        return Response(status_code=202)

    def wait(self) -> dict[str, Any]:
        assert self.arrived.wait(WAIT_SECONDS), "no notification arrived"
        self.arrived.clear()
        return self.notifications[-1]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    app = Starlette(routes=[Route("/graph/notify", found.endpoint, methods=["POST"])])
    with serve_on_loopback(app) as url:
        found.url = f"{url}/graph/notify"
        yield found


@pytest.fixture
def graph() -> Iterator[TestClient]:
    with TestClient(create_app(seed="empty"), base_url="https://graph.test") as client:
        yield client


def _in(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _subscribe(graph: TestClient, url: str, **overrides: Any) -> Any:
    body = {
        "changeType": "created",
        "notificationUrl": url,
        "resource": f"users/{DEMO_MAILBOX}/mailFolders('inbox')/messages",
        "expirationDateTime": _in(60),
        "clientState": "desk-secret",
        **overrides,
    }
    return graph.post("/v1.0/subscriptions", json=body, headers=AUTH)


def _deliver(graph: TestClient, subject: str, folder: str = "inbox") -> dict[str, Any]:
    url = f"/_emulator/mailboxes/{DEMO_MAILBOX}/folders/{folder}/messages"
    return dict(graph.post(url, content=MAIL.format(s=subject).encode()).json())


def test_creating_a_subscription_validates_the_endpoint_with_the_token_handshake(
    graph: TestClient, receiver: Receiver
) -> None:
    created = _subscribe(graph, receiver.url)

    assert created.status_code == 201, created.text
    assert created.json()["clientState"] == "desk-secret"
    ((token, content_type),) = receiver.validations
    assert token.startswith("Validation: Testing client application reachability")
    assert content_type.startswith("text/plain")


def test_an_endpoint_that_does_not_echo_the_token_gets_no_subscription(
    graph: TestClient, receiver: Receiver
) -> None:
    receiver.echo = False

    refused = _subscribe(graph, receiver.url)
    unreachable = _subscribe(graph, "http://127.0.0.1:9/graph/notify")

    assert refused.status_code == unreachable.status_code == 400
    assert "Subscription validation request failed" in refused.json()["error"]["message"]
    assert graph.get("/v1.0/subscriptions", headers=AUTH).json()["value"] == []


def test_a_new_message_in_the_watched_folder_is_notified_with_its_id(
    graph: TestClient, receiver: Receiver
) -> None:
    subscription = _subscribe(graph, receiver.url).json()
    _deliver(graph, "archived-first", folder="archive")
    added = _deliver(graph, "new-ticket")

    batch = receiver.wait()

    (note,) = batch["value"]
    assert note["subscriptionId"] == subscription["id"]
    assert (note["changeType"], note["clientState"]) == ("created", "desk-secret")
    assert note["resourceData"]["id"] == added["id"]  # the immutable id it was created with
    assert receiver.notifications == [batch]  # the archive folder was not watched


def test_a_mail_sent_from_another_sandbox_mailbox_is_notified(
    graph: TestClient, receiver: Receiver
) -> None:
    _subscribe(graph, receiver.url)
    message = {
        "subject": "internal escalation",
        "toRecipients": [{"emailAddress": {"address": DEMO_MAILBOX}}],
    }
    sent = graph.post(f"/v1.0/users/{DEMO_AGENT}/sendMail", json={"message": message}, headers=AUTH)

    note = receiver.wait()["value"][0]

    assert sent.status_code == 202
    got = graph.get(
        f"/v1.0/users/{DEMO_MAILBOX}/messages/{note['resourceData']['id']}", headers=AUTH
    )
    assert got.json()["subject"] == "internal escalation"


def test_a_subscription_is_renewed_within_the_limit_and_ends_when_deleted(
    graph: TestClient, receiver: Receiver
) -> None:
    subscription = _subscribe(graph, receiver.url).json()
    url = f"/v1.0/subscriptions/{subscription['id']}"

    renewed = graph.patch(url, json={"expirationDateTime": _in(7 * 24 * 60 - 5)}, headers=AUTH)
    too_far = graph.patch(url, json={"expirationDateTime": _in(7 * 24 * 60 + 5)}, headers=AUTH)
    deleted = graph.delete(url, headers=AUTH)
    _deliver(graph, "after-the-end")

    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > subscription["expirationDateTime"]
    assert too_far.status_code == 400
    assert deleted.status_code == 204
    assert graph.get(url, headers=AUTH).status_code == 404
    # In process, the emulator's background posts finish before its answer returns.
    assert graph.get("/_emulator/notifications").json() == []
