"""The Graph emulator's own behaviour, as the Graph documentation describes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from ticketbridge.emulators.graph import DEFAULT_TOKEN, create_app

USER = "/v1.0/users/box@example.com"
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
IMMUTABLE = {**AUTH, "Prefer": 'IdType="ImmutableId"'}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="https://graph.test") as test_client:
        yield test_client


def _add(client: TestClient, n: int, folder: str = "inbox") -> dict[str, Any]:
    raw = f"Subject: mail {n}\r\nMessage-ID: <m{n}@x>\r\nFrom: A <a@x.test>\r\n\r\nbody\r\n"
    response = client.post(
        f"/_emulator/mailboxes/box@example.com/folders/{folder}/messages", content=raw.encode()
    )
    assert response.status_code == 201
    return dict(response.json())


def _delta(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_graph_calls_without_a_valid_bearer_token_get_401(client: TestClient) -> None:
    _add(client, 1)
    missing = client.get(f"{USER}/mailFolders/inbox")
    wrong = client.get(f"{USER}/mailFolders/inbox", headers={"Authorization": "Bearer nope"})
    assert missing.status_code == wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_delta_lists_messages_with_selected_fields_and_ends_with_a_delta_link(
    client: TestClient,
) -> None:
    _add(client, 1)
    body = _delta(
        client, f"{USER}/mailFolders/inbox/messages/delta?$select=subject,internetMessageId", AUTH
    )
    assert [set(v) for v in body["value"]] == [
        {"@odata.type", "id", "subject", "internetMessageId"}
    ]
    assert body["value"][0]["internetMessageId"] == "<m1@x>"
    assert "@odata.deltaLink" in body and "@odata.nextLink" not in body


def test_default_ids_change_on_move_but_immutable_ids_do_not(client: TestClient) -> None:
    added = _add(client, 1)
    moved = client.post(
        f"{USER}/messages/{added['restId']}/move", json={"destinationId": "archive"}, headers=AUTH
    )
    assert moved.status_code == 201
    assert moved.json()["id"] != added["restId"]

    again = client.post(
        f"{USER}/messages/{added['id']}/move", json={"destinationId": "inbox"}, headers=IMMUTABLE
    )
    assert again.json()["id"] == added["id"]


def test_delta_reports_a_moved_out_message_as_removed(client: TestClient) -> None:
    added = _add(client, 1)
    first = _delta(client, f"{USER}/mailFolders/inbox/messages/delta", IMMUTABLE)
    client.post(
        f"{USER}/messages/{added['id']}/move", json={"destinationId": "archive"}, headers=AUTH
    )

    second = _delta(client, first["@odata.deltaLink"], IMMUTABLE)

    assert second["value"] == [
        {
            "@odata.type": "#microsoft.graph.message",
            "id": added["id"],
            "@removed": {"reason": "deleted"},
        }
    ]


def test_delta_pages_follow_the_max_page_size_preference(client: TestClient) -> None:
    for n in range(3):
        _add(client, n)
    headers = {**AUTH, "Prefer": "odata.maxpagesize=2"}
    first = _delta(client, f"{USER}/mailFolders/inbox/messages/delta", headers)
    second = _delta(client, first["@odata.nextLink"], headers)
    assert (len(first["value"]), len(second["value"])) == (2, 1)
    assert "@odata.deltaLink" in second


def test_child_folders_filter_by_display_name_and_refuse_duplicates(client: TestClient) -> None:
    _add(client, 1)
    url = f"{USER}/mailFolders/inbox/childFolders"
    assert client.post(url, json={"displayName": "It's done"}, headers=AUTH).status_code == 201
    assert client.post(url, json={"displayName": "it's done"}, headers=AUTH).status_code == 409

    found = client.get(url, params={"$filter": "displayName eq 'It''s done'"}, headers=AUTH)
    unsupported = client.get(url, params={"$filter": "startswith(displayName,'I')"}, headers=AUTH)

    assert [f["displayName"] for f in found.json()["value"]] == ["It's done"]
    assert unsupported.status_code == 400


def test_injected_faults_answer_the_next_requests_then_stop(client: TestClient) -> None:
    _add(client, 1)
    client.post("/_emulator/faults", json={"status": 429, "retry_after": 3, "count": 2})
    statuses = [client.get(f"{USER}/mailFolders/inbox", headers=AUTH) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "3"
    logged = client.get("/_emulator/requests").json()
    assert [r["status"] for r in logged] == [429, 429, 200]
