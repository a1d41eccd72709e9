"""Request bodies are judged before they are read (issue 10, item 1): who sends them, then how
big they are, through a real server on loopback where the connection matters.

A 1 GiB body without a token was read into memory and answered 422; a 1 GiB multipart to the
uploads was spooled to /tmp before anyone asked who sent it. Now the answer comes while the
client is still sending: the client's generator counts how much it got to hand over, and that
is never more than the socket buffers of both ends hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_token, add_user, csrf_of, login, run_payload
from tests.services.mail_support import report_mail
from tests.web.serving import Body, serve
from ticketbridge.core.roles import Role
from ticketbridge.services.runs.ingest import MAX_BATCH
from ticketbridge.storage.models import MailMessage, Run
from ticketbridge.web import limits

GIB = 1024 * 1024 * 1024
# Loopback socket buffers of both ends hold a few MiB: what a client can hand over before the
# refusal reaches it. Far from the body's size, so "not read" is what this bounds.
READ_AT_MOST = 64 * 1024 * 1024
JSON = {"Content-Type": "application/json"}
BOUNDARY = "limits-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
FILE_PART = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.eml"\r\n'
    "Content-Type: message/rfc822\r\n\r\n"
).encode()


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def _settings(app: FastAPI, **caps: int) -> None:
    app.state.ctx.settings = app.state.ctx.settings.model_copy(update=caps)


def _bearer(db: sessionmaker[Session], role: Role = Role.OPERATOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {add_token(db, role)}"}


def _mails(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(MailMessage)) or 0


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_unauthenticated_1_gib_body_is_answered_401_without_being_read(
    served: str, declared: bool
) -> None:
    body = Body(GIB)
    headers = {**JSON, "Content-Length": str(GIB)} if declared else JSON
    response = httpx.post(f"{served}/api/v1/runs", content=body, headers=headers, timeout=60)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    assert body.sent < READ_AT_MOST


def test_a_revoked_or_made_up_token_gets_401_not_a_parse_error(served: str) -> None:
    response = httpx.post(
        f"{served}/api/v1/runs",
        content=b"{not json",
        headers={**JSON, "Authorization": "Bearer tb_made_up_secret"},
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_an_oversized_content_length_is_answered_413_before_reading(
    db: sessionmaker[Session], served: str
) -> None:
    body = Body(GIB)
    response = httpx.post(
        f"{served}/api/v1/runs",
        content=body,
        headers={**JSON, **_bearer(db), "Content-Length": str(GIB)},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert body.sent < READ_AT_MOST


def test_a_chunked_body_is_cut_off_with_413_as_it_passes_the_cap(
    app: FastAPI, db: sessionmaker[Session], served: str
) -> None:
    _settings(app, runs_request_max_bytes=1024 * 1024)
    body = Body(GIB)  # no Content-Length: the size is known only by counting
    response = httpx.post(
        f"{served}/api/v1/runs", content=body, headers={**JSON, **_bearer(db)}, timeout=60
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert body.sent < READ_AT_MOST


def test_a_streamed_upload_never_spools_more_than_its_cap(
    app: FastAPI, db: sessionmaker[Session], served: str
) -> None:
    _settings(app, mail_max_bytes=4096)  # the upload's cap: about 2 MB
    assert limits.mail_upload_cap(app.state.ctx.settings) < 3 * 1024 * 1024
    body = Body(GIB, prefix=FILE_PART)  # one endless file
    response = httpx.post(
        f"{served}/api/v1/mail/upload",
        content=body,
        headers={**MULTIPART, **_bearer(db)},
        timeout=60,
    )
    assert response.status_code == 413
    assert body.sent < READ_AT_MOST
    assert _mails(db) == 0


def test_an_ui_upload_from_no_one_is_sent_to_sign_in_without_being_read(served: str) -> None:
    body = Body(GIB, prefix=FILE_PART)
    response = httpx.post(
        f"{served}/inbox/upload",
        content=body,
        headers={**MULTIPART, "Content-Length": str(GIB)},
        timeout=60,
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert body.sent < READ_AT_MOST


def test_a_valid_batch_of_1000_runs_at_the_cap_is_stored_and_a_byte_more_is_refused(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    batch = {
        "runs": [
            run_payload(external_id=f"cap-{i}", started_at=f"2026-11-{1 + i % 20:02d}T01:00:00Z")
            for i in range(MAX_BATCH)
        ]
    }
    body = json.dumps(batch).encode()
    # An admin's token: its runs create the customer they name (an operator's would not).
    client = TestClient(app, headers={**JSON, **_bearer(db, Role.ADMIN)})

    _settings(app, runs_request_max_bytes=len(body) - 1)
    refused = client.post("/api/v1/runs", content=body)
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "too_large"

    _settings(app, runs_request_max_bytes=len(body))
    stored = client.post("/api/v1/runs", content=body)
    assert stored.status_code == 200, stored.text
    assert stored.json()["created"] == MAX_BATCH
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == MAX_BATCH


def test_the_default_caps_hold_the_largest_batch_and_a_full_upload() -> None:
    from ticketbridge.settings import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # A 1,000-run batch whose every run has a full 20,000-character remark and five objects
    # is 28 MiB (measured; settings.py); a full upload is 100 mails at the mail size limit.
    assert settings.runs_request_max_bytes >= 30 * 1024 * 1024
    assert limits.mail_upload_cap(settings) > 100 * settings.mail_max_bytes
    assert limits.body_cap("POST", "/api/v1/customers", settings) == settings.request_max_bytes
    # A service desk ticket with 25 MiB of files and its fields.
    assert 25 * 1024 * 1024 < limits.body_cap("POST", "/api/v1/tickets", settings) < 27 * 2**20
    assert limits.body_cap("GET", "/api/v1/tickets", settings) == settings.request_max_bytes
    # What the PSA calls us with is a few KiB: a hook takes no more than its reader would.
    assert limits.body_cap("POST", "/hooks/autotask/callouts/closure", settings) == 256 * 1024


def _files(count: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"m{i}.eml", report_mail(i), "message/rfc822")) for i in range(count)]


def test_an_api_upload_of_101_files_is_refused_413_and_stores_nothing(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = TestClient(app, headers=_bearer(db))
    response = client.post("/api/v1/mail/upload", files=_files(limits.MAIL_UPLOAD_MAX_FILES + 1))
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "at most 100 files per upload"
    assert _mails(db) == 0
    assert client.post("/api/v1/mail/upload", files=_files(2)).status_code == 200


def test_an_ui_upload_of_101_files_is_refused_with_a_message_not_cut_short(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_user(db, "uploader", Role.OPERATOR)
    client = TestClient(app)
    assert login(client, "uploader").status_code == 303
    csrf = csrf_of(client.get("/inbox").text)
    response = client.post(
        "/inbox/upload",
        data={"csrf_token": csrf},
        files=_files(limits.MAIL_UPLOAD_MAX_FILES + 1),
        follow_redirects=False,
    )
    assert response.status_code == 413
    assert "Not uploaded: at most 100 files per upload" in response.text
    assert _mails(db) == 0
