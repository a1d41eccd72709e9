"""FakePsa's own knobs (its protocol behaviour is covered by tests/contract)."""

from __future__ import annotations

import pytest

from tests.fakes.psa import FakePsa
from ticketbridge.connectors.errors import ConnectorUnavailable
from ticketbridge.connectors.psa.base import PsaConnector, TicketDraft


def test_injected_error_is_raised_by_the_named_operation_only_as_often_as_asked() -> None:
    fake = FakePsa()
    company = fake.add_company("Contoso")
    fake.fail_next(ConnectorUnavailable("down"), operation="get_companies", times=2)

    assert fake.search_companies("contoso").items[0].id == company
    for _ in range(2):
        with pytest.raises(ConnectorUnavailable):
            fake.get_companies([company])
    assert list(fake.get_companies([company])) == [company]


def test_error_without_operation_hits_the_next_call_of_any_kind() -> None:
    fake = FakePsa()
    fake.fail_next(ConnectorUnavailable("down"))

    result = fake.check()

    assert result.authenticated.ok is False and not result.ok
    assert fake.calls == ["check"]


def test_notes_are_recorded_with_their_visibility() -> None:
    fake = FakePsa()
    ticket = fake.create_ticket(TicketDraft(fake.add_company("Contoso"), "Backup failed"))

    fake.add_note(ticket.id, "internal text", internal=True)

    assert [(text, internal) for _, text, internal in fake.notes(ticket.id)] == [
        ("internal text", True)
    ]
    assert isinstance(fake, PsaConnector)
