"""The Graph mail calls the service desk needs, in Graph's shapes: conversation ids, headers,
attachments (inline ones too), sendMail and reply with their threading, and permissions."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from ticketbridge.emulators.graph import (
    DEFAULT_TOKEN,
    DEMO_AGENT,
    DEMO_MAILBOX,
    DEMO_TENANT_ID,
    AppRegistration,
    Tenant,
    User,
    create_app,
)

DESK = f"/v1.0/users/{DEMO_MAILBOX}"
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Prefer": 'IdType="ImmutableId"'}
PNG = b"\x89PNG\r\n\x1a\nnot-really-an-image"

FIRST = (
    "From: Dana <dana@customer.example>\r\nTo: desk@x\r\nSubject: Printer offline\r\n"
    "Message-ID: <first@customer.example>\r\nX-Ticket-Hint: floor-2\r\n\r\nIt is offline.\r\n"
)
REPLY = (
    "From: Dana <dana@customer.example>\r\nTo: desk@x\r\nSubject: RE: Printer offline\r\n"
    "Message-ID: <second@customer.example>\r\nIn-Reply-To: <first@customer.example>\r\n"
    "References: <first@customer.example>\r\n\r\nStill offline.\r\n"
)
UNRELATED = "From: Eve <eve@x>\r\nSubject: Other\r\nMessage-ID: <other@x>\r\n\r\nhello\r\n"


def _with_images(*, attachment: bool) -> str:
    png = base64.b64encode(PNG).decode()
    extra = (
        "--outer\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="log.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
        "--outer\r\nContent-Type: message/rfc822\r\n\r\n"
        "Subject: Forwarded alert\r\nFrom: nms@x\r\n\r\nlink down\r\n"
        if attachment
        else ""
    )
    return (
        "From: Dana <dana@customer.example>\r\nSubject: Screenshot\r\n"
        "Message-ID: <shot@customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        '--outer\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
        '--rel\r\nContent-Type: text/html\r\n\r\n<p>See <img src="cid:shot1@x"></p>\r\n'
        "--rel\r\nContent-Type: image/png\r\nContent-ID: <shot1@x>\r\n"
        'Content-Disposition: inline; filename="shot.png"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--rel--\r\n{extra}--outer--\r\n"
    )


@pytest.fixture
def graph() -> Iterator[TestClient]:
    with TestClient(create_app(seed="empty"), base_url="https://graph.test") as client:
        yield client


def _add(client: TestClient, raw: str, mailbox: str = DEMO_MAILBOX) -> dict[str, Any]:
    url = f"/_emulator/mailboxes/{mailbox}/folders/inbox/messages"
    response = client.post(url, content=raw.encode())
    assert response.status_code == 201
    return dict(response.json())


def _sent(client: TestClient) -> list[dict[str, Any]]:
    return list(client.get("/_emulator/sent").json())


def _in_folder(client: TestClient, folder: str, mailbox: str = DEMO_MAILBOX) -> list[Any]:
    listed = client.get(f"/v1.0/users/{mailbox}/mailFolders/{folder}/messages", headers=AUTH)
    return list(listed.json()["value"])


def test_a_reply_shares_the_conversation_id_of_the_mail_it_answers(graph: TestClient) -> None:
    first, second, other = _add(graph, FIRST), _add(graph, REPLY), _add(graph, UNRELATED)

    thread = graph.get(
        f"{DESK}/messages",
        params={"$filter": f"conversationId eq '{first['conversationId']}'"},
        headers=AUTH,
    ).json()["value"]

    assert second["conversationId"] == first["conversationId"] != other["conversationId"]
    assert [m["id"] for m in thread] == [second["id"], first["id"]]  # newest first
    assert thread[0]["internetMessageId"] == "<second@customer.example>"


def test_internet_message_headers_come_only_when_selected(graph: TestClient) -> None:
    added = _add(graph, FIRST)

    plain = graph.get(f"{DESK}/messages/{added['id']}", headers=AUTH).json()
    selected = graph.get(
        f"{DESK}/messages/{added['id']}",
        params={"$select": "internetMessageHeaders,conversationId"},
        headers=AUTH,
    ).json()

    assert "internetMessageHeaders" not in plain
    assert plain["conversationId"] == added["conversationId"]
    assert {"name": "X-Ticket-Hint", "value": "floor-2"} in selected["internetMessageHeaders"]


def test_attachments_are_listed_and_read_with_inline_images_marked(graph: TestClient) -> None:
    added = _add(graph, _with_images(attachment=True))
    base = f"{DESK}/messages/{added['id']}/attachments"

    listed = graph.get(base, headers=AUTH).json()["value"]
    inline = next(a for a in listed if a["name"] == "shot.png")
    one = graph.get(f"{base}/{inline['id']}", headers=AUTH).json()
    raw = graph.get(f"{base}/{inline['id']}/$value", headers=AUTH)

    assert [(a["@odata.type"], a["name"], a["isInline"]) for a in listed] == [
        ("#microsoft.graph.fileAttachment", "shot.png", True),
        ("#microsoft.graph.fileAttachment", "log.pdf", False),
        ("#microsoft.graph.itemAttachment", "Forwarded alert", False),
    ]
    assert (one["contentId"], one["contentType"], one["size"]) == ("shot1@x", "image/png", len(PNG))
    assert base64.b64decode(one["contentBytes"]) == raw.content == PNG
    assert graph.get(f"{base}/nope", headers=AUTH).status_code == 404


def test_has_attachments_stays_false_for_inline_images_alone(graph: TestClient) -> None:
    only_inline = _add(graph, _with_images(attachment=False))
    with_file = _add(graph, _with_images(attachment=True).replace("shot@", "shot2@"))

    flags = {
        m["id"]: m["hasAttachments"]
        for m in graph.get(f"{DESK}/messages", headers=AUTH).json()["value"]
    }
    assert (flags[only_inline["id"]], flags[with_file["id"]]) == (False, True)


def test_send_mail_is_recorded_saved_to_sent_items_and_delivered_to_a_sandbox_mailbox(
    graph: TestClient,
) -> None:
    message = {
        "subject": "[SUP-1] We received your request",
        "body": {"contentType": "HTML", "content": "<p>Thanks</p>"},
        "toRecipients": [{"emailAddress": {"address": DEMO_AGENT}}],
        "bccRecipients": [{"emailAddress": {"address": "audit@x"}}],
        "internetMessageHeaders": [{"name": "X-Ticketbridge-Notification", "value": "SUP-1"}],
        "attachments": [
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": "summary.txt",
                "contentType": "text/plain",
                "contentBytes": base64.b64encode(b"ticket SUP-1").decode(),
            }
        ],
    }
    answer = graph.post(f"{DESK}/sendMail", json={"message": message}, headers=AUTH)
    quiet = graph.post(
        f"{DESK}/sendMail",
        json={"message": {**message, "subject": "not kept"}, "saveToSentItems": False},
        headers=AUTH,
    )

    assert (answer.status_code, answer.content, quiet.status_code) == (202, b"", 202)
    sent = _sent(graph)
    assert [s["subject"] for s in sent] == ["[SUP-1] We received your request", "not kept"]
    assert sent[0]["recipients"] == [DEMO_AGENT, "audit@x"]
    assert {"name": "X-Ticketbridge-Notification", "value": "SUP-1"} in sent[0]["headers"]
    assert sent[0]["attachments"] == [
        {"name": "summary.txt", "contentType": "text/plain", "isInline": False}
    ]
    assert [m["subject"] for m in _in_folder(graph, "sentitems")] == [sent[0]["subject"]]
    delivered = _in_folder(graph, "inbox", DEMO_AGENT)
    assert sorted(m["subject"] for m in delivered) == sorted(s["subject"] for s in sent)
    assert all(m["bccRecipients"] == [] for m in delivered)


def test_send_mail_in_json_refuses_threading_headers_as_graph_does(graph: TestClient) -> None:
    message = {
        "subject": "x",
        "toRecipients": [{"emailAddress": {"address": "a@x"}}],
        "internetMessageHeaders": [{"name": "In-Reply-To", "value": "<first@customer.example>"}],
    }

    answer = graph.post(f"{DESK}/sendMail", json={"message": message}, headers=AUTH)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidInternetMessageHeader"
    assert _sent(graph) == []


def test_send_mail_as_mime_keeps_threading_headers_and_the_conversation(
    graph: TestClient,
) -> None:
    first = _add(graph, FIRST)
    mime = (
        "To: dana@customer.example\r\nSubject: RE: Printer offline [SUP-7]\r\n"
        "In-Reply-To: <first@customer.example>\r\nReferences: <first@customer.example>\r\n"
        "\r\nA technician is on the way.\r\n"
    )

    answer = graph.post(
        f"{DESK}/sendMail",
        content=base64.b64encode(mime.encode()),
        headers={**AUTH, "Content-Type": "text/plain"},
    )

    assert answer.status_code == 202
    (sent,) = _sent(graph)
    assert (sent["inReplyTo"], sent["references"]) == (
        "<first@customer.example>",
        ["<first@customer.example>"],
    )
    assert sent["internetMessageId"]  # Exchange gives the mail a Message-ID
    (saved,) = _in_folder(graph, "sentitems")
    assert saved["conversationId"] == first["conversationId"]


def test_reply_answers_the_sender_in_the_same_thread(graph: TestClient) -> None:
    second = _add(graph, REPLY)

    answer = graph.post(
        f"{DESK}/messages/{second['id']}/reply", json={"comment": "On it."}, headers=AUTH
    )

    assert answer.status_code == 202
    (sent,) = _sent(graph)
    assert sent["subject"] == "RE: Printer offline"
    assert sent["recipients"] == ["dana@customer.example"]
    assert sent["inReplyTo"] == "<second@customer.example>"
    assert sent["references"] == ["<first@customer.example>", "<second@customer.example>"]


def test_sending_needs_mail_send_and_reading_needs_a_mail_permission() -> None:
    tenant = Tenant(DEMO_TENANT_ID, "readonly.example", "read only")
    tenant.users["box@readonly.example"] = User("0b0e", "box@readonly.example", "Box")
    tenant.apps["reader"] = AppRegistration(
        "reader", "reader", ("s3cret",), frozenset({"Mail.Read"}), frozenset()
    )
    with TestClient(create_app(tokens=(), tenants=[tenant], seed="empty")) as client:
        token = client.post(
            f"/{DEMO_TENANT_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "reader",
                "client_secret": "s3cret",
                "scope": "https://graph.microsoft.com/.default",
            },
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        box = "/v1.0/users/box@readonly.example"
        message = {"subject": "x", "toRecipients": [{"emailAddress": {"address": "a@x"}}]}

        read = client.get(f"{box}/messages", headers=auth)
        send = client.post(f"{box}/sendMail", json={"message": message}, headers=auth)
        move = client.post(f"{box}/mailFolders/inbox/childFolders", json={}, headers=auth)

    assert read.status_code == 200
    assert (send.status_code, send.json()["error"]["code"]) == (403, "ErrorAccessDenied")
    assert move.status_code == 403
