"""What a PSA kind may offer beyond :class:`~ticketbridge.connectors.psa.base.PsaConnector`,
as small protocols and plain values that services hold without knowing the kind.

A kind declares the ones it has in ``connectors/registry.py`` (``PSA_CAPABILITIES``); a service
asks the registry for them by kind name, so it never imports a concrete connector. Each
capability takes the kind's own connector (the one the registry built) as its first argument
and raises only :mod:`ticketbridge.connectors.errors`.

- ``cache``: a zero-argument factory of the per-process cache the runtime holds for the kind
  and hands to each connector it builds (Autotask: zone and field metadata).
- ``governor_key``: the key of a connection's request governor, from its config or stored
  settings (Autotask: the zone lookup host, user name and integration code).
- ``ticket_fields``: :class:`TicketFieldLengths` of the kind's tickets, for composing content.
- ``ticket_url``: the ticket's page in the PSA, or None when the PSA does not say.
- ``roundtrip``: a :class:`RoundTripRemote` (ticket activity, resource names, webhooks).
- ``desk_target``: a :class:`DeskTarget`, how the kind takes service-desk mail.
- ``attachments``: :class:`Attachments` (a ticket's files: list, download, add; many
  tickets' files listed in one request per page).
- ``sender_company``: :class:`SenderCompany` (the company a mail's sender belongs to, by
  their contact or their domain; Autotask).
- ``notes``: :class:`Notes` (a ticket's notes or comments with their visibility, read back:
  per ticket, and those changed since a watermark in pages of the PSA's maximum; a note's
  text edited with its visibility kept).
- ``ticket_updates``: :class:`TicketUpdates` (an existing ticket's title, description, status,
  priority, person, queue and category written, for the sync's updates of mapped tickets).
- ``ticket_query``: :class:`TicketQuery` (the changed tickets narrowed by a query in the
  PSA's own language: Jira's JQL), for a sync's scope.
- ``sync_hooks``: :class:`SyncHooks` (a change webhook the PSA posts, its signature checked
  and read, so a change starts the syncs using the connection early).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from ticketbridge.connectors.errors import RemoteTooLarge
from ticketbridge.connectors.psa.base import RemoteTicket


@dataclass(frozen=True)
class TicketFieldLengths:
    """The longest text each ticket field takes; None where the PSA does not say."""

    title: int | None = None
    description: int | None = None
    external_id: int | None = None


@dataclass(frozen=True)
class DeskTarget:
    """How a kind takes service-desk mail as tickets (issue 16). A mailbox's board is either
    the ticket's company itself (a Jira project) or a queue within the company the mailbox
    names (Autotask); ``board_name`` is what an admin calls one. The lengths are the longest
    title, description and comment text the kind's tickets take."""

    board_is_company: bool
    board_name: str
    title: int
    description: int
    comment: int


@dataclass(frozen=True)
class TicketActivity:
    id: int
    number: str
    status_id: int | None
    status_label: str
    last_activity: datetime | None
    last_activity_resource_id: int | None
    completed_at: datetime | None
    completed_by_resource_id: int | None


@dataclass
class RequestCount:
    """PSA requests sent by one piece of work (queries and pages; cached metadata reads are
    not counted)."""

    requests: int = 0


@dataclass(frozen=True)
class RemoteWebhook:
    id: int
    guid: str | None
    active: bool
    ready: bool


class RoundTripRemote(Protocol):
    """What the round trip (callouts, webhooks, polling) needs from a PSA beyond the protocol.
    ``connector`` is the kind's own connector, as the registry built it."""

    def changed_since(
        self, connector: Any, since: datetime, counter: RequestCount
    ) -> list[TicketActivity]: ...

    def get_activity(
        self, connector: Any, ids: Sequence[int], counter: RequestCount
    ) -> dict[int, TicketActivity]: ...

    def resource_names(
        self, connector: Any, ids: Sequence[int], counter: RequestCount
    ) -> dict[int, str]: ...

    def find_own_resource(
        self, connector: Any, created_ticket_id: int | None, counter: RequestCount
    ) -> int | None: ...

    def register_webhook(
        self,
        connector: Any,
        *,
        name: str,
        webhook_url: str,
        deactivation_url: str,
        secret_key: str,
        excluded_resource_id: int | None,
    ) -> RemoteWebhook: ...

    def get_webhook(self, connector: Any, webhook_id: int) -> RemoteWebhook: ...

    def delete_webhook(self, connector: Any, webhook_id: int) -> None: ...


AttachmentVisibility = Literal["all", "internal"]


@dataclass(frozen=True)
class RemoteAttachment:
    """A file on a ticket. ``visibility`` is None where the PSA has no such notion (Jira: a
    file is seen by everyone who sees the issue)."""

    id: int
    ticket_id: int
    file_name: str
    size: int
    content_type: str
    created: datetime | None
    visibility: AttachmentVisibility | None


def download_too_large(file_name: str, size: int, limit: int) -> RemoteTooLarge:
    """The error of a download over the caller's cap."""
    return RemoteTooLarge(
        f"{file_name} is {size} bytes, over the {limit}-byte limit for a download.", limit=limit
    )


class Attachments(Protocol):
    """A ticket's files. ``connector`` is the kind's own connector, as the registry built it.

    A missing or deleted ticket raises RemoteNotFound; a file over the PSA's limit (or over
    ``max_bytes`` on download) raises RemoteTooLarge, before any bytes are sent where the
    size is known first.
    """

    # Whether ``add(internal=True)`` keeps the file from the customer; where it is False an
    # internal file is refused (RemoteRejected), never silently made visible.
    has_visibility: bool
    # The largest file the PSA takes, when it documents one.
    max_upload_bytes: int | None

    def list_attachments(self, connector: Any, ticket_id: int) -> list[RemoteAttachment]:
        """Every file on the ticket, oldest first, without content: one request."""
        ...

    # How many tickets one request of ``list_for_tickets`` covers (the PSA's largest page).
    list_batch: int

    def list_for_tickets(
        self, connector: Any, ticket_ids: Sequence[int]
    ) -> dict[int, list[RemoteAttachment]]:
        """Every file of each ticket, oldest first, by ticket id, without content: one
        request per ``list_batch`` tickets (and per page of files), never one per ticket. A
        ticket without files maps to ``[]``; a ticket that does not exist (any more) is left
        out, so an absent id never reads as "no files"."""
        ...

    def download(self, connector: Any, attachment: RemoteAttachment, *, max_bytes: int) -> bytes:
        """The file's bytes; RemoteTooLarge when it is over ``max_bytes``."""
        ...

    def add(
        self,
        connector: Any,
        ticket_id: int,
        *,
        file_name: str,
        content_type: str,
        data: bytes,
        internal: bool = False,
    ) -> RemoteAttachment:
        """Attach one file and return it as the PSA holds it."""
        ...


NoteVisibility = Literal["public", "internal"]


@dataclass(frozen=True)
class RemoteNote:
    """A note (Autotask) or comment (Jira) on a ticket, as the PSA holds it.

    ``visibility`` is "internal" whenever the PSA keeps the note from the customer in any way
    (Autotask: every publish value but "All Autotask Users"; Jira: a service desk internal
    comment or a comment restricted to a role or group), and also when the PSA does not say:
    a note is only "public" when the PSA says everyone may read it. ``author_id`` is the PSA's
    own (Autotask: the resource or contact id; Jira: the account id, or the user key on Data
    Center); ``by_customer`` says the author is the customer's side (an Autotask contact, a
    Jira service desk customer). ``updated`` is what ``changed_since`` compares.
    """

    id: int
    ticket_id: int
    text: str
    visibility: NoteVisibility
    author_id: str | None
    author_name: str | None
    by_customer: bool
    created: datetime | None
    updated: datetime | None


class Notes(Protocol):
    """A ticket's notes, read back and edited. ``connector`` is the kind's own connector, as the
    registry built it; new notes are written with ``PsaConnector.add_note``.

    ``page_size`` is the PSA's largest page unless given (a smaller one only for tests).
    Both answers are in ``(updated, id)`` order, oldest first.
    """

    # How many ticket ids one request of ``changed_since`` takes (its cost is at least one
    # request per this many ids).
    ticket_batch: int

    def changed_since(
        self,
        connector: Any,
        since: datetime,
        ticket_ids: Sequence[int] | None = None,
        *,
        page_size: int | None = None,
    ) -> list[RemoteNote]:
        """The notes created or changed after ``since`` (an aware datetime), on the given
        tickets or on every ticket; batched over tickets, never one request per ticket where
        the PSA can do better. A ticket id that no longer exists is no error here."""
        ...

    def for_ticket(
        self, connector: Any, ticket_id: int, *, page_size: int | None = None
    ) -> list[RemoteNote]:
        """Every note of the ticket; RemoteNotFound when the ticket is gone."""
        ...

    def update_note(self, connector: Any, ticket_id: int, note_id: int, text: str) -> RemoteNote:
        """The note's text replaced, its visibility left as it is (an internal note is never
        made public by an edit); the note as the PSA holds it after. RemoteNotFound when the
        note or its ticket is gone."""
        ...


@dataclass(frozen=True)
class TicketChange:
    """What to write onto an existing ticket; a None field is left as the ticket has it.
    Status and priority are the PSA's own ids (Autotask picklist values, Jira ids)."""

    title: str | None = None
    description: str | None = None
    status_id: int | None = None
    priority_id: int | None = None
    # Who the ticket is for, by e-mail address (Autotask: the contact of the ticket's company
    # with it; Jira: the account with it, as reporter). One the PSA does not know, or refuses,
    # is left as it was and said in the returned ticket's ``people.unlinked``, never raised.
    reporter: str | None = None
    # The queue, where the kind moves tickets between queues (``TicketUpdates.moves_queue``).
    queue_id: int | None = None
    # The category (Autotask: a ticketCategory id; Jira: a label). Where a ticket holds several
    # (Jira's labels), those of ``replaces_categories`` are taken off and every other one kept.
    category: str | None = None
    replaces_categories: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return all(
            value is None
            for value in (
                self.title,
                self.description,
                self.status_id,
                self.priority_id,
                self.reporter,
                self.queue_id,
                self.category,
            )
        )


class TicketUpdates(Protocol):
    """An existing ticket's fields written. ``connector`` is the kind's own connector, as the
    registry built it.

    A missing or deleted ticket raises RemoteNotFound; a value the PSA refuses (a status or
    priority it does not have, a status no transition leads to) raises RemoteRejected with the
    PSA's own text, and then nothing of the change is guaranteed written.
    """

    # Whether ``update_ticket`` moves a ticket to ``TicketChange.queue_id`` (Autotask); where
    # False the kind cannot move one in place and the caller must not ask (Jira's issue type).
    moves_queue: bool

    def update_ticket(self, connector: Any, ticket_id: int, change: TicketChange) -> RemoteTicket:
        """Write the fields ``change`` names and return the ticket as the PSA holds it after."""
        ...

    def author_id(self, connector: Any) -> str | None:
        """Who the PSA names in ``RemoteTicket.changed_by`` for a change this connector
        writes (Autotask: the API user's resource; Jira: its account); None where tickets name
        no author."""
        ...


@dataclass(frozen=True)
class HookChange:
    """A change a PSA's webhook reported: its event name and, when the payload says, the
    ticket (Jira: issue id) it was on."""

    event: str
    ticket_id: str | None = None


class SyncHooks(Protocol):
    """A change webhook the kind's PSA posts (``/hooks/<kind>/<connection>``). Plain
    functions: no connector, the body is checked before anything else is done."""

    # The request header carrying the signature (lower case).
    signature_header: str

    def signature_valid(self, secret: str, body: bytes, signature: str | None) -> bool:
        """Whether ``signature`` signs exactly ``body`` under ``secret`` (constant time)."""
        ...

    def parse(self, body: bytes) -> HookChange | None:
        """The change the body reports; None for an event that changes no ticket; ValueError
        with a message for a body that is not such a webhook."""
        ...


class TicketQuery(Protocol):
    """Changed tickets narrowed by a query fragment in the PSA's own language (Jira: JQL),
    ANDed into the listing; a sync's side scoped by it."""

    language: str

    def problem(self, query: str) -> str | None:
        """Why ``query`` cannot be ANDed into the listing; None when it can."""
        ...

    def changed_since(self, connector: Any, since: datetime, query: str) -> list[RemoteTicket]:
        """``PsaConnector.changed_since`` with ``query`` ANDed in."""
        ...

    def changed_pages(
        self, connector: Any, since: datetime, query: str
    ) -> Iterator[list[RemoteTicket]]:
        """``PsaConnector.changed_pages`` with ``query`` ANDed in."""
        ...


class SenderCompany(Protocol):
    """Which customer a mail's sender belongs to, for a kind whose tickets name a company
    (Autotask). Each answers None for none, or for several (never a guess); one request each."""

    def by_contact(self, connector: Any, address: str) -> int | None:
        """The company of the active contact with this e-mail address (lower case)."""
        ...

    def by_domain(self, connector: Any, domain: str) -> int | None:
        """The active company whose web address is this domain or a parent of it."""
        ...
