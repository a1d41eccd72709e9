"""The entity switches carried end to end. Teams: a new ticket's copy goes to the queue the
sync's queue table maps its queue to (Autotask queue to Jira issue type; from Jira, the table's
default to an Autotask queue). Contacts: the copy names the ticket's person found by e-mail
address (Autotask contact <-> Jira reporter). Categories: Autotask's ticketCategory <-> a Jira
label through the categories table. With a switch off, the copy is as before. Both emulators,
both databases."""

from __future__ import annotations

from tests.services.sync.conftest import Paired
from tests.services.sync.entities_support import (
    ALERT,
    BACKUP_ALERTS,
    BUG,
    autotask_contact,
    autotask_queue,
    autotask_ticket,
    jira_issue_types,
    jira_people,
    new,
    run,
    switches,
)
from tests.services.sync.support import HELPDESK, OPS, new_ticket
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.emulators.jira import AGENT_EMAIL, DEMO_EMAIL

A_TO_B, B_TO_A, TICKET = Direction.A_TO_B, Direction.B_TO_A, EntityKind.TICKET


def test_with_teams_on_a_copy_goes_to_the_queue_its_queue_maps_to(paired: Paired) -> None:
    switches(paired, teams=True)
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS50", BACKUP_ALERTS)
    new_ticket(paired.runtime, paired.a, paired.acme, "Password reset for Ann", HELPDESK)
    new_ticket(paired.runtime, paired.b, OPS, "VPN down for the Leeds office", queue=None)

    report = run(paired)

    assert report.counts.of(A_TO_B, TICKET).created == 2
    types = jira_issue_types(paired)
    assert types["Backup failed on FS50"] == BUG  # its queue's row
    assert types["Password reset for Ann"] != BUG  # no row: the connection's default
    assert report.counts.of(B_TO_A, TICKET).created == 1
    assert autotask_queue(paired, "VPN down for the Leeds office") == BACKUP_ALERTS


def test_with_teams_off_the_queue_table_is_not_used(paired: Paired) -> None:
    switches(paired, teams=False)
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS51", BACKUP_ALERTS)
    new_ticket(paired.runtime, paired.b, OPS, "VPN down for the York office", queue=None)

    run(paired)

    assert jira_issue_types(paired)["Backup failed on FS51"] != BUG
    assert autotask_queue(paired, "VPN down for the York office") == HELPDESK


# --- contacts and categories -----------------------------------------------------------------


def test_with_contacts_and_categories_on_a_copy_has_its_person_and_category(
    paired: Paired,
) -> None:
    switches(paired, contacts=True, categories=True)
    contact = autotask_contact(paired, AGENT_EMAIL)  # also a Jira user (Alex Agent)
    new(paired, True, "Printer jams", reporter=AGENT_EMAIL, category_id=ALERT)
    new(paired, False, "Scanner offline", reporter=AGENT_EMAIL, labels=("alert",))

    report = run(paired)

    assert report.counts.of(A_TO_B, TICKET).created == 1
    assert report.counts.of(B_TO_A, TICKET).created == 1
    reporter, labels = jira_people(paired, "Printer jams")
    assert reporter == AGENT_EMAIL
    assert "alert" in labels
    copied = autotask_ticket(paired, "Scanner offline")
    assert copied["contactID"] == contact
    assert copied["ticketCategory"] == ALERT


def test_an_address_unknown_on_the_other_side_is_said_and_the_ticket_still_syncs(
    paired: Paired,
) -> None:
    switches(paired, contacts=True, categories=True)
    autotask_contact(paired, "nobody-in-jira@acme.example")
    new(paired, True, "Desk phone dead", reporter="nobody-in-jira@acme.example")

    report = run(paired)

    assert report.counts.of(A_TO_B, TICKET).created == 1
    assert jira_people(paired, "Desk phone dead")[0] == DEMO_EMAIL  # the API user made it
    [said] = [e for e in report.errors if e["result"] == "unlinked"]
    assert "nobody-in-jira@acme.example" in said["error"]


def test_with_contacts_and_categories_off_a_copy_is_as_before(paired: Paired) -> None:
    switches(paired)
    autotask_contact(paired, AGENT_EMAIL)
    new(paired, True, "Monitor flickers", reporter=AGENT_EMAIL, category_id=ALERT)
    new(paired, False, "Mouse broken", reporter=AGENT_EMAIL, labels=("alert",))

    report = run(paired)

    assert not [e for e in report.errors if e["result"] == "unlinked"]
    reporter, labels = jira_people(paired, "Monitor flickers")
    assert reporter == DEMO_EMAIL
    assert "alert" not in labels
    copied = autotask_ticket(paired, "Mouse broken")
    assert copied["contactID"] is None
    assert copied["ticketCategory"] != ALERT  # the PSA's own default, as before
