from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_token, run_payload
from ticketbridge.core.roles import Role
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import AuditEvent, Customer, Job, Run


@pytest.fixture
def operator(db: sessionmaker[Session]) -> dict[str, str]:
    """An operator's token; the customer its runs name exists (operators create none)."""
    with db() as session:
        catalog.create_customer(session, "Acme Logistics", actor="test")
        session.commit()
    return {"Authorization": f"Bearer {add_token(db, Role.OPERATOR)}"}


def _count(db: sessionmaker[Session], model: Any) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_single_run_is_stored_with_its_objects(
    client: TestClient, operator: dict[str, str]
) -> None:
    response = client.post("/api/v1/runs", json=run_payload(external_id="r-1"), headers=operator)

    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 1 and body["existing"] == 0
    run = client.get(f"/api/v1/runs/{body['items'][0]['run_id']}", headers=operator).json()
    assert run["customer"] == "Acme Logistics"
    assert run["status"] == "error"
    assert run["source"] == "api"
    assert run["objects"] == [
        {"name": "DC01", "type": "VM", "status": "error", "message": "Failed to create VM snapshot"}
    ]


def test_repeat_with_same_external_id_returns_the_stored_run(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    first = client.post(
        "/api/v1/runs", json=run_payload(external_id="r-1"), headers=operator
    ).json()
    again = client.post(
        "/api/v1/runs", json=run_payload(external_id="r-1"), headers=operator
    ).json()

    assert again["created"] == 0 and again["existing"] == 1
    assert again["items"][0]["run_id"] == first["items"][0]["run_id"]
    assert _count(db, Run) == 1


def test_batch_reports_created_and_existing_per_item(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    client.post("/api/v1/runs", json=run_payload(external_id="a"), headers=operator)
    batch = {"runs": [run_payload(external_id=x) for x in ("a", "b", "c", "b")]}

    body = client.post("/api/v1/runs", json=batch, headers=operator).json()

    assert [item["created"] for item in body["items"]] == [False, True, True, False]
    assert body["items"][1]["run_id"] == body["items"][3]["run_id"]
    assert _count(db, Run) == 3


def test_batch_with_one_bad_item_stores_nothing_and_names_the_field(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    batch = {
        "runs": [
            run_payload(external_id="ok-1"),
            run_payload(external_id="bad", status="exploded"),
            run_payload(external_id="ok-2", started_at="2026-11-20T01:00:00"),
        ]
    }

    response = client.post("/api/v1/runs", json=batch, headers=operator)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    fields = {f["field"] for f in error["details"]["fields"]}
    assert fields == {"runs.1.status", "runs.2.started_at"}
    assert _count(db, Run) == 0


def test_batch_over_1000_runs_is_refused(client: TestClient, operator: dict[str, str]) -> None:
    batch = {"runs": [run_payload(external_id=str(i)) for i in range(1001)]}

    response = client.post("/api/v1/runs", json=batch, headers=operator)

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "runs"


def test_customers_and_jobs_are_matched_by_name(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    for day in ("18", "19", "20"):
        client.post(
            "/api/v1/runs",
            json=run_payload(started_at=f"2026-11-{day}T01:00:00Z", ended_at=None),
            headers=operator,
        )
    client.post("/api/v1/runs", json=run_payload(job_name="Other job"), headers=operator)

    assert _count(db, Customer) == 1
    assert _count(db, Job) == 2
    assert _count(db, Run) == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": ""}, "customer"),
        ({"status": "green"}, "status"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"unexpected": 1}, "unexpected"),
        ({"objects": [{"name": "x"}]}, "objects.0.status"),
    ],
)
def test_bad_input_gets_a_422_naming_the_field(
    client: TestClient, operator: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/runs", json=run_payload(**body), headers=operator)

    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]]


def test_malformed_json_is_a_4xx_with_a_message(
    client: TestClient, operator: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/runs",
        content=b"{not json",
        headers={**operator, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["message"]


def test_list_filters_and_cursor_pagination_walk_every_run_once(
    client: TestClient, operator: dict[str, str]
) -> None:
    runs = [
        run_payload(
            external_id=str(i),
            status="success" if i % 2 else "warning",
            started_at=f"2026-11-{1 + i:02d}T01:00:00Z",
            ended_at=None,
        )
        for i in range(7)
    ]
    client.post("/api/v1/runs", json={"runs": runs}, headers=operator)

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "status": "warning"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/runs", params=params, headers=operator).json()
        seen += [item["id"] for item in page["items"]]
        assert all(item["status"] == "warning" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 4 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    since = client.get(
        "/api/v1/runs", params={"since": "2026-11-05T00:00:00Z"}, headers=operator
    ).json()
    assert len(since["items"]) == 3


def test_a_forged_cursor_is_a_400(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get("/api/v1/runs", params={"cursor": "garbage!"}, headers=operator)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"][0]["field"] == "cursor"


def test_review_marks_the_run_and_is_audited(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    run_id = client.post("/api/v1/runs", json=run_payload(), headers=operator).json()["items"][0][
        "run_id"
    ]

    reviewed = client.post(
        f"/api/v1/runs/{run_id}/review", json={"note": "known issue"}, headers=operator
    ).json()

    assert reviewed["reviewed_by"] == "token:operator-token"
    assert reviewed["review_note"] == "known issue"
    assert (
        client.get("/api/v1/runs", params={"reviewed": False}, headers=operator).json()["items"]
        == []
    )
    with db() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "runs.review" in actions


def test_unknown_run_is_a_json_404(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get("/api/v1/runs/999999", headers=operator)

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "run 999999 does not exist",
        "details": None,
    }


def test_customers_crud(client: TestClient, db: sessionmaker[Session]) -> None:
    admin = {"Authorization": f"Bearer {add_token(db, Role.ADMIN)}"}
    created = client.post("/api/v1/customers", json={"name": "Zeta Corp"}, headers=admin)
    assert created.status_code == 201
    customer_id = created.json()["id"]

    duplicate = client.post("/api/v1/customers", json={"name": "zeta corp"}, headers=admin)
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["details"]["fields"][0]["field"] == "name"

    patched = client.patch(
        f"/api/v1/customers/{customer_id}", json={"active": False}, headers=admin
    )
    assert patched.json()["active"] is False
    assert client.delete(f"/api/v1/customers/{customer_id}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/customers/{customer_id}", headers=admin).status_code == 404


def test_a_customer_with_history_cannot_be_deleted(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    admin = {"Authorization": f"Bearer {add_token(db, Role.ADMIN)}"}
    client.post("/api/v1/runs", json=run_payload(), headers=operator)
    customer_id = client.get("/api/v1/customers", headers=admin).json()[0]["id"]

    response = client.delete(f"/api/v1/customers/{customer_id}", headers=admin)

    assert response.status_code == 422
    assert "deactivate" in response.json()["error"]["message"]


def test_jobs_are_listed_with_their_customer(client: TestClient, operator: dict[str, str]) -> None:
    client.post("/api/v1/runs", json=run_payload(), headers=operator)

    jobs = client.get("/api/v1/jobs", headers=operator).json()

    assert [(j["customer"], j["job_name"]) for j in jobs] == [("Acme Logistics", "Acme VM Backup")]


def test_openapi_is_served_and_docs_load_no_cdn(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/runs" in spec["paths"]
    docs = client.get("/api/docs").text
    assert "cdn" not in docs.lower()
    assert client.get("/api/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_revoked_token_is_refused(client: TestClient, db: sessionmaker[Session]) -> None:
    from ticketbridge.services.accounts import users as accounts
    from ticketbridge.storage.models import ApiToken

    plaintext = add_token(db, Role.ADMIN, name="temp")
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/jobs", headers=headers).status_code == 200
    with db() as session:
        accounts.revoke_token(session.scalars(select(ApiToken)).one())
        session.commit()

    assert client.get("/api/v1/jobs", headers=headers).status_code == 401


def test_a_bad_item_deep_in_a_large_batch_stores_nothing_and_names_its_index(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    runs = [run_payload(external_id=f"r-{i}") for i in range(500)]
    runs[357]["objects"] = [{"name": "DC01", "status": "exploded"}]
    runs[421]["customer"] = "Acme\u200bLogistics"

    response = client.post("/api/v1/runs", json={"runs": runs}, headers=operator)

    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["error"]["details"]["fields"]}
    assert set(fields) == {"runs.357.objects.0.status", "runs.421.customer"}
    assert "U+200B" in fields["runs.421.customer"]
    assert _count(db, Run) == 0


def test_a_batch_sent_again_is_answered_with_the_stored_runs_and_stores_nothing(
    client: TestClient, operator: dict[str, str], db: sessionmaker[Session]
) -> None:
    batch = {"runs": [run_payload(external_id=f"r-{i}") for i in range(50)]}
    first = client.post("/api/v1/runs", json=batch, headers=operator).json()

    again = client.post("/api/v1/runs", json=batch, headers=operator).json()

    assert (first["created"], first["existing"]) == (50, 0)
    assert (again["created"], again["existing"]) == (0, 50)
    assert [i["run_id"] for i in again["items"]] == [i["run_id"] for i in first["items"]]
    assert [i["index"] for i in again["items"]] == list(range(50))
    assert _count(db, Run) == 50


def test_a_batch_and_a_single_run_are_stored_alike(
    client: TestClient, operator: dict[str, str]
) -> None:
    """A batch is read by pydantic from the raw bytes, a single run the way FastAPI reads any
    body: both give the models' values (surrounding spaces stripped, times in UTC)."""
    odd = {
        "customer": "  Acme Logistics ",
        "job_name": "Acme VM Backup\u3000",
        "started_at": "2026-11-20T03:00:00+02:00",
        "objects": [{"name": " DC01", "status": "success", "message": " ok "}],
    }
    single = client.post(
        "/api/v1/runs", json=run_payload(external_id="one", **odd), headers=operator
    )
    batch = client.post(
        "/api/v1/runs", json={"runs": [run_payload(external_id="two", **odd)]}, headers=operator
    )

    stored = [
        client.get(f"/api/v1/runs/{r.json()['items'][0]['run_id']}", headers=operator).json()
        for r in (single, batch)
    ]
    for run in stored:
        assert (run["customer"], run["job_name"]) == ("Acme Logistics", "Acme VM Backup")
        assert run["started_at"].startswith("2026-11-20T01:00:00")
        assert [(o["name"], o["message"]) for o in run["objects"]] == [("DC01", "ok")]
    assert stored[0]["job_id"] == stored[1]["job_id"]
