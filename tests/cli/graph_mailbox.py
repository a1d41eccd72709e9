"""A Microsoft 365 mail source pointed at the Graph emulator's sandbox, served over TLS with a CA
the test made, which msal (REQUESTS_CA_BUNDLE) and httpx (SSL_CERT_FILE) are told to trust, the
way an operator trusts the sandbox; and the `ticketbridge` command's settings for it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_SECRET_KEY
from tests.emulators.graph.conftest import serve_on_loopback
from ticketbridge.emulators.graph import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_MAILBOX,
    DEMO_TENANT_ID,
    GraphState,
    create_app,
)
from ticketbridge.emulators.graph.tls import TlsFiles, self_signed
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings, get_settings
from ticketbridge.storage.db import session_scope

NAME = "Service desk 365"


@dataclass
class GraphMailbox:
    url: str
    state: GraphState
    admin: httpx.Client
    runtime: Runtime
    source_id: int
    env: dict[str, str]

    def deliver(self, subject: str) -> None:
        raw = (
            f"From: Dana <dana@customer.example>\r\nTo: {DEMO_MAILBOX}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@customer.example>\r\n\r\nHello\r\n"
        )
        url = f"/_emulator/mailboxes/{DEMO_MAILBOX}/folders/inbox/messages"
        assert self.admin.post(url, content=raw.encode()).status_code == 201


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    files, _ = self_signed(Path(tmp_path_factory.mktemp("graph-tls")))
    return files


@pytest.fixture
def graph_mailbox(
    monkeypatch: pytest.MonkeyPatch,
    tls_files: TlsFiles,
    settings: Settings,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    db: sessionmaker[Session],
) -> Iterator[GraphMailbox]:
    env = {
        "TICKETBRIDGE_DATABASE_URL": database_url,
        "TICKETBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "TICKETBRIDGE_VAR_DIR": str(tmp_path / "var"),
        "REQUESTS_CA_BUNDLE": str(tls_files.ca),
        "SSL_CERT_FILE": str(tls_files.ca),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    get_settings.cache_clear()
    app = create_app(tokens=(), seed="empty")
    with serve_on_loopback(app, tls_files) as url:
        trusted = ssl.create_default_context(cafile=str(tls_files.ca))
        with httpx.Client(base_url=url, verify=trusted) as admin:
            runtime = build_runtime(settings, engine=engine)
            source_id = add_graph_source(runtime, url, name=NAME, secret=DEMO_CLIENT_SECRET)
            yield GraphMailbox(url, app.state.graph, admin, runtime, source_id, env)
    get_settings.cache_clear()


def add_graph_source(runtime: Runtime, url: str, *, name: str, secret: str | None) -> int:
    """A Microsoft 365 source of the sandbox's service desk mailbox; its id."""
    config: dict[str, Any] = {
        "tenant_id": DEMO_TENANT_ID,
        "client_id": DEMO_CLIENT_ID,
        "mailbox": DEMO_MAILBOX,
        "authority_url": url,
        "graph_url": f"{url}/v1.0",
        "poll_interval_seconds": 0.2,
    }
    with session_scope(runtime.session_factory) as session:
        source = mail_sources.create_source(
            session,
            runtime.secret_box,
            kind="graph",
            name=name,
            config=config,
            secret=secret,
            actor="test",
        )
        session.flush()
        return source.id
