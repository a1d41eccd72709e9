"""The entity switches on later updates of mapped tickets: a category, person or queue changed on
one side after the copy was made reaches the other side once, through the tables, field by field
like title and status; a change on both sides of the category is a conflict; with the switches
off nothing of it is written; and entries made before a switch was on are not rewritten when it
is turned on. Both emulators, both databases."""

from __future__ import annotations

from sqlalchemy import select

from tests.services.sync.conftest import Paired
from tests.services.sync.entities_support import (
    ALERT,
    BACKUP_ALERTS,
    BUG,
    STANDARD,
    autotask_contact,
    autotask_queue,
    autotask_ticket,
    change_in_autotask,
    change_jira_labels,
    counterpart,
    jira_issue_types,
    jira_people,
    new,
    run,
    switches,
    writes,
)
from tests.services.sync.support import AS_AGENT, HELPDESK, JIRA_AUTH
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.emulators.jira import AGENT_EMAIL, DEMO_EMAIL
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncConflict

A_TO_B, B_TO_A, TICKET = Direction.A_TO_B, Direction.B_TO_A, EntityKind.TICKET
CASEY = "casey@contoso.example"  # a Jira user of the emulator's seed


def _next_run(paired: Paired) -> sync_run.RunReport:
    paired.clock.advance(minutes=1)
    return run(paired)


def _said(report: sync_run.RunReport, result: str) -> list[str]:
    return [e["error"] for e in report.errors if e["result"] == result]


def _keep_label(paired: Paired, issue: int, label: str) -> None:
    """A Jira user's own tag on the issue."""
    body = {"update": {"labels": [{"add": label}]}}
    answer = paired.world.jira_http.put(f"/rest/api/3/issue/{issue}", json=body, headers=JIRA_AUTH)
    assert answer.status_code == 204, answer.text


def test_a_category_changed_in_autotask_replaces_the_jira_label_once(paired: Paired) -> None:
    switches(paired, categories=True)
    ticket = new(paired, True, "Backup job warning", category_id=STANDARD)
    run(paired)
    issue = counterpart(paired, autotask_id=ticket)
    _keep_label(paired, issue, "customer-vip")
    _next_run(paired)
    before = jira_people(paired, "Backup job warning")[1]
    assert "standard" in before

    change_in_autotask(paired, ticket, ticketCategory=ALERT)
    report = _next_run(paired)

    assert report.counts.of(A_TO_B, TICKET).updated == 1
    labels = jira_people(paired, "Backup job warning")[1]
    assert "alert" in labels and "standard" not in labels  # the mapped label replaced
    assert "customer-vip" in labels  # the Jira user's tag kept
    assert [x for x in before if x.startswith("tbref-")] == [
        x for x in labels if x.startswith("tbref-")
    ]  # the sync's reference label kept
    paired.world.forget_requests()
    again = _next_run(paired)
    assert again.counts.of(A_TO_B, TICKET).updated == 0
    assert again.counts.of(B_TO_A, TICKET).updated == 0
    assert writes(paired) == []
    assert autotask_ticket(paired, "Backup job warning")["ticketCategory"] == ALERT


def test_a_label_changed_in_jira_sets_the_autotask_category(paired: Paired) -> None:
    switches(paired, categories=True)
    issue = new(paired, False, "Laptop for new starter", labels=("alert",))
    run(paired)
    assert autotask_ticket(paired, "Laptop for new starter")["ticketCategory"] == ALERT

    change_jira_labels(paired, issue, remove="alert", add="vip")
    report = _next_run(paired)

    assert report.counts.of(B_TO_A, TICKET).updated == 1
    assert autotask_ticket(paired, "Laptop for new starter")["ticketCategory"] == STANDARD


def test_the_contact_changed_in_autotask_becomes_the_jira_reporter(paired: Paired) -> None:
    switches(paired, contacts=True)
    api_user = autotask_contact(paired, DEMO_EMAIL)
    agent = autotask_contact(paired, AGENT_EMAIL)
    stranger = autotask_contact(paired, "nobody-in-jira@acme.example")
    customer = autotask_contact(paired, CASEY)
    ticket = new(paired, True, "Shared drive full", reporter=DEMO_EMAIL)
    run(paired)
    assert autotask_ticket(paired, "Shared drive full")["contactID"] == api_user

    change_in_autotask(paired, ticket, contactID=agent)
    report = _next_run(paired)

    assert report.counts.of(A_TO_B, TICKET).updated == 1
    assert jira_people(paired, "Shared drive full")[0] == AGENT_EMAIL
    assert autotask_ticket(paired, "Shared drive full")["contactID"] == agent  # not sent back

    # An address Jira does not know: said, not a failure; the reporter stays; said once.
    change_in_autotask(paired, ticket, contactID=stranger, title="Shared drive full (G:)")
    report = _next_run(paired)
    assert report.counts.of(A_TO_B, TICKET).updated == 1
    [said] = _said(report, "unlinked")
    assert "nobody-in-jira@acme.example" in said
    assert jira_people(paired, "Shared drive full (G:)")[0] == AGENT_EMAIL
    again = _next_run(paired)
    assert _said(again, "unlinked") == []
    assert again.counts.of(A_TO_B, TICKET).updated == 0

    # A service desk customer may not report on a software project: Jira's refusal is said.
    change_in_autotask(paired, ticket, contactID=customer, title="Shared drive full (H:)")
    report = _next_run(paired)
    [said] = _said(report, "unlinked")
    assert CASEY in said and "reporter" in said
    assert jira_people(paired, "Shared drive full (H:)")[0] == AGENT_EMAIL


def test_a_queue_changed_in_autotask_is_said_not_carried_to_the_jira_issue_type(
    paired: Paired,
) -> None:
    switches(paired, teams=True)
    ticket = new(paired, True, "Replication lag")
    run(paired)
    kind = jira_issue_types(paired)["Replication lag"]
    assert kind != BUG  # Helpdesk has no row: the connection's issue type

    change_in_autotask(paired, ticket, queueID=BACKUP_ALERTS)
    report = _next_run(paired)

    # Its row says Bug, but Jira changes an issue type only by a move: said, and skipped.
    [said] = _said(report, "not carried")
    assert f"queue {BUG}" in said and "side B" in said
    assert jira_issue_types(paired)["Replication lag"] == kind
    assert autotask_queue(paired, "Replication lag") == BACKUP_ALERTS  # left as moved
    again = _next_run(paired)
    assert _said(again, "not carried") == []  # said once, not every run


def test_a_jira_ticket_copy_keeps_its_autotask_queue_through_later_updates(
    paired: Paired,
) -> None:
    switches(paired, teams=True)
    issue = new(paired, False, "Certificate expires Friday")
    run(paired)
    ticket = counterpart(paired, jira_id=issue)
    assert autotask_queue(paired, "Certificate expires Friday") == BACKUP_ALERTS  # the default

    # Jira reads no queue back: a later Jira change moves nothing in Autotask.
    answer = paired.world.jira_http.put(
        f"/rest/api/3/issue/{issue}",
        json={"fields": {"summary": "Certificate expires Monday"}},
        headers=AS_AGENT,  # a person: the sync's own account at this instant would be an echo
    )
    assert answer.status_code == 204, answer.text
    assert _next_run(paired).counts.of(B_TO_A, TICKET).updated == 1
    assert autotask_queue(paired, "Certificate expires Monday") == BACKUP_ALERTS

    # Moved in Autotask to a queue without a row: stays there, nothing written to Jira.
    change_in_autotask(paired, ticket, queueID=HELPDESK)
    paired.world.forget_requests()
    report = _next_run(paired)
    assert _said(report, "not carried") == []  # no row and no default: nothing to carry
    assert writes(paired) == []
    assert autotask_queue(paired, "Certificate expires Monday") == HELPDESK


def test_with_the_switches_off_no_person_queue_or_category_is_written(paired: Paired) -> None:
    switches(paired)
    agent = autotask_contact(paired, AGENT_EMAIL)
    ticket = new(paired, True, "Firewall rule request", category_id=STANDARD)
    run(paired)

    change_in_autotask(paired, ticket, contactID=agent, ticketCategory=ALERT, queueID=BACKUP_ALERTS)
    paired.world.forget_requests()
    report = _next_run(paired)

    assert report.counts.of(A_TO_B, TICKET).updated == 0
    assert writes(paired) == []
    reporter, labels = jira_people(paired, "Firewall rule request")
    assert reporter == DEMO_EMAIL and "alert" not in labels
    assert report.errors == []


def test_a_category_changed_on_both_sides_keeps_the_later_change_and_logs_the_other(
    paired: Paired,
) -> None:
    switches(paired, categories=True)
    ticket = new(paired, True, "Mail delayed", category_id=STANDARD)
    run(paired)
    issue = counterpart(paired, autotask_id=ticket)
    change_in_autotask(paired, ticket, ticketCategory=ALERT)
    paired.clock.advance(minutes=1)
    change_jira_labels(paired, issue, remove="standard", add="vip")

    _next_run(paired)

    assert autotask_ticket(paired, "Mail delayed")["ticketCategory"] == STANDARD  # vip's row
    labels = jira_people(paired, "Mail delayed")[1]
    assert "vip" in labels and "alert" not in labels
    with paired.db() as session:
        logged = [(c.field, c.winner, c.loser_value) for c in session.scalars(select(SyncConflict))]
    assert logged == [("category", "b", str(ALERT))]


def test_turning_the_switches_on_rewrites_no_earlier_copy_and_carries_later_changes(
    paired: Paired,
) -> None:
    """Entries made before the switches hold no hash of the person or category (as after an
    upgrade): their differing values are taken as they are, not sent either way."""
    agent = autotask_contact(paired, AGENT_EMAIL)
    ticket = new(paired, True, "Scanner to e-mail broken", reporter=AGENT_EMAIL)
    issue = new(paired, False, "Wi-Fi drops in room 4", labels=("alert",))
    run(paired)  # copies made with the switches off: Jira's reporter is the API user
    switches(paired, contacts=True, categories=True)
    change_in_autotask(paired, ticket, title="Scanner to e-mail broken (floor 2)")
    change_in_autotask(paired, counterpart(paired, jira_id=issue), title="Wi-Fi drops (room 4)")

    report = _next_run(paired)

    assert report.counts.of(A_TO_B, TICKET).updated == 2
    assert jira_people(paired, "Scanner to e-mail broken (floor 2)")[0] == DEMO_EMAIL
    assert autotask_ticket(paired, "Scanner to e-mail broken (floor 2)")["contactID"] == agent
    assert autotask_ticket(paired, "Wi-Fi drops (room 4)")["ticketCategory"] != ALERT
    assert jira_people(paired, "Wi-Fi drops (room 4)")[1].count("alert") == 1
    assert _said(report, "unlinked") == []
    with paired.db() as session:
        assert session.scalars(select(SyncConflict)).all() == []

    change_in_autotask(paired, ticket, ticketCategory=ALERT)
    assert _next_run(paired).counts.of(A_TO_B, TICKET).updated == 1
    assert "alert" in jira_people(paired, "Scanner to e-mail broken (floor 2)")[1]


def test_copies_not_read_back_with_every_switch_on_send_nothing_back(paired: Paired) -> None:
    switches(paired, contacts=True, teams=True, categories=True)
    autotask_contact(paired, AGENT_EMAIL)
    new(paired, True, "Printer jams", reporter=AGENT_EMAIL, category_id=ALERT)
    new(paired, False, "Scanner offline", reporter=AGENT_EMAIL, labels=("alert",))
    paired.world.forget_requests()

    first = run(paired)

    assert first.counts.of(A_TO_B, TICKET).created == 1
    assert first.counts.of(B_TO_A, TICKET).created == 1
    sent = [r for name in ("autotask", "jira") for r in paired.world.requests(name)]
    one_ticket = [r["path"] for r in sent if r["method"] == "GET" and str(r["path"])[-1].isdigit()]
    assert one_ticket == []  # neither copy read back
    # Each copy is read by the other direction in the same run: what its PSA chose (Jira's
    # status, Autotask's queue and status) is taken as synced, nothing is written back.
    assert writes(paired) == []
    paired.world.forget_requests()
    again = _next_run(paired)
    assert again.counts.of(A_TO_B, TICKET).updated == 0
    assert again.counts.of(B_TO_A, TICKET).updated == 0
    assert writes(paired) == []
