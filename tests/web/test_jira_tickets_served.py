"""Tickets on runs in Jira, through the product as an admin and an operator meet it: the
product served by uvicorn, the Jira Cloud emulator served on its own loopback port, both
reached over real HTTP. A second connection (Jira) beside the first (Autotask), one customer's
run tickets sent to Jira by its own choice; create, open, link by key, a key typed by hand in
compatibility mode, resolve (internal comment, then the done transition), left open when work was
logged, deleted in Jira detected, all audited."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_runs, add_token
from tests.services.autotask_world import configure
from tests.web.serving import serve
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.tickets import ticketing
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent

OPS = 10000  # the emulator's software project
NORTHWIND = 3  # an organization of the emulator's service desk SUP
ORGANIZATIONS_FIELD = "customfield_10002"  # the emulator's Organizations field
CUSTOMER = "Juniper Accounting"
JIRA_AUTH = "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()


class Jira:
    """The Jira emulator over HTTP: its REST API as another Jira user, and its request log."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, headers={"Authorization": JIRA_AUTH}, timeout=30)

    def issue(self, key: str) -> dict[str, Any]:
        found: dict[str, Any] = self.http.get(f"/rest/api/3/issue/{key}").json()
        return found

    def comments(self, key: str) -> list[dict[str, Any]]:
        body = self.http.get(f"/rest/api/3/issue/{key}/comment").json()
        return list(body["comments"])

    def log_work(self, key: str) -> None:
        answer = self.http.post(f"/rest/api/3/issue/{key}/worklog", json={"timeSpentSeconds": 900})
        assert answer.is_success, answer.text

    def delete(self, key: str) -> None:
        assert self.http.delete(f"/rest/api/3/issue/{key}").status_code == 204

    def requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get("/_emulator/requests").json()
        return [r for r in found if not r["path"].startswith("/_emulator")]

    def forget_requests(self) -> None:
        self.http.delete("/_emulator/requests")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A click waits for its PSA up to 30 s here, not 0.75: these tests read the answer of a
    finished action (201 with the ticket), and a stall of the whole test process late in the
    full suite (one request once took over 5 s) must not turn it into the 202 of an action
    still going on. That 202 has its own tests (tests/web/test_under_load.py)."""
    return settings.model_copy(update={"ticket_action_wait_seconds": 30.0})


@pytest.fixture
def served(
    app: FastAPI, db: sessionmaker[Session]
) -> Iterator[tuple[httpx.Client, httpx.Client, Jira]]:
    admin, operator = add_token(db, Role.ADMIN), add_token(db, Role.OPERATOR)
    with (
        serve(create_autotask(seed="demo")) as autotask_url,
        serve(create_jira(seed="demo")) as jira_url,
        serve(app) as url,
    ):
        # The first connection: Autotask, the ticketing default, with the demo's mappings.
        configure(app.state.ctx, api_host=autotask_url)
        app.state.autotask_url = autotask_url
        with (
            httpx.Client(base_url=url, headers=bearer(admin), timeout=30) as a,
            httpx.Client(base_url=url, headers=bearer(operator), timeout=30) as o,
        ):
            jira = Jira(jira_url)
            yield a, o, jira
            jira.http.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _jira_connection(
    admin: httpx.Client,
    jira: Jira,
    customer_id: int,
    *,
    connector: dict[str, Any] | None = None,
    queue: str = "Task",
    company: tuple[str, int] = ("Oper", OPS),
) -> int:
    """What an admin does: add the connection, test it, load its lists, choose the ticket
    defaults among them, map the customer to a company (found by ``company``'s search text)
    and send its run tickets there."""
    made = admin.post("/api/v1/connections", json={"name": "Jira", "kind": "jira"})
    assert made.status_code == 201, made.text
    connection = made.json()
    assert (connection["enabled"], connection["ticketing_default"]) == (False, False)
    cid = connection["id"]
    saved = admin.put(
        f"/api/v1/connections/{cid}",
        json={
            "settings": {
                "enabled": True,
                "base_url": "https://ticketbridge.example.com",
                "allow_resolve": True,
            },
            "connector": {
                "base_url": jira.url,
                "email": DEMO_EMAIL,
                "api_token": DEMO_API_TOKEN,
                "internal_visibility_type": "role",
                "internal_visibility_value": "Administrators",
                **(connector or {}),
            },
        },
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["secret_set"] is True and DEMO_API_TOKEN not in saved.text
    tested = admin.post(f"/api/v1/connections/{cid}/test")
    assert tested.json().get("ok") is True, tested.text
    assert admin.post(f"/api/v1/connections/{cid}/refresh").status_code == 200
    lists = admin.get(f"/api/v1/connections/{cid}/reference").json()

    def named(category: str, name: str) -> int:
        return next(int(v["id"]) for v in lists[category] if v["name"] == name)

    defaults = {
        "default_queue_id": named("queue", queue),
        "default_status_id": named("status", "To Do"),
        "priority_warning_id": named("priority", "Medium"),
        "priority_error_id": named("priority", "High"),
    }
    answer = admin.put(f"/api/v1/connections/{cid}", json={"settings": defaults})
    assert answer.status_code == 200, answer.text
    search, company_id = company
    companies = admin.get(f"/api/v1/connections/{cid}/companies", params={"search": search})
    assert [c["id"] for c in companies.json()["items"]] == [company_id]
    mapped = admin.put(
        f"/api/v1/connections/{cid}/mappings/{customer_id}", json={"company_id": company_id}
    )
    assert mapped.json()["status"] == "ok", mapped.text
    chosen = admin.put(
        f"/api/v1/customers/{customer_id}/ticketing-connection", json={"connection_id": cid}
    )
    assert chosen.status_code == 204, chosen.text
    return int(cid)


def _customer_of(db: sessionmaker[Session], run_id: int) -> int:
    from ticketbridge.storage.models import Job, Run

    with db() as session:
        customer_id = session.scalar(
            select(Job.customer_id).join(Run, Run.job_id == Job.id).where(Run.id == run_id)
        )
    assert customer_id is not None
    return int(customer_id)


def test_a_customers_run_tickets_go_to_jira_and_are_resolved_there(
    served: tuple[httpx.Client, httpx.Client, Jira], db: sessionmaker[Session], app: FastAPI
) -> None:
    admin, operator, jira = served
    first, second = add_runs(db, 2, customer=CUSTOMER, job_name="Ledger Backup")
    other = add_runs(db, 1, customer="Acme Logistics", job_name="Acme VM Backup")[0]
    cid = _jira_connection(admin, jira, _customer_of(db, first))

    jira.forget_requests()
    created = operator.post(f"/api/v1/runs/{first}/ticket")
    assert created.status_code == 201, created.text
    assert created.json()["psa"] == "Jira"
    ticket = created.json()["current"]
    key = ticket["ticket_number"]
    assert key.startswith("OPS-") and (ticket["connection_id"], ticket["kind"]) == (cid, "jira")
    assert ticket["ticket_url"] == f"{jira.url}/browse/{key}"
    # create, then the reconciliation read: at most three requests (issue 12 target)
    assert len(jira.requests()) <= 3, jira.requests()
    issue = jira.issue(key)
    assert issue["fields"]["project"]["key"] == "OPS"
    assert issue["fields"]["issuetype"]["name"] == "Task"
    assert issue["fields"]["priority"]["name"] == "High"  # an Error run

    # The other customer's tickets still go to the ticketing default, Autotask.
    assert admin.post("/api/v1/connections/1/refresh").status_code == 200  # defaults by name
    acme = admin.get("/api/v1/connections/1/companies", params={"search": "Acme"}).json()
    mapping = {"company_id": acme["items"][0]["id"]}
    assert admin.put(f"/api/v1/customers/{_customer_of(db, other)}/autotask-company", json=mapping)
    autotask = operator.post(f"/api/v1/runs/{other}/ticket")
    assert autotask.status_code == 201, autotask.text
    assert autotask.json()["current"]["kind"] == "autotask"

    jira.forget_requests()
    resolved = operator.post(f"/api/v1/runs/{first}/ticket/resolve")
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["current"]["state"] == "resolved"
    assert len(jira.requests()) <= 4, [
        (r["method"], r["path"], r["query"]) for r in jira.requests()
    ]
    assert jira.issue(key)["fields"]["status"]["statusCategory"]["key"] == "done"
    (note,) = jira.comments(key)
    assert (note["visibility"]["type"], note["visibility"]["value"]) == ("role", "Administrators")

    # Work logged in Jira: the ticket is left open, with an internal comment saying why.
    key2 = operator.post(f"/api/v1/runs/{second}/ticket").json()["current"]["ticket_number"]
    jira.log_work(key2)
    left = operator.post(f"/api/v1/runs/{second}/ticket/resolve")
    assert left.status_code == 200, left.text
    assert left.json()["current"]["state"] == "left_open_time_entries"
    assert jira.issue(key2)["fields"]["status"]["statusCategory"]["key"] != "done"
    assert jira.comments(key2)[0]["visibility"]["type"] == "role"

    # Deleted in Jira: the periodic check notices it on two reads a while apart, and the link
    # says so; it is never silently unlinked.
    jira.delete(key2)
    runtime = app.state.ctx
    runtime.clock = lambda: NOW + timedelta(hours=2)
    assert ticketing.validate_open_links(runtime).suspected
    runtime.clock = lambda: NOW + timedelta(hours=3)
    assert ticketing.validate_open_links(runtime).deleted
    found = operator.get(f"/api/v1/runs/{second}/ticket").json()
    assert found["current"]["state"] == "deleted_external", found
    assert found["current"]["ticket_number"] == key2

    with db() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action.like("ticket.%"))))
    outcomes = {(e.action, e.outcome) for e in events}
    assert ("ticket.create", "ok") in outcomes and ("ticket.resolve", "close") in outcomes
    assert any(e.details.get("connection_id") == cid for e in events if e.details)


def test_a_customer_mapped_to_an_organization_gets_its_run_ticket_in_the_service_desk(
    served: tuple[httpx.Client, httpx.Client, Jira], db: sessionmaker[Session]
) -> None:
    admin, operator, jira = served
    kinds = {k["kind"]: k for k in admin.get("/api/v1/connection-kinds").json()}
    form = {f["name"]: f for f in kinds["jira"]["connector_fields"]}
    assert form["organizations_of"]["type"] == "text"
    assert "service desk" in form["organizations_of"]["description"]
    run, linked_run, other_run = add_runs(db, 3, customer=CUSTOMER, job_name="Ledger Backup")
    desk = {"organizations_of": "SUP", "issue_type": "Service Request"}
    cid = _jira_connection(
        admin,
        jira,
        _customer_of(db, run),
        connector=desk,
        queue="Service Request",
        company=("north", NORTHWIND),
    )
    tested = admin.post(f"/api/v1/connections/{cid}/test").json()
    assert "organizations of service desk SUP" in str(tested), tested

    jira.forget_requests()
    created = operator.post(f"/api/v1/runs/{run}/ticket")

    assert created.status_code == 201, created.text
    key = created.json()["current"]["ticket_number"]
    # The desk was found by Test; the create is the mapping check, the create and its read.
    assert [(r["method"], r["path"]) for r in jira.requests()] == [
        ("GET", f"/rest/servicedeskapi/organization/{NORTHWIND}"),
        ("POST", "/rest/api/3/issue"),
        ("GET", f"/rest/api/3/issue/{created.json()['current']['ticket_id']}"),
    ]
    assert key.startswith("SUP-") and created.json()["current"]["kind"] == "jira"
    fields = jira.issue(key)["fields"]
    assert fields["project"]["key"] == "SUP"
    assert fields[ORGANIZATIONS_FIELD] == [{"id": str(NORTHWIND), "name": "Northwind Traders"}]
    # Linking by key compares organizations: this customer's issue links, Contoso's does not.
    linked = operator.post(f"/api/v1/runs/{linked_run}/ticket/link", json={"ticket_number": key})
    assert linked.status_code == 200, linked.text
    contoso = operator.post(
        f"/api/v1/runs/{other_run}/ticket/link", json={"ticket_number": "SUP-1"}
    )
    assert contoso.status_code == 409, contoso.text
    assert "company" in contoso.json()["error"]["message"]


def test_a_jira_that_cannot_answer_leaves_autotasks_tickets_checked(
    served: tuple[httpx.Client, httpx.Client, Jira], db: sessionmaker[Session], app: FastAPI
) -> None:
    admin, operator, jira = served
    [in_jira] = add_runs(db, 1, customer=CUSTOMER, job_name="Ledger Backup")
    [in_autotask] = add_runs(db, 1, customer="Acme Logistics", job_name="Acme VM Backup")
    _jira_connection(admin, jira, _customer_of(db, in_jira))
    assert admin.post("/api/v1/connections/1/refresh").status_code == 200
    acme = admin.get("/api/v1/connections/1/companies", params={"search": "Acme"}).json()
    company = {"company_id": acme["items"][0]["id"]}
    admin.put(f"/api/v1/customers/{_customer_of(db, in_autotask)}/autotask-company", json=company)
    jira_key = operator.post(f"/api/v1/runs/{in_jira}/ticket").json()["current"]["ticket_number"]
    autotask_ticket = operator.post(f"/api/v1/runs/{in_autotask}/ticket").json()["current"]

    # Autotask's ticket is deleted while Jira answers every search with 503.
    autotask = httpx.Client(base_url=app.state.autotask_url, timeout=30)
    assert autotask.delete(f"/_emulator/tickets/{autotask_ticket['ticket_id']}").is_success
    autotask.close()
    fault = {"status": 503, "count": 50, "path_contains": "/search"}
    assert jira.http.post("/_emulator/faults", json=fault).is_success
    app.state.ctx.clock = lambda: NOW + timedelta(hours=2)

    checked = ticketing.validate_open_links(app.state.ctx)

    assert checked.checked == 1 and len(checked.suspected) == 1
    seen = operator.get(f"/api/v1/runs/{in_autotask}/ticket").json()["current"]
    assert seen["suspected_missing_since"] is not None
    kept = operator.get(f"/api/v1/runs/{in_jira}/ticket").json()["current"]
    assert (kept["ticket_number"], kept["suspected_missing_since"]) == (jira_key, None)


def test_a_jira_issue_is_linked_by_its_key_and_a_key_typed_by_hand_waits_for_validation(
    served: tuple[httpx.Client, httpx.Client, Jira], db: sessionmaker[Session]
) -> None:
    admin, operator, jira = served
    made, linked, typed = add_runs(db, 3, customer=CUSTOMER, job_name="Ledger Backup")
    cid = _jira_connection(admin, jira, _customer_of(db, made))
    key = operator.post(f"/api/v1/runs/{made}/ticket").json()["current"]["ticket_number"]

    # Link existing: the operator types the issue's key; Jira is asked, the link is Jira's.
    unknown = operator.post(f"/api/v1/runs/{linked}/ticket/link", json={"ticket_number": "OPS-999"})
    assert unknown.status_code == 422 and "no ticket" in unknown.json()["error"]["message"]
    answer = operator.post(f"/api/v1/runs/{linked}/ticket/link", json={"ticket_number": key})
    assert answer.status_code == 200, answer.text
    link = answer.json()["current"]
    assert (link["origin"], link["ticket_number"], link["kind"]) == ("linked", key, "jira")
    assert link["connection_id"] == cid and link["ticket_url"] == f"{jira.url}/browse/{key}"

    # Compatibility mode: a key typed by hand is kept as it is, nothing is sent to Jira, and
    # resolving waits until Link existing has checked it.
    manual = {"ticket_number": "OPS-77"}
    off = operator.post(f"/api/v1/runs/{typed}/ticket/manual", json=manual)
    assert off.status_code == 409, off.text
    on = {"settings": {"allow_manual_ticket_numbers": True}}
    assert admin.put(f"/api/v1/connections/{cid}", json=on).status_code == 200
    jira.forget_requests()
    kept = operator.post(f"/api/v1/runs/{typed}/ticket/manual", json=manual)
    assert kept.status_code == 200, kept.text
    assert kept.json()["current"]["origin"] == "manual"
    assert operator.post(f"/api/v1/runs/{typed}/ticket/resolve").status_code == 409
    assert jira.requests() == []
    checked = operator.post(f"/api/v1/runs/{typed}/ticket/link", json={"ticket_number": key})
    assert checked.json()["current"]["origin"] == "linked", checked.text

    with db() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action.like("ticket.%"))))
    actions = {e.action for e in events if (e.details or {}).get("connection_id") == cid}
    assert {"ticket.create", "ticket.link_existing", "ticket.manual_number"} <= actions, actions
