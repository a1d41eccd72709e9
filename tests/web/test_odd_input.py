"""Odd but well-typed input gets a 4xx, never a 500 (docs/api.md, docs/security.md "Odd input").

Ids and page numbers beyond what the database holds, names that differ only in case or width,
names with invisible characters, times at the ends of the calendar or given as numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_runs, add_token, add_user, csrf_of, login, run_payload
from tests.web.test_roles import EXPECTED, _walk
from ticketbridge.core.roles import Role
from ticketbridge.storage.models import Customer, Job

BEYOND = [2**31, 2**63, 2**64]  # past PostgreSQL's integer, SQLite's INTEGER, 64 bits


@pytest.fixture
def admin(app: FastAPI, db: sessionmaker[Session]) -> Iterator[tuple[TestClient, str, str]]:
    """A signed-in admin page client, its CSRF token and an admin API token."""
    add_runs(db, 1)
    add_user(db, "root", Role.ADMIN)
    token = add_token(db, Role.ADMIN)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert login(client, "root").status_code == 303
        yield client, csrf_of(client.get("/login").text), token


def _send(
    admin: tuple[TestClient, str, str], method: str, url: str, form: dict[str, str] | None = None
) -> Any:
    client, csrf, token = admin
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {token}"}
        return client.request(method, url, headers=headers, json={})
    data = {"csrf_token": csrf, **(form or {})} if method == "POST" else None
    return client.request(method, url, data=data, follow_redirects=False)


def _routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    for path, route in _walk(app.routes):
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, path, route


def _int_params(params: list[Any]) -> list[str]:
    """Parameters typed int (or int | None), however annotated."""
    found = []
    for param in params:
        annotation = getattr(param.field_info, "annotation", None)
        if annotation in (int, int | None):
            found.append(param.name)
    return found


@pytest.mark.parametrize("number", BEYOND, ids=["2^31", "2^63", "2^64"])
def test_every_route_with_an_id_in_its_path_answers_404_beyond_the_database(
    app: FastAPI, admin: tuple[TestClient, str, str], number: int
) -> None:
    tried = []
    for method, path, route in _routes(app):
        names = [p.name for p in route.dependant.path_params]
        if not names:
            continue
        url = path
        for name in names:
            url = url.replace("{" + name + "}", str(number))
        response = _send(admin, method, url)
        tried.append((method, path, response.status_code))
        assert response.status_code < 500, (method, url, response.status_code)
        if path == "/jobs/{job_id}/runs/{run_id}":
            continue  # the job id there is only compared; the run id decides
        assert response.status_code == 404, (method, url, response.status_code)
    # The walk found every route with an id in its path (test_roles keeps that list whole).
    assert {(method, path) for method, path, _ in tried} == {
        (method, path) for method, path in EXPECTED if "{" in path
    }


def test_every_query_id_and_page_beyond_range_is_refused_with_422(
    app: FastAPI, admin: tuple[TestClient, str, str]
) -> None:
    tried = []
    for method, path, route in _routes(app):
        if route.dependant.path_params:
            continue
        for name in _int_params(route.dependant.query_params):
            for number in BEYOND[1:]:
                response = _send(admin, method, f"{path}?{name}={number}")
                tried.append((path, name))
                assert response.status_code == 422, (method, path, name, response.status_code)
    assert ("/api/v1/inbox", "page") in tried and ("/api/v1/runs", "customer_id") in tried
    assert ("/jobs", "customer_id") in tried


@pytest.mark.parametrize(
    ("method", "url", "form"),
    [
        ("GET", "/api/v1/inbox?page=922337203685477580", None),
        ("GET", "/jobs/1?cursor=" + "A" * 300, None),
        ("GET", "/run-checks?date_from=9999-12-31&date_to=9999-12-31", None),
        ("GET", f"/run-checks?customer_id={2**63}&job_id={2**31}", None),
        ("GET", "/daily-jobs?day=9999-12-31", None),
        ("POST", "/run-checks/review", {"run_ids": str(2**63)}),
        ("POST", "/run-checks/review", {"only": str(2**64)}),
        ("POST", "/admin/mail-rules", {"customer_id": str(2**63), "sender": "a@b.example"}),
        ("POST", "/inbox/1/approve", {"customer_id": str(2**63)}),
        ("POST", "/customers/1/autotask", {"company_id": str(2**64)}),
        ("POST", "/runs/1/ticket/duplicates/keep", {"ticket_id": str(2**64)}),
    ],
)
def test_pages_and_forms_refuse_numbers_and_days_out_of_range(
    admin: tuple[TestClient, str, str], method: str, url: str, form: dict[str, str] | None
) -> None:
    assert _send(admin, method, url, form).status_code == 422


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/inbox/1/approve", {"customer_id": 2**63}),
        ("/api/v1/customers/1/autotask-company", {"company_id": 2**64}),
        ("/api/v1/runs/1/ticket/duplicates/keep", {"ticket_id": 2**64}),
    ],
)
def test_ids_in_a_body_are_bounded_too(
    admin: tuple[TestClient, str, str], url: str, body: dict[str, int]
) -> None:
    client, _, token = admin
    method = "PUT" if url.endswith("autotask-company") else "POST"
    headers = {"Authorization": f"Bearer {token}"}
    assert client.request(method, url, headers=headers, json=body).status_code == 422


# --- names ---------------------------------------------------------------------------------


def _api(admin: tuple[TestClient, str, str], method: str, url: str, body: Any = None) -> Any:
    client, _, token = admin
    return client.request(method, url, headers={"Authorization": f"Bearer {token}"}, json=body)


def test_customer_names_are_unique_after_nfkc_and_case_folding(
    admin: tuple[TestClient, str, str], db: sessionmaker[Session]
) -> None:
    assert _api(admin, "POST", "/api/v1/customers", {"name": "ÖKO Bau"}).status_code == 201
    for same in ("ÖKO Bau", "öko bau", "ÖKO  BAU ", "Ｏ\u0308ko Bau", "ACME LOGISTICS"):
        refused = _api(admin, "POST", "/api/v1/customers", {"name": same})
        assert refused.status_code == 422, same
        assert refused.json()["error"]["details"]["fields"][0]["field"] == "name"
    assert _api(admin, "POST", "/api/v1/customers", {"name": "Straße 1"}).status_code == 201
    assert _api(admin, "POST", "/api/v1/customers", {"name": "STRASSE 1"}).status_code == 422
    with db() as session:
        names = set(session.scalars(select(Customer.name)))
    assert names == {"Acme Logistics", "ÖKO Bau", "Straße 1"}


def test_a_rename_onto_another_customers_name_is_refused_and_a_case_change_is_not(
    admin: tuple[TestClient, str, str],
) -> None:
    other = _api(admin, "POST", "/api/v1/customers", {"name": "Öko Bau"}).json()["id"]
    url = f"/api/v1/customers/{other}"
    assert _api(admin, "PATCH", url, {"name": "acme logistics"}).status_code == 422
    assert _api(admin, "PATCH", url, {"name": "ÖKO BAU"}).json()["name"] == "ÖKO BAU"


def test_reported_runs_find_customers_and_jobs_by_the_same_normalised_names(
    admin: tuple[TestClient, str, str], db: sessionmaker[Session]
) -> None:
    batch = {
        "runs": [
            run_payload(customer="ACME  LOGISTICS", job_name="ACME VM BACKUP"),
            run_payload(customer="acme logistics", job_name="Acme VM Backup", status="success"),
            run_payload(customer="ÖKO Bau", job_name="Nightly"),
            run_payload(customer="öko bau", job_name="NIGHTLY"),
        ]
    }
    assert _api(admin, "POST", "/api/v1/runs", batch).status_code == 200
    with db() as session:
        customers = set(session.scalars(select(Customer.name)))
        jobs = session.execute(select(Job.customer_id, Job.job_name)).all()
    assert customers == {"Acme Logistics", "ÖKO Bau"}  # the first spelling stays
    assert len(jobs) == 2


def test_mail_source_names_are_unique_after_normalising(
    admin: tuple[TestClient, str, str],
) -> None:
    source = {"kind": "upload", "name": "Uploads"}
    assert _api(admin, "POST", "/api/v1/mail/sources", source).status_code == 201
    again = _api(admin, "POST", "/api/v1/mail/sources", source | {"name": "UPLOADS"})
    assert again.status_code == 422 and "exists already" in again.json()["error"]["message"]


REFUSED = {
    "right-to-left override and zero-width space": ("Acme\u202eLogistics\u200b", "U+202E"),
    "zero-width space": ("Acme\u200bLogistics", "U+200B"),
    "NUL": ("Acme\x00Logistics", "U+0000"),
    "tab": ("Acme\tLogistics", "U+0009"),
    "isolate": ("Acme\u2066Logistics", "U+2066"),
    "byte order mark": ("\ufeffAcme", "U+FEFF"),
}


@pytest.mark.parametrize(("name", "found"), REFUSED.values(), ids=REFUSED.keys())
def test_names_with_control_direction_or_invisible_characters_are_refused(
    admin: tuple[TestClient, str, str], name: str, found: str
) -> None:
    for url, body, field in (
        ("/api/v1/customers", {"name": name}, "name"),
        ("/api/v1/mail/sources", {"kind": "upload", "name": name}, "name"),
        ("/api/v1/runs", run_payload(customer=name), "customer"),
        ("/api/v1/runs", run_payload(job_name=name), "job_name"),
        ("/api/v1/syncs", {**_SYNC, "name": name}, "name"),
    ):
        refused = _api(admin, "POST", url, body)
        assert refused.status_code == 422, (url, field)
        error = refused.json()["error"]
        assert found in error["message"], (url, error["message"])
        assert error["details"]["fields"][0]["field"] == field


def test_a_sync_naming_a_connection_no_name_can_hold_finds_none(
    admin: tuple[TestClient, str, str],
) -> None:
    for field in ("connection_a", "connection_b"):
        refused = _api(admin, "POST", "/api/v1/syncs", {**_SYNC, field: "Jira\x00"})
        assert refused.status_code == 422
        assert "there is no connection" in refused.json()["error"]["message"]
    table = {"mapping": {"a_to_b": {"status": {"rows": {"1\x00": "2"}}}}}
    assert _api(admin, "POST", "/api/v1/syncs", {**_SYNC, **table}).status_code == 422


_SYNC = {
    "name": "Desk",
    "connection_a": "1",
    "connection_b": "2",
    "start_date": "2026-11-01T00:00:00Z",
}


# --- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "started_at",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        1764000000,
        "1764000000",
        True,
        "2026-11-20",
        "2026-11-20T01:00:00",  # no offset
    ],
)
def test_run_times_are_iso_8601_within_2000_to_2099_or_422(
    admin: tuple[TestClient, str, str], started_at: Any
) -> None:
    single = _api(admin, "POST", "/api/v1/runs", run_payload(started_at=started_at))
    assert single.status_code == 422
    assert single.json()["error"]["details"]["fields"][0]["field"] == "started_at"
    batch = {"runs": [run_payload(), run_payload(ended_at=started_at)]}
    refused = _api(admin, "POST", "/api/v1/runs", batch)
    assert refused.status_code == 422
    assert [f["field"] for f in refused.json()["error"]["details"]["fields"]] == ["runs.1.ended_at"]


def test_run_times_at_the_edges_of_the_range_are_accepted(
    admin: tuple[TestClient, str, str],
) -> None:
    # The upper edge is a day after the app's clock (NOW, 2026-11-20 12:00 UTC): issue 11.
    batch = {
        "runs": [
            run_payload(started_at="2000-01-01T00:00:00Z", ended_at=None, external_id="first"),
            run_payload(started_at="2026-11-21T12:00:00+00:00", ended_at=None, external_id="last"),
        ]
    }
    assert _api(admin, "POST", "/api/v1/runs", batch).json()["created"] == 2
    later = run_payload(started_at="2099-12-31T23:59:59+00:00", ended_at=None)
    assert _api(admin, "POST", "/api/v1/runs", later).status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        "since=9999-12-31T23:59:59-14:00",
        "until=0001-01-01T00:00:00%2B14:00",
        "since=1764000000",
        "until=tomorrow",
    ],
)
def test_run_filters_take_iso_8601_times_in_a_sane_range(
    admin: tuple[TestClient, str, str], query: str
) -> None:
    assert _api(admin, "GET", f"/api/v1/runs?{query}").status_code == 422


def test_the_openapi_document_states_the_bounds(app: FastAPI) -> None:
    document = app.openapi()
    customer = document["paths"]["/api/v1/customers/{customer_id}"]["get"]["parameters"][0]
    assert customer["schema"]["maximum"] == 2**31 - 1 and customer["schema"]["minimum"] == 1
    run_in = document["components"]["schemas"]["RunIn"]["properties"]["started_at"]
    assert run_in["pattern"] == "^20[0-9]{2}-"
    inbox = document["paths"]["/api/v1/inbox"]["get"]["parameters"]
    [page] = [p for p in inbox if p["name"] == "page"]
    assert page["schema"]["maximum"] == 1_000_000
