"""A stored secret only ever goes where it was entered for (core/secret_binding.py).

Changing the Autotask API host, or an IMAP source's host or port, used to keep the stored
secret, and the next Test or poll carried it to the new destination. Now such a change clears it
unless a new secret comes with it; the API shows it as not set and the audit trail says why.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_token, add_user, csrf_of, login
from tests.services.autotask_world import AutotaskWorld, demo_settings
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import DEMO_API_SECRET
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import AuditEvent

AUTOTASK = "/api/v1/integrations/autotask"
SOURCES = "/api/v1/mail/sources"
ELSEWHERE = "http://elsewhere.test"


class Recorder(httpx.BaseTransport):
    """Every request the product sends towards Autotask: its host, and whether it carried the
    Secret header. The emulator answers them all, whatever the host."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.host, request.headers.get("Secret")))
        return self.inner.handle_request(request)


@pytest.fixture
def recorder(app: FastAPI) -> Iterator[Recorder]:
    world = AutotaskWorld()
    made = Recorder(world.transport)
    runtime: Runtime = app.state.ctx
    runtime.psa_transport = made
    yield made
    world.close()


@pytest.fixture
def api(app: FastAPI, db: sessionmaker[Session]) -> Iterator[TestClient]:
    token = add_token(db, Role.ADMIN)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _put(api: TestClient, **changes: Any) -> dict[str, Any]:
    response = api.put(AUTOTASK, json=changes)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _audit(db: sessionmaker[Session], action: str) -> list[dict[str, Any]]:
    with db() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [dict(row.details) for row in rows]


# --- Autotask ------------------------------------------------------------------------------


def test_changing_the_autotask_api_host_clears_the_secret_and_test_sends_it_nowhere(
    api: TestClient, recorder: Recorder, db: sessionmaker[Session]
) -> None:
    assert _put(api, **demo_settings())["secret_set"] is True
    assert api.post(f"{AUTOTASK}/test").json()["ok"] is True
    assert ("emulator.test", DEMO_API_SECRET) in recorder.sent  # the recorder sees the header
    recorder.sent.clear()

    changed = _put(api, api_host=ELSEWHERE)

    assert changed["secret_set"] is False and changed["api_host"] == ELSEWHERE
    assert api.get(AUTOTASK).json()["secret_set"] is False
    [cleared] = _audit(db, "autotask.secret_cleared")
    assert cleared["fields"] == ["api_host"] and DEMO_API_SECRET not in str(cleared)
    tested = api.post(f"{AUTOTASK}/test")
    assert tested.status_code == 409 and "secret" in tested.json()["error"]["message"]
    assert recorder.sent == []  # not a request, so no Secret header, to any host


def test_a_new_secret_in_the_same_change_goes_to_the_new_host(
    api: TestClient, recorder: Recorder, db: sessionmaker[Session]
) -> None:
    _put(api, **demo_settings())
    changed = _put(api, api_host=ELSEWHERE, secret="entered-for-elsewhere")
    assert changed["secret_set"] is True
    assert _audit(db, "autotask.secret_cleared") == []
    api.post(f"{AUTOTASK}/test")
    assert {secret for host, secret in recorder.sent if secret} == {"entered-for-elsewhere"}
    assert {host for host, _ in recorder.sent} == {"elsewhere.test"}


@pytest.mark.parametrize(
    ("change", "clears"),
    [
        ({"username": "someone.else@example.com"}, ["username"]),
        ({"environment": "sandbox"}, ["environment", "api_host"]),
        ({"api_host": ELSEWHERE + "/"}, ["api_host"]),
        ({"api_host": "HTTP://EMULATOR.TEST/"}, []),  # the same host, written differently
        ({"integration_code": "ANOTHER-CODE"}, []),  # names the software, not a destination
        ({"base_url": "https://other.example.com", "logging_level": "full"}, []),
    ],
)
def test_only_a_change_of_destination_clears_the_autotask_secret(
    api: TestClient,
    recorder: Recorder,
    db: sessionmaker[Session],
    change: dict[str, Any],
    clears: list[str],
) -> None:
    _put(api, **demo_settings())
    assert _put(api, **change)["secret_set"] is (not clears)
    assert [e["fields"] for e in _audit(db, "autotask.secret_cleared")] == (
        [clears] if clears else []
    )


def test_a_leftover_api_host_outside_the_custom_environment_binds_nothing(
    api: TestClient, recorder: Recorder
) -> None:
    _put(api, **demo_settings(environment="production", enabled=False))
    assert _put(api, api_host=ELSEWHERE)["secret_set"] is True  # production ignores the host


def test_the_settings_form_says_the_secret_is_cleared_and_why(
    app: FastAPI, db: sessionmaker[Session], api: TestClient, recorder: Recorder
) -> None:
    _put(api, **demo_settings())
    add_user(db, "root", Role.ADMIN)
    with TestClient(app) as browser:
        login(browser, "root")
        page = browser.get("/admin/integrations/autotask").text
        assert "clears the stored secret unless you enter it again" in page
        form = {k: str(v) for k, v in demo_settings(api_host=ELSEWHERE, secret="").items()}
        form |= {"enabled": "true", "max_listed_objects": "5", "csrf_token": csrf_of(page)}
        saved = browser.post("/admin/integrations/autotask", data=form)
        assert saved.status_code == 200
        assert "The stored API secret was cleared because the api host changed" in saved.text
    assert api.get(AUTOTASK).json()["secret_set"] is False


# --- mail sources --------------------------------------------------------------------------


@pytest.fixture
def listeners() -> Iterator[list[socket.socket]]:
    """Two loopback ports that record whether anything connected (nothing is ever answered)."""
    made = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        sock.setblocking(False)
        made.append(sock)
    yield made
    for sock in made:
        sock.close()


def _connected(sock: socket.socket) -> bool:
    """A connection attempt completes in the backlog before poll() returns: no wait needed."""
    try:
        accepted, _ = sock.accept()
    except BlockingIOError:
        return False
    accepted.close()
    return True


def _imap(port: int, **config: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": "plain", "username": "u"} | config


def test_changing_an_imap_port_clears_the_password_and_polling_sends_nothing_there(
    app: FastAPI, api: TestClient, db: sessionmaker[Session], listeners: list[socket.socket]
) -> None:
    first, second = (sock.getsockname()[1] for sock in listeners)
    created = api.post(
        SOURCES, json={"kind": "imap", "name": "Backups", "config": _imap(first), "secret": "pw"}
    ).json()
    assert created["has_secret"] is True

    changed = api.patch(f"{SOURCES}/{created['id']}", json={"config": _imap(second)})

    assert changed.status_code == 200 and changed.json()["has_secret"] is False
    assert api.get(f"{SOURCES}/{created['id']}").json()["has_secret"] is False
    [cleared] = _audit(db, "mail_source.secret_cleared")
    assert cleared["fields"] == ["port"]
    result = mail_polling.poll(app.state.ctx, created["id"])
    assert "password is not set" in result.error
    assert not _connected(listeners[1]) and not _connected(listeners[0])


@pytest.mark.parametrize(
    ("change", "clears"),
    [
        ({"host": "localhost"}, ["host"]),
        ({"username": "someone-else"}, ["username"]),
        ({"port": None}, ["port"]),  # the default port (143) is another port
        ({"folder": "Backups", "processed_folder": "Done"}, []),
    ],
)
def test_only_a_change_of_imap_destination_clears_the_password(
    api: TestClient,
    db: sessionmaker[Session],
    listeners: list[socket.socket],
    change: dict[str, Any],
    clears: list[str],
) -> None:
    port = listeners[0].getsockname()[1]
    body = {"kind": "imap", "name": "Backups", "config": _imap(port), "secret": "pw"}
    source = api.post(SOURCES, json=body).json()
    config = {k: v for k, v in (_imap(port) | change).items() if v is not None}
    changed = api.patch(f"{SOURCES}/{source['id']}", json={"config": config}).json()
    assert changed["has_secret"] is (not clears)
    assert [e["fields"] for e in _audit(db, "mail_source.secret_cleared")] == (
        [clears] if clears else []
    )


def test_a_new_password_with_the_new_host_is_kept(
    api: TestClient, db: sessionmaker[Session], listeners: list[socket.socket]
) -> None:
    first, second = (sock.getsockname()[1] for sock in listeners)
    body = {"kind": "imap", "name": "Backups", "config": _imap(first), "secret": "pw"}
    source = api.post(SOURCES, json=body).json()
    changed = api.patch(
        f"{SOURCES}/{source['id']}", json={"config": _imap(second), "secret": "new-pw"}
    ).json()
    assert changed["has_secret"] is True and _audit(db, "mail_source.secret_cleared") == []


def test_changing_a_graph_tenant_or_mailbox_clears_the_client_secret(
    api: TestClient, db: sessionmaker[Session]
) -> None:
    config = {"tenant_id": "contoso", "client_id": "app", "mailbox": "backups@contoso.example"}
    body = {"kind": "graph", "name": "M365", "config": config, "secret": "s3cret"}
    source = api.post(SOURCES, json=body).json()
    url = f"{SOURCES}/{source['id']}"
    assert api.patch(url, json={"config": config | {"folder": "Reports"}}).json()["has_secret"]
    moved = api.patch(url, json={"config": config | {"mailbox": "ceo@contoso.example"}})
    assert moved.json()["has_secret"] is False
    assert [e["fields"] for e in _audit(db, "mail_source.secret_cleared")] == [["mailbox"]]


def test_the_mail_sources_page_says_a_change_of_host_clears_the_password(
    app: FastAPI, db: sessionmaker[Session], api: TestClient
) -> None:
    body = {"kind": "imap", "name": "Backups", "config": _imap(993), "secret": "pw"}
    source = api.post(SOURCES, json=body).json()
    add_user(db, "root", Role.ADMIN)
    with TestClient(app) as browser:
        login(browser, "root")
        page = browser.get("/admin/mail-sources").text
        assert "Changing the host, port or user name clears the stored password unless you " in (
            page
        )
        saved = browser.post(
            f"/admin/mail-sources/{source['id']}",
            data={
                "csrf_token": csrf_of(page),
                "name": "Backups",
                **{f"config.{key}": str(value) for key, value in _imap(994).items()},
                "enabled": "true",
            },
        )
        assert "Its password is not set" in saved.text
    with db() as session:
        stored = mail_sources.get_source(session, source["id"])
        assert stored.secret is None
