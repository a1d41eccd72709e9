"""Checklist item 8 and issue item 10: ticket webhooks and extension callouts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import xmlrpc.client
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from defusedxml import ElementTree
from starlette.testclient import TestClient

from ticketbridge.emulators.autotask.entities import webhook_field_ids

from .conftest import Api, FakeClock

SECRET = "s3cret-key"
FIELD_IDS = {name: fid for fid, name in webhook_field_ids().items()}


class Receiver:
    """An outbound transport that records requests and answers with a chosen status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(self.status)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def hooked(make_client: Callable[..., TestClient], receiver: Receiver) -> TestClient:
    return make_client(outbound_client=receiver.transport)


def _deliver(client: TestClient) -> list[dict[str, Any]]:
    response = client.post("/_emulator/hooks/deliver")
    assert response.status_code == 200
    return list(response.json()["results"])


def _webhook(api: Api, subscribed: list[str], always: list[str] = ()) -> dict[str, Any]:
    created = api.post(
        "/TicketWebhooks",
        {
            "name": "bridge",
            "webhookUrl": "https://receiver.test/hook",
            "deactivationUrl": "https://receiver.test/deactivated",
            "secretKey": SECRET,
            "isActive": True,
            "isSubscribedToCreateEvents": True,
            "isSubscribedToUpdateEvents": True,
            "isSubscribedToDeleteEvents": True,
        },
    )
    assert created.status_code == 200, created.text
    webhook_id = created.json()["itemId"]
    assert api.get(f"/TicketWebhooks/{webhook_id}").json()["item"]["isReady"] is False
    for name in subscribed:
        response = api.post(
            f"/TicketWebhooks/{webhook_id}/Fields",
            {
                "fieldID": FIELD_IDS[name],
                "isSubscribedField": True,
                "isDisplayAlwaysField": name in always,
                "webhookID": webhook_id,
            },
        )
        assert response.status_code == 200, response.text
    for name in set(always) - set(subscribed):
        api.post(
            f"/TicketWebhooks/{webhook_id}/Fields",
            {"fieldID": FIELD_IDS[name], "isSubscribedField": False, "isDisplayAlwaysField": True},
        )
    return dict(api.get(f"/TicketWebhooks/{webhook_id}").json()["item"])


def _verify(request: httpx.Request) -> None:
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), request.content, hashlib.sha1).digest()
    ).decode()
    assert request.headers["X-Hook-Signature"] == f"sha1={expected}"


def test_webhook_fields_picklist_lists_ticket_fields(api: Api) -> None:
    fields = api.get("/TicketWebhookFields/entityInformation/fields").json()["fields"]
    field = next(f for f in fields if f["name"] == "fieldID")
    labels = {v["label"] for v in field["picklistValues"]}
    assert {"status", "ticketNumber", "title"} <= labels


def test_create_event_is_signed_pascal_case_payload(hooked: TestClient, receiver: Receiver) -> None:
    api = Api(hooked)
    webhook = _webhook(api, ["status", "ticketNumber"])
    assert webhook["isReady"] is True
    ticket_id = api.create_ticket()
    assert receiver.requests == []
    results = _deliver(hooked)
    assert [r["ok"] for r in results] == [True]
    (request,) = receiver.requests
    _verify(request)
    payload = json.loads(request.content)
    assert payload["Action"] == "Create"
    assert payload["Guid"] == webhook["webhookGUID"]
    assert payload["EntityType"] == "Ticket" and payload["Id"] == ticket_id
    assert payload["Fields"] == {"Status": "1", "TicketNumber": "T20260302.0001"}
    assert payload["EventTime"] == "2026-03-02T14:30:00Z"
    assert payload["SequenceNumber"] == 1 and payload["PersonID"] == 29


def test_update_fires_only_for_subscribed_fields(hooked: TestClient, receiver: Receiver) -> None:
    api = Api(hooked)
    _webhook(api, ["status", "ticketNumber"], always=["ticketNumber"])
    ticket_id = api.create_ticket()
    _deliver(hooked)
    api.patch("/Tickets", {"id": ticket_id, "title": "not watched"})
    assert _deliver(hooked) == []
    api.patch("/Tickets", {"id": ticket_id, "status": 5})
    _deliver(hooked)
    payload = receiver.bodies()[-1]
    assert payload["Action"] == "Update"
    assert payload["Fields"] == {"Status": "5", "TicketNumber": "T20260302.0001"}
    assert payload["SequenceNumber"] == 2


def test_delete_in_the_ui_sends_a_delete_event(hooked: TestClient, receiver: Receiver) -> None:
    api = Api(hooked)
    _webhook(api, ["status"])
    ticket_id = api.create_ticket()
    hooked.delete(f"/_emulator/tickets/{ticket_id}")
    _deliver(hooked)
    assert [(b["Action"], b["Fields"]) for b in receiver.bodies()] == [
        ("Create", {"Status": "1"}),
        ("Delete", {}),
    ]


def test_signed_body_uses_dotnet_escaping(hooked: TestClient, receiver: Receiver) -> None:
    api = Api(hooked)
    _webhook(api, ["title"])
    api.create_ticket(title="A&B <x> 'q' \"d\" 1+1 café")
    _deliver(hooked)
    (request,) = receiver.requests
    _verify(request)
    raw = request.content.decode("ascii")
    assert "A\\u0026B \\u003Cx\\u003E \\u0027q\\u0027 \\u0022d\\u0022 1\\u002B1 caf\\u00E9" in raw
    assert json.loads(raw)["Fields"]["Title"] == "A&B <x> 'q' \"d\" 1+1 café"


def test_webhook_is_deactivated_after_25_consecutive_failures(
    hooked: TestClient, receiver: Receiver
) -> None:
    api = Api(hooked)
    webhook = _webhook(api, ["title"])
    ticket_id = api.create_ticket()
    _deliver(hooked)
    receiver.status = 500
    for i in range(24):
        api.patch("/Tickets", {"id": ticket_id, "title": f"t{i}"})
    _deliver(hooked)
    assert api.get(f"/TicketWebhooks/{webhook['id']}").json()["item"]["isActive"] is True
    api.patch("/Tickets", {"id": ticket_id, "title": "last straw"})
    _deliver(hooked)
    assert api.get(f"/TicketWebhooks/{webhook['id']}").json()["item"]["isActive"] is False
    _deliver(hooked)
    notice = receiver.requests[-1]
    assert str(notice.url) == "https://receiver.test/deactivated"
    assert json.loads(notice.content)["Action"] == "Deactivated"
    _verify(notice)
    receiver.status = 200
    api.patch("/Tickets", {"id": ticket_id, "title": "ignored"})
    assert _deliver(hooked) == []


def test_success_resets_the_failure_count(hooked: TestClient, receiver: Receiver) -> None:
    api = Api(hooked)
    webhook = _webhook(api, ["title"])
    ticket_id = api.create_ticket()
    receiver.status = 500
    for i in range(20):
        api.patch("/Tickets", {"id": ticket_id, "title": f"a{i}"})
    _deliver(hooked)
    receiver.status = 200
    api.patch("/Tickets", {"id": ticket_id, "title": "ok"})
    _deliver(hooked)
    receiver.status = 500
    for i in range(20):
        api.patch("/Tickets", {"id": ticket_id, "title": f"b{i}"})
    _deliver(hooked)
    assert api.get(f"/TicketWebhooks/{webhook['id']}").json()["item"]["isActive"] is True


def test_excluded_resources_suppress_echoes(hooked: TestClient, receiver: Receiver) -> None:
    api = Api(hooked)
    webhook = _webhook(api, ["status"])
    excluded = api.post(f"/TicketWebhooks/{webhook['id']}/ExcludedResources", {"resourceID": 29})
    assert excluded.status_code == 200, excluded.text
    ticket_id = api.create_ticket()
    assert _deliver(hooked) == []
    hooked.patch(f"/_emulator/tickets/{ticket_id}", json={"status": 5})
    _deliver(hooked)
    assert [b["PersonID"] for b in receiver.bodies()] == [31]


def _callout(client: TestClient, **options: Any) -> dict[str, Any]:
    body = {"url": "https://receiver.test/callout", "username": "cb", "password": "pw", **options}
    response = client.post("/_emulator/callouts", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


CALLOUT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{8}-05:00:00$")


def test_name_value_callout(hooked: TestClient, receiver: Receiver) -> None:
    _callout(hooked)
    ticket_id = Api(hooked).create_ticket()
    _deliver(hooked)
    (request,) = receiver.requests
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"cb:pw").decode()
    fields = {
        k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()
    }
    assert fields["id"] == str(ticket_id)
    assert fields["number"] == "T20260302.0001"
    assert fields["status"] == "New"
    assert fields["created_datetime"] == "2026-03-02T09:30:00.00000000-05:00:00"
    assert CALLOUT_TIME.match(fields["last_activity_datetime"])
    assert fields["domain"] == "emulator.test"
    assert fields["udf"] == ""


def test_name_value_callout_by_get(hooked: TestClient, receiver: Receiver) -> None:
    _callout(hooked, http_method="GET")
    Api(hooked).create_ticket()
    _deliver(hooked)
    (request,) = receiver.requests
    assert request.method == "GET"
    assert parse_qs(urlsplit(str(request.url)).query)["status"] == ["New"]


def test_soap_callout(hooked: TestClient, receiver: Receiver) -> None:
    _callout(
        hooked, format="soap", method_name="TicketChanged", soap_action="urn:bridge/TicketChanged"
    )
    ticket_id = Api(hooked).create_ticket()
    _deliver(hooked)
    (request,) = receiver.requests
    assert request.headers["SOAPAction"] == '"urn:bridge/TicketChanged"'
    assert request.headers["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(request.content)
    body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body is not None
    call = body[0]
    assert call.tag.endswith("TicketChanged")
    values = {child.tag.split("}")[-1]: child.text or "" for child in call}
    assert values["id"] == str(ticket_id) and values["status"] == "New"


@pytest.mark.parametrize(
    ("action", "method", "namespace"),
    [
        # Autotask's help page: NAMESPACE = SOAPACTION.Replace(METHODNAME, '').
        ("http://tempuri.org/MyWebMethod", "MyWebMethod", "http://tempuri.org/"),
        ("urn:bridge/TicketChanged", "TicketChanged", "urn:bridge/"),
        ("https://rmm.example/api/Callout#Callout", "Callout", "https://rmm.example/api/#"),
        (None, "TicketClosed", "http://autotask.net/ExtensionCallout/"),
    ],
)
def test_soap_callout_namespace_is_the_soap_action_without_the_method_name(
    hooked: TestClient, receiver: Receiver, action: str | None, method: str, namespace: str
) -> None:
    options = {"soap_action": action} if action else {}
    _callout(hooked, format="soap", method_name=method, **options)
    Api(hooked).create_ticket()
    _deliver(hooked)
    (request,) = receiver.requests
    call = ElementTree.fromstring(request.content)[0][0]
    assert call.tag == f"{{{namespace}}}{method}"
    sent_action = request.headers["SOAPAction"].strip('"')
    assert sent_action == (action or f"http://autotask.net/ExtensionCallout/{method}")


def test_xml_rpc_callout(hooked: TestClient, receiver: Receiver) -> None:
    _callout(hooked, format="xml_rpc", method_name="bridge.ticketChanged")
    ticket_id = Api(hooked).create_ticket()
    _deliver(hooked)
    (request,) = receiver.requests
    params, method = xmlrpc.client.loads(request.content)
    assert method == "bridge.ticketChanged"
    assert params[0]["id"] == str(ticket_id) and params[0]["number"] == "T20260302.0001"


def test_callout_udf_filter(hooked: TestClient, receiver: Receiver) -> None:
    _callout(hooked, udf_name="Callout Enabled")
    api = Api(hooked)
    api.create_ticket()
    assert _deliver(hooked) == []
    api.create_ticket(userDefinedFields=[{"name": "Callout Enabled", "value": "yes"}])
    _deliver(hooked)
    assert parse_qs(receiver.requests[0].content.decode())["udf"] == ["yes"]


@pytest.mark.parametrize(("speed", "interval"), [(1.0, 60), (4.0, 15)])
def test_callout_retry_schedule(
    make_client: Callable[..., TestClient], clock: FakeClock, speed: float, interval: int
) -> None:
    receiver = Receiver(status=503)
    client = make_client(outbound_client=receiver.transport, speed=speed)
    _callout(client)
    Api(client).create_ticket()
    attempts = [len(_deliver(client))]
    for _ in range(12):
        clock.advance(seconds=interval - 1)
        assert _deliver(client) == []
        clock.advance(seconds=1)
        attempts.append(len(_deliver(client)))
    assert attempts == [1] * 11 + [0, 0]
    assert len(receiver.requests) == 11


def test_callout_stops_retrying_after_success(
    hooked: TestClient, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.status = 404
    _callout(hooked)
    Api(hooked).create_ticket()
    _deliver(hooked)
    receiver.status = 200
    clock.advance(seconds=60)
    assert [r["ok"] for r in _deliver(hooked)] == [True]
    clock.advance(seconds=60)
    assert _deliver(hooked) == []


def test_transport_errors_count_as_failures(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = make_client(outbound_client=httpx.MockTransport(refuse))
    _callout(client)
    Api(client).create_ticket()
    (result,) = _deliver(client)
    assert result["ok"] is False and "ConnectError" in result["error"]
    assert client.get("/_emulator/hooks").json()["pending"][0]["attempts"] == 1
