"""What ingest refuses (issue 11, item 6): unknown customers for operators, unless asked to create
them, with the close matches named; runs more than a day in the future. Nothing is stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_token, run_payload
from ticketbridge.core.roles import Role
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import Customer, Run


@pytest.fixture
def known(db: sessionmaker[Session]) -> None:
    with db() as session:
        for name in ("Acme Logistics", "Brightwater Dental", "Cobalt Engineering"):
            catalog.create_customer(session, name, actor="test")
        session.commit()


def _bearer(db: sessionmaker[Session], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {add_token(db, role)}"}


def _count(db: sessionmaker[Session], model: Any) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _fields(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    return {f["field"]: f["message"] for f in error["details"]["fields"]}


def test_an_operator_report_of_an_unknown_customer_is_refused_naming_the_close_match(
    client: TestClient, db: sessionmaker[Session], known: None
) -> None:
    operator = _bearer(db, Role.OPERATOR)

    refused = client.post(
        "/api/v1/runs", json=run_payload(customer="Acme Logistcs"), headers=operator
    )

    message = _fields(refused)["customer"]
    assert "unknown customer 'Acme Logistcs'" in message
    assert "close matches: 'Acme Logistics'" in message and "Brightwater" not in message
    assert "create_customers=true" in message
    assert _count(db, Customer) == 3 and _count(db, Run) == 0
    # The known spelling, in any case, is matched as before.
    stored = client.post(
        "/api/v1/runs", json=run_payload(customer="ACME logistics"), headers=operator
    )
    assert stored.status_code == 200 and stored.json()["created"] == 1


def test_a_batch_with_one_unknown_customer_stores_nothing_and_names_its_index(
    client: TestClient, db: sessionmaker[Session], known: None
) -> None:
    batch = {
        "runs": [
            run_payload(external_id="a"),
            run_payload(external_id="b", customer="Zebra Zoo Supplies"),
            run_payload(external_id="c", customer="Brightwater"),
        ]
    }

    fields = _fields(client.post("/api/v1/runs", json=batch, headers=_bearer(db, Role.OPERATOR)))

    assert set(fields) == {"runs.1.customer", "runs.2.customer"}
    assert "no customer has a similar name" in fields["runs.1.customer"]
    assert "'Brightwater Dental'" in fields["runs.2.customer"]
    assert _count(db, Run) == 0


def test_create_customers_is_an_option_defaulting_to_true_for_admins(
    client: TestClient, db: sessionmaker[Session], known: None
) -> None:
    operator, admin = _bearer(db, Role.OPERATOR), _bearer(db, Role.ADMIN)

    by_admin = client.post(
        "/api/v1/runs", json=run_payload(customer="Delta Freight"), headers=admin
    )
    asked = client.post(
        "/api/v1/runs",
        params={"create_customers": "true"},
        json=run_payload(customer="Evergreen Schools"),
        headers=operator,
    )
    admin_refusing = client.post(
        "/api/v1/runs",
        params={"create_customers": "false"},
        json=run_payload(customer="Fairview Medical"),
        headers=admin,
    )

    assert by_admin.status_code == 200 and asked.status_code == 200
    assert "customer" in _fields(admin_refusing)
    with db() as session:
        names = set(session.scalars(select(Customer.name)))
    assert {"Delta Freight", "Evergreen Schools"} <= names and "Fairview Medical" not in names


def test_runs_more_than_a_day_in_the_future_are_refused(
    client: TestClient, db: sessionmaker[Session], known: None
) -> None:
    operator = _bearer(db, Role.OPERATOR)
    ahead = NOW + timedelta(days=1, minutes=1)  # the app's clock reads NOW
    near = NOW + timedelta(hours=23)

    refused = client.post(
        "/api/v1/runs",
        json={
            "runs": [
                run_payload(external_id="late", started_at=ahead.isoformat(), ended_at=None),
                run_payload(
                    external_id="ends-late",
                    started_at=near.isoformat(),
                    ended_at=(ahead + timedelta(hours=1)).isoformat(),
                ),
            ]
        },
        headers=operator,
    )
    fields = _fields(refused)
    assert set(fields) == {"runs.0.started_at", "runs.1.ended_at"}
    assert "more than a day in the future" in fields["runs.0.started_at"]
    assert _count(db, Run) == 0

    accepted = client.post(
        "/api/v1/runs",
        json=run_payload(started_at=near.isoformat(), ended_at=None),
        headers=operator,
    )
    assert accepted.status_code == 200 and _count(db, Run) == 1
