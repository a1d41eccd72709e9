"""`ticketbridge emulate graph --self-signed DIR` as a user starts it: a real process serving
TLS with a CA it made, which msal trusts and gets a token from."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import httpx
import msal
import pytest

from ticketbridge.emulators.graph import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_MAILBOX,
    DEMO_TENANT_ID,
)

from ...cli.processes import Command, free_port


def test_the_sandbox_command_serves_tls_that_msal_trusts_with_the_ca_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    tls_dir = tmp_path / "tls"
    sandbox = Command(
        ["emulate", "graph", "--port", str(port), "--self-signed", str(tls_dir)], env, tmp_path
    )
    try:
        sandbox.wait_started()
        ca = tls_dir / "ca.pem"
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        app = msal.ConfidentialClientApplication(
            DEMO_CLIENT_ID,
            client_credential=DEMO_CLIENT_SECRET,
            authority=f"https://127.0.0.1:{port}/{DEMO_TENANT_ID}",
            instance_discovery=False,
        )
        token = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
        # Closed before the server stops: an open TLS connection holds a graceful stop.
        app.http_client.close()
        inbox = httpx.get(
            f"https://127.0.0.1:{port}/v1.0/users/{DEMO_MAILBOX}/mailFolders/inbox/messages",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            verify=ssl.create_default_context(cafile=str(ca)),
        )
    finally:
        code = sandbox.interrupt()

    assert code == 0, sandbox.stderr
    assert [m["subject"] for m in inbox.json()["value"]] == ["Printer on floor 2 is offline"]
    assert (tls_dir / "server-key.pem").stat().st_mode & 0o077 == 0
