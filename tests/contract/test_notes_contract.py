"""The ``notes`` capability, the same for every kind that declares it, against the shipped
emulators: what the sync (issue 14: notes by visibility, changed notes per direction) and the
service desk's relay (issue 16: public comments back to the reporter) rely on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.contract.harness import PsaHarness
from tests.contract.test_psa_contract import new_ticket, unique
from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import RemoteNotFound
from ticketbridge.connectors.psa.capabilities import Notes, RemoteNote

HARNESSES = ["autotask-emulator", "jira-emulator", "jira-dc-emulator"]
SERVICE_DESK_PROJECT = 10001  # SUP in the Jira emulator's seed
SERVICE_DESK_REQUEST_TYPE = 10003


class ManualClock:
    """The emulators' time: moved by the test, so "before" and "after" a watermark never
    depend on how fast the machine is."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 120) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class EmulatorHarness(PsaHarness):
    http: httpx.Client
    clock: ManualClock

    def edit_note(self, ticket_id: int, note_id: int, text: str) -> None: ...


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest) -> Iterator[EmulatorHarness]:
    clock = ManualClock()
    if request.param.startswith("jira"):
        from tests.contract.jira_harness import JiraEmulatorHarness

        made: EmulatorHarness = JiraEmulatorHarness(
            datacenter=request.param == "jira-dc-emulator", clock=clock
        )
    else:
        from tests.contract.emulator_harness import AutotaskEmulatorHarness

        made = AutotaskEmulatorHarness(clock=clock)
    made.clock = clock
    yield made
    made.close()


@pytest.fixture
def notes(harness: PsaHarness) -> Notes:
    return registry.notes(harness.connector.kind)


def a_ticket(harness: PsaHarness) -> int:
    return new_ticket(harness.connector, harness.add_company(unique("Contoso"))).id


def requests_of(harness: EmulatorHarness) -> list[str]:
    sent: list[str] = []
    harness.http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    return sent


def seen(found: list[RemoteNote]) -> list[tuple[int, str, str]]:
    return [(n.ticket_id, n.text, n.visibility) for n in found]


def test_public_and_internal_notes_read_back_with_their_visibility(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    public_id = psa.add_note(ticket_id, "Disk replaced, backups run again.", internal=False)
    harness.clock.advance()
    internal_id = psa.add_note(ticket_id, "RAID 5 degraded\nCustomer declined the spare.")

    found = notes.for_ticket(psa, ticket_id)

    assert [(n.id, n.text, n.visibility) for n in found] == [
        (public_id, "Disk replaced, backups run again.", "public"),
        (internal_id, "RAID 5 degraded\nCustomer declined the spare.", "internal"),
    ]
    assert all(n.ticket_id == ticket_id and n.author_id for n in found)
    assert all(n.created is not None and n.updated is not None for n in found)
    assert not any(n.by_customer for n in found)


def test_changed_since_finds_a_note_added_after_the_watermark_and_not_one_before(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    ticket_id, quiet_id = a_ticket(harness), a_ticket(harness)
    psa.add_note(ticket_id, "Before the watermark.", internal=False)
    psa.add_note(quiet_id, "Also before.", internal=True)
    watermark = harness.clock.advance()
    harness.clock.advance()
    after_id = psa.add_note(ticket_id, "After the watermark.", internal=True)

    everywhere = notes.changed_since(psa, watermark)
    on_both = notes.changed_since(psa, watermark, [ticket_id, quiet_id])

    expected = [(ticket_id, "After the watermark.", "internal")]
    assert seen(everywhere) == expected and everywhere[0].id == after_id
    assert seen(on_both) == expected
    assert notes.changed_since(psa, watermark, [quiet_id]) == []
    assert notes.changed_since(psa, harness.clock.advance()) == []


def test_changed_since_reads_every_page_over_many_tickets(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    tickets = [a_ticket(harness) for _ in range(3)]
    watermark = harness.clock.advance()
    written = []
    for n in range(5):
        harness.clock.advance()
        ticket_id = tickets[n % 3]
        written.append((ticket_id, f"note {n}", "public" if n % 2 else "internal"))
        psa.add_note(ticket_id, f"note {n}", internal=n % 2 == 0)

    found = notes.changed_since(psa, watermark, page_size=2)

    assert sorted(seen(found)) == sorted(written)
    assert [n.text for n in found] == [f"note {n}" for n in range(5)]  # oldest change first


def test_for_ticket_reads_every_page_one_request_each(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    for n in range(5):
        harness.clock.advance()
        psa.add_note(ticket_id, f"step {n}", internal=n % 2 == 1)
    notes.for_ticket(psa, ticket_id)  # field metadata, read once per process, is warm now
    sent = requests_of(harness)

    found = notes.for_ticket(psa, ticket_id, page_size=2)

    assert [(n.text, n.visibility) for n in found] == [
        (f"step {n}", "internal" if n % 2 else "public") for n in range(5)
    ]
    assert len(sent) == 3, sent


def test_changed_notes_of_many_tickets_cost_one_request(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    tickets = [a_ticket(harness) for _ in range(4)]
    watermark = harness.clock.advance()
    for ticket_id in tickets:
        harness.clock.advance()
        psa.add_note(ticket_id, "public", internal=False)
        psa.add_note(ticket_id, "internal", internal=True)
    notes.for_ticket(psa, tickets[0])  # field metadata, read once per process, is warm now
    sent = requests_of(harness)

    everywhere = notes.changed_since(psa, watermark)
    on_these = notes.changed_since(psa, watermark, tickets)

    assert len(everywhere) == len(on_these) == 8
    assert len(sent) == 2, sent  # one each, not one per ticket


def test_ticket_ids_beyond_one_batch_cost_one_request_per_batch(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    watermark = harness.clock.advance()
    harness.clock.advance()
    psa.add_note(ticket_id, "Found in the last batch.", internal=False)
    notes.for_ticket(psa, ticket_id)  # field metadata, read once per process, is warm now
    # Ids no ticket has, then the real one: a sync passes every mapped ticket of a direction.
    ids = [900_000_000 + n for n in range(notes.ticket_batch)] + [ticket_id]
    sent = requests_of(harness)

    found = notes.changed_since(psa, watermark, ids)

    assert seen(found) == [(ticket_id, "Found in the last batch.", "public")]
    assert len(sent) == 2, sent


def test_a_deleted_ticket_is_not_found_and_is_no_error_among_changed_ones(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    gone, kept = a_ticket(harness), a_ticket(harness)
    watermark = harness.clock.advance()
    harness.clock.advance()
    psa.add_note(gone, "Soon gone.", internal=False)
    psa.add_note(kept, "Still here.", internal=False)
    harness.delete_ticket(gone)

    with pytest.raises(RemoteNotFound):
        notes.for_ticket(psa, gone)
    assert seen(notes.changed_since(psa, watermark, [gone, kept])) == [
        (kept, "Still here.", "public")
    ]
    assert notes.for_ticket(psa, a_ticket(harness)) == []  # empty is not deleted


def test_an_edited_note_counts_as_changed_with_its_new_text(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    note_id = psa.add_note(ticket_id, "Restore test planned.", internal=False)
    watermark = harness.clock.advance()
    harness.clock.advance()

    harness.edit_note(ticket_id, note_id, "Restore test done, 42 files checked.")

    [changed] = notes.changed_since(psa, watermark, [ticket_id])
    assert (changed.id, changed.text, changed.visibility) == (
        note_id,
        "Restore test done, 42 files checked.",
        "public",
    )
    assert changed.created is not None and changed.updated is not None
    assert changed.created <= watermark < changed.updated


@pytest.mark.parametrize("internal", [False, True], ids=["public", "internal"])
def test_update_note_replaces_the_text_and_keeps_the_visibility(
    harness: EmulatorHarness, notes: Notes, internal: bool
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    note_id = psa.add_note(ticket_id, "Restore test planned.", internal=internal)
    watermark = harness.clock.advance()
    harness.clock.advance()

    after = notes.update_note(psa, ticket_id, note_id, "Restore test done.\n\n42 files checked.")

    visibility = "internal" if internal else "public"
    expected = (note_id, ticket_id, "Restore test done.\n\n42 files checked.", visibility)
    assert (after.id, after.ticket_id, after.text, after.visibility) == expected
    [read] = notes.changed_since(psa, watermark, [ticket_id])
    assert (read.id, read.ticket_id, read.text, read.visibility) == expected
    assert read.created is not None and read.updated is not None
    assert read.created <= watermark < read.updated
    assert len(notes.for_ticket(psa, ticket_id)) == 1  # edited, not added


def test_update_note_of_a_note_that_is_not_there_is_not_found(
    harness: EmulatorHarness, notes: Notes
) -> None:
    psa = harness.connector
    ticket_id, other_id = a_ticket(harness), a_ticket(harness)
    elsewhere = psa.add_note(other_id, "On another ticket.", internal=False)

    for note_id in (987_654_321, elsewhere):
        with pytest.raises(RemoteNotFound):
            notes.update_note(psa, ticket_id, note_id, "Never written.")
    assert [n.text for n in notes.for_ticket(psa, other_id)] == ["On another ticket."]


@pytest.mark.parametrize("datacenter", [False, True], ids=["cloud", "datacenter"])
def test_jira_service_desk_comments_keep_their_public_flag_when_edited(datacenter: bool) -> None:
    from tests.contract.jira_harness import JiraEmulatorHarness

    harness = JiraEmulatorHarness(datacenter=datacenter, clock=ManualClock())
    try:
        psa = harness.connector
        ticket_id = new_ticket(psa, SERVICE_DESK_PROJECT, queue_id=SERVICE_DESK_REQUEST_TYPE).id
        public_id = psa.add_note(ticket_id, "We are on it.", internal=False)
        internal_id = psa.add_note(ticket_id, "Escalated to the storage vendor.", internal=True)
        jira_notes = registry.notes("jira")

        jira_notes.update_note(psa, ticket_id, public_id, "We are on it, a disk is ordered.")
        edited = jira_notes.update_note(psa, ticket_id, internal_id, "Escalated, case 4411.")

        assert edited.visibility == "internal"
        assert [(n.text, n.visibility) for n in jira_notes.for_ticket(psa, ticket_id)] == [
            ("We are on it, a disk is ordered.", "public"),
            ("Escalated, case 4411.", "internal"),
        ]
    finally:
        harness.close()


def test_autotask_co_managed_notes_are_internal() -> None:
    from tests.contract.emulator_harness import AutotaskEmulatorHarness

    harness = AutotaskEmulatorHarness()
    try:
        psa = harness.connector
        ticket_id = a_ticket(harness)
        for publish in (1, 2, 4):  # All Autotask Users, Internal Project Team, & Co-Managed
            harness.add_note(ticket_id, f"publish {publish}", publish)

        found = registry.notes("autotask").for_ticket(psa, ticket_id)

        assert [(n.text, n.visibility) for n in found] == [
            ("publish 1", "public"),
            ("publish 2", "internal"),
            ("publish 4", "internal"),
        ]
    finally:
        harness.close()


@pytest.mark.parametrize("datacenter", [False, True], ids=["cloud", "datacenter"])
def test_jira_service_desk_internal_comments_are_internal(datacenter: bool) -> None:
    from tests.contract.jira_harness import JiraEmulatorHarness

    clock = ManualClock()
    harness = JiraEmulatorHarness(datacenter=datacenter, clock=clock)
    try:
        psa = harness.connector
        ticket_id = new_ticket(psa, SERVICE_DESK_PROJECT, queue_id=SERVICE_DESK_REQUEST_TYPE).id
        watermark = clock.advance()
        clock.advance()
        psa.add_note(ticket_id, "We are on it.", internal=False)
        psa.add_note(ticket_id, "Escalated to the storage vendor.", internal=True)
        jira_notes = registry.notes("jira")

        for found in (
            jira_notes.for_ticket(psa, ticket_id),
            jira_notes.changed_since(psa, watermark, [ticket_id]),
        ):
            assert [(n.text, n.visibility) for n in found] == [
                ("We are on it.", "public"),
                ("Escalated to the storage vendor.", "internal"),
            ]
    finally:
        harness.close()
