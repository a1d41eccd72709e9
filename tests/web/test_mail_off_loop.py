"""Nothing heavy on the event loop (issue 10, item 2): parsing an uploaded mail and rendering a
mail's view run on worker threads, and a view is capped and cached.

A 25 MiB HTML mail upload blocked /healthz for 16 s; a 17 MB mail took 11 s to view and four
viewers at once took the server from 680 MB to 2.3 GB. Here the heavy step is held on an event
while /healthz is asked through a real server: if the step ran on the loop, /healthz could not
answer until it was released, and the test would fail instead of hang. No timing is asserted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_token, add_user, login
from tests.web.serving import large_html_mail, serve
from ticketbridge.core.roles import Role
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import view as mail_view
from ticketbridge.services.mail.view import MAX_SHOWN_CHARS, ViewCache

# Bounds a failure only: a blocked loop would leave /healthz unanswered this long.
WAIT = 30
VIEWERS = 5


class Held:
    """Wraps a heavy step: says when it started, then waits to be released."""

    def __init__(self, step: Callable[..., Any]) -> None:
        self.step = step
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.started.set()
        self.release.wait(WAIT)
        return self.step(*args, **kwargs)


@pytest.fixture
def views(monkeypatch: pytest.MonkeyPatch) -> ViewCache:
    cache = ViewCache()
    monkeypatch.setattr(mail_view, "VIEWS", cache)
    return cache


@pytest.fixture
def large_mail_id(db: sessionmaker[Session]) -> int:
    with db() as session:
        accepted = mail_intake.accept(session, large_html_mail(1024 * 1024), now=NOW)
        session.commit()
    return accepted.mail_id


def _reporter(client: httpx.Client | TestClient, db: sessionmaker[Session]) -> None:
    add_user(db, "reporter", Role.REPORTER)
    assert login(client, "reporter").status_code == 303  # type: ignore[arg-type]


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def test_healthz_answers_while_an_uploaded_mail_is_being_parsed(
    db: sessionmaker[Session], served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Held(mail_intake.accept)
    monkeypatch.setattr(mail_intake, "accept", held)
    token = add_token(db, Role.OPERATOR)
    files = [("files", ("large.eml", large_html_mail(1024 * 1024), "message/rfc822"))]
    with ThreadPoolExecutor(1) as pool:
        upload = pool.submit(
            httpx.post,
            f"{served}/api/v1/mail/upload",
            files=files,
            headers={"Authorization": f"Bearer {token}"},
            timeout=2 * WAIT,
        )
        try:
            assert held.started.wait(WAIT), "the upload never reached the intake"
            health = httpx.get(f"{served}/healthz", timeout=WAIT)
            upload_was_running = not upload.done()
        finally:
            held.release.set()
        assert health.status_code == 200 and upload_was_running
        assert upload.result().status_code == 200


def test_healthz_answers_while_a_large_mail_view_renders_and_viewers_share_one_render(
    db: sessionmaker[Session],
    served: str,
    views: ViewCache,
    large_mail_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = Held(mail_view.render)
    monkeypatch.setattr(mail_view, "render", held)
    asked = 0
    all_asked = threading.Event()
    lock = threading.Lock()
    view = views.view

    def counted(*args: Any) -> Any:
        nonlocal asked
        future = view(*args)
        with lock:
            asked += 1
            if asked == VIEWERS:
                all_asked.set()
        return future

    monkeypatch.setattr(views, "view", counted)
    with httpx.Client(base_url=served, timeout=2 * WAIT) as client:
        _reporter(client, db)
        with ThreadPoolExecutor(VIEWERS) as pool:
            pages = [pool.submit(client.get, f"/inbox/{large_mail_id}") for _ in range(VIEWERS)]
            try:
                assert held.started.wait(WAIT), "no view was rendered"
                health = httpx.get(f"{served}/healthz", timeout=WAIT)
                views_were_waiting = not any(page.done() for page in pages)
                assert all_asked.wait(WAIT), "not every viewer reached the view cache"
            finally:
                held.release.set()
            answers = [page.result() for page in pages]
    assert health.status_code == 200 and views_were_waiting
    assert all(a.status_code == 200 and "Download the raw mail" in a.text for a in answers)
    assert held.calls == 1 and views.renders == 1


def test_a_large_mail_view_is_capped_with_a_raw_download_and_comes_again_from_the_cache(
    app: FastAPI,
    db: sessionmaker[Session],
    views: ViewCache,
    large_mail_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered: list[mail_view.MailContent] = []
    render = mail_view.render

    def counted(raw: bytes | None) -> mail_view.MailContent:
        rendered.append(render(raw))
        return rendered[-1]

    monkeypatch.setattr(mail_view, "render", counted)
    client = TestClient(app)
    _reporter(client, db)

    html_view = client.get(f"/inbox/{large_mail_id}?view=html")
    text_view = client.get(f"/inbox/{large_mail_id}")

    for page in (html_view, text_view):
        assert page.status_code == 200
        assert f'<a href="/inbox/{large_mail_id}/raw">Download the raw mail</a>' in page.text
        # The mail is 1 MiB; the page carries at most the cap of text and of markup.
        assert len(page.text) < 3 * MAX_SHOWN_CHARS
    assert 'class="mail-html"' in html_view.text and 'class="mail-html"' not in text_view.text
    [content] = rendered
    assert content.cut and len(content.text) <= MAX_SHOWN_CHARS
    assert views.renders == 1 and views.hits == 1


def test_a_view_shows_a_forwarded_report_and_unreadable_bytes_as_text() -> None:
    inner = large_html_mail(2000, message_id="inner@acme.example")
    forwarded = (
        b"From: it@msp.example\r\nSubject: Fwd: report\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n"
    )
    content = mail_view.render(forwarded)
    assert "Backup job Files finished with warnings" in content.text
    assert "<table>" in content.safe_html and not content.cut

    garbage = mail_view.render(b"\x00\x01 not a mail \xff" * 10)
    assert garbage.text.startswith("\x00\x01 not a mail") and garbage.safe_html == ""
    assert mail_view.render(None).purged
