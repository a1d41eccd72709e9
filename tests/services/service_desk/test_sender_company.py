"""An Autotask desk mailbox that finds the company by the sender opens each ticket for the
sender's contact's company, else the company whose web address is the sender's domain, else
its own; the mail's record says which, and each lookup is asked once a run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import NOW
from tests.services.service_desk.autotask_desk import (
    HELPDESK,
    AutotaskDesk,
    company,
    contact,
    tickets,
)
from tests.services.service_desk.conftest import DESK, Desk, mail
from ticketbridge.services.connections import reference
from ticketbridge.services.service_desk import mailboxes
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.storage.models import ServiceDeskMail


@pytest.fixture
def by_sender(autotask_desk: AutotaskDesk) -> AutotaskDesk:
    """The mailbox set to find the company by the sender, as an admin ticks it."""
    with autotask_desk.runtime.session_factory() as session:
        setup = mailboxes.MailboxSetup(
            connection_id=mailboxes.mailbox_of_source(
                session, autotask_desk.source_id
            ).connection_id,  # type: ignore[union-attr]
            default_board=HELPDESK,
            default_category="general",
            addresses=(DESK,),
            company_id=autotask_desk.company,
            company_by_sender=True,
        )
        mailboxes.configure(session, autotask_desk.source_id, setup, now=NOW)
        session.commit()
    return autotask_desk


def _companies_of_tickets(desk: AutotaskDesk, *company_ids: int) -> list[dict[str, Any]]:
    query = {"filter": [{"op": "in", "field": "companyID", "value": list(company_ids)}]}
    return list(desk.api.post("/Tickets/query", json=query).json()["items"])


def _detail(desk: AutotaskDesk, mail_id: int) -> str:
    with desk.runtime.session_factory() as session:
        return str(session.query(ServiceDeskMail).filter_by(mail_id=mail_id).one().detail)


def test_the_senders_contact_decides_the_company_and_is_the_tickets_contact(
    by_sender: AutotaskDesk,
) -> None:
    theirs = company(by_sender, "Fabrikam Inc")
    person = contact(by_sender, theirs, "kim@fabrikam.example")

    handled = by_sender.handle(mail(1, sender="kim@fabrikam.example"))

    [ticket] = _companies_of_tickets(by_sender, theirs, by_sender.company)
    assert (ticket["companyID"], ticket["contactID"]) == (theirs, person)
    assert f"Company {theirs}: the sender's contact." in _detail(by_sender, handled.mail_id)


def test_a_sender_without_a_contact_goes_to_the_company_of_their_domain(
    by_sender: AutotaskDesk,
) -> None:
    theirs = by_sender.add(
        "/Companies",
        {
            "companyName": "Northwind",
            "companyType": 1,
            "phone": "555-0101",
            "ownerResourceID": 29,
            "isActive": True,
            "webAddress": "https://www.northwind.example/",
        },
    )

    handled = by_sender.handle(mail(1, sender="lou@eu.northwind.example"))

    [ticket] = _companies_of_tickets(by_sender, theirs, by_sender.company)
    assert ticket["companyID"] == theirs and ticket["contactID"] is None
    detail = _detail(by_sender, handled.mail_id)
    assert f"Company {theirs}: the sender's domain eu.northwind.example." in detail


def test_an_unknown_sender_goes_to_the_mailboxs_company_asking_once_a_run(
    by_sender: AutotaskDesk,
) -> None:
    by_sender.world.forget_requests()
    for n in (1, 2):
        Desk(by_sender.runtime, None, by_sender.source_id).receive(  # type: ignore[arg-type]
            mail(n, sender="max@nowhere.example", subject=f"Question {n}")
        )

    handled = process_pending(by_sender.runtime)

    assert [h.outcome for h in handled] == ["ticket", "ticket"]
    assert {t["companyID"] for t in tickets(by_sender)} == {by_sender.company}
    own = f"Company {by_sender.company}: the mailbox's (none found by the sender)."
    assert all(own in _detail(by_sender, h.mail_id) for h in handled)
    asked = [r["path"].lower() for r in by_sender.world.requests()]
    # One contact and one domain lookup for both mails; the contacts of each ticket apart.
    assert asked.count("/atservicesrest/v1.0/companies/query") == 1
    assert asked.count("/atservicesrest/v1.0/contacts/query") == 1 + 2


def test_a_mailbox_with_a_fixed_company_asks_nothing_about_the_sender(
    autotask_desk: AutotaskDesk,
) -> None:
    contact(autotask_desk, company(autotask_desk, "Fabrikam Inc"), "kim@fabrikam.example")

    autotask_desk.handle(mail(1, sender="kim@fabrikam.example"))

    assert [t["companyID"] for t in tickets(autotask_desk)] == [autotask_desk.company]


def test_a_ticket_from_mail_has_the_email_source_once_the_connection_lists_it(
    autotask_desk: AutotaskDesk,
) -> None:
    before = autotask_desk.handle(mail(1, sender="kim@fabrikam.example"))
    with autotask_desk.runtime.session_factory() as session:
        connection = mailboxes.mailbox_of_source(session, autotask_desk.source_id)
        assert connection is not None
        connection_id = connection.connection_id
    reference.refresh(autotask_desk.runtime, actor="test", connection_id=connection_id)
    after = autotask_desk.handle(mail(2, sender="lee@fabrikam.example", subject="Printer"))

    sources = {t["ticketNumber"]: t["source"] for t in tickets(autotask_desk)}
    email = next(
        v["value"]
        for v in autotask_desk.get("/Tickets/entityInformation/fields")["fields"]
        if v["name"] == "source"
        for v in v["picklistValues"]
        if v["label"] == "Email"
    )
    assert before.outcome == after.outcome == "ticket"
    assert sources[after.ticket_key] == int(email)
    assert sources[before.ticket_key] != int(email)  # the connection's default, before the list
