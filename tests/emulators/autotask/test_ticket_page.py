"""The read-only ticket page at the address Autotask's "open ticket" URL uses."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
from starlette.testclient import TestClient

from tests.emulators.autotask.conftest import Api

PAGE = "/Autotask/AutotaskExtend/ExecuteCommand.aspx"


def _open(client: TestClient, ticket_id: object, code: str = "OpenTicketDetail") -> httpx.Response:
    return client.get(PAGE, params={"Code": code, "TicketID": str(ticket_id)})


def test_open_ticket_url_shows_title_status_company_notes_and_time_entries(
    api: Api, client: TestClient
) -> None:
    ticket_id = api.create_ticket(title="Backup failed on ACME-SRV01")
    client.post(f"/_emulator/tickets/{ticket_id}/notes", json={"description": "Disk replaced"})
    client.post(
        "/_emulator/time-entries",
        json={
            "ticketID": ticket_id,
            "resourceID": 31,
            "roleID": 29683400,
            "hoursWorked": 0.5,
            "summaryNotes": "Checked the backup",
        },
    )
    client.patch(f"/_emulator/tickets/{ticket_id}", json={"status": 5})

    page = _open(client, ticket_id)

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    text = page.text
    number = api.ticket(ticket_id)["ticketNumber"]
    assert f"<h1>{number} · Backup failed on ACME-SRV01</h1>" in text
    assert "<dt>Status</dt><dd>Complete</dd>" in text
    assert "<dt>Company</dt><dd>Acme Logistics Inc. (101)</dd>" in text
    assert "<dt>Queue</dt><dd>Monitoring Alert</dd>" in text
    assert "Disk replaced" in text and "Notes (1)" in text
    assert "Checked the backup" in text and "Time entries (1)" in text and "Tara" in text


def test_page_escapes_everything_and_allows_no_script(api: Api, client: TestClient) -> None:
    ticket_id = api.create_ticket(title='<script>alert("t")</script>', description="<b>&x</b>")
    client.post(f"/_emulator/tickets/{ticket_id}/notes", json={"description": "<img src=x>"})

    page = _open(client, ticket_id)

    assert "<script>" not in page.text and "<img" not in page.text and "<b>" not in page.text
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in page.text
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


def test_style_hash_in_the_policy_matches_the_inline_style(client: TestClient) -> None:
    page = _open(client, 7001)
    style = re.search(r"<style>(.*?)</style>", page.text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["content-security-policy"]


def test_page_shows_nothing_secret(client: TestClient) -> None:
    text = _open(client, 7001).text
    for secret in (
        "demo-secret",
        "limited-secret",
        "api@ticketbridge.example",
        "TICKETBRIDGE-DEMO",
    ):
        assert secret not in text


def test_unknown_deleted_or_malformed_tickets_answer_an_html_404(
    api: Api, client: TestClient
) -> None:
    ticket_id = api.create_ticket()
    client.delete(f"/_emulator/tickets/{ticket_id}")
    for response in (
        _open(client, ticket_id),
        _open(client, 999999),
        _open(client, "7001x"),
        _open(client, "²"),
        _open(client, "9" * 40),
        _open(client, 7001, code="OpenProject"),
        client.get(PAGE),
        client.get("/Autotask/AutotaskExtend/Other.aspx", params={"TicketID": "7001"}),
    ):
        assert response.status_code == 404, response.request.url
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "Ticket not found" in response.text


def test_page_is_read_only_and_outside_the_api_log_and_threshold(client: TestClient) -> None:
    posted = client.post(PAGE, params={"Code": "OpenTicketDetail", "TicketID": "7001"})
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    client.delete("/_emulator/requests")
    before = client.get("/_emulator/limits").json()["current"]

    assert _open(client, 7001).status_code == 200

    assert client.get("/_emulator/requests").json()["count"] == 0
    assert client.get("/_emulator/limits").json()["current"] == before


def test_query_keys_are_case_insensitive_like_the_real_address(client: TestClient) -> None:
    response = client.get(PAGE.lower(), params={"code": "openticketdetail", "ticketid": "7002"})
    assert response.status_code == 200 and "Printer offline" in response.text


def test_zone_web_url_plus_the_ticket_path_reaches_the_page(
    client: TestClient, server_url: str
) -> None:
    zone = httpx.get(
        f"{server_url}/atservicesrest/v1.0/zoneInformation",
        params={"user": "api@ticketbridge.example"},
    ).json()
    url = zone["webUrl"] + "Autotask/AutotaskExtend/ExecuteCommand.aspx"
    response = httpx.get(url, params={"Code": "OpenTicketDetail", "TicketID": "7001"})
    assert response.status_code == 200 and "Backup job failed on ACME-SRV01" in response.text
