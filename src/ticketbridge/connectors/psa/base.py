"""The small contract every PSA connector (Autotask now, Jira later) implements.

Identifiers are the PSA's own numeric ids (Autotask entity ids, Jira issue ids); names and
ticket numbers are for display. Connectors raise only :mod:`ticketbridge.connectors.errors`.

The same behaviour is pinned down for every implementation by ``tests/contract``; the in-memory
``FakePsa`` used by service and web tests passes it too, so it cannot drift from the real thing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PicklistValue:
    """One choice of a PSA list (queue, source, status, ...). Inactive values are kept, marked."""

    id: int
    name: str
    active: bool = True
    is_default: bool = False
    order: int = 0
    # Where the PSA groups this value, when it does (Jira statuses: "new", "indeterminate",
    # "done"); None for PSAs without such groups.
    category: str | None = None


@dataclass(frozen=True)
class ReferenceData:
    queues: tuple[PicklistValue, ...] = ()
    sources: tuple[PicklistValue, ...] = ()
    statuses: tuple[PicklistValue, ...] = ()
    priorities: tuple[PicklistValue, ...] = ()
    note_types: tuple[PicklistValue, ...] = ()
    publish_values: tuple[PicklistValue, ...] = ()
    fetched_at: datetime | None = None

    def counts(self) -> dict[str, int]:
        return {
            "queues": len(self.queues),
            "sources": len(self.sources),
            "statuses": len(self.statuses),
            "priorities": len(self.priorities),
            "note_types": len(self.note_types),
            "publish_values": len(self.publish_values),
        }


@dataclass(frozen=True)
class RemoteCompany:
    id: int
    name: str
    active: bool = True


@dataclass(frozen=True)
class CompanyPage:
    """One page of a company search; pass ``next_cursor`` back to get the next page."""

    items: tuple[RemoteCompany, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class TicketDraft:
    """What we ask the PSA to create. ``None`` leaves a field to the PSA's own defaults."""

    company_id: int
    title: str
    description: str = ""
    queue_id: int | None = None
    source_id: int | None = None
    status_id: int | None = None
    priority_id: int | None = None
    # Our de-duplication key, stored on the remote ticket so an uncertain create can be
    # reconciled with find_tickets(external_id=...) instead of repeated.
    external_id: str | None = None
    # The device the ticket is about (Autotask: configurationItemID), and user-defined fields
    # to set as (name, value) pairs (RMM alerts: "<source> Alert ID", "<source> Ticket ID").
    configuration_item_id: int | None = None
    user_defined_fields: tuple[tuple[str, str], ...] = ()
    # Tags to keep on the ticket where the PSA has them (Jira: labels); a PSA without them
    # ignores them.
    labels: tuple[str, ...] = ()
    # Who the ticket is for and who is kept informed, by e-mail address (a desk mail's sender
    # and Cc). The PSA links each address it knows (Jira: reporter and watchers; Autotask: the
    # contact and additional contacts of the company); an address it does not know is no error.
    reporter: str | None = None
    watchers: tuple[str, ...] = ()
    # The ticket's category where the PSA has one (Autotask: ticketCategory); ignored elsewhere.
    category_id: int | None = None


@dataclass(frozen=True)
class TicketPeople:
    """Which of a draft's addresses the PSA linked to the ticket it made; ``unlinked``: the
    addresses it does not know (or refused to link), each with the reason."""

    reporter: str | None = None
    watchers: tuple[str, ...] = ()
    unlinked: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RemoteTicket:
    id: int
    number: str
    status_id: int | None
    status_label: str
    company_id: int | None
    title: str
    external_id: str | None = None
    last_activity: datetime | None = None
    completed_at: datetime | None = None
    # Read back for the sync (issue 14): the description as plain text (Jira's ADF read as
    # text) and the priority's id; "" and None where a PSA does not send them.
    description: str = ""
    priority_id: int | None = None
    # Who the PSA says made the ticket's last change of its own fields (Autotask: its
    # lastActivityResourceID, when that activity was a field change and not a note or file);
    # None when the PSA does not say. The sync tells its own writes coming back by it.
    changed_by: str | None = None
    # When changed_by made that change, where the PSA times it apart from the last activity
    # (Jira: its changelog entry; a comment later moves only ``updated``); None: last_activity.
    changed_at: datetime | None = None
    # The ticket's queue where the kind has queues (Autotask's queueID); None elsewhere. A
    # sync's side may be scoped by it.
    queue_id: int | None = None
    # What create_ticket made of the draft's reporter and watchers (None elsewhere).
    people: TicketPeople | None = field(default=None, compare=False)
    # Read back for the sync's contacts and categories switches: the address of the ticket's
    # person (Autotask: its contact's; Jira: its reporter's, where Jira shows it) and its
    # categories (Autotask: the ticketCategory id as text; Jira: its own labels).
    contact_email: str | None = None
    categories: tuple[str, ...] = ()
    # The attributes above this ticket does not hold as the PSA does: a create asked for no
    # read-back builds the ticket from the create's answer and the draft, and names here what
    # neither says (left None or empty), e.g. {"status_id", "last_activity"}. Empty for a read.
    unread: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


@dataclass(frozen=True)
class RemoteConfigurationItem:
    """A device (Autotask: a configuration item) as the PSA knows it."""

    id: int
    company_id: int | None
    name: str
    active: bool = True


@dataclass(frozen=True)
class CheckStep:
    """``ok`` is None when the step was not reached because an earlier one failed."""

    ok: bool | None
    message: str


@dataclass(frozen=True)
class CheckResult:
    """Test connection, step by step, saying what failed.

    ``zone``: the PSA endpoint was found (Autotask: zone discovery; elsewhere: reachable).
    ``authenticated``: an authenticated call succeeded. ``reference_access``: the reference
    data (ticket picklists) can be read.
    """

    zone: CheckStep
    authenticated: CheckStep
    reference_access: CheckStep
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.zone.ok and self.authenticated.ok and self.reference_access.ok)


@dataclass(frozen=True)
class PsaCapabilities:
    """What a PSA offers beyond the core operations. A connector without a capability keeps
    the operation callable (it answers empty) and says so here, so callers and the contract
    suite can tell "nothing found" from "not a thing in this PSA"."""

    user_defined_fields: bool = True
    configuration_items: bool = True
    ticket_sources: bool = True
    # Note types and publish values as picklists (Autotask); Jira's internal comment is a flag.
    note_picklists: bool = True


def capabilities_of(connector: object) -> PsaCapabilities:
    """A connector's ``capabilities`` attribute, or everything for one that declares none."""
    found = getattr(connector, "capabilities", None)
    return found if isinstance(found, PsaCapabilities) else PsaCapabilities()


@runtime_checkable
class PsaConnector(Protocol):
    """A PSA, seen through the few operations ticketbridge needs."""

    kind: str

    def check(self) -> CheckResult:
        """Try zone, authentication and reference access; reports failures, never raises them."""
        ...

    def reference_data(self) -> ReferenceData:
        """Fetch every list the settings offer, fresh (one request once the zone is known)."""
        ...

    def search_companies(
        self, text: str, *, page_size: int = 25, cursor: str | None = None
    ) -> CompanyPage:
        """Companies whose name contains ``text`` (case-insensitive), active or not."""
        ...

    def get_companies(self, ids: Sequence[int]) -> dict[int, RemoteCompany]:
        """Companies by id; ids that do not exist (or are not visible) are absent."""
        ...

    def create_ticket(self, draft: TicketDraft, *, read_back: bool = True) -> RemoteTicket:
        """Create a ticket and return it as stored (with its number). Never retried blindly.

        ``read_back=False``: the caller needs the new ticket's id, not the PSA's view of it (a
        sync's copy), so a PSA whose create answers with little more than the id is not asked
        again. The ticket is then the answer and the draft as sent; what the PSA decides itself
        (its status, the time) is left empty and named in ``RemoteTicket.unread``. A
        connector may read back anyway."""
        ...

    def get_tickets(self, ids: Sequence[int]) -> dict[int, RemoteTicket]:
        """Tickets by id; deleted or unknown ids are absent."""
        ...

    def find_tickets(
        self, *, ticket_number: str | None = None, external_id: str | None = None
    ) -> list[RemoteTicket]:
        """Tickets matching every criterion given (at least one is required)."""
        ...

    def find_tickets_by_references(
        self, references: Sequence[str]
    ) -> dict[str, list[RemoteTicket]]:
        """Tickets whose external id is exactly one of ``references`` (case counts), oldest
        first, keyed by every distinct reference given (an empty list when none carries it).
        Batched: one query per 500 references; none for an empty sequence."""
        ...

    def find_tickets_by_udf(
        self, name: str, value: str, *, company_id: int | None = None
    ) -> list[RemoteTicket]:
        """Tickets whose user-defined field ``name`` holds exactly ``value`` (case counts),
        of ``company_id`` when given, open or not, oldest first. One query (a page per 500)."""
        ...

    def find_configuration_items(self, udf_name: str, value: str) -> list[RemoteConfigurationItem]:
        """Configuration items whose user-defined field ``udf_name`` holds exactly ``value``,
        of any company, active or not, oldest first."""
        ...

    def add_note(self, ticket_id: int, text: str, *, internal: bool = True) -> int:
        """Add a note; returns the note id. RemoteNotFound when the ticket is gone."""
        ...

    def count_time_entries(self, ticket_id: int) -> int: ...

    def close_ticket(self, ticket_id: int, status_id: int) -> None:
        """Set the ticket to ``status_id``, the completed status as the caller found it in the
        status picklist (tenants may relabel or renumber it). Closing a closed ticket is a no-op."""
        ...

    def changed_since(self, since: datetime) -> list[RemoteTicket]:
        """Tickets whose last activity is strictly after ``since`` (an aware UTC datetime)."""
        ...

    def changed_pages(self, since: datetime) -> Iterator[list[RemoteTicket]]:
        """``changed_since`` a page at a time, each page asked of the PSA only when the caller
        wants it, for a caller that writes between pages and holds one page at a time (the
        sync). Pages come in an order that writes to their tickets do not change (Autotask: by
        id; Jira: by creation), so a ticket changed meanwhile is not skipped; it is not an
        order by modification time."""
        ...


@runtime_checkable
class TicketUdfWriter(Protocol):
    """A connector that can write user-defined fields onto an existing ticket (Autotask). Not
    part of PsaConnector: a PSA without ticket UDFs (Jira) has nothing to write."""

    def set_ticket_udfs(self, ticket_id: int, fields: Sequence[tuple[str, str]]) -> None:
        """Set each named UDF to its value, other fields unchanged. RemoteNotFound when the
        ticket is gone."""
        ...
