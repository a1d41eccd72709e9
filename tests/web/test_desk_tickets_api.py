"""The service desk's tickets over the API (issue 16, item 7), as a client meets them: the
product served by uvicorn, the Jira Cloud emulator and the Autotask emulator served on loopback
ports of their own, everything over real HTTP with bearer tokens. Tickets are opened through
the mailbox's routing, once per idempotency key; comments are public or internal; the boards
and categories come from configuration; refusals are 4xx, PSA failures 502/503."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_token
from tests.services.autotask_world import configure
from tests.services.service_desk.autotask_desk import HELPDESK, add_autotask_mailbox
from tests.services.service_desk.conftest import SUP, Jira, set_up_desk
from tests.web.live_server import serve
from tests.web.serving import serve as serve_emulator
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import DEMO_API_SECRET, DEMO_API_USER, DEMO_INTEGRATION_CODE
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.runtime import Runtime

LEVEL_ONE = "8"  # an Autotask queue of the emulator's demo, beside HELPDESK
AUTOTASK_HEADERS = {
    "UserName": DEMO_API_USER,
    "Secret": DEMO_API_SECRET,
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
}


class Autotask:
    """The Autotask emulator through its REST API, as another API user."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(
            base_url=f"{url}/atservicesrest/v1.0", headers=AUTOTASK_HEADERS, timeout=30
        )

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        answer = self.http.get(f"/Tickets/{ticket_id}")
        assert answer.is_success, answer.text
        return dict(answer.json()["item"])

    def notes(self, ticket_id: int) -> list[dict[str, Any]]:
        query = {"filter": [{"op": "eq", "field": "ticketID", "value": ticket_id}]}
        answer = self.http.post("/TicketNotes/query", json=query)
        assert answer.is_success, answer.text
        return list(answer.json()["items"])

    def attachments(self, ticket_id: int) -> list[dict[str, Any]]:
        query = {
            "filter": [{"op": "eq", "field": "parentID", "value": ticket_id}],
            "IncludeFields": ["id", "title", "publish"],
        }
        answer = self.http.post("/TicketAttachments/query", json=query)
        assert answer.is_success, answer.text
        return list(answer.json()["items"])

    def company_named(self, name: str) -> int:
        query = {"filter": [{"op": "eq", "field": "companyName", "value": name}]}
        answer = self.http.post("/Companies/query", json=query)
        return int(answer.json()["items"][0]["id"])


@dataclass
class Served:
    url: str
    clients: dict[Role, httpx.Client]
    jira: Jira
    autotask: Autotask
    jira_mailbox: int
    autotask_mailbox: int
    autotask_connection: int

    @property
    def operator(self) -> httpx.Client:
        return self.clients[Role.OPERATOR]

    @property
    def reporter(self) -> httpx.Client:
        return self.clients[Role.REPORTER]


def _autotask_mailbox(runtime: Runtime, company_id: int) -> int:
    """A second mailbox, for an Autotask connection: queues as boards, one company."""
    _, connection_id = add_autotask_mailbox(
        runtime,
        company_id,
        boards=(HELPDESK, LEVEL_ONE),
        categories=("general", "billing"),
    )
    return connection_id


@pytest.fixture
def served(app: FastAPI, db: sessionmaker[Session]) -> Iterator[Served]:
    tokens = {role: add_token(db, role) for role in Role}
    with (
        serve_emulator(create_jira(seed="empty")) as jira_url,
        serve_emulator(create_autotask(seed="demo")) as autotask_url,
        serve(app) as url,
    ):
        runtime: Runtime = app.state.ctx
        set_up_desk(runtime, jira_url)
        configure(runtime, api_host=autotask_url)
        autotask = Autotask(autotask_url)
        connection = _autotask_mailbox(runtime, autotask.company_named("Acme Logistics Inc."))
        clients = {
            role: httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            for role, token in tokens.items()
        }
        boards = clients[Role.REPORTER].get("/api/v1/boards").json()["items"]
        by_mailbox = {b["mailbox"]: b["source_id"] for b in boards}
        jira = Jira(httpx.Client(base_url=jira_url, timeout=30))
        yield Served(
            url,
            clients,
            jira,
            autotask,
            by_mailbox["Support mailbox"],
            by_mailbox["Helpdesk mailbox"],
            connection,
        )
        for client in (*clients.values(), jira.http, autotask.http):
            client.close()


def _ticket(source_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "summary": "Printer on floor 2 is offline",
        "description": "It stopped printing this morning.",
        "reporter": "Ann@Customer.example",
        "reporter_name": "Ann Example",
        "source_id": source_id,
        **fields,
    }


# --- Jira --------------------------------------------------------------------------------


def test_an_operator_opens_a_jira_ticket_routed_like_a_mail_and_reads_it_back(
    served: Served,
) -> None:
    answer = served.operator.post(
        "/api/v1/tickets", json=_ticket(served.jira_mailbox, labels=["vip"])
    )

    assert answer.status_code == 201, answer.text
    made = answer.json()
    [issue] = served.jira.issues()
    assert (made["ticket_key"], made["kind"], made["origin"]) == (issue["key"], "jira", "api")
    assert issue["fields"]["summary"] == "Printer on floor 2 is offline"
    # The subject rule "printers" gave the category; the configured label, the request's.
    assert (made["board"], made["category"]) == (SUP, "hardware")
    assert made["labels"] == ["mail", "vip", "hardware"]
    assert made["sender"] == "ann@customer.example"
    [record] = made["mails"]
    assert (record["origin"], record["outcome"], record["mail_id"]) == ("api", "ticket", None)
    assert "Rule 'printers' matched." in record["detail"]
    assert made["files"] == {"sent": [], "skipped": []}
    read = served.reporter.get(f"/api/v1/tickets/{made['id']}")
    assert read.status_code == 200 and read.json() == {
        k: v for k, v in made.items() if k != "files"
    }


def test_the_board_and_category_named_win_and_must_be_the_mailboxs(served: Served) -> None:
    chosen = served.operator.post(
        "/api/v1/tickets",
        json=_ticket(served.jira_mailbox, summary="VPN is slow", category="general"),
    )
    refused = served.operator.post(
        "/api/v1/tickets",
        json=_ticket(served.jira_mailbox, board="10000", category="urgent"),
    )

    assert chosen.status_code == 201 and chosen.json()["category"] == "general"
    assert refused.status_code == 422
    fields = {f["field"] for f in refused.json()["error"]["details"]["fields"]}
    assert fields == {"board", "category"}
    assert "choose one of: 10001" in refused.json()["error"]["message"]
    assert len(served.jira.issues()) == 1


def test_a_repeated_create_with_the_same_key_makes_one_ticket(served: Served) -> None:
    body = _ticket(served.jira_mailbox)
    headers = {"Idempotency-Key": "order-4711"}

    first = served.operator.post("/api/v1/tickets", json=body, headers=headers)
    again = served.operator.post("/api/v1/tickets", json=body, headers=headers)
    by_reference = served.operator.post(
        "/api/v1/tickets", json={**body, "client_reference": "order-4711"}
    )
    other = served.operator.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "x2"})

    assert (first.status_code, again.status_code, by_reference.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == by_reference.json()["id"]
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert len(served.jira.issues()) == 2
    differ = served.operator.post(
        "/api/v1/tickets", json={**body, "client_reference": "a"}, headers={"Idempotency-Key": "b"}
    )
    assert differ.status_code == 422, differ.text


def test_jira_failures_answer_502_or_503_and_a_retry_makes_the_ticket_once(
    served: Served,
) -> None:
    body, headers = _ticket(served.jira_mailbox), {"Idempotency-Key": "retry-me"}
    unavailable = {
        "status": 503,
        "count": 1,
        "retry_after": 120,
        "path_contains": "/issue",
        "methods": ["POST"],
    }
    assert served.jira.http.post("/_emulator/faults", json=unavailable).is_success

    busy = served.operator.post("/api/v1/tickets", json=body, headers=headers)

    assert busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "120"
    assert busy.json()["error"]["code"] == "unavailable"
    refusal = {"status": 401, "count": 1, "path_contains": "/issue", "methods": ["POST"]}
    assert served.jira.http.post("/_emulator/faults", json=refusal).is_success
    refused = served.operator.post("/api/v1/tickets", json=body, headers=headers)
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "upstream_error"
    assert served.jira.issues() == []

    made = served.operator.post("/api/v1/tickets", json=body, headers=headers)

    assert made.status_code == 201, made.text
    assert len(served.jira.issues()) == 1
    assert served.operator.post("/api/v1/tickets", json=body, headers=headers).status_code == 200
    assert len(served.jira.issues()) == 1


def test_a_public_comment_and_an_internal_note_the_reporter_never_sees(served: Served) -> None:
    made = served.operator.post("/api/v1/tickets", json=_ticket(served.jira_mailbox)).json()

    public = served.operator.post(
        f"/api/v1/tickets/{made['id']}/comments", json={"text": "A technician is on the way."}
    )
    internal = served.operator.post(
        f"/api/v1/tickets/{made['id']}/comments",
        json={"text": "Toner order pending", "internal": True},
    )

    assert public.status_code == 201, public.text
    assert internal.status_code == 201, internal.text
    assert (public.json()["ticket_key"], public.json()["internal"]) == (made["ticket_key"], False)
    assert internal.json()["internal"] is True
    # SUP is a service desk project: the note is JSM's internal comment, hidden from customers.
    comments = served.jira.http.get(
        f"/rest/api/3/issue/{made['ticket_key']}/comment", params={"expand": "properties"}
    ).json()["comments"]
    internal_flags = {
        comment["id"]: any(p["key"] == "sd.public.comment" for p in comment["properties"])
        for comment in comments
    }
    assert internal_flags == {
        public.json()["comment_id"]: False,
        internal.json()["comment_id"]: True,
    }
    mails = served.reporter.get(f"/api/v1/tickets/{made['id']}").json()["mails"]
    assert [(m["outcome"], m["comment_id"]) for m in mails] == [
        ("ticket", None),
        ("comment", public.json()["comment_id"]),
        ("comment", internal.json()["comment_id"]),
    ]


def test_a_comment_on_a_ticket_deleted_in_jira_answers_410_and_marks_it(served: Served) -> None:
    made = served.operator.post("/api/v1/tickets", json=_ticket(served.jira_mailbox)).json()
    served.jira.delete(made["ticket_key"])

    gone = served.operator.post(f"/api/v1/tickets/{made['id']}/comments", json={"text": "Hello"})

    assert gone.status_code == 410, gone.text
    assert served.reporter.get(f"/api/v1/tickets/{made['id']}").json()["state"] == "deleted"
    again = served.operator.post(f"/api/v1/tickets/{made['id']}/comments", json={"text": "Hi"})
    assert again.status_code == 410


# --- Autotask ----------------------------------------------------------------------------


def test_a_ticket_opened_by_connection_goes_to_the_autotask_queue_with_an_internal_note(
    served: Served,
) -> None:
    answer = served.operator.post(
        "/api/v1/tickets",
        json={
            **_ticket(0, summary="Invoice question", board=LEVEL_ONE, category="billing"),
            "source_id": None,
            "connection_id": served.autotask_connection,
        },
    )

    assert answer.status_code == 201, answer.text
    made = answer.json()
    remote = served.autotask.ticket(made["ticket_id"])
    assert (remote["title"], str(remote["queueID"])) == ("Invoice question", LEVEL_ONE)
    assert remote["ticketNumber"] == made["ticket_key"]
    assert (made["kind"], made["source_id"]) == ("autotask", served.autotask_mailbox)
    note = served.operator.post(
        f"/api/v1/tickets/{made['id']}/comments", json={"text": "Credit approved", "internal": True}
    )
    assert note.status_code == 201, note.text
    [stored] = served.autotask.notes(made["ticket_id"])
    assert stored["description"] == "Credit approved"
    assert stored["publish"] != 1  # not "All Autotask Users"


# --- lists ---------------------------------------------------------------------------------


def test_tickets_list_newest_first_by_filter_and_cursor(served: Served) -> None:
    for summary in ("Printer jam", "Mail is slow", "Printer offline"):
        body = _ticket(served.jira_mailbox, summary=summary)
        assert served.operator.post("/api/v1/tickets", json=body).status_code == 201
    at_body = {**_ticket(served.autotask_mailbox, summary="Invoice")}
    assert served.operator.post("/api/v1/tickets", json=at_body).status_code == 201

    def keys(**params: Any) -> list[str]:
        answer = served.reporter.get("/api/v1/tickets", params=params)
        assert answer.status_code == 200, answer.text
        return [t["ticket_key"] for t in answer.json()["items"]]

    everything = keys()
    assert len(everything) == 4 and everything[0].startswith("T")  # Autotask's, newest
    assert keys(category="hardware") == ["SUP-3", "SUP-1"]
    assert keys(source_id=served.autotask_mailbox) == everything[:1]
    assert keys(connection_id=served.autotask_connection) == everything[:1]
    assert keys(board=SUP, sender="ANN@customer.example", state="open") == everything[1:]
    assert keys(state="deleted") == []
    assert keys(since="2099-01-01T00:00:00Z") == []
    first = served.reporter.get("/api/v1/tickets", params={"limit": 3}).json()
    rest = served.reporter.get(
        "/api/v1/tickets", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [t["ticket_key"] for t in first["items"] + rest["items"]] == everything
    assert rest["next_cursor"] is None


def test_a_mailbox_is_named_by_its_mail_source_and_the_first_name_still_works(
    served: Served,
) -> None:
    """source_id is the number the desk mailboxes API and the Mailboxes tab use; mailbox_id
    (the desk's own row, documented first) keeps working where it was taken."""
    [board] = served.reporter.get(
        "/api/v1/boards", params={"source_id": served.jira_mailbox}
    ).json()["items"]
    old_id = board["mailbox_id"]
    settings = served.reporter.get(f"/api/v1/service-desk/mailboxes/{board['source_id']}")
    assert settings.json()["source_name"] == board["mailbox"] == "Support mailbox"

    by_old = {**_ticket(0), "source_id": None, "mailbox_id": old_id}
    made = served.operator.post("/api/v1/tickets", json=by_old)
    assert made.status_code == 201, made.text
    assert (made.json()["source_id"], made.json()["mailbox_id"]) == (served.jira_mailbox, old_id)
    for params in ({"source_id": served.jira_mailbox}, {"mailbox_id": old_id}):
        listed = served.reporter.get("/api/v1/tickets", params=params).json()["items"]
        assert [t["id"] for t in listed] == [made.json()["id"]]
        [category] = served.reporter.get("/api/v1/categories", params=params).json()["items"][:1]
        assert category["source_id"] == served.jira_mailbox
    both = {**_ticket(served.jira_mailbox), "mailbox_id": old_id}
    assert served.operator.post("/api/v1/tickets", json=both).status_code == 422


def test_boards_and_categories_are_listed_from_configuration(served: Served) -> None:
    boards = served.reporter.get("/api/v1/boards").json()["items"]
    categories = served.reporter.get(
        "/api/v1/categories", params={"source_id": served.jira_mailbox}
    ).json()["items"]

    assert {(b["mailbox"], b["board"], b["meaning"], b["is_default"]) for b in boards} == {
        ("Helpdesk mailbox", HELPDESK, "Autotask queue id", True),
        ("Helpdesk mailbox", LEVEL_ONE, "Autotask queue id", False),
        ("Support mailbox", SUP, "Jira project id", True),
    }
    jira_board = next(b for b in boards if b["board"] == SUP)
    assert (jira_board["kind"], jira_board["rules"]) == ("jira", ["printers"])
    assert [(c["category"], c["is_default"], c["rules"]) for c in categories] == [
        ("general", True, []),
        ("hardware", False, ["printers"]),
    ]
    by_connection = served.reporter.get(
        "/api/v1/boards", params={"connection_id": served.autotask_connection}
    ).json()["items"]
    assert {b["board"] for b in by_connection} == {HELPDESK, LEVEL_ONE}


# --- refusals ------------------------------------------------------------------------------


def test_roles_read_for_reporters_and_write_for_operators(served: Served) -> None:
    body = _ticket(served.jira_mailbox)
    anonymous = httpx.get(f"{served.url}/api/v1/tickets")
    viewer = served.clients[Role.VIEWER]

    assert anonymous.status_code == 401
    assert viewer.get("/api/v1/tickets").status_code == 403
    assert viewer.get("/api/v1/boards").status_code == 403
    assert served.reporter.get("/api/v1/tickets").status_code == 200
    assert served.reporter.post("/api/v1/tickets", json=body).status_code == 403
    assert served.clients[Role.ADMIN].post("/api/v1/tickets", json=body).status_code == 201
    made = served.reporter.get("/api/v1/tickets").json()["items"][0]
    refused = served.reporter.post(f"/api/v1/tickets/{made['id']}/comments", json={"text": "x"})
    assert refused.status_code == 403
    assert len(served.jira.issues()) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reporter": "not an address"}, "reporter"),
        ({"summary": "   "}, "summary"),
        ({"source_id": None}, "body"),
        ({"connection_id": 1}, "body"),
        ({"labels": ["two words"]}, "labels.0"),
        ({"priority": "high"}, "priority"),
        ({"source_id": 999}, "source_id"),
        ({"source_id": None, "mailbox_id": 999}, "mailbox_id"),
    ],
)
def test_bad_input_is_refused_at_its_field(
    served: Served, change: dict[str, Any], field: str
) -> None:
    answer = served.operator.post(
        "/api/v1/tickets", json={**_ticket(served.jira_mailbox), **change}
    )

    assert answer.status_code == 422, answer.text
    assert field in {f["field"] for f in answer.json()["error"]["details"]["fields"]}
    assert served.jira.issues() == []


def test_unknown_ids_a_bad_cursor_and_text_that_is_not_json(served: Served) -> None:
    op = served.operator
    assert op.get("/api/v1/tickets/999").status_code == 404
    assert op.post("/api/v1/tickets/999/comments", json={"text": "x"}).status_code == 404
    assert op.get("/api/v1/tickets", params={"cursor": "nope"}).status_code == 400
    not_json = op.post(
        "/api/v1/tickets", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    no_target = {**_ticket(served.jira_mailbox), "source_id": None, "connection_id": 999}
    assert op.post("/api/v1/tickets", json=no_target).status_code == 422


def test_a_form_opens_a_ticket_with_its_files_once_and_refuses_a_program(
    served: Served,
) -> None:
    fields = {k: str(v) for k, v in _ticket(served.jira_mailbox).items() if k != "reporter_name"}
    screenshot = ("attachments", ("screen.png", b"\x89PNG-not-really", "image/png"))
    log = ("attachments", ("printer.log", b"paper jam at tray 2\n", "text/plain"))
    headers = {"Idempotency-Key": "form-1"}

    made = served.operator.post(
        "/api/v1/tickets",
        data={**fields, "labels": ["vip", "floor-2"]},
        files=[screenshot, log],
        headers=headers,
    )
    again = served.operator.post(
        "/api/v1/tickets", data=fields, files=[screenshot, log], headers=headers
    )
    program = served.operator.post(
        "/api/v1/tickets",
        data=fields,
        files=[log, ("attachments", ("setup.exe", b"MZ", "application/octet-stream"))],
    )

    assert made.status_code == 201, made.text
    assert made.json()["labels"] == ["mail", "vip", "floor-2", "hardware"]
    assert made.json()["files"] == {"sent": ["screen.png", "printer.log"], "skipped": []}
    issue = served.jira.http.get(
        f"/rest/api/3/issue/{made.json()['ticket_key']}", params={"fields": "attachment"}
    ).json()
    assert sorted(a["filename"] for a in issue["fields"]["attachment"]) == [
        "printer.log",
        "screen.png",
    ]
    assert "Files attached: screen.png, printer.log." in made.json()["mails"][0]["detail"]
    assert (again.status_code, again.json()["files"]) == (200, None)
    assert program.status_code == 422
    assert program.json()["error"]["details"]["fields"] == [
        {"field": "attachments[1]", "message": "setup.exe: .exe files are not accepted."}
    ]
    assert len(served.jira.issues()) == 1


def test_a_form_without_files_opens_a_ticket_and_a_file_reaches_autotask_once(
    served: Served,
) -> None:
    fields = {k: str(v) for k, v in _ticket(served.autotask_mailbox).items()}
    invoice = ("attachments", ("invoice.pdf", b"%PDF-1.4 not really", "application/pdf"))

    plain = served.operator.post("/api/v1/tickets", data=fields)
    with_file = served.operator.post(
        "/api/v1/tickets", data=fields, files=[invoice], headers={"Idempotency-Key": "inv-1"}
    )
    again = served.operator.post(
        "/api/v1/tickets", data=fields, files=[invoice], headers={"Idempotency-Key": "inv-1"}
    )

    assert plain.status_code == 201, plain.text
    assert (plain.json()["kind"], plain.json()["files"]) == (
        "autotask",
        {"sent": [], "skipped": []},
    )
    assert with_file.status_code == 201, with_file.text
    assert with_file.json()["files"] == {"sent": ["invoice.pdf"], "skipped": []}
    assert again.status_code == 200 and again.json()["id"] == with_file.json()["id"]
    [stored] = served.autotask.attachments(with_file.json()["ticket_id"])
    assert stored["title"] == "invoice.pdf"
    assert served.autotask.attachments(plain.json()["ticket_id"]) == []
