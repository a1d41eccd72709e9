"""What every polled mail source gives the intake: raw messages and a watermark.

A mail source only *fetches*. Storing (raw, compressed, de-duplicated by Message-ID) and parsing
happen in `services/ingest.py`, so a source never looks inside a message beyond what it needs to
page through the mailbox.

The intake loop for a polled source (IMAP, Microsoft Graph) is:

    batch = source.fetch(stored_watermark)
    store every batch.messages item            # one by one; a failure skips only that item
    persist batch.watermark                    # only after the items are stored
    source.mark_processed(ids that were stored)
    repeat while batch.more

The watermark is advanced only after storage, so a crash between fetch and store re-fetches the
same mail, and de-duplication by Message-ID downstream makes that harmless. Moving processed mail
out of the watched folder keeps the folder small; the watermark is then only an optimisation.

Every method raises only `ConnectorError` subclasses (see `connectors/errors.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

# JSON-serialisable (str keys; str, int, bool or None values), stored as-is with the source.
Watermark = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FetchedMail:
    """One message exactly as the server holds it.

    `source_id` is what `mark_processed` takes back; it is meaningful only to the source that
    produced it (an IMAP `uidvalidity:uid`, a Graph immutable id, a file path).
    """

    raw: bytes
    source_id: str
    received_at: datetime | None = None
    # The server's own conversation id, where it keeps one outside the MIME (Graph's
    # conversationId): a reply that names nothing in its headers still threads by it.
    conversation_id: str = ""


@dataclass(frozen=True, slots=True)
class FetchBatch:
    """The result of one `fetch` call.

    `more` is true when the source stopped at its batch limit and more mail is waiting: the caller
    stores this batch, persists `watermark`, and calls `fetch` again with it.
    """

    messages: list[FetchedMail] = field(default_factory=list)
    watermark: Watermark = field(default_factory=dict)
    more: bool = False


@runtime_checkable
class MailSource(Protocol):
    """A mailbox the worker polls. One poller per source at a time; not thread-safe: a poll
    calls it from one thread at a time, not always the same one (services.mail.polling)."""

    def fetch(self, watermark: Watermark | None) -> FetchBatch:
        """Return mail newer than `watermark` (None: start of the folder) and the next watermark."""
        ...

    def mark_processed(self, ids: Sequence[str]) -> None:
        """Move these messages (by `FetchedMail.source_id`) to the configured processed folder.

        Ids the server no longer knows (already moved, deleted, stale) are skipped, not errors:
        the call is safe to repeat.
        """
        ...

    def check(self) -> str:
        """Connect, authenticate and open the folders; return a short, secret-free summary."""
        ...

    def close(self) -> None:
        """Release connections. Safe to call twice."""
        ...
