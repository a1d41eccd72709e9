"""A real Chromium against the real app, served by uvicorn on a loopback port.

Debian's chromium is used as it is (no browser download): `make browser-deps` installs it. Where
it is missing the browser tests are skipped with a visible reason, except under CI=true, where
that is a failure.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous bounds for a loaded 2-core machine; the test waits on page state, never on time.
STARTUP_TIMEOUT_S = 30.0
EXPECT_TIMEOUT_MS = 10_000


def serve(app: FastAPI) -> Iterator[str]:
    """Serve `app` in a thread; yield its base URL once it answers, stop it afterwards.

    The socket is bound and listening before uvicorn starts, so the port cannot be taken by
    someone else and the first request simply queues until the server accepts it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        httpx.get(f"{base_url}/healthz", timeout=STARTUP_TIMEOUT_S).raise_for_status()
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        sock.close()


@pytest.fixture
def base_url(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[str]:
    """The real app on the test database (SQLite, then PostgreSQL), empty at the start."""
    yield from serve(create_app(settings, engine=engine))


@pytest.fixture
def browser() -> Iterator[Browser]:
    # Per test, not per session: while the sync API is open its event loop counts as running in
    # this thread, which would break every asyncio test that comes after it.
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing; install it with `make browser-deps`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
