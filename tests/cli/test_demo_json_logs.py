"""`ticketbridge demo` as a real process with TICKETBRIDGE_LOG_FORMAT=json: a few requests, a
sign-in with the demo password and a ticket created in the demo's own Autotask emulator; then
its standard error is read whole. Every line is one JSON object and no secret is in any: not the
demo password, not the emulator's API secret, not the session cookie's value."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import orjson
from sqlalchemy.orm import Session

from tests.cli.processes import Command, free_port
from tests.cli.test_demo_side_by_side import failed_acme_run
from tests.conftest import TEST_SECRET_KEY
from tests.web.live_server import form_token
from ticketbridge.emulators.autotask.auth import DEMO_API_SECRET
from ticketbridge.settings import Settings
from ticketbridge.storage.db import make_engine

PASSWORD = "demo-password-for-the-json-log-test-7f3a"


def _failed_acme_run(var: Path) -> int:
    settings = Settings(var_dir=var, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.effective_database_url)
    try:
        with Session(engine) as session:
            return failed_acme_run(session)
    finally:
        engine.dispose()


def test_a_demo_run_logs_json_lines_without_its_secrets(tmp_path: Path) -> None:
    var = tmp_path / "var"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    env |= {
        "TICKETBRIDGE_VAR_DIR": str(var),
        "TICKETBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "TICKETBRIDGE_DEMO_PASSWORD": PASSWORD,
        "TICKETBRIDGE_LOG_FORMAT": "json",
        "TICKETBRIDGE_LOG_LEVEL": "INFO",
    }
    # Its standard output prints the password for the person who started it; logs go to stderr.
    demo = Command(["demo", "--port", str(port)], env, tmp_path)
    try:
        demo.wait_started()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            assert client.get("/healthz").status_code == 200
            token = form_token(client.get("/login").text)
            wrong = {"username": "admin", "password": PASSWORD + "x", "csrf_token": token}
            assert client.post("/login", data=wrong).status_code != 303
            token = form_token(client.get("/login").text)
            right = {"username": "admin", "password": PASSWORD, "csrf_token": token}
            assert client.post("/login", data=right).status_code == 303
            [cookie] = [
                str(c.value) for c in client.cookies.jar if c.name.startswith("ticketbridge")
            ]
            run_id = _failed_acme_run(var)
            assert run_id
            page = client.get(f"/runs/{run_id}/ticket/create")
            assert page.status_code == 200, page.text
            created = client.post(
                f"/runs/{run_id}/ticket/create", data={"csrf_token": form_token(page.text)}
            )
            assert created.status_code == 303, created.text
        assert demo.interrupt() == 0, demo.stderr
    finally:
        demo.kill()

    logged = demo.stderr
    parsed = [orjson.loads(line) for line in demo.lines if line.strip()]
    assert any("POST /login" in line["message"] for line in parsed)  # the access log is there
    assert any("/Tickets" in line["message"] for line in parsed), logged  # the PSA request
    for secret in (PASSWORD, DEMO_API_SECRET, cookie):
        assert secret not in logged
