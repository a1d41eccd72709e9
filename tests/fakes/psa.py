"""FakePsa: an in-memory PSA for service and web tests.

It passes the same contract suite as the Autotask connector (tests/contract), so what a service
test learns from it holds for the real thing. Knobs change the "remote" world behind the
connector's back (renames, deactivation, deletion, time entries) and inject errors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ticketbridge.connectors.errors import ConnectorError, RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.base import (
    CheckResult,
    CheckStep,
    CompanyPage,
    PicklistValue,
    ReferenceData,
    RemoteCompany,
    RemoteConfigurationItem,
    RemoteTicket,
    TicketDraft,
)

COMPLETE_STATUS_ID = 5

DEFAULT_REFERENCE = ReferenceData(
    queues=(
        PicklistValue(5, "Helpdesk", True, True, 1),
        PicklistValue(6, "Monitoring", True, False, 2),
        PicklistValue(7, "Old queue", False, False, 3),
    ),
    sources=(
        PicklistValue(2, "Phone", True, False, 1),
        PicklistValue(8, "Monitoring Alert", True, True, 2),
    ),
    statuses=(
        PicklistValue(1, "New", True, True, 1),
        PicklistValue(5, "Complete", True, False, 5),
        PicklistValue(8, "In Progress", True, False, 8),
    ),
    priorities=(
        PicklistValue(1, "High", True, False, 1),
        PicklistValue(2, "Medium", True, True, 2),
        PicklistValue(3, "Low", True, False, 3),
    ),
    note_types=(
        PicklistValue(1, "Summary", True, True, 1),
        PicklistValue(3, "Notes", True, False, 3),
    ),
    publish_values=(
        PicklistValue(1, "All Autotask Users", True, True, 1),
        PicklistValue(2, "Internal Users", True, False, 2),
    ),
)


@dataclass
class _Ticket:
    ticket: RemoteTicket
    notes: list[tuple[int, str, bool]]
    time_entries: int = 0
    udfs: dict[str, str] = field(default_factory=dict)
    configuration_item_id: int | None = None


@dataclass
class _Device:
    item: RemoteConfigurationItem
    udfs: dict[str, str]


class FakePsa:
    LISTING_PAGE = 500
    kind = "fake"

    def __init__(
        self,
        *,
        reference: ReferenceData = DEFAULT_REFERENCE,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.reference = reference
        self.clock = clock or (lambda: datetime.now(UTC))
        self.companies: dict[int, RemoteCompany] = {}
        self.tickets: dict[int, _Ticket] = {}
        self.devices: dict[int, _Device] = {}
        self.calls: list[str] = []
        self._failures: dict[str | None, deque[ConnectorError]] = {}
        self._next_id = 1000
        self._daily_numbers: dict[str, int] = {}

    # --- knobs -------------------------------------------------------------------------------

    def add_company(self, name: str, *, active: bool = True) -> int:
        company_id = self._new_id()
        self.companies[company_id] = RemoteCompany(company_id, name, active)
        return company_id

    def rename_company(self, company_id: int, name: str) -> None:
        self.companies[company_id] = replace(self.companies[company_id], name=name)

    def deactivate_company(self, company_id: int) -> None:
        self.companies[company_id] = replace(self.companies[company_id], active=False)

    def delete_company(self, company_id: int) -> None:
        del self.companies[company_id]

    def add_time_entry(self, ticket_id: int) -> None:
        self.tickets[ticket_id].time_entries += 1

    def delete_ticket(self, ticket_id: int) -> None:
        del self.tickets[ticket_id]

    def add_configuration_item(
        self, company_id: int, name: str, udfs: dict[str, str], *, active: bool = True
    ) -> int:
        item_id = self._new_id()
        self.devices[item_id] = _Device(
            RemoteConfigurationItem(item_id, company_id, name, active), dict(udfs)
        )
        return item_id

    def set_ticket_udf(self, ticket_id: int, name: str, value: str) -> None:
        """As a user (or Autotask's own mail service) filling in a ticket's UDF."""
        self.tickets[ticket_id].udfs[name] = value

    def ticket_udfs(self, ticket_id: int) -> dict[str, str]:
        return dict(self.tickets[ticket_id].udfs)

    def ticket_configuration_item(self, ticket_id: int) -> int | None:
        return self.tickets[ticket_id].configuration_item_id

    def notes(self, ticket_id: int) -> list[tuple[int, str, bool]]:
        """(note id, text, internal) in creation order."""
        return list(self.tickets[ticket_id].notes)

    def fail_next(
        self, error: ConnectorError, *, operation: str | None = None, times: int = 1
    ) -> None:
        """Make the next ``times`` calls (of ``operation``, or of any operation) raise ``error``."""
        self._failures.setdefault(operation, deque()).extend([error] * times)

    # --- protocol ----------------------------------------------------------------------------

    def check(self) -> CheckResult:
        try:
            self._enter("check")
        except ConnectorError as exc:
            return CheckResult(
                CheckStep(True, "Endpoint found."),
                CheckStep(False, exc.message),
                CheckStep(None, "Not tried."),
            )
        return CheckResult(
            CheckStep(True, "Endpoint found."),
            CheckStep(True, "Authenticated."),
            CheckStep(True, "Ticket lists readable."),
        )

    def reference_data(self) -> ReferenceData:
        self._enter("reference_data")
        return replace(self.reference, fetched_at=self.clock())

    def search_companies(
        self, text: str, *, page_size: int = 25, cursor: str | None = None
    ) -> CompanyPage:
        self._enter("search_companies")
        after = int(cursor) if cursor else -1
        needle = text.strip().casefold()
        found = [
            c
            for cid, c in sorted(self.companies.items())
            if cid > after and needle in c.name.casefold()
        ]
        page = tuple(found[:page_size])
        more = len(found) > page_size
        return CompanyPage(page, str(page[-1].id) if more else None)

    def get_companies(self, ids: Sequence[int]) -> dict[int, RemoteCompany]:
        self._enter("get_companies")
        return {i: self.companies[i] for i in ids if i in self.companies}

    def create_ticket(self, draft: TicketDraft, *, read_back: bool = True) -> RemoteTicket:
        # Always "read back": the protocol lets a connector read back anyway.
        self._enter("create_ticket")
        if draft.company_id not in self.companies:
            raise RemoteRejected(
                "The PSA rejected the ticket: the company does not exist.", status_code=500
            )
        if not draft.title.strip():
            raise RemoteRejected("The PSA rejected the ticket: a title is required.")
        now = self.clock()
        day = now.strftime("%Y%m%d")
        self._daily_numbers[day] = self._daily_numbers.get(day, 0) + 1
        status_id = draft.status_id or 1
        ticket = RemoteTicket(
            id=self._new_id(),
            number=f"T{day}.{self._daily_numbers[day]:04d}",
            status_id=status_id,
            status_label=self._status_label(status_id),
            company_id=draft.company_id,
            title=draft.title,
            external_id=draft.external_id,
            last_activity=now,
            completed_at=now if status_id == COMPLETE_STATUS_ID else None,
        )
        if draft.configuration_item_id is not None and (
            draft.configuration_item_id not in self.devices
        ):
            raise RemoteRejected("The PSA rejected the ticket: the device does not exist.")
        self.tickets[ticket.id] = _Ticket(
            ticket,
            [],
            udfs=dict(draft.user_defined_fields),
            configuration_item_id=draft.configuration_item_id,
        )
        return ticket

    def get_tickets(self, ids: Sequence[int]) -> dict[int, RemoteTicket]:
        self._enter("get_tickets")
        return {i: self.tickets[i].ticket for i in ids if i in self.tickets}

    def find_tickets(
        self, *, ticket_number: str | None = None, external_id: str | None = None
    ) -> list[RemoteTicket]:
        if ticket_number is None and external_id is None:
            raise ValueError("find_tickets needs a ticket number or an external id")
        self._enter("find_tickets")
        return [
            t.ticket
            for _, t in sorted(self.tickets.items())
            if (ticket_number is None or t.ticket.number == ticket_number)
            and (external_id is None or t.ticket.external_id == external_id)
        ]

    def find_tickets_by_references(
        self, references: Sequence[str]
    ) -> dict[str, list[RemoteTicket]]:
        wanted = list(dict.fromkeys(references))
        if not wanted:
            return {}
        self._enter("find_tickets_by_references")
        found: dict[str, list[RemoteTicket]] = {reference: [] for reference in wanted}
        for _, stored in sorted(self.tickets.items()):
            external_id = stored.ticket.external_id
            if external_id is not None and external_id in found:
                found[external_id].append(stored.ticket)
        return found

    def find_tickets_by_udf(
        self, name: str, value: str, *, company_id: int | None = None
    ) -> list[RemoteTicket]:
        self._enter("find_tickets_by_udf")
        return [
            t.ticket
            for _, t in sorted(self.tickets.items())
            if _udf(t.udfs, name) == value
            and (company_id is None or t.ticket.company_id == company_id)
        ]

    def find_configuration_items(self, udf_name: str, value: str) -> list[RemoteConfigurationItem]:
        self._enter("find_configuration_items")
        return [d.item for _, d in sorted(self.devices.items()) if _udf(d.udfs, udf_name) == value]

    def add_note(self, ticket_id: int, text: str, *, internal: bool = True) -> int:
        self._enter("add_note")
        stored = self._ticket(ticket_id)
        note_id = self._new_id()
        stored.notes.append((note_id, text, internal))
        self._touch(stored)
        return note_id

    def count_time_entries(self, ticket_id: int) -> int:
        self._enter("count_time_entries")
        stored = self.tickets.get(ticket_id)
        return stored.time_entries if stored else 0

    def close_ticket(self, ticket_id: int, status_id: int) -> None:
        self._enter("close_ticket")
        stored = self._ticket(ticket_id)
        if stored.ticket.status_id == status_id:
            return
        now = self.clock()
        # Like Autotask, only the system Complete status stamps the completion date.
        stored.ticket = replace(
            stored.ticket,
            status_id=status_id,
            status_label=self._status_label(status_id),
            completed_at=now if status_id == COMPLETE_STATUS_ID else None,
            last_activity=now,
        )

    def changed_since(self, since: datetime) -> list[RemoteTicket]:
        self._enter("changed_since")
        return [
            t.ticket
            for _, t in sorted(self.tickets.items())
            if t.ticket.last_activity is not None and t.ticket.last_activity > since
        ]

    def changed_pages(self, since: datetime) -> Iterator[list[RemoteTicket]]:
        """By id, ``LISTING_PAGE`` a page, each page read when it is asked for."""
        self._enter("changed_pages")
        last = 0
        while True:
            page = [
                t.ticket
                for key, t in sorted(self.tickets.items())
                if key > last and t.ticket.last_activity is not None
                if t.ticket.last_activity > since
            ][: self.LISTING_PAGE]
            if not page:
                return
            yield page
            last = page[-1].id

    # --- helpers -----------------------------------------------------------------------------

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        for key in (operation, None):
            queue = self._failures.get(key)
            if queue:
                raise queue.popleft()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _ticket(self, ticket_id: int) -> _Ticket:
        if ticket_id not in self.tickets:
            raise RemoteNotFound(f"Ticket {ticket_id} does not exist in the PSA.", status_code=404)
        return self.tickets[ticket_id]

    def _touch(self, stored: _Ticket) -> None:
        # Later than any earlier activity even when the injected clock stands still.
        previous = stored.ticket.last_activity or self.clock()
        now = max(self.clock(), previous + timedelta(microseconds=1))
        stored.ticket = replace(stored.ticket, last_activity=now)

    def _status_label(self, status_id: int) -> str:
        for value in self.reference.statuses:
            if value.id == status_id:
                return value.name
        return str(status_id)


def _udf(values: dict[str, str], name: str) -> str | None:
    """A UDF's value; names ignore case, as in Autotask."""
    return next((v for k, v in values.items() if k.lower() == name.lower()), None)
