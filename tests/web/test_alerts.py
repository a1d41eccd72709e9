"""Alerts over the API and on the pages: list, report, act, explain, sources and mappings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_token, add_user, csrf_of, login
from tests.services.alerts.mails import SECRETS, alert_mail, token
from tests.services.alerts.support import (
    ALERT_UDF,
    BRIGHTWATER,
    add_ticket,
    deliver,
    prepare_alerts,
    process,
    tickets_with,
)
from tests.services.autotask_world import AutotaskWorld
from ticketbridge.core.roles import Role
from ticketbridge.services.runtime import Runtime


@pytest.fixture
def source_id(ready: Runtime, world: AutotaskWorld) -> int:
    return prepare_alerts(world, ready, customer_id=1)  # "Acme Logistics", made by `ready`


@pytest.fixture
def admin(app: FastAPI, db: sessionmaker[Session], ready: Runtime) -> Iterator[TestClient]:
    token_ = add_token(db, Role.ADMIN)
    with TestClient(app, headers={"Authorization": f"Bearer {token_}"}) as client:
        yield client


@pytest.fixture
def page(app: FastAPI, db: sessionmaker[Session], ready: Runtime) -> Iterator[TestClient]:
    add_user(db, "op", Role.OPERATOR)
    with TestClient(app) as client:
        assert login(client, "op").status_code == 303
        yield client


def test_list_and_act_over_the_api(
    api: TestClient, ready: Runtime, world: AutotaskWorld, source_id: int
) -> None:
    deliver(ready, alert_mail())
    process(ready)

    listed = api.get("/api/v1/alerts").json()
    [item] = listed["items"]
    assert (item["state"], item["customer"], item["company_id"]) == (
        "waiting", "Acme Logistics", BRIGHTWATER,
    )  # fmt: skip
    assert listed["counts"]["attention"] == 1

    done = api.post(f"/api/v1/alerts/{item['id']}/actions", json={"action": "create"})

    assert done.status_code == 200, done.text
    assert done.json()["alert"]["state"] == "ticketed"
    assert len(tickets_with(world, ALERT_UDF, "8932")) == 1
    again = api.post(f"/api/v1/alerts/{item['id']}/actions", json={"action": "create"})
    assert again.status_code == 409
    assert api.get(f"/api/v1/alerts/{item['id']}").json()["ticket_number"]


def test_an_alert_action_slower_than_the_click_answers_202_and_lands_later(
    app: FastAPI, api: TestClient, ready: Runtime, world: AutotaskWorld, source_id: int
) -> None:
    deliver(ready, alert_mail())
    process(ready)
    [item] = api.get("/api/v1/alerts").json()["items"]
    app.state.ticket_actions.wait_seconds = 0  # Autotask slower than the click waits

    accepted = api.post(f"/api/v1/alerts/{item['id']}/actions", json={"action": "create"})

    assert accepted.status_code == 202, accepted.text
    app.state.ticket_actions.shutdown()  # let the action under way finish
    assert api.get(f"/api/v1/alerts/{item['id']}").json()["state"] == "ticketed"
    assert len(tickets_with(world, ALERT_UDF, "8932")) == 1


def test_report_an_alert_by_token_over_the_api(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime, source_id: int
) -> None:
    ingest = add_token(db, Role.OPERATOR)
    with TestClient(app, headers={"Authorization": f"Bearer {ingest}"}) as client:
        made = client.post(
            "/api/v1/alerts", json={"token": token(), "title": "CPU high", "text": "98 %"}
        )
        repeat = client.post("/api/v1/alerts", json={"token": token()})
        empty = client.post("/api/v1/alerts", json={"title": "nothing"})
        nul = client.post("/api/v1/alerts", json={"alert_ref": "a\u0000b"})

    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["state"], body["alert_ref"], body["title"], body["count"]) == (
        "new", "8932", "CPU high", 1,
    )  # fmt: skip
    assert not any(secret in made.text for secret in SECRETS)
    assert repeat.json()["id"] == body["id"] and repeat.json()["count"] == 2
    assert empty.status_code == 422 and nul.status_code == 422


def test_explain_over_the_api(api: TestClient, world: AutotaskWorld, source_id: int) -> None:
    ticket = add_ticket(world, BRIGHTWATER, alert="8932")

    answer = api.post("/api/v1/alert-explanations", json={"text": token()})

    assert answer.status_code == 200
    body = answer.json()
    assert body["joins_ticket_id"] == ticket["id"]
    assert body["verdict"] == f"Would join ticket {ticket['ticketNumber']}."
    assert body["credentials_redacted"] and not any(s in answer.text for s in SECRETS)


def test_sources_and_mappings_over_the_api(
    admin: TestClient, source_id: int, db: sessionmaker[Session]
) -> None:
    changed = admin.patch(
        f"/api/v1/alerts/sources/{source_id}",
        json={"create_rule": "automatic", "alert_udf": "RMM Alert"},
    )
    mapped = admin.post(
        f"/api/v1/alerts/sources/{source_id}/mappings",
        json={"customer_ref": "200", "customer_id": 1},
    )
    bad_rule = admin.patch(f"/api/v1/alerts/sources/{source_id}", json={"create_rule": "x"})

    assert changed.status_code == 200
    assert (changed.json()["create_rule"], changed.json()["alert_udf"]) == (
        "automatic",
        "RMM Alert",
    )
    assert changed.json()["device_udf"].endswith(" Device ID")
    assert mapped.status_code == 201
    mapping = next(m for m in mapped.json()["mappings"] if m["customer_ref"] == "200")
    assert bad_rule.status_code == 422
    gone = admin.delete(f"/api/v1/alerts/sources/{source_id}/mappings/{mapping['id']}")
    assert gone.status_code == 204
    assert (
        admin.delete(f"/api/v1/alerts/sources/{source_id}/mappings/{mapping['id']}").status_code
        == 404
    )


def test_alerts_page_groups_per_customer_and_acts(
    page: TestClient, ready: Runtime, world: AutotaskWorld, source_id: int
) -> None:
    deliver(ready, alert_mail(1))
    deliver(ready, alert_mail(2, alert="777", customer="999"))
    process(ready)

    html = page.get("/alerts").text

    assert html.index("Acme Logistics") < html.index("Not mapped")
    assert "CustomerID &#39;999&#39;" in html or "CustomerID '999'" in html
    csrf = csrf_of(html)
    alert_id = int(html.split('id="alert-', 1)[1].split('"', 1)[0])
    done = page.post(
        f"/alerts/{alert_id}/action",
        data={"csrf_token": csrf, "action": "create", "return_to": "/alerts"},
        follow_redirects=True,
    )
    assert "Ticket T" in done.text and "created" in done.text
    refused = page.post(
        f"/alerts/{alert_id}/action",
        data={"csrf_token": csrf, "action": "create"},
        follow_redirects=True,
    )
    assert "already has ticket" in refused.text


def test_explainer_page_never_shows_the_pasted_credentials(
    page: TestClient, source_id: int
) -> None:
    csrf = csrf_of(page.get("/alerts/explain").text)

    shown = page.post(
        "/alerts/explain", data={"csrf_token": csrf, "text": alert_mail().decode()}
    ).text

    assert "Would wait for an operator" in shown
    assert "ID and PW present, not shown." in shown
    assert not any(secret in shown for secret in SECRETS)


def test_sources_page_maps_a_waiting_customer_id(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime, source_id: int
) -> None:
    deliver(ready, alert_mail(customer="999"))
    process(ready)
    add_user(db, "boss", Role.ADMIN)
    with TestClient(app) as client:
        login(client, "boss")
        html = client.get("/admin/alert-sources").text
        assert "<code>999</code>" in html
        saved = client.post(
            f"/admin/alert-sources/{source_id}/mappings",
            data={"csrf_token": csrf_of(html), "customer_ref": "999", "customer_id": "1"},
            follow_redirects=True,
        )
    assert "CustomerID 999 mapped." in saved.text
    process(ready)
    with ready.session_factory() as session:
        from ticketbridge.storage.models import Alert

        [alert] = session.query(Alert).all()
        assert (alert.state, alert.customer_id) == ("waiting", 1)
        assert "No open ticket" in alert.reason
