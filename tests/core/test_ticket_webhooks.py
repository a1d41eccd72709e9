"""Webhook signatures over the exact bytes Autotask sends (the emulator's .NET escaping)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ticketbridge.core.callouts import CalloutUnreadable
from ticketbridge.core.ticket_webhooks import (
    expected_signature,
    parse_event,
    signature_valid,
)
from ticketbridge.emulators.autotask.hooks import dotnet_json, signature

SECRET = "s3cret-key"
PAYLOAD = {
    "Action": "Update",
    "Guid": "d0046a73-76a0-41c4-a634-4b7fce7e43ec",
    "EntityType": "Ticket",
    "Id": 7004,
    "Fields": {
        "Status": "5",
        "LastActivityDate": "2026-03-02T15:30:00.000Z",
        "Title": "Backup <failed> & 'retried' \"twice\" `now` +1 — Zürich",
    },
    "EventTime": "2026-03-02T15:30:00Z",
    "SequenceNumber": 2,
    "PersonID": 31,
}


def test_the_docs_example_signature_form() -> None:
    assert expected_signature(SECRET, b"{}").startswith("sha1=")
    assert expected_signature(SECRET, b"{}") == signature(SECRET, b"{}")


def test_signature_over_the_escaped_body_is_right() -> None:
    body = dotnet_json(PAYLOAD).encode()
    assert b"\\u003C" in body and b"\\u00FC" in body  # escaped as Autotask does
    assert signature_valid(SECRET, body, signature(SECRET, body))
    assert signature_valid(SECRET, body, "SHA1=" + signature(SECRET, body)[5:])


def test_the_same_json_serialised_again_does_not_match() -> None:
    body = dotnet_json(PAYLOAD).encode()
    again = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert again != body
    assert not signature_valid(SECRET, again, signature(SECRET, body))


@pytest.mark.parametrize(
    "header", [None, "", "sha1=", "sha256=abc", "sha1=AAAA", "sha1=\u00e9\u00e9", "garbage"]
)
def test_wrong_or_missing_signatures_are_refused(header: str | None) -> None:
    assert not signature_valid(SECRET, dotnet_json(PAYLOAD).encode(), header)


def test_another_secret_does_not_match() -> None:
    body = dotnet_json(PAYLOAD).encode()
    assert not signature_valid("other", body, signature(SECRET, body))
    assert not signature_valid("", body, signature("", body))


def test_the_payload_is_read_with_utc_times_and_status_id() -> None:
    event = parse_event(dotnet_json(PAYLOAD).encode())
    assert (event.action, event.entity_id, event.person_id, event.sequence) == (
        "update",
        7004,
        31,
        2,
    )
    assert event.status_id == 5
    assert event.last_activity == datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    assert event.event_time == datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    assert event.fields["title"].startswith("Backup <failed>")
    assert event.is_ticket


def test_a_delete_event_has_no_fields() -> None:
    event = parse_event(dotnet_json(PAYLOAD | {"Action": "Delete", "Fields": {}}).encode())
    assert event.action == "delete" and event.status_id is None and event.last_activity is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"Action": "Explode"}', b'{"Action":"Update","Fields":[1]}',
     b"[" * 100_000, b'{"Action":"Update","Fields":' + b'{"a":' * 40 + b"1" + b"}" * 41],
)  # fmt: skip
def test_payloads_that_are_not_webhook_events_are_unreadable(body: bytes) -> None:
    with pytest.raises(CalloutUnreadable):
        parse_event(body)
