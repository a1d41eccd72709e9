"""De-duplication of RMM alerts: by Alert ID, else Ticket ID, within a company only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketbridge.core.alert_dedup import (
    NOTE_INTERVAL,
    AlertKeys,
    CandidateTicket,
    DedupKind,
    DeviceCandidate,
    Occurrence,
    choose_device,
    choose_ticket,
    group_key,
    join_note,
    note_due,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def keys(**changes: object) -> AlertKeys:
    values: dict[str, object] = {
        "source_id": 1,
        "company_id": 500,
        "customer_ref": "100",
        "alert_ref": "8932",
        "ticket_ref": None,
    }
    values.update(changes)
    return AlertKeys(**values)  # type: ignore[arg-type]


def test_alert_joins_the_open_ticket_of_its_company_carrying_its_alert_id() -> None:
    mine = CandidateTicket(11, "T1", 500, alert_ref="8932")

    decision = choose_ticket(keys(), [mine])

    assert decision.ticket == mine
    assert "joins" in decision.reason


def test_same_alert_id_in_another_company_is_another_alert() -> None:
    elsewhere = CandidateTicket(11, "T1", 777, alert_ref="8932")

    decision = choose_ticket(keys(), [elsewhere])

    assert decision.ticket is None
    assert decision.considered[0].why_not == "it belongs to another company (777)"


def test_without_an_alert_id_the_ticket_id_decides() -> None:
    by_ticket = CandidateTicket(12, "T2", 500, alert_ref="other", ticket_ref="T-5")
    wrong = CandidateTicket(13, "T3", 500, ticket_ref="T-6")

    decision = choose_ticket(keys(alert_ref=None, ticket_ref="T-5"), [wrong, by_ticket])

    assert decision.ticket == by_ticket
    assert keys(alert_ref=None, ticket_ref="T-5").dedup == (DedupKind.TICKET, "T-5")


def test_alert_id_wins_over_ticket_id_when_both_are_sent() -> None:
    ticket_match = CandidateTicket(12, "T2", 500, alert_ref="1", ticket_ref="T-5")

    decision = choose_ticket(keys(alert_ref="8932", ticket_ref="T-5"), [ticket_match])

    assert decision.ticket is None


def test_completed_tickets_are_passed_over_and_the_oldest_open_one_wins() -> None:
    done = CandidateTicket(10, "T0", 500, alert_ref="8932", completed=True)
    older = CandidateTicket(11, "T1", 500, alert_ref="8932")
    newer = CandidateTicket(12, "T2", 500, alert_ref="8932")

    decision = choose_ticket(keys(), [newer, done, older])

    assert decision.ticket == older
    assert [c.why_not for c in decision.considered] == ["it is complete", None, "T1 is older"]


def test_no_keys_or_no_company_means_a_new_alert() -> None:
    ticket = CandidateTicket(11, "T1", 500, alert_ref="8932")

    assert choose_ticket(keys(alert_ref=None), [ticket]).ticket is None
    assert choose_ticket(keys(company_id=None), [ticket]).ticket is None


def test_group_keys_separate_companies_sources_and_kinds() -> None:
    base = group_key(keys())

    assert base is not None and base == group_key(keys(customer_ref="other"))
    assert base != group_key(keys(company_id=501))
    assert base != group_key(keys(source_id=2))
    assert group_key(keys(alert_ref=None, ticket_ref="8932")) != base
    assert group_key(keys(alert_ref=None)) is None
    unmapped = group_key(keys(company_id=None))
    assert unmapped is not None and unmapped != group_key(keys(company_id=None, customer_ref="9"))


def test_notes_are_rate_limited() -> None:
    assert note_due(None, NOW, NOTE_INTERVAL)
    assert not note_due(NOW, NOW + NOTE_INTERVAL - timedelta(seconds=1), NOTE_INTERVAL)
    assert note_due(NOW, NOW + NOTE_INTERVAL, NOTE_INTERVAL)


def test_join_note_names_every_occurrence_since_the_last_note() -> None:
    seen = [Occurrence(NOW + timedelta(minutes=n), f"Disk low #{n}") for n in range(3)]

    note = join_note("XYZ", (DedupKind.ALERT, "8932"), seen)

    assert note.splitlines()[0] == (
        "ticketbridge: XYZ alert Alert ID '8932' received 3 times; joined this ticket."
    )
    assert "2026-11-20 12:02:00 UTC: Disk low #2" in note


def test_device_is_an_item_of_the_alert_company_only() -> None:
    own = DeviceCandidate(5, 500, "SRV01")
    other = DeviceCandidate(4, 777, "SRV01")

    assert choose_device("123", 500, [other, own]).device == own
    assert choose_device("123", 501, [other, own]).device is None
    assert choose_device("123", 500, []).device is None
    assert choose_device(None, 500, [own]).device is None


def test_alert_reference_fits_autotask_external_id() -> None:
    from ticketbridge.core.alert_dedup import alert_reference

    assert alert_reference(7, "TB.Example.com") == "alert-7@tb-example-com"
    long = alert_reference(7, "x" * 80)
    assert len(long) == 50 and long.startswith("alert-7@")
