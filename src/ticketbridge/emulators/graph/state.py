"""The mailbox model behind the Graph emulator: folders, messages and a change log for delta.

Written from the Microsoft Graph documentation (mail delta query, immutable ids, get MIME
content, move message, child folders), as summarised in the project's mail research notes.

Delta is modelled with an append-only change log per mailbox: a message entering a folder (added
or moved in) is a ``created`` change, leaving it a ``removed`` change. A delta round covers the
changes between two log positions, collapsed per message; the first round of a folder covers the
log from the start and leaves removed messages out, so it lists what the folder holds.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .identity import Identity
from .mime import ParsedMail, parse

# Graph's well-known folder names (lower-case) and their display names.
WELL_KNOWN = {
    "inbox": "Inbox",
    "archive": "Archive",
    "deleteditems": "Deleted Items",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "junkemail": "Junk Email",
}


def _new_id(prefix: str) -> str:
    # Real ids are long opaque base64 strings; the prefix only helps reading a request log.
    return f"{prefix}{secrets.token_urlsafe(24)}"


@dataclass
class Folder:
    id: str
    display_name: str
    parent_id: str | None
    well_known: str | None = None


@dataclass
class Message:
    immutable_id: str
    rest_id: str  # the default id, which Graph changes on every move
    folder_id: str
    raw: bytes
    parsed: ParsedMail
    conversation_id: str
    received: datetime
    is_read: bool = False

    @property
    def internet_message_id(self) -> str:
        return self.parsed.message_id

    @property
    def subject(self) -> str:
        return self.parsed.subject

    @property
    def sender(self) -> tuple[str, str]:
        return self.parsed.sender

    @property
    def has_attachments(self) -> bool:
        # As in Graph: inline images alone do not make a message "have attachments".
        return any(not a.is_inline for a in self.parsed.attachments)


@dataclass(frozen=True)
class Change:
    seq: int
    folder_id: str
    message_id: str  # immutable id
    kind: Literal["created", "removed"]


@dataclass
class Mailbox:
    address: str
    folders: dict[str, Folder] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    # Told of every change, for change notifications (set by GraphState).
    listener: Callable[[Mailbox, Change], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        root = Folder(_new_id("root-"), "Top of Information Store", None, "msgfolderroot")
        self.folders[root.id] = root
        for name, display in WELL_KNOWN.items():
            folder = Folder(_new_id("folder-"), display, root.id, well_known=name)
            self.folders[folder.id] = folder

    @property
    def seq(self) -> int:
        return len(self.changes)

    def folder(self, ref: str) -> Folder | None:
        """A folder by id or well-known name (names are case-insensitive, as in Graph)."""
        if ref in self.folders:
            return self.folders[ref]
        lowered = ref.lower()
        for folder in self.folders.values():
            if folder.well_known == lowered:
                return folder
        return None

    def children(self, folder: Folder) -> list[Folder]:
        return [f for f in self.folders.values() if f.parent_id == folder.id]

    def create_child(self, parent: Folder, display_name: str) -> Folder:
        folder = Folder(_new_id("folder-"), display_name, parent.id)
        self.folders[folder.id] = folder
        return folder

    def message(self, ref: str) -> Message | None:
        """Graph accepts both id formats on lookups; so does the emulator."""
        found = self.messages.get(ref)
        if found is not None:
            return found
        return next((m for m in self.messages.values() if m.rest_id == ref), None)

    def add(
        self, folder: Folder, raw: bytes, received: datetime, *, is_read: bool = False
    ) -> Message:
        parsed = parse(raw)
        message = Message(
            immutable_id=_new_id("imm-"),
            rest_id=_new_id("msg-"),
            folder_id=folder.id,
            raw=raw,
            parsed=parsed,
            conversation_id=self._conversation(parsed),
            received=received,
            is_read=is_read,
        )
        self.messages[message.immutable_id] = message
        self._log(folder.id, message.immutable_id, "created")
        return message

    def _conversation(self, parsed: ParsedMail) -> str:
        """Exchange threads a reply into the conversation of the mail it answers; failing
        that, into the conversation whose Thread-Index (Outlook's conversation index: a
        reserved byte, a 5-byte time, then the conversation's 16-byte GUID) it continues, as
        a reply whose client dropped In-Reply-To; a mail that does neither starts one."""
        for ref in (parsed.in_reply_to, *reversed(parsed.references)):
            known = next(
                (m for m in self.messages.values() if ref and m.internet_message_id == ref), None
            )
            if known is not None:
                return known.conversation_id
        root = _thread_root(parsed.header("Thread-Index"))
        if root is not None:
            known = next(
                (
                    m
                    for m in self.messages.values()
                    if _thread_root(m.parsed.header("Thread-Index")) == root
                ),
                None,
            )
            if known is not None:
                return known.conversation_id
        return _new_id("AAQk")

    def move(self, message: Message, destination: Folder) -> None:
        if message.folder_id == destination.id:
            return
        self._log(message.folder_id, message.immutable_id, "removed")
        message.folder_id = destination.id
        message.rest_id = _new_id("msg-")
        self._log(destination.id, message.immutable_id, "created")

    def delta_rows(self, folder_id: str, since: int, upto: int) -> list[tuple[Message, str]]:
        """(message, last change kind) for the folder's changes in (since, upto], in log order."""
        last: dict[str, Change] = {}
        for change in self.changes[since:upto]:
            if change.folder_id == folder_id:
                last.pop(change.message_id, None)
                last[change.message_id] = change
        rows: list[tuple[Message, str]] = []
        for change in last.values():
            if since == 0 and change.kind == "removed":
                continue
            message = self.messages.get(change.message_id)
            if message is not None:
                rows.append((message, change.kind))
        return rows

    def _log(self, folder_id: str, message_id: str, kind: Literal["created", "removed"]) -> None:
        change = Change(self.seq + 1, folder_id, message_id, kind)
        self.changes.append(change)
        if self.listener is not None:
            self.listener(self, change)


@dataclass
class Fault:
    status: int
    retry_after: int | None
    remaining: int


@dataclass
class Subscription:
    id: str
    client_id: str
    tenant_id: str | None
    mailbox: str  # address, lower case
    folder_id: str | None  # None: every folder of the mailbox
    resource: str
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    immutable_ids: bool  # created with Prefer: IdType="ImmutableId"


@dataclass
class SentMail:
    mailbox: str
    raw: bytes
    recipients: tuple[str, ...]
    save_to_sent_items: bool
    sent_at: datetime


@dataclass
class GraphState:
    tokens: set[str]
    clock: Any = None
    identity: Identity | None = None
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    # Changes waiting to be posted to subscribers, and the log of what was posted.
    pending: list[tuple[Subscription, Change, Message]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    sent: list[SentMail] = field(default_factory=list)
    # Bumped to expire every delta and skip token handed out so far (answered with 410 Gone).
    generation: int = 1
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def now(self) -> datetime:
        if self.clock is not None:
            moment: datetime = self.clock()
            return moment
        return datetime.now(UTC).replace(microsecond=0)

    def mailbox(self, address: str, *, create: bool = False) -> Mailbox | None:
        """A mailbox by address, or by its user's UPN or object id, as Graph's /users/{id}."""
        user = self.identity.user(address) if self.identity is not None else None
        key = (user.upn if user is not None else address).lower()
        if key not in self.mailboxes and create:
            self.mailboxes[key] = Mailbox(user.upn if user is not None else address)
            self.mailboxes[key].listener = self._changed
        return self.mailboxes.get(key)

    def _changed(self, mailbox: Mailbox, change: Change) -> None:
        message = mailbox.messages.get(change.message_id)
        kind = "created" if change.kind == "created" else "deleted"
        if message is None:
            return
        for sub in self.subscriptions.values():
            if (
                sub.mailbox == mailbox.address.lower()
                and sub.folder_id in (None, change.folder_id)
                and kind in sub.change_types
                and sub.expires > self.now()
            ):
                self.pending.append((sub, change, message))

    def next_fault(self) -> Fault | None:
        while self.faults and self.faults[0].remaining <= 0:
            self.faults.popleft()
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.remaining -= 1
        return fault


def _thread_root(value: str) -> bytes | None:
    """The conversation GUID of a Thread-Index header (bytes 6 to 22), None when unreadable."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (ValueError, binascii.Error):
        return None
    return decoded[6:22] if len(decoded) >= 22 else None
