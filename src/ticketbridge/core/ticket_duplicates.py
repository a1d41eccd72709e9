"""Duplicate tickets for one run (issue 9): two or more Autotask tickets carrying its reference.

Every ticket ticketbridge creates for a run carries the run's reference
(``run-<id>@<installation>``) as externalID, so a search by reference finds every ticket made
for that run, including one created twice by an ambiguous create or copied behind our back. The
sweep shows such tickets on the run; the operator chooses which one stays linked, and every
other one gets a fixed internal note naming the kept ticket. Nothing is closed or deleted.

Pure: the callers pass in the tickets found, the run's linked ticket and what earlier choices
settled. Which ticket is "oldest" is decided by id: Autotask hands out ticket ids in creation
order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# The periodic sweep searches the references of links created this recently: duplicates come
# from creates (a retried create, a copy made by hand shortly after), and bounding the window
# keeps the sweep's cost flat as history grows. Older runs are still checked on their page.
SWEEP_WINDOW = timedelta(days=30)
# A run page asks Autotask again only when its last check is older than this (as validation).
PAGE_CHECK_MAX_AGE = timedelta(minutes=5)

NOTE_TEXT = (
    "Duplicate of Autotask ticket {kept} (kept for ticketbridge run {run_id}, reference "
    "{reference}); created twice for the same backup run. Left as is by ticketbridge: this "
    "ticket was not closed or deleted. Follow up on the backup issue in {kept}."
)


@dataclass(frozen=True, order=True)
class FoundTicket:
    """A ticket found for a run's reference: its Autotask id (leading) and number (shown)."""

    id: int
    number: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number}

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> FoundTicket:
        return cls(int(item["id"]), str(item.get("number") or ""))


class InvalidChoice(ValueError):
    """The operator chose a ticket that is not one of the duplicates found."""


def distinct(tickets: Iterable[FoundTicket]) -> tuple[FoundTicket, ...]:
    """Each ticket once, oldest first."""
    return tuple(sorted({t.id: t for t in tickets}.values()))


def unsettled(
    found: Iterable[FoundTicket], linked_ticket_id: int | None, settled: Iterable[int] = ()
) -> frozenset[int]:
    """Ids of tickets found that nobody has decided about: neither the run's linked ticket nor
    one an earlier choice already noted as a duplicate."""
    return frozenset(t.id for t in found) - {linked_ticket_id} - set(settled)


def is_duplicate(
    found: Iterable[FoundTicket], linked_ticket_id: int | None, settled: Iterable[int] = ()
) -> bool:
    """Two or more tickets carry the run's reference, and at least one of them still waits for
    the operator's choice (so a settled pair does not come back on every sweep)."""
    tickets = distinct(found)
    return len(tickets) >= 2 and bool(unsettled(tickets, linked_ticket_id, settled))


def same_tickets(a: Iterable[FoundTicket], b: Iterable[FoundTicket]) -> bool:
    return {t.id for t in a} == {t.id for t in b}


def suggested_keeper(found: Iterable[FoundTicket], linked_ticket_id: int | None) -> FoundTicket:
    """The ticket the run links now when it is among those found, else the oldest."""
    tickets = distinct(found)
    if not tickets:
        raise ValueError("no tickets to choose from")
    for ticket in tickets:
        if ticket.id == linked_ticket_id:
            return ticket
    return tickets[0]


def validate_choice(found: Iterable[FoundTicket], ticket_id: int) -> FoundTicket:
    """The chosen ticket, which must be one of the duplicates found."""
    tickets = distinct(found)
    for ticket in tickets:
        if ticket.id == ticket_id:
            return ticket
    numbers = ", ".join(t.number or str(t.id) for t in tickets)
    raise InvalidChoice(f"Choose one of the duplicate tickets: {numbers}.")


def to_note(found: Iterable[FoundTicket], kept_id: int) -> tuple[FoundTicket, ...]:
    """Every ticket but the kept one gets the note."""
    return tuple(t for t in distinct(found) if t.id != kept_id)


def note_text(kept: FoundTicket, run_id: int, reference: str) -> str:
    """The fixed internal note on each ticket that is not kept."""
    return NOTE_TEXT.format(kept=kept.number or kept.id, run_id=run_id, reference=reference)


def check_due(checked_at: datetime | None, now: datetime) -> bool:
    """Whether a run page should search Autotask for the run's reference again."""
    return checked_at is None or now - checked_at >= PAGE_CHECK_MAX_AGE or now < checked_at
