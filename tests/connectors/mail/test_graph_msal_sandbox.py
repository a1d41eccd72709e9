"""The Graph source's token provider against the Graph emulator's sandbox served over TLS: msal
itself, built by `MsalTokenProvider`, gets a token from a local authority (no instance
discovery at Microsoft), and the Graph source reads the mailbox with it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.emulators.graph.conftest import serve_on_loopback
from ticketbridge.connectors.errors import ConnectorAuthError
from ticketbridge.connectors.mail.graph import GraphConfig, GraphSource
from ticketbridge.connectors.mail.graph_tokens import MsalTokenProvider, is_microsoft_authority
from ticketbridge.emulators.graph import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_MAILBOX,
    DEMO_TENANT_ID,
    create_app,
)
from ticketbridge.emulators.graph.tls import TlsFiles, self_signed

MICROSOFT = frozenset({"login.microsoftonline.com"})


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    files, _ = self_signed(Path(tmp_path_factory.mktemp("graph-tls")))
    return files


@pytest.fixture
def sandbox(tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # msal speaks through requests, which trusts the CA named by REQUESTS_CA_BUNDLE: the way a
    # user trusts the sandbox's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with serve_on_loopback(create_app(tokens=(), seed="empty"), tls_files) as url:
        yield url


def _config(url: str, secret: str = DEMO_CLIENT_SECRET) -> GraphConfig:
    return GraphConfig(
        tenant_id=DEMO_TENANT_ID,
        client_id=DEMO_CLIENT_ID,
        client_secret=SecretStr(secret),
        mailbox=DEMO_MAILBOX,
        authority_url=url,
        graph_url=f"{url}/v1.0",
    )


def test_msal_gets_a_token_from_the_sandbox_and_the_source_reads_the_mailbox_with_it(
    sandbox: str, tls_files: TlsFiles
) -> None:
    trusted = ssl.create_default_context(cafile=str(tls_files.ca))
    with httpx.Client(base_url=sandbox, verify=trusted) as admin:
        delivered = admin.post(
            f"/_emulator/mailboxes/{DEMO_MAILBOX}/folders/inbox/messages",
            content=b"From: a@customer.example\r\nSubject: Help\r\nMessage-ID: <m1@x>\r\n\r\nHi",
        )
        assert delivered.status_code == 201
    config = _config(sandbox)

    token = MsalTokenProvider(config)()

    with httpx.Client(verify=trusted) as http:
        source = GraphSource(config, token_provider=MsalTokenProvider(config), http_client=http)
        batch = source.fetch(None)
    assert token.count(".") == 2  # a JWT the sandbox issued
    assert [b"Message-ID: <m1@x>" in item.raw for item in batch.messages] == [True]


def test_a_wrong_secret_is_explained_with_entras_code_and_never_the_secret(sandbox: str) -> None:
    with pytest.raises(ConnectorAuthError) as refused:
        MsalTokenProvider(_config(sandbox, "not-the-secret"))()

    assert "invalid_client" in str(refused.value) and "AADSTS7000215" in str(refused.value)
    assert "not-the-secret" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "microsoft"),
    [
        ("https://login.microsoftonline.com", True),
        ("https://LOGIN.microsoftonline.com/", True),
        ("https://127.0.0.1:8443", False),
        ("https://login.microsoftonline.com.attacker.example", False),
    ],
)
def test_only_microsofts_own_hosts_get_instance_discovery(url: str, microsoft: bool) -> None:
    assert is_microsoft_authority(url, MICROSOFT) is microsoft
