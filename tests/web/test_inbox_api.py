"""The Inbox, mail upload and mail sources over the JSON API."""

from __future__ import annotations

import socket
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_token
from tests.services.mail_support import fixture, report_mail
from ticketbridge.core.roles import Role
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import Job, MailSource, Run


def _client(app: FastAPI, db: sessionmaker[Session], role: Role = Role.OPERATOR) -> TestClient:
    token = add_token(db, role)
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def _upload(client: TestClient, *mails: bytes) -> list[dict[str, object]]:
    files = [("files", (f"m{i}.eml", raw, "message/rfc822")) for i, raw in enumerate(mails)]
    response = client.post("/api/v1/mail/upload", files=files)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()
    return items


def _customer(db: sessionmaker[Session], name: str = "Acme") -> int:
    with db() as session:
        customer = catalog.create_customer(session, name, actor="test")
        session.commit()
        return customer.id


def test_uploaded_mail_of_an_unknown_job_is_listed_with_its_detected_fields(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db)
    [item] = _upload(client, fixture("veeam_br/backup-success-three-vms"))
    assert item["created"] and item["awaiting_approval"] and item["run_ids"] == []
    body = client.get("/api/v1/inbox").json()
    assert body["counts"] == {"waiting": 1, "could_not_tell": 0, "failed": 0, "ignored": 0}
    [mail] = body["items"]
    assert mail["lane"] == "waiting" and mail["parser"] == "veeam_br"
    assert mail["sender"] == "veeam@vbr01.example.com"
    assert mail["detected"][0]["job_name"] == "Daily VMs"
    assert mail["detected"][0]["status"] == "success"
    assert mail["detected"][0]["product"] == "Veeam Backup & Replication"


def test_approving_creates_the_job_and_later_mails_become_runs_directly(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db)
    customer_id = _customer(db)
    [first] = _upload(client, report_mail(1))
    response = client.post(
        f"/api/v1/inbox/{first['mail_id']}/approve", json={"customer_id": customer_id}
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "approved" and len(response.json()["run_ids"]) == 1
    [later] = _upload(client, report_mail(2, status="Failed"))
    assert not later["awaiting_approval"] and len(later["run_ids"]) == 1  # type: ignore[arg-type]
    assert client.get("/api/v1/inbox").json()["counts"]["waiting"] == 0
    with db() as session:
        [job] = session.scalars(select(Job)).all()
        assert job.customer_id == customer_id
        assert session.scalar(select(func.count(Run.id))) == 2


def test_approving_also_routes_other_waiting_mail_of_that_job(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db)
    customer_id = _customer(db)
    first, _ = _upload(client, report_mail(1), report_mail(2))
    client.post(f"/api/v1/inbox/{first['mail_id']}/approve", json={"customer_id": customer_id})
    assert client.get("/api/v1/inbox").json()["total"] == 0
    with db() as session:
        assert session.scalar(select(func.count(Run.id))) == 2


def test_the_same_upload_twice_makes_one_mail_and_one_run(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db)
    customer_id = _customer(db)
    [first] = _upload(client, report_mail(1))
    client.post(f"/api/v1/inbox/{first['mail_id']}/approve", json={"customer_id": customer_id})
    [again] = _upload(client, report_mail(1))
    assert again["mail_id"] == first["mail_id"] and not again["created"]
    with db() as session:
        assert session.scalar(select(func.count(Run.id))) == 1


def test_ignoring_moves_mail_to_the_ignored_lane_and_restore_undoes_it(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db)
    [item] = _upload(client, fixture("generic/newsletter-no-parser"))
    assert client.get("/api/v1/inbox?lane=could_not_tell").json()["total"] == 1
    response = client.post(f"/api/v1/inbox/{item['mail_id']}/ignore")
    assert response.status_code == 200
    ignored = response.json()
    assert (ignored["state"], ignored["lane"], ignored["ignored_from"]) == (
        "ignored",
        "ignored",
        "no_parser",
    )
    assert ignored["ignored_by"] == "token:operator-token" and ignored["ignored_at"]
    assert client.get("/api/v1/inbox?lane=could_not_tell").json()["total"] == 0
    [listed] = client.get("/api/v1/inbox?lane=ignored").json()["items"]
    assert listed["id"] == item["mail_id"]

    restored = client.post(f"/api/v1/inbox/{item['mail_id']}/restore")

    assert restored.status_code == 200 and restored.json()["lane"] == "could_not_tell"
    assert restored.json()["ignored_from"] is None
    counts = client.get("/api/v1/inbox").json()["counts"]
    assert (counts["could_not_tell"], counts["ignored"]) == (1, 0)
    again = client.post(f"/api/v1/inbox/{item['mail_id']}/restore")
    assert again.status_code == 422 and "not ignored" in again.json()["error"]["message"]


def test_approving_mail_that_does_not_wait_is_a_422_and_unknown_mail_a_404(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db)
    customer_id = _customer(db)
    [item] = _upload(client, fixture("generic/newsletter-no-parser"))
    refused = client.post(
        f"/api/v1/inbox/{item['mail_id']}/approve", json={"customer_id": customer_id}
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid"
    missing = client.post("/api/v1/inbox/999/approve", json={"customer_id": customer_id})
    assert missing.status_code == 404


def test_malformed_upload_is_stored_as_failed_never_a_500(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db)
    [item] = _upload(client, b"\x00\x01 not a mail at all \xff")
    assert item["state"] == "failed" and item["failure"] == "no mail headers found"
    assert item["filename"] == "m0.eml"
    [mail] = client.get("/api/v1/inbox?lane=failed").json()["items"]
    assert mail["failure"] == "no mail headers found" and mail["filename"] == "m0.eml"
    assert mail["subject"] == ""


def test_an_upload_over_the_size_limit_is_refused_with_413(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    app.state.ctx.settings = app.state.ctx.settings.model_copy(update={"mail_max_bytes": 2048})
    client = _client(app, db)
    response = client.post(
        "/api/v1/mail/upload", files=[("files", ("big.eml", b"x" * 3000, "message/rfc822"))]
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_mail_source_secrets_are_write_only(app: FastAPI, db: sessionmaker[Session]) -> None:
    client = _client(app, db, Role.ADMIN)
    created = client.post(
        "/api/v1/mail/sources",
        json={
            "kind": "imap",
            "name": "Backups",
            "config": {"host": "127.0.0.1", "security": "plain", "username": "u"},
            "secret": "hunter2-secret",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_secret"] and "hunter2-secret" not in created.text
    source_id = body["id"]
    patched = client.patch(
        f"/api/v1/mail/sources/{source_id}", json={"enabled": False, "secret": ""}
    )
    assert patched.status_code == 200 and not patched.json()["enabled"]
    listed = client.get("/api/v1/mail/sources")
    assert "hunter2-secret" not in listed.text and listed.json()[0]["has_secret"]
    with db() as session:
        source = session.get(MailSource, source_id)
        assert source is not None and source.secret and "hunter2" not in source.secret
    assert client.delete(f"/api/v1/mail/sources/{source_id}").status_code == 204


def test_an_invalid_mail_source_is_a_422_naming_the_field(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db, Role.ADMIN)
    response = client.post(
        "/api/v1/mail/sources",
        json={"kind": "imap", "name": "Bad", "config": {"security": "plain"}, "secret": "x"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "host"


def test_a_mail_source_is_refused_with_every_problem_at_once(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db, Role.ADMIN)
    config = {"port": 0, "security": "tls", "batch_size": 0}
    response = client.post(
        "/api/v1/mail/sources", json={"kind": "imap", "name": "Bad", "config": config}
    )
    assert response.status_code == 422
    fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert fields == ["secret", "host", "port", "username", "batch_size"]
    assert client.get("/api/v1/mail/sources").json() == []


def test_settings_can_be_tested_before_and_after_saving(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db, Role.ADMIN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        config = {"port": port, "accepted_recipients": ["*"]}
        tested = client.post("/api/v1/mail/source-tests", json={"kind": "smtp", "config": config})
        assert tested.status_code == 200 and not tested.json()["ok"]
        assert "cannot listen there" in tested.json()["message"]
        source = client.post(
            "/api/v1/mail/sources", json={"kind": "smtp", "name": "Receiver", "config": config}
        ).json()
    stored = client.post(f"/api/v1/mail/sources/{source['id']}/test", json={}).json()
    assert stored["ok"] and "can listen there" in stored["message"]
    refused = client.post("/api/v1/mail/source-tests", json={"kind": "imap", "config": {}})
    assert refused.status_code == 422
    fields = [f["field"] for f in refused.json()["error"]["details"]["fields"]]
    assert fields == ["secret", "host", "username"]


def test_a_new_rule_lists_the_waiting_mail_it_fits_and_applies_to_it_on_request(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    uploader = _client(app, db)
    fits, other = _upload(uploader, report_mail(1), report_mail(2, sender="b@globex.example"))
    customer_id = _customer(db)
    admin = _client(app, db, Role.ADMIN)

    created = admin.post(
        "/api/v1/mail/rules", json={"sender": "acme.example", "customer_id": customer_id}
    )

    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["waiting_matches"] == [fits["mail_id"]]
    assert admin.get(f"/api/v1/mail/rules/{rule['id']}").json()["waiting_matches"] == [
        fits["mail_id"]
    ]
    applied = admin.post(f"/api/v1/mail/rules/{rule['id']}/apply")
    assert applied.status_code == 200
    body = applied.json()
    assert body["routed"] == [fits["mail_id"]] and len(body["run_ids"]) == 1
    waiting = uploader.get("/api/v1/inbox").json()["items"]
    assert [m["id"] for m in waiting] == [other["mail_id"]]
    assert [r["id"] for r in admin.get("/api/v1/mail/rules").json()] == [rule["id"]]
    assert admin.delete(f"/api/v1/mail/rules/{rule['id']}").status_code == 204
    assert admin.get(f"/api/v1/mail/rules/{rule['id']}").status_code == 404
    assert uploader.get("/api/v1/mail/rules").status_code == 403


def test_the_inbox_links_each_mail_to_its_raw_download_over_the_api(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _client(app, db, Role.REPORTER)
    uploader = _client(app, db)
    raw = fixture("veeam_br/backup-success-three-vms")
    [item] = _upload(uploader, raw)
    [mail] = client.get("/api/v1/inbox").json()["items"]
    assert mail["raw_available"] is True
    assert mail["raw_url"] == f"/api/v1/mail/{item['mail_id']}/raw"

    response = client.get(mail["raw_url"])

    assert response.status_code == 200 and response.content == raw
    assert response.headers["content-type"] == "message/rfc822"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="mail-{item["mail_id"]}.eml"'
    )
    assert response.headers["x-content-type-options"] == "nosniff"


def test_raw_mail_needs_a_token_and_an_unknown_mail_is_a_404(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    [item] = _upload(_client(app, db), report_mail(1))
    url = f"/api/v1/mail/{item['mail_id']}/raw"
    assert TestClient(app).get(url).status_code == 401
    assert _client(app, db, Role.VIEWER).get(url).status_code == 403
    missing = _client(app, db, Role.REPORTER).get("/api/v1/mail/999/raw")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert "mail 999 does not exist" in missing.json()["error"]["message"]


def test_raw_mail_purged_by_retention_answers_410_and_says_why(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    with db() as session:
        accepted = mail_intake.accept(
            session, report_mail(1), now=NOW, received_at=NOW - timedelta(days=400)
        )
        assert mail_intake.purge(session, now=NOW, retention_days=30)
        session.commit()
    client = _client(app, db, Role.REPORTER)
    [mail] = client.get("/api/v1/inbox").json()["items"]
    assert mail["raw_available"] is False

    response = client.get(f"/api/v1/mail/{accepted.mail_id}/raw")

    assert response.status_code == 410
    assert response.json()["error"]["code"] == "gone"
    assert "purged by the retention setting" in response.json()["error"]["message"]
