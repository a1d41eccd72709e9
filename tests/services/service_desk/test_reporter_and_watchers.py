"""The sender and the Cc of a first mail reach the ticket as people the PSA knows: Jira's
reporter and watchers, Autotask's contact and additional contacts; an address the PSA does not
know is said on the mail's record, and the ticket is made all the same."""

from __future__ import annotations

from typing import Any

from tests.services.service_desk.autotask_desk import AutotaskDesk, company, contact, tickets
from tests.services.service_desk.conftest import Desk, mail
from ticketbridge.services.service_desk.process import Handled
from ticketbridge.storage.models import ServiceDeskMail

CUSTOMER, COLLEAGUE = "casey@contoso.example", "dana@contoso.example"
STRANGER = "lee@elsewhere.example"
CC = f"Cc: Dana <{COLLEAGUE}>, Lee <{STRANGER}>\r\n"


def first_mail() -> bytes:
    return mail(1, sender=CUSTOMER, headers=CC)


def recorded(desk_runtime: Any, handled: Handled) -> str:
    with desk_runtime.session_factory() as session:
        row = session.query(ServiceDeskMail).filter_by(mail_id=handled.mail_id).one()
        return str(row.detail)


def test_jira_ticket_has_the_sender_as_reporter_and_the_cc_as_watchers(desk: Desk) -> None:
    handled = desk.handle(first_mail())

    assert handled.outcome == "ticket"
    key = str(handled.ticket_key)
    issue = desk.jira.http.get(f"/rest/api/3/issue/{key}", params={"fields": "reporter"})
    assert issue.json()["fields"]["reporter"]["emailAddress"] == CUSTOMER
    watchers = desk.jira.http.get(f"/rest/api/3/issue/{key}/watchers").json()["watchers"]
    assert [w["emailAddress"] for w in watchers] == [COLLEAGUE]
    detail = recorded(desk.runtime, handled)
    assert f"Reporter: {CUSTOMER}." in detail and f"Watching: {COLLEAGUE}." in detail
    assert f"Not linked: {STRANGER} (no Jira account has this address)." in detail


# --- Autotask ---------------------------------------------------------------------------


def test_autotask_ticket_has_the_senders_contact_and_the_cc_as_additional_contacts(
    autotask_desk: AutotaskDesk,
) -> None:
    ours = autotask_desk.company
    customer = contact(autotask_desk, ours, CUSTOMER)
    colleague = contact(autotask_desk, ours, COLLEAGUE)
    # The stranger is a contact too, of another company: not one of this ticket's people.
    contact(autotask_desk, company(autotask_desk, "Elsewhere Inc"), STRANGER)

    handled = autotask_desk.handle(first_mail())

    assert handled.outcome == "ticket"
    [ticket] = tickets(autotask_desk)
    assert ticket["contactID"] == customer
    extra = autotask_desk.get(f"/Tickets/{ticket['id']}/AdditionalContacts")["items"]
    assert [c["contactID"] for c in extra] == [colleague]
    detail = recorded(autotask_desk.runtime, handled)
    assert f"Reporter: {CUSTOMER}." in detail and f"Watching: {COLLEAGUE}." in detail
    assert f"Not linked: {STRANGER} (no active contact" in detail
