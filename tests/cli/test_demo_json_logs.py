"""`ticketbridge demo` as a real process with TICKETBRIDGE_LOG_FORMAT=json: a few requests, a
sign-in with the demo password and a ticket created in the demo's own Autotask emulator; then
its standard error is read whole. Every line is one JSON object and no secret is in any: not the
demo password, not the emulator's API secret, not the session cookie's value."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from tests.conftest import TEST_SECRET_KEY
from tests.web.live_server import form_token
from ticketbridge.core.statuses import RunStatus
from ticketbridge.emulators.autotask.auth import DEMO_API_SECRET
from ticketbridge.settings import Settings
from ticketbridge.storage.db import make_engine
from ticketbridge.storage.models import Customer, Job, Run

PASSWORD = "demo-password-for-the-json-log-test-7f3a"
STARTUP_SECONDS = 120  # a bound on a hung start, not a figure under test


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _failed_acme_run(var: Path) -> int:
    settings = Settings(var_dir=var, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.effective_database_url)
    problems = (RunStatus.FAILED.value, RunStatus.ERROR.value)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalars(
                    select(Run.id)
                    .join(Run.job)
                    .join(Job.customer)
                    .where(Customer.name == "Acme Logistics", Run.status.in_(problems))
                    .order_by(Run.id)
                ).first()
                or 0
            )
    finally:
        engine.dispose()


def test_a_demo_run_logs_json_lines_without_its_secrets(tmp_path: Path) -> None:
    var = tmp_path / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    env |= {
        "TICKETBRIDGE_VAR_DIR": str(var),
        "TICKETBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "TICKETBRIDGE_DEMO_PASSWORD": PASSWORD,
        "TICKETBRIDGE_LOG_FORMAT": "json",
        "TICKETBRIDGE_LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ticketbridge", "demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,  # no .env of the checkout
        stdout=subprocess.DEVNULL,  # the banner prints the password there, for the person
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    started: queue.SimpleQueue[str] = queue.SimpleQueue()

    def read() -> None:  # drained all along, so that the pipe never fills
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "Application startup complete" in line:
                started.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        try:
            started.get(timeout=STARTUP_SECONDS)
        except queue.Empty:
            pytest.fail("the demo did not start:\n" + "".join(lines))
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.get("/healthz").status_code == 200
            token = form_token(client.get("/login").text)
            wrong = {"username": "admin", "password": PASSWORD + "x", "csrf_token": token}
            assert client.post("/login", data=wrong).status_code != 303
            token = form_token(client.get("/login").text)
            right = {"username": "admin", "password": PASSWORD, "csrf_token": token}
            assert client.post("/login", data=right).status_code == 303
            [cookie] = [c.value for c in client.cookies.jar if c.name.startswith("ticketbridge")]
            run_id = _failed_acme_run(var)
            assert run_id
            page = client.get(f"/runs/{run_id}/ticket/create")
            assert page.status_code == 200, page.text
            created = client.post(
                f"/runs/{run_id}/ticket/create", data={"csrf_token": form_token(page.text)}
            )
            assert created.status_code == 303, created.text
            shown = client.get(f"/runs/{run_id}/ticket/create")  # now linked: says which ticket
            assert shown.status_code in (200, 303)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=STARTUP_SECONDS)
        reader.join(timeout=30)
    assert code == 0, "".join(lines)

    logged = "".join(lines)
    parsed = [orjson.loads(line) for line in lines if line.strip()]
    assert any("POST /login" in line["message"] for line in parsed)  # the access log is there
    assert any("/Tickets" in line["message"] for line in parsed), logged  # the PSA request
    for secret in (PASSWORD, DEMO_API_SECRET, cookie):
        assert secret not in logged
