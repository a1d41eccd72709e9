"""The Service desk page through the product served by uvicorn, its desk mailbox wired to the
Jira Cloud emulator served on its own loopback port: conversations with their ticket, filtered
mails with their reason and "Create anyway" (one ticket per mail however often it is clicked),
a held loop sender released, and the routing rules edited by an admin; each role refused what
it may not do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_user
from tests.services.service_desk.conftest import Jira, mail, mail_with_attachments, set_up_desk
from tests.web.live_server import form_token, sign_in
from tests.web.serving import serve
from ticketbridge.core.roles import Role
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk.process import Handled, process_pending
from ticketbridge.storage.models import AuditEvent, ServiceDeskMail, ServiceDeskRoutingRule

FILTERED = "/service-desk/filtered"
RULES = "/service-desk/rules"


@dataclass
class Served:
    url: str
    jira_url: str
    jira: Jira
    runtime: Runtime
    source_id: int

    def handle(self, raw: bytes) -> Handled:
        """A mail arrives in the desk mailbox and the worker handles it."""
        with self.runtime.session_factory() as session:
            mail_intake.accept(session, raw, now=NOW, source_id=self.source_id)
            session.commit()
        [handled] = process_pending(self.runtime)
        return handled


@pytest.fixture
def served(app: FastAPI, db: sessionmaker[Session]) -> Iterator[Served]:
    for name, role in (("rita", Role.REPORTER), ("otto", Role.OPERATOR), ("ada", Role.ADMIN)):
        add_user(db, name, role)
    with serve(create_jira(seed="empty")) as jira_url, serve(app) as url:
        runtime: Runtime = app.state.ctx
        source_id = set_up_desk(runtime, jira_url)
        jira = Jira(httpx.Client(base_url=jira_url, timeout=30))
        yield Served(url, jira_url, jira, runtime, source_id)
        jira.http.close()


def _row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert found, (row_id, page)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def _desk_mail_id(db: sessionmaker[Session], key: str) -> int:
    with db() as session:
        row = session.scalars(select(ServiceDeskMail).where(ServiceDeskMail.message_key == key))
        return row.one().id


def test_conversations_and_filtered_mails_are_listed_with_ticket_state_and_reason(
    served: Served, db: sessionmaker[Session]
) -> None:
    first = served.handle(mail(1))
    served.handle(
        mail(2, subject="Re: Printer on floor 2 is offline", in_reply_to="1@customer.example")
    )
    served.handle(
        mail("ooo", subject="Automatic reply", headers="Auto-Submitted: auto-replied\r\n")
    )
    reader = sign_in(served.url, "rita")

    page = reader.get("/service-desk")
    assert page.status_code == 200
    assert 'href="/service-desk" aria-current="page">Service desk</a>' in page.text
    [conversation_id] = re.findall(r'<tr id="conversation-(\d+)">', page.text)
    assert _row(page.text, f"conversation-{conversation_id}") == (
        f"{first.ticket_key} open Support mailbox ann@customer.example 2026-11-20 12:00 2"
    )
    opened = reader.get(f"/service-desk/conversations/{conversation_id}/ticket")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"{served.jira_url}/browse/{first.ticket_key}"
    assert "No conversations match" in reader.get("/service-desk?state=deleted").text
    assert first.ticket_key in reader.get("/service-desk", params={"q": "ANN@customer"}).text
    refused = reader.get("/service-desk?state=nonsense")
    assert refused.status_code == 422 and "state must be one of: open, deleted" in refused.text
    assert reader.get(FILTERED, params={"reason": "nonsense"}).status_code == 422

    stopped = reader.get(FILTERED).text
    auto = _desk_mail_id(db, "ooo@customer.example")
    assert _row(stopped, f"mail-{auto}") == (
        "2026-11-20 12:00 Support mailbox ann@customer.example Automatic reply "
        "Automatic reply An automatic message (Auto-Submitted: auto-replied). filtered"
    )
    assert "Create anyway" not in stopped  # a reporter reads, an operator acts
    assert reader.get(FILTERED, params={"reason": "loop"}).text.count('<tr id="mail-') == 0


def test_a_file_left_off_the_ticket_is_shown_on_its_conversation_with_the_reason(
    served: Served,
) -> None:
    served.handle(
        mail_with_attachments(1, ("setup.exe", b"MZ" + b"\x00" * 64), ("log.pdf", b"%PDF-1.7"))
    )
    reader = sign_in(served.url, "rita")

    page = reader.get("/service-desk").text
    [conversation_id] = re.findall(r'<tr id="conversation-(\d+)">', page)
    row = _row(page, f"conversation-{conversation_id}")
    assert "Files not attached: setup.exe: a .exe file is not attached" in row
    assert "log.pdf" not in row


def test_create_anyway_makes_one_ticket_and_a_second_click_makes_none(
    served: Served, db: sessionmaker[Session]
) -> None:
    served.handle(mail("ooo", subject="Out of office", headers="Auto-Submitted: auto-replied\r\n"))
    auto = _desk_mail_id(db, "ooo@customer.example")
    reader, operator = sign_in(served.url, "rita"), sign_in(served.url, "otto")
    page = operator.get(FILTERED).text
    assert "Create anyway" in page

    refused = reader.post(
        f"{FILTERED}/{auto}/create", data={"csrf_token": form_token(reader.get(FILTERED).text)}
    )
    assert refused.status_code == 403
    assert operator.post(f"{FILTERED}/{auto}/create", data={"csrf_token": "x"}).status_code == 400
    assert served.jira.issues() == []

    clicked = operator.post(f"{FILTERED}/{auto}/create", data={"csrf_token": form_token(page)})
    assert clicked.status_code == 303 and clicked.headers["location"].endswith(f"#mail-{auto}")
    [issue] = served.jira.issues()
    assert issue["fields"]["summary"] == "Out of office"
    row = _row(operator.get(FILTERED).text, f"mail-{auto}")
    assert row == (
        "2026-11-20 12:00 Support mailbox ann@customer.example Out of office Automatic reply "
        f"Ticket {issue['key']}, created anyway Ticket {issue['key']} created. –"
    )

    again = operator.post(f"{FILTERED}/{auto}/create", data={"csrf_token": form_token(page)})
    assert again.status_code == 303
    assert "already made ticket on" in operator.get(FILTERED).text
    assert len(served.jira.issues()) == 1
    assert str(issue["key"]) in operator.get("/service-desk").text
    with db() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "service_desk.create_anyway")
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.actor, e.outcome, e.details["ticket"]) for e in events] == [
        ("otto", "ok", issue["key"]),
        ("otto", "done_before", None),
    ]


def test_a_held_loop_sender_is_released_the_same_way(
    served: Served, db: sessionmaker[Session]
) -> None:
    for n in range(5):  # the mailbox's loop limit: five tickets within the hour
        assert served.handle(mail(f"loop{n}", subject=f"Alert {n}")).outcome == "ticket"
    held = served.handle(mail("loop5", subject="Alert 5"))
    assert (held.outcome, held.reason) == ("held", "loop")
    operator = sign_in(served.url, "otto")
    page = operator.get(FILTERED).text
    held_id = _desk_mail_id(db, "loop5@customer.example")
    assert "Held: possible mail loop" in _row(page, f"mail-{held_id}")

    operator.post(f"{FILTERED}/{held_id}/create", data={"csrf_token": form_token(page)})

    assert len(served.jira.issues()) == 6
    assert "created anyway" in _row(operator.get(FILTERED).text, f"mail-{held_id}")


def _rule_fields(**typed: str) -> dict[str, str]:
    fields = {
        "name": "", "board": "10001", "category": "", "recipients": "", "sender_domains": "",
        "subject_pattern": "", "labels": "",
    }  # fmt: skip
    return {**fields, **typed}


def test_admins_add_edit_and_delete_routing_rules_with_errors_at_their_fields(
    served: Served, db: sessionmaker[Session]
) -> None:
    admin, operator = sign_in(served.url, "ada"), sign_in(served.url, "otto")
    page = admin.get(RULES).text
    token = form_token(page)
    assert "printers" in page and '<option value="hardware">hardware</option>' in page
    with db() as session:
        mailbox_id = session.scalars(select(ServiceDeskRoutingRule.mailbox_id)).one()

    refused = admin.post(
        RULES,
        data={
            "csrf_token": token,
            "mailbox_id": str(mailbox_id),
            **_rule_fields(name="acme", sender_domains="acme.example, not a domain!", labels="vip"),
        },
    )
    assert refused.status_code == 422
    assert (
        '<span class="field-error" id="err-sender_domains">Not a domain: &#39;not&#39;.</span>'
        in refused.text
    )
    assert 'aria-describedby="err-sender_domains help-sender_domains" aria-invalid="true"' in (
        refused.text
    )
    assert 'value="acme.example, not a domain!"' in refused.text and 'value="acme"' in refused.text

    added = admin.post(
        RULES,
        data={
            "csrf_token": token,
            "mailbox_id": str(mailbox_id),
            **_rule_fields(
                name="acme", sender_domains="acme.example", category="hardware", labels="vip"
            ),
        },
    )
    assert added.status_code == 303
    with db() as session:
        rule = session.scalars(
            select(ServiceDeskRoutingRule).where(ServiceDeskRoutingRule.name == "acme")
        ).one()
        assert (rule.sender_domains, rule.category, rule.labels) == (
            ["acme.example"],
            "hardware",
            ["vip"],
        )
    listing = admin.get(RULES).text
    assert _row(listing, f"rule-{rule.id}").startswith(
        "2 acme from acme.example 10001 hardware vip"
    )

    edit = admin.get(f"{RULES}/{rule.id}").text
    assert 'value="acme.example"' in edit
    bad = admin.post(
        f"{RULES}/{rule.id}",
        data={"csrf_token": token, **_rule_fields(name="printers", sender_domains="acme.example")},
    )
    assert bad.status_code == 422
    assert 'id="err-name">Another rule has this name.</span>' in bad.text
    saved = admin.post(
        f"{RULES}/{rule.id}",
        data={"csrf_token": token, **_rule_fields(name="acme", subject_pattern="*urgent*")},
    )
    assert saved.status_code == 303
    assert _row(admin.get(RULES).text, f"rule-{rule.id}").startswith(
        "2 acme subject *urgent* 10001 the default"
    )

    assert operator.get(RULES).status_code == 403
    operator_token = form_token(operator.get("/service-desk").text)
    assert (
        operator.post(f"{RULES}/{rule.id}/delete", data={"csrf_token": operator_token}).status_code
        == 403
    )
    assert 'href="/service-desk/rules"' not in operator.get("/service-desk").text

    deleted = admin.post(f"{RULES}/{rule.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert f'id="rule-{rule.id}"' not in admin.get(RULES).text
    with db() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("service_desk.rule%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "service_desk.rule_create",
        "service_desk.rule_update",
        "service_desk.rule_delete",
    ]


def test_a_create_anyway_the_psa_refused_says_why_in_its_row_and_can_be_tried_again(
    served: Served, db: sessionmaker[Session]
) -> None:
    served.handle(mail("ooo", subject="Out of office", headers="Auto-Submitted: auto-replied\r\n"))
    auto = _desk_mail_id(db, "ooo@customer.example")
    operator = sign_in(served.url, "otto")
    token = form_token(operator.get(FILTERED).text)
    fault = {"status": 400, "count": 1, "path_contains": "/rest/api/3/issue", "methods": ["POST"]}
    assert served.jira.http.post("/_emulator/faults", json=fault).is_success

    operator.post(f"{FILTERED}/{auto}/create", data={"csrf_token": token})

    assert served.jira.issues() == []
    row = _row(operator.get(FILTERED).text, f"mail-{auto}")
    assert row.startswith(
        "2026-11-20 12:00 Support mailbox ann@customer.example Out of office Automatic reply Failed"
    )
    assert "Not created:" in row and row.endswith("Try again")
    assert process_pending(served.runtime) == []  # the worker leaves it to the operator

    operator.post(f"{FILTERED}/{auto}/create", data={"csrf_token": token})

    [issue] = served.jira.issues()
    assert f"Ticket {issue['key']}, created anyway" in _row(
        operator.get(FILTERED).text, f"mail-{auto}"
    )
    with db() as session:
        outcomes = session.scalars(
            select(AuditEvent.outcome)
            .where(AuditEvent.action == "service_desk.create_anyway")
            .order_by(AuditEvent.id)
        ).all()
    assert outcomes == ["failed", "ok"]
