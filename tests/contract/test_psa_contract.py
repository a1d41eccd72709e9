"""The behaviour every PSA connector shares; the in-memory FakePsa must pass it too."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.contract.harness import FakeHarness, PsaHarness
from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.base import (
    PicklistValue,
    PsaConnector,
    ReferenceData,
    RemoteTicket,
    TicketDraft,
    capabilities_of,
)

HARNESSES = ["fake", "autotask-emulator", "jira-emulator", "jira-dc-emulator", "jira-desk-emulator"]


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest) -> Iterator[PsaHarness]:
    # Emulators are imported here so a broken one fails its own part loudly, not the fake's.
    if request.param == "fake":
        made: PsaHarness = FakeHarness()
    elif request.param.startswith("jira"):
        from tests.contract.jira_harness import JiraEmulatorHarness

        made = JiraEmulatorHarness(
            datacenter=request.param == "jira-dc-emulator",
            desk=request.param == "jira-desk-emulator",
        )
    else:
        from tests.contract.emulator_harness import AutotaskEmulatorHarness

        made = AutotaskEmulatorHarness()
    yield made
    made.close()


@pytest.fixture
def psa(harness: PsaHarness) -> PsaConnector:
    return harness.connector


def requires(harness: PsaHarness, need: str) -> None:
    """Skip, saying why, where the PSA has no such thing or its test world cannot make it."""
    caps = capabilities_of(harness.connector)
    if not getattr(caps, need, True):
        pytest.skip(f"{harness.connector.kind} declares no {need.replace('_', ' ')}")
    reason = getattr(harness, "cannot", {}).get(need)
    if reason:
        pytest.skip(reason)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def default_of(values: tuple[PicklistValue, ...]) -> int | None:
    """The default active value; None for a list the PSA does not have (Jira: sources)."""
    active = [v for v in values if v.active]
    return next((v.id for v in active if v.is_default), active[0].id if active else None)


def complete(statuses: tuple[PicklistValue, ...]) -> PicklistValue:
    """Autotask's "Complete", or the first status of Jira's done category."""
    return next(v for v in statuses if v.name == "Complete" or v.category == "done")


def complete_status(psa: PsaConnector) -> int:
    return complete(psa.reference_data().statuses).id


def new_ticket(psa: PsaConnector, company_id: int, **changes: object) -> RemoteTicket:
    ref = psa.reference_data()
    fields: dict[str, object] = {
        "company_id": company_id,
        "title": "Backup failed on SRV01",
        "description": "Job Nightly ended with errors.",
        "queue_id": default_of(ref.queues),
        "source_id": default_of(ref.sources),
        "status_id": default_of(ref.statuses),
        "priority_id": default_of(ref.priorities),
        "external_id": unique("tb-run"),
    }
    read_back = bool(changes.pop("read_back", True))
    fields.update(changes)
    return psa.create_ticket(TicketDraft(**fields), read_back=read_back)  # type: ignore[arg-type]


def test_check_reports_every_step_passed(psa: PsaConnector) -> None:
    result = psa.check()

    assert result.ok
    assert result.zone.ok and result.authenticated.ok and result.reference_access.ok
    assert all(step.message for step in (result.zone, result.authenticated))


def test_reference_data_lists_every_picklist_with_integer_ids(psa: PsaConnector) -> None:
    ref = psa.reference_data()

    caps = capabilities_of(psa)
    absent = {"sources"} if not caps.ticket_sources else set()
    absent |= {"note_types", "publish_values"} if not caps.note_picklists else set()

    assert isinstance(ref, ReferenceData)
    assert ref.fetched_at is not None
    for name, count in ref.counts().items():
        assert (count == 0) if name in absent else (count > 0), name
    for values in (ref.queues, ref.sources, ref.statuses, ref.priorities, ref.note_types):
        assert all(isinstance(v.id, int) and v.name for v in values)
        assert len({v.id for v in values}) == len(values)
    new = next(s for s in ref.statuses if s.is_default)
    assert new.name == "New" or new.category == "new"
    assert complete(ref.statuses).active


def test_search_finds_companies_by_part_of_name_ignoring_case(harness: PsaHarness) -> None:
    requires(harness, "companies")
    tag = uuid.uuid4().hex[:8]
    active = harness.add_company(f"Contoso {tag} Ltd")
    inactive = harness.add_company(f"Contoso {tag} Old", active=False)
    harness.add_company(f"Fabrikam {tag}")

    page = harness.connector.search_companies(f"contoso {tag.upper()}")

    assert {c.id: c.active for c in page.items} == {active: True, inactive: False}
    assert page.next_cursor is None


def test_search_pages_through_all_matches_without_repeats(harness: PsaHarness) -> None:
    requires(harness, "companies")
    tag = uuid.uuid4().hex[:8]
    ids = {harness.add_company(f"Paged {tag} {n}") for n in range(5)}

    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = harness.connector.search_companies(tag, page_size=2, cursor=cursor)
        assert len(page.items) <= 2
        seen.extend(c.id for c in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == sorted(ids)


def test_get_companies_returns_known_ids_and_omits_unknown(harness: PsaHarness) -> None:
    requires(harness, "companies")
    name = unique("Northwind")
    company_id = harness.add_company(name)

    found = harness.connector.get_companies([company_id, 987_654_321])

    assert list(found) == [company_id]
    assert found[company_id].name == name and found[company_id].active


def test_get_companies_sees_rename_deactivation_and_deletion(harness: PsaHarness) -> None:
    requires(harness, "companies")
    renamed = harness.add_company(unique("Adatum"))
    deactivated = harness.add_company(unique("Litware"))
    deleted = harness.add_company(unique("Tailspin"))
    harness.rename_company(renamed, "Adatum Group")
    harness.deactivate_company(deactivated)
    harness.delete_company(deleted)

    found = harness.connector.get_companies([renamed, deactivated, deleted])

    assert found[renamed].name == "Adatum Group"
    assert found[deactivated].active is False
    assert deleted not in found


def test_created_ticket_can_be_read_back_by_id_number_and_external_id(
    harness: PsaHarness,
) -> None:
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    external_id = unique("tb-run")

    ticket = new_ticket(psa, company, external_id=external_id)

    assert ticket.id > 0 and ticket.number
    assert ticket.company_id == company and ticket.external_id == external_id
    assert ticket.status_label and not ticket.is_completed
    assert psa.get_tickets([ticket.id]) == {ticket.id: ticket}
    assert psa.find_tickets(ticket_number=ticket.number) == [ticket]
    assert psa.find_tickets(external_id=external_id) == [ticket]
    assert psa.find_tickets(ticket_number=ticket.number, external_id="other") == []


def test_a_create_not_read_back_holds_what_a_read_finds_except_what_it_names_unread(
    harness: PsaHarness,
) -> None:
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    description = "Job Nightly ended with errors.\n\nSee the run log:\nline 2"

    made = new_ticket(
        psa, company, read_back=False, description=description, labels=("backup job",)
    )

    read = psa.get_tickets([made.id])[made.id]
    assert made.id > 0 and made.title == "Backup failed on SRV01"
    held = {f.name for f in dataclasses.fields(RemoteTicket) if f.compare} - made.unread
    assert {n: getattr(made, n) for n in held} == {n: getattr(read, n) for n in held}
    assert {"title", "description", "company_id", "external_id"} <= held
    assert read.unread == frozenset()


def test_create_ticket_for_unknown_company_is_rejected(psa: PsaConnector) -> None:
    with pytest.raises(RemoteRejected):
        new_ticket(psa, 987_654_321)


def test_find_tickets_needs_a_criterion(psa: PsaConnector) -> None:
    with pytest.raises(ValueError):
        psa.find_tickets()


def test_tickets_are_found_by_exact_references_oldest_first(harness: PsaHarness) -> None:
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    reference, other, missing = unique("run-1@tb"), unique("run-2@tb"), unique("run-3@tb")
    first = new_ticket(psa, company, external_id=reference)
    second = new_ticket(psa, company, external_id=reference)
    alone = new_ticket(psa, company, external_id=other)
    new_ticket(psa, company, external_id=reference.upper())  # another reference, not a match

    found = psa.find_tickets_by_references([reference, other, missing, reference])

    assert found == {reference: [first, second], other: [alone], missing: []}
    assert psa.find_tickets_by_references([]) == {}


def test_deleted_ticket_is_absent_and_cannot_take_notes(harness: PsaHarness) -> None:
    psa = harness.connector
    ticket = new_ticket(psa, harness.add_company(unique("Contoso")))
    harness.delete_ticket(ticket.id)

    assert psa.get_tickets([ticket.id]) == {}
    assert psa.find_tickets(ticket_number=ticket.number) == []
    with pytest.raises(RemoteNotFound):
        psa.add_note(ticket.id, "Still failing.")
    with pytest.raises(RemoteNotFound):
        psa.close_ticket(ticket.id, complete_status(psa))


def test_notes_are_added_with_distinct_ids(harness: PsaHarness) -> None:
    psa = harness.connector
    ticket = new_ticket(psa, harness.add_company(unique("Contoso")))

    first = psa.add_note(ticket.id, "Ticket resolved via ticketbridge.", internal=True)
    second = psa.add_note(ticket.id, "Visible to all.", internal=False)

    assert first != second and first > 0 and second > 0


def test_time_entries_are_counted_per_ticket(harness: PsaHarness) -> None:
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    ticket = new_ticket(psa, company)
    other = new_ticket(psa, company)

    assert psa.count_time_entries(ticket.id) == 0
    harness.add_time_entry(ticket.id)
    harness.add_time_entry(ticket.id)

    assert psa.count_time_entries(ticket.id) == 2
    assert psa.count_time_entries(other.id) == 0


def test_close_ticket_completes_it_and_closing_twice_is_harmless(harness: PsaHarness) -> None:
    psa = harness.connector
    ticket = new_ticket(psa, harness.add_company(unique("Contoso")))

    psa.close_ticket(ticket.id, complete_status(psa))
    psa.close_ticket(ticket.id, complete_status(psa))

    closed = psa.get_tickets([ticket.id])[ticket.id]
    assert closed.is_completed
    # A world whose workflow cannot reach the first done status names the one it reaches
    # (a Jira service desk resolves into "Resolved").
    done = getattr(harness, "done_status", None) or complete(psa.reference_data().statuses).name
    assert closed.status_label == done


def test_changed_since_is_strictly_after_the_timestamp(harness: PsaHarness) -> None:
    psa = harness.connector
    ticket = new_ticket(psa, harness.add_company(unique("Contoso")))
    assert ticket.last_activity is not None

    before = psa.changed_since(ticket.last_activity - timedelta(seconds=1))
    after = psa.changed_since(ticket.last_activity)

    assert ticket.id in {t.id for t in before}
    assert ticket.id not in {t.id for t in after}


def test_changed_pages_hold_what_changed_since_returns(harness: PsaHarness) -> None:
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    first, second = new_ticket(psa, company), new_ticket(psa, company)
    assert first.last_activity is not None
    since = first.last_activity - timedelta(seconds=1)

    paged = [t.id for page in psa.changed_pages(since) for t in page]

    assert {first.id, second.id} <= set(paged)
    assert sorted(paged) == sorted(t.id for t in psa.changed_since(since))


ALERT_UDF = "XYZ Monitoring Application Alert ID"
DEVICE_UDF = "XYZ Monitoring Application Device ID"


def test_tickets_are_found_by_exact_udf_value_within_a_company(harness: PsaHarness) -> None:
    requires(harness, "user_defined_fields")
    requires(harness, "companies")  # two of them
    harness.define_udf("tickets", ALERT_UDF)
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    other = harness.add_company(unique("Fabrikam"))
    alert = unique("alert")
    first = new_ticket(psa, company, user_defined_fields=((ALERT_UDF, alert),))
    elsewhere = new_ticket(psa, other, user_defined_fields=((ALERT_UDF, alert),))
    marked = new_ticket(psa, company)
    harness.set_ticket_udf(marked.id, ALERT_UDF, alert)  # set by hand, or by Autotask's ATES
    new_ticket(psa, company, user_defined_fields=((ALERT_UDF, alert.upper()),))  # not exact
    psa.close_ticket(marked.id, complete_status(psa))

    mine = psa.find_tickets_by_udf(ALERT_UDF, alert, company_id=company)
    anywhere = psa.find_tickets_by_udf(ALERT_UDF, alert)

    assert [t.id for t in mine] == [first.id, marked.id]
    assert [t.is_completed for t in mine] == [False, True]
    assert [t.id for t in anywhere] == [first.id, elsewhere.id, marked.id]
    assert psa.find_tickets_by_udf(ALERT_UDF, unique("none")) == []


def test_configuration_items_are_found_by_exact_udf_value(harness: PsaHarness) -> None:
    requires(harness, "configuration_items")
    harness.define_udf("configurationitems", DEVICE_UDF)
    company = harness.add_company(unique("Contoso"))
    other = harness.add_company(unique("Fabrikam"))
    device = unique("device")
    mine = harness.add_configuration_item(company, "SRV01", {DEVICE_UDF: device})
    theirs = harness.add_configuration_item(other, "SRV01", {DEVICE_UDF: device})
    harness.add_configuration_item(company, "SRV02", {DEVICE_UDF: device.upper()})

    found = harness.connector.find_configuration_items(DEVICE_UDF, device)

    assert [(d.id, d.company_id, d.name, d.active) for d in found] == [
        (mine, company, "SRV01", True),
        (theirs, other, "SRV01", True),
    ]
    assert harness.connector.find_configuration_items(DEVICE_UDF, unique("none")) == []


def test_ticket_is_created_for_a_configuration_item(harness: PsaHarness) -> None:
    requires(harness, "configuration_items")
    harness.define_udf("configurationitems", DEVICE_UDF)
    company = harness.add_company(unique("Contoso"))
    item = harness.add_configuration_item(company, "SRV01", {DEVICE_UDF: unique("device")})

    ticket = new_ticket(harness.connector, company, configuration_item_id=item)

    assert harness.connector.get_tickets([ticket.id]) == {ticket.id: ticket}
