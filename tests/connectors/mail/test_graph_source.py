"""The Microsoft Graph source against the Graph emulator, in process (Starlette's TestClient is
the connector's httpx client). msal itself is exercised only through its HTTP seam at the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorUnavailable,
)
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.connectors.mail.base import MailSource
from ticketbridge.connectors.mail.graph import GraphConfig, GraphSource, MsalTokenProvider
from ticketbridge.emulators.graph import create_app

MAILBOX = "backups@example.com"
TOKEN = "test-token-1234"
SECRET = "client-secret-value-xyz"


def _mail(n: int) -> bytes:
    # Bytes a parser would mangle if anything re-encoded them: CRLF, 8-bit, trailing spaces.
    return (
        f"From: Veeam <veeam@example.com>\r\nTo: {MAILBOX}\r\nSubject: [Success] Job {n}\r\n"
        f"Message-ID: <job-{n}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\nGesichert: {n} Objekte \u00fcbertragen.  \r\n"
    ).encode()


class Graph:
    def __init__(self) -> None:
        self.app = create_app(tokens=[TOKEN])
        self.client = TestClient(self.app, base_url="https://graph.test")

    def deliver(self, *numbers: int, folder: str = "inbox") -> None:
        for n in numbers:
            url = f"/_emulator/mailboxes/{MAILBOX}/folders/{folder}/messages"
            assert self.client.post(url, content=_mail(n)).status_code == 201

    def requests(self) -> list[dict[str, Any]]:
        return list(self.client.get("/_emulator/requests").json())

    def folder(self, name: str) -> list[str]:
        listing = self.client.get(f"/_emulator/mailboxes/{MAILBOX}/folders").json()
        return next(f["messages"] for f in listing if f["displayName"] == name)


@pytest.fixture
def graph() -> Iterator[Graph]:
    emulator = Graph()
    emulator.folder("Inbox")  # the admin API creates the mailbox on first use
    with emulator.client:
        yield emulator


def _config(**overrides: Any) -> GraphConfig:
    values: dict[str, Any] = {
        "tenant_id": "tenant-1",
        "client_id": "client-1",
        "client_secret": SECRET,
        "mailbox": MAILBOX,
        "graph_url": "https://graph.test/v1.0",
        "page_size": 2,
    }
    values.update(overrides)
    return GraphConfig.model_validate(values)


def _source(graph: Graph, sleeps: list[float] | None = None, **overrides: Any) -> GraphSource:
    return GraphSource(
        _config(**overrides),
        token_provider=lambda: TOKEN,
        http_client=graph.client,
        sleep=(sleeps if sleeps is not None else []).append,
    )


def test_graph_source_satisfies_the_mail_source_protocol(graph: Graph) -> None:
    assert isinstance(_source(graph), MailSource)


def test_first_fetch_pages_through_the_folder_and_returns_raw_mime_unchanged(graph: Graph) -> None:
    graph.deliver(1, 2, 3, 4, 5)

    batch = _source(graph).fetch(None)

    assert [m.raw for m in batch.messages] == [_mail(n) for n in range(1, 6)]
    assert all(m.received_at is not None and m.received_at.tzinfo for m in batch.messages)
    assert batch.more is False
    assert "$deltatoken=" in batch.watermark["link"]
    json.dumps(batch.watermark)  # stored as JSON with the source
    deltas = [r for r in graph.requests() if r["path"].endswith("/messages/delta")]
    assert len(deltas) == 3  # pages of 2, 2 and 1
    assert "$skiptoken" in deltas[1]["query"] and "$skiptoken" in deltas[2]["query"]
    assert deltas[0]["query"]["$select"] == "id,internetMessageId,receivedDateTime,conversationId"
    # Each mail carries its Graph conversation, for the service desk's threading.
    assert all(m.conversation_id.startswith("AAQk") for m in batch.messages)
    assert all("odata.maxpagesize=2" in d["prefer"][0] for d in deltas)


def test_every_graph_request_asks_for_immutable_ids(graph: Graph) -> None:
    graph.deliver(1)
    source = _source(graph)
    batch = source.fetch(None)
    source.mark_processed([m.source_id for m in batch.messages])

    graph_requests = [r for r in graph.requests() if r["path"].startswith("/v1.0/")]
    assert graph_requests
    assert all('IdType="ImmutableId"' in " ".join(r["prefer"]) for r in graph_requests)


def test_second_fetch_from_the_delta_link_returns_only_new_mail(graph: Graph) -> None:
    graph.deliver(1, 2)
    source = _source(graph)
    first = source.fetch(None)
    graph.deliver(3)

    second = source.fetch(first.watermark)
    third = source.fetch(second.watermark)

    assert [m.raw for m in second.messages] == [_mail(3)]
    assert third.messages == []
    assert third.more is False


def test_fetch_stops_at_max_messages_and_resumes_from_the_next_link(graph: Graph) -> None:
    graph.deliver(1, 2, 3, 4, 5)
    source = _source(graph, max_messages=2)

    first = source.fetch(None)
    second = source.fetch(first.watermark)
    rest = source.fetch(second.watermark)

    assert first.more is True and "$skiptoken=" in first.watermark["link"]
    assert [m.raw for m in first.messages + second.messages + rest.messages] == [
        _mail(n) for n in range(1, 6)
    ]
    assert rest.more is False


def test_mark_processed_moves_mail_to_a_processed_folder_it_creates_once(graph: Graph) -> None:
    graph.deliver(1, 2, 3)
    source = _source(graph)
    batch = source.fetch(None)

    source.mark_processed([batch.messages[0].source_id])
    source.mark_processed([batch.messages[1].source_id, batch.messages[2].source_id])

    # Immutable ids: the moved messages keep the ids the source handed out.
    assert sorted(graph.folder("Processed")) == sorted(m.source_id for m in batch.messages)
    assert graph.folder("Inbox") == []
    lookups = [r for r in graph.requests() if r["path"].endswith("/childFolders")]
    assert [r["method"] for r in lookups] == ["GET", "POST"]


def test_mark_processed_uses_an_existing_processed_folder_and_skips_unknown_ids(
    graph: Graph,
) -> None:
    created = graph.client.post(
        f"/v1.0/users/{MAILBOX}/mailFolders/inbox/childFolders",
        json={"displayName": "Processed"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    graph.deliver(1)
    source = _source(graph)
    batch = source.fetch(None)

    source.mark_processed([batch.messages[0].source_id, "no-such-message"])

    assert graph.folder("Processed") == [batch.messages[0].source_id]
    folder_calls = [r["method"] for r in graph.requests() if r["path"].endswith("/childFolders")]
    assert folder_calls == ["POST", "GET"]  # the test's own POST, then one lookup
    assert created.status_code == 201


def test_mail_moved_to_processed_is_not_fetched_again(graph: Graph) -> None:
    graph.deliver(1, 2)
    source = _source(graph)
    first = source.fetch(None)
    source.mark_processed([m.source_id for m in first.messages])

    again = source.fetch(first.watermark)

    assert again.messages == []  # the @removed rows of our own moves are ignored


def test_throttling_retry_after_is_honoured_with_the_injected_sleep(graph: Graph) -> None:
    graph.deliver(1)
    graph.client.post("/_emulator/faults", json={"status": 429, "retry_after": 7, "count": 1})
    sleeps: list[float] = []

    batch = _source(graph, sleeps).fetch(None)

    assert [m.raw for m in batch.messages] == [_mail(1)]
    assert len(sleeps) == 1
    assert 7 <= sleeps[0] <= 7 * 1.1  # never earlier than asked, a little jitter after
    statuses = [r["status"] for r in graph.requests() if r["path"].endswith("/delta")]
    assert statuses == [429, 200]


def test_service_unavailable_with_retry_after_is_retried(graph: Graph) -> None:
    graph.deliver(1)
    graph.client.post("/_emulator/faults", json={"status": 503, "retry_after": 2, "count": 2})
    sleeps: list[float] = []

    batch = _source(graph, sleeps).fetch(None)

    assert len(batch.messages) == 1
    assert len(sleeps) == 2 and all(2 <= s <= 2.2 for s in sleeps)


def test_a_retry_after_longer_than_the_policy_allows_is_raised_not_slept(graph: Graph) -> None:
    graph.client.post("/_emulator/faults", json={"status": 429, "retry_after": 600, "count": 1})
    sleeps: list[float] = []
    source = GraphSource(
        _config(),
        token_provider=lambda: TOKEN,
        http_client=graph.client,
        sleep=sleeps.append,
        retry=RetryPolicy(max_retry_after=60),
    )

    with pytest.raises(ConnectorUnavailable) as caught:
        source.fetch(None)

    assert caught.value.retry_after == 600
    assert caught.value.retryable is True
    assert sleeps == []


def test_expired_delta_state_restarts_a_full_round(graph: Graph) -> None:
    graph.deliver(1)
    source = _source(graph)
    first = source.fetch(None)
    graph.deliver(2)
    graph.client.post("/_emulator/expire-delta-tokens")

    again = source.fetch(first.watermark)

    # Everything in the folder comes again; Message-ID de-duplication downstream absorbs it.
    assert [m.raw for m in again.messages] == [_mail(1), _mail(2)]
    assert [r["status"] for r in graph.requests() if r["path"].endswith("/delta")][-2:] == [
        410,
        200,
    ]


def test_a_watermark_for_another_graph_host_is_not_followed(graph: Graph) -> None:
    graph.deliver(1)
    foreign = {"mailbox": MAILBOX, "folder": "inbox", "link": "https://evil.test/v1.0/x"}
    batch = _source(graph).fetch(foreign)
    assert [m.raw for m in batch.messages] == [_mail(1)]


def test_a_refused_token_raises_connector_auth_error(graph: Graph) -> None:
    source = GraphSource(_config(), token_provider=lambda: "wrong", http_client=graph.client)
    with pytest.raises(ConnectorAuthError):
        source.fetch(None)


def test_an_unknown_mailbox_raises_connector_config_error(graph: Graph) -> None:
    with pytest.raises(ConnectorConfigError, match="mailbox"):
        _source(graph, mailbox="nobody@example.com").fetch(None)


def test_an_unknown_folder_raises_connector_config_error(graph: Graph) -> None:
    with pytest.raises(ConnectorConfigError, match="folder"):
        _source(graph, folder="no-such-folder").fetch(None)


def test_check_summarises_the_folder_without_creating_anything(graph: Graph) -> None:
    graph.deliver(1, 2)
    summary = _source(graph).check()
    assert summary == "Inbox: 2 message(s); processed folder 'Processed' will be created"
    assert [r["method"] for r in graph.requests() if r["path"].endswith("/childFolders")] == ["GET"]


def test_client_secret_is_not_shown_in_the_config_repr() -> None:
    config = _config()
    assert SECRET not in repr(config)
    assert config.scope == "https://graph.test/.default"


# -- msal, answered at its HTTP seam ------------------------------------------------------------


class EntraStub:
    """Answers msal's tenant discovery and token calls the way Entra ID's endpoints do."""

    def __init__(self, token_status: int = 200) -> None:
        self.calls: list[httpx.Request] = []
        self.token_status = token_status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        tenant = request.url.path.split("/")[1]
        base = f"https://login.microsoftonline.com/{tenant}"
        if request.url.path.endswith("/discovery/instance"):
            hosts = ["login.microsoftonline.com", "login.windows.net"]
            return httpx.Response(
                200,
                json={
                    "tenant_discovery_endpoint": f"{base}/v2.0/.well-known/openid-configuration",
                    "metadata": [
                        {
                            "preferred_network": hosts[0],
                            "preferred_cache": hosts[1],
                            "aliases": hosts,
                        }
                    ],
                },
            )
        if request.url.path.endswith("/v2.0/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                },
            )
        if request.url.path.endswith("/oauth2/v2.0/token"):
            if self.token_status != 200:
                return httpx.Response(
                    self.token_status,
                    json={
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.\r\n"
                        "Trace ID: 1",
                    },
                )
            return httpx.Response(
                200,
                json={"access_token": "entra-token", "token_type": "Bearer", "expires_in": 3600},
            )
        return httpx.Response(404)


def test_msal_provider_gets_a_client_credentials_token_and_reuses_it() -> None:
    stub = EntraStub()
    provider = MsalTokenProvider(
        _config(graph_url="https://graph.microsoft.com/v1.0"),
        http_client=httpx.Client(transport=httpx.MockTransport(stub)),
    )

    assert provider() == "entra-token"
    assert provider() == "entra-token"

    token_calls = [c for c in stub.calls if c.url.path.endswith("/token")]
    assert len(token_calls) == 1  # the second call came from msal's cache
    form = dict(httpx.QueryParams(token_calls[0].content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "https://graph.microsoft.com/.default"
    assert token_calls[0].url.path == "/tenant-1/oauth2/v2.0/token"


def test_msal_provider_turns_a_refused_secret_into_connector_auth_error() -> None:
    provider = MsalTokenProvider(
        _config(), http_client=httpx.Client(transport=httpx.MockTransport(EntraStub(401)))
    )
    with pytest.raises(ConnectorAuthError, match="AADSTS7000215") as caught:
        provider()
    assert SECRET not in str(caught.value)


def test_msal_provider_reports_an_unreachable_entra_as_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    provider = MsalTokenProvider(
        _config(), http_client=httpx.Client(transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(ConnectorUnavailable):
        provider()
