"""The ``ticket_updates`` capability, the same for every kind that declares it, against the
shipped emulators: what the sync's updates of mapped tickets (issue 14) rely on. A ticket
written is read back with the values written (description and priority included), a deleted
ticket is RemoteNotFound, and a value the PSA refuses is RemoteRejected with its reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.harness import PsaHarness
from tests.contract.test_notes_contract import ManualClock
from tests.contract.test_psa_contract import new_ticket, unique
from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.capabilities import TicketChange, TicketUpdates

HARNESSES = ["autotask-emulator", "jira-emulator", "jira-dc-emulator"]
# A status each emulator's new ticket can move to (Jira: the OPS workflow's "In Progress"),
# a priority other than the default, and ids the PSA does not have.
IN_PROGRESS = {"autotask": 8, "jira": 3}
HIGH = {"autotask": 1, "jira": 2}
# Jira: "Resolved" belongs to the service desk workflow, so no OPS issue can reach it.
UNREACHABLE = {"autotask": 999, "jira": 10012}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[PsaHarness]:
    if request.param.startswith("jira"):
        from tests.contract.jira_harness import JiraEmulatorHarness

        made: PsaHarness = JiraEmulatorHarness(
            datacenter=request.param == "jira-dc-emulator", clock=clock
        )
    else:
        from tests.contract.emulator_harness import AutotaskEmulatorHarness

        made = AutotaskEmulatorHarness(clock=clock)
    yield made
    made.close()


@pytest.fixture
def updates(harness: PsaHarness) -> TicketUpdates:
    return registry.ticket_updates(harness.connector.kind)


def a_ticket(harness: PsaHarness) -> int:
    return new_ticket(harness.connector, harness.add_company(unique("Contoso"))).id


def test_every_field_written_reads_back_as_written(
    harness: PsaHarness, updates: TicketUpdates
) -> None:
    psa, kind = harness.connector, harness.connector.kind
    ticket_id = a_ticket(harness)
    before = psa.get_tickets([ticket_id])[ticket_id]
    assert before.description == "Job Nightly ended with errors."
    assert before.priority_id is not None and before.priority_id != HIGH[kind]

    change = TicketChange(
        title="Backup failed on SRV01 (vendor case open)",
        description="Vendor case 4411 open.\n\nThe second job fails too.",
        status_id=IN_PROGRESS[kind],
        priority_id=HIGH[kind],
    )
    written = updates.update_ticket(psa, ticket_id, change)
    read = psa.get_tickets([ticket_id])[ticket_id]

    for ticket in (written, read):
        assert ticket.title == "Backup failed on SRV01 (vendor case open)"
        assert ticket.description == "Vendor case 4411 open.\n\nThe second job fails too."
        assert (ticket.status_id, ticket.priority_id) == (IN_PROGRESS[kind], HIGH[kind])
    assert read.external_id == before.external_id  # the marker survives an update


def test_only_the_fields_named_change(harness: PsaHarness, updates: TicketUpdates) -> None:
    psa, kind = harness.connector, harness.connector.kind
    ticket_id = a_ticket(harness)
    before = psa.get_tickets([ticket_id])[ticket_id]

    after = updates.update_ticket(psa, ticket_id, TicketChange(priority_id=HIGH[kind]))

    assert after.priority_id == HIGH[kind]
    assert (after.title, after.description, after.status_id) == (
        before.title,
        before.description,
        before.status_id,
    )


def test_an_update_is_a_change_the_next_listing_finds(
    harness: PsaHarness, updates: TicketUpdates, clock: ManualClock
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    before = psa.get_tickets([ticket_id])[ticket_id]
    assert before.last_activity is not None
    clock.advance()

    after = updates.update_ticket(psa, ticket_id, TicketChange(title="Retitled by the sync"))

    assert after.last_activity is not None and after.last_activity > before.last_activity
    assert ticket_id in {t.id for t in psa.changed_since(before.last_activity)}


def test_a_description_can_be_emptied(harness: PsaHarness, updates: TicketUpdates) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    assert updates.update_ticket(psa, ticket_id, TicketChange(description="")).description == ""


def test_a_deleted_ticket_is_not_found(harness: PsaHarness, updates: TicketUpdates) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    harness.delete_ticket(ticket_id)
    with pytest.raises(RemoteNotFound):
        updates.update_ticket(psa, ticket_id, TicketChange(title="Too late"))
    with pytest.raises(RemoteNotFound):
        updates.update_ticket(psa, ticket_id, TicketChange(status_id=IN_PROGRESS[psa.kind]))


def test_a_status_the_ticket_cannot_take_is_refused_saying_why(
    harness: PsaHarness, updates: TicketUpdates
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    before = psa.get_tickets([ticket_id])[ticket_id]
    with pytest.raises(RemoteRejected) as refused:
        updates.update_ticket(psa, ticket_id, TicketChange(status_id=UNREACHABLE[psa.kind]))
    text = str(refused.value)
    if psa.kind == "autotask":
        assert "Picklist value [999] does not exist for status" in text
    else:
        assert f"no transition from {before.status_label!r} to status 10012" in text
    assert psa.get_tickets([ticket_id])[ticket_id].status_id == before.status_id


def test_a_priority_the_psa_does_not_have_is_refused_with_its_text(
    harness: PsaHarness, updates: TicketUpdates
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    with pytest.raises(RemoteRejected) as refused:
        updates.update_ticket(psa, ticket_id, TicketChange(priority_id=97))
    assert "priority" in str(refused.value).lower()
    assert not isinstance(refused.value, RemoteNotFound)


def test_the_connectors_own_write_is_listed_as_made_by_its_author_id(
    harness: PsaHarness, updates: TicketUpdates, clock: ManualClock
) -> None:
    """What tells the sync's own write coming back (Autotask: the API user's resource as
    lastActivityResourceID; Jira: its account as the changelog's author), at the write's
    time, in the changed-since listing the sync reads."""
    psa = harness.connector
    ticket_id = a_ticket(harness)
    since = clock.now
    written_at = clock.advance()
    updates.update_ticket(psa, ticket_id, TicketChange(title="Retitled by the sync"))
    listed = {t.id: t for t in psa.changed_since(since)}[ticket_id]
    assert listed.changed_by is not None
    assert listed.changed_by == updates.author_id(psa)
    assert (listed.changed_at or listed.last_activity) == written_at


def test_a_status_the_ticket_already_has_needs_no_transition(
    harness: PsaHarness, updates: TicketUpdates
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    current = psa.get_tickets([ticket_id])[ticket_id].status_id
    assert current is not None
    assert updates.update_ticket(psa, ticket_id, TicketChange(status_id=current)).status_id == (
        current
    )


def test_autotask_names_who_last_changed_the_fields_and_not_who_added_a_note(
    harness: PsaHarness, updates: TicketUpdates, clock: ManualClock
) -> None:
    psa = harness.connector
    if psa.kind != "autotask":
        pytest.skip("a Jira comment is no history: tests/connectors/psa/jira/test_changelog.py")
    ticket_id = a_ticket(harness)
    written = updates.update_ticket(psa, ticket_id, TicketChange(title="Changed by the API user"))
    assert written.changed_by is not None
    assert updates.author_id(psa) == written.changed_by  # the API user's resource
    clock.advance()
    psa.add_note(ticket_id, "A note moves the last activity, not the fields' author.")
    assert psa.get_tickets([ticket_id])[ticket_id].changed_by is None


# Two categories each kind takes: Autotask ticketCategory ids, Jira labels.
CATEGORIES = {"autotask": ("2", "3"), "jira": ("standard", "alert")}


def test_a_category_replaces_the_ones_named_and_keeps_the_others(
    harness: PsaHarness, updates: TicketUpdates
) -> None:
    psa = harness.connector
    first, second = CATEGORIES[psa.kind]
    ticket_id = a_ticket(harness)
    before = psa.get_tickets([ticket_id])[ticket_id]
    assert first in updates.update_ticket(psa, ticket_id, TicketChange(category=first)).categories

    change = TicketChange(category=second, replaces_categories=(first, second))
    after = updates.update_ticket(psa, ticket_id, change)

    assert second in after.categories and first not in after.categories
    assert after.external_id == before.external_id  # a Jira reference label is no category


def test_a_queue_is_moved_where_the_kind_moves_queues(
    harness: PsaHarness, updates: TicketUpdates
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    other = next(q.id for q in psa.reference_data().queues if not q.is_default)
    if not updates.moves_queue:
        pytest.skip("Jira changes an issue type only by a move: the sync does not ask")
    assert updates.update_ticket(psa, ticket_id, TicketChange(queue_id=other)).queue_id == other


def test_a_person_the_psa_does_not_know_is_said_not_raised(
    harness: PsaHarness, updates: TicketUpdates
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    change = TicketChange(reporter="nobody@unknown.example", title="Retitled with a stranger")
    written = updates.update_ticket(psa, ticket_id, change)
    assert written.title == "Retitled with a stranger"  # the rest of the change is made
    assert written.people is not None
    assert [address for address, _ in written.people.unlinked] == ["nobody@unknown.example"]
