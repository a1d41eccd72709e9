"""Conversation to ticket: does a mail open a ticket or add to one, and why (issue 16, item 2).
Pure; no I/O: what the desk already knows is handed in as a `ThreadIndex`.

Evidence is weighed in this order, and the first that names a ticket still open to comments
decides:

1. In-Reply-To: the mail answers a mail we recorded (the sender's earlier mail, or our
   notification);
2. References, newest first: the same, further up the thread;
3. Graph's conversationId (mail fetched through Microsoft Graph);
4. a ticket key in the subject ("[SUP-123]", "T20240101.0001"), taken only when that ticket is
   one this desk made or knows.

Headers come before the subject because they point at one mail we recorded, while a subject can
be edited by a person and a forwarded subject can carry another conversation's key. A mail
whose own Message-ID is already recorded made its ticket or comment before: nothing is done
again. Evidence that names only a ticket deleted in the PSA opens a new ticket and says which
one it replaces, rather than commenting on a ticket that is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.core.service_desk.subjects import (
    DEFAULT_KEY_PATTERNS,
    KeyPattern,
    find_ticket_keys,
)

GRAPH_PREFIX = "graph:"


class Action(StrEnum):
    NEW_TICKET = "new_ticket"
    COMMENT = "comment"
    ALREADY_DONE = "already_done"  # this very mail made a ticket or comment before


class Evidence(StrEnum):
    MESSAGE_ID = "message_id"
    IN_REPLY_TO = "in_reply_to"
    REFERENCES = "references"
    CONVERSATION_ID = "conversation_id"
    SUBJECT_KEY = "subject_key"
    NONE = "none"


@dataclass(frozen=True)
class KnownTicket:
    key: str
    deleted: bool = False  # deleted in the PSA: noticed, never commented on


@dataclass(frozen=True)
class ThreadIndex:
    """What the desk recorded: mails (normalised Message-IDs) and Graph conversations to their
    ticket, and the tickets it knows by key (upper case)."""

    message_ids: Mapping[str, KnownTicket] = field(default_factory=dict)
    conversation_ids: Mapping[str, KnownTicket] = field(default_factory=dict)
    ticket_keys: Mapping[str, KnownTicket] = field(default_factory=dict)


@dataclass(frozen=True)
class ThreadCandidates:
    """The keys worth looking up for a mail, so a caller can read only those rows."""

    message_ids: tuple[str, ...]
    conversation_id: str
    ticket_keys: tuple[str, ...]


@dataclass(frozen=True)
class ThreadDecision:
    action: Action
    evidence: Evidence
    reason: str  # one sentence an operator can read
    ticket_key: str | None = None  # the ticket commented on, or the one already made
    replaces: str | None = None  # a new ticket standing in for this deleted one


def thread_candidates(
    mail: DeskMail, key_patterns: Sequence[KeyPattern] = DEFAULT_KEY_PATTERNS
) -> ThreadCandidates:
    ids = [mail.message_id] if mail.message_id else []
    for reference in (*mail.in_reply_to, *reversed(mail.references)):
        if reference not in ids:
            ids.append(reference)
    return ThreadCandidates(
        tuple(ids), mail.conversation_id, find_ticket_keys(mail.subject, key_patterns)
    )


def conversation_key(mail: DeskMail) -> str:
    """One name for a mail's conversation, the same for every mail in it where the headers
    allow: Graph's conversationId, else the thread's first Message-ID (References' root, then
    In-Reply-To), else the mail's own id."""
    if mail.conversation_id:
        return GRAPH_PREFIX + mail.conversation_id
    root = (*mail.references, *mail.in_reply_to, mail.message_id)
    return next((value for value in root if value), "")


def decide_thread(
    mail: DeskMail,
    index: ThreadIndex,
    key_patterns: Sequence[KeyPattern] = DEFAULT_KEY_PATTERNS,
) -> ThreadDecision:
    candidates = thread_candidates(mail, key_patterns)
    own = index.message_ids.get(mail.message_id) if mail.message_id else None
    if own is not None:
        reason = f"This mail was handled before ({own.key}); nothing is done again."
        return ThreadDecision(Action.ALREADY_DONE, Evidence.MESSAGE_ID, reason, own.key)
    found = _evidence(mail, candidates, index)
    for evidence, ticket in found:
        if not ticket.deleted:
            reason = f"{_EXPLAINED[evidence]} {ticket.key}; added as a comment."
            return ThreadDecision(Action.COMMENT, evidence, reason, ticket.key)
    if found:
        evidence, gone = found[0]
        reason = (
            f"{_EXPLAINED[evidence]} {gone.key}, which was deleted in the PSA; "
            "a new ticket is opened instead."
        )
        return ThreadDecision(Action.NEW_TICKET, evidence, reason, replaces=gone.key)
    reason = "No earlier mail of this conversation is known; a new ticket is opened."
    unknown = [key for key in candidates.ticket_keys if key not in index.ticket_keys]
    if unknown:
        reason = (
            f"{', '.join(unknown)} in the subject is not a ticket this desk knows, and no "
            "earlier mail of this conversation is known; a new ticket is opened."
        )
    return ThreadDecision(Action.NEW_TICKET, Evidence.NONE, reason)


_EXPLAINED = {
    Evidence.IN_REPLY_TO: "Answers a mail of",
    Evidence.REFERENCES: "Belongs to the thread of",
    Evidence.CONVERSATION_ID: "Belongs to the Microsoft 365 conversation of",
    Evidence.SUBJECT_KEY: "The subject names",
}


def _evidence(
    mail: DeskMail, candidates: ThreadCandidates, index: ThreadIndex
) -> list[tuple[Evidence, KnownTicket]]:
    found: list[tuple[Evidence, KnownTicket]] = []
    for reference in candidates.message_ids:
        ticket = index.message_ids.get(reference)
        if ticket is not None and reference != mail.message_id:
            kind = Evidence.IN_REPLY_TO if reference in mail.in_reply_to else Evidence.REFERENCES
            found.append((kind, ticket))
    if candidates.conversation_id:
        ticket = index.conversation_ids.get(candidates.conversation_id)
        if ticket is not None:
            found.append((Evidence.CONVERSATION_ID, ticket))
    for key in candidates.ticket_keys:
        ticket = index.ticket_keys.get(key)
        if ticket is not None:
            found.append((Evidence.SUBJECT_KEY, ticket))
    return found
