"""Resolving a ticket from ticketbridge (design §6, §6A.3, §6B).

Resolve is possible only when the setting allows it and the link holds a validated ticket ID.
The ticket is read again first: gone means blocked (the link's deletion rule decides whether it
is deleted), already Complete means nothing is sent. Then its time entries are counted: none,
and ticketbridge adds the fixed §6.3 note and sets Complete; some, and it adds the fixed §6.2
note and leaves the ticket to its owner. Both notes are internal, never customer-facing.

The caller's order of requests is: read ticket, count time entries (only when the ticket is
open), add note, set status (only for close); at most four.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ticketbridge.core.ticket_links import LinkState

# Fixed texts (§6.2, §6.3, §7.5): shown read-only in Settings, never edited by operators.
RESOLVE_NOTE_TEXT = (
    "Ticket resolved via ticketbridge after verification that the backup issue is no longer "
    "present."
)
TIME_ENTRIES_NOTE_TEXT = (
    "Ticket marked as resolved in ticketbridge, but not closed automatically because time "
    "entries are present."
)
NOTE_TITLE = "ticketbridge"
COMPLETE_LABEL = "Complete"
# The system status value Autotask tenants share for Complete; used only when the picklist has
# no label "Complete" (a renamed label), never instead of a picklist that lacks it.
COMPLETE_SYSTEM_VALUE = 5


class ResolveAction(StrEnum):
    BLOCKED = "blocked"
    ALREADY_COMPLETE = "already_complete"
    CLOSE = "close"
    LEAVE_OPEN = "leave_open"


class ResolveBlock(StrEnum):
    NOT_ALLOWED = "not_allowed"
    NO_TICKET_ID = "no_ticket_id"
    TICKET_NOT_FOUND = "ticket_not_found"
    NO_INTERNAL_PUBLISH = "no_internal_publish"
    NO_COMPLETE_STATUS = "no_complete_status"


BLOCK_MESSAGES = {
    ResolveBlock.NOT_ALLOWED: "Resolving tickets from ticketbridge is switched off in Settings.",
    ResolveBlock.NO_TICKET_ID: (
        "This run has no validated Autotask ticket ID. Link the existing Autotask ticket first."
    ),
    ResolveBlock.TICKET_NOT_FOUND: "The ticket was not found in Autotask.",
    ResolveBlock.NO_INTERNAL_PUBLISH: (
        "Autotask offers no internal publish value for notes; ticketbridge will not add a "
        "note visible to all Autotask users."
    ),
    ResolveBlock.NO_COMPLETE_STATUS: "The Autotask status picklist has no Complete status.",
}


# The status group of done statuses, where a PSA groups them (Jira's status category key).
DONE_GROUP = "done"
# The publish value given for a PSA whose internal notes are a flag, not a picklist (Jira).
INTERNAL_BY_FLAG = 0


@dataclass(frozen=True)
class PicklistOption:
    value: int
    label: str
    active: bool = True
    # Where the PSA groups the value (Jira status categories); None where it does not.
    group: str | None = None


@dataclass(frozen=True)
class TicketSnapshot:
    """The ticket as just read from Autotask."""

    id: int
    status_id: int
    # The PSA says the ticket is done (Autotask: completed; Jira: a status of the done
    # category), whichever done status it is in.
    completed: bool = False


@dataclass(frozen=True)
class ResolveDecision:
    action: ResolveAction
    block: ResolveBlock | None = None
    note_text: str | None = None
    set_status_id: int | None = None
    link_state: LinkState | None = None
    run_message: str | None = None
    # Evidence for the audit event: time-entry count, status before and after.
    evidence: dict[str, int | str | None] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        return BLOCK_MESSAGES[self.block] if self.block else None


def _blocked(block: ResolveBlock, **evidence: int | str | None) -> ResolveDecision:
    return ResolveDecision(ResolveAction.BLOCKED, block=block, evidence=dict(evidence))


def precheck(allow_resolve: bool, ticket_id: int | None) -> ResolveDecision | None:
    """A block decided before any request to Autotask, or None when the ticket may be read."""
    if not allow_resolve:
        return _blocked(ResolveBlock.NOT_ALLOWED)
    if ticket_id is None:
        return _blocked(ResolveBlock.NO_TICKET_ID)
    return None


def needs_time_entry_count(ticket: TicketSnapshot | None, complete_status_id: int | None) -> bool:
    return (
        ticket is not None
        and complete_status_id is not None
        and (ticket.status_id != complete_status_id)
        and not ticket.completed
    )


def decide_resolve(
    *,
    allow_resolve: bool,
    ticket_id: int | None,
    ticket: TicketSnapshot | None,
    complete_status_id: int | None,
    internal_publish: int | None,
    time_entry_count: int | None,
) -> ResolveDecision:
    """`ticket` is None when Autotask answered not found; `time_entry_count` may be None only
    when the ticket is gone or already Complete (see needs_time_entry_count)."""
    early = precheck(allow_resolve, ticket_id)
    if early is not None:
        return early
    if ticket is None:
        return _blocked(ResolveBlock.TICKET_NOT_FOUND, ticket_id=ticket_id)
    if complete_status_id is None:
        return _blocked(ResolveBlock.NO_COMPLETE_STATUS, status_before=ticket.status_id)
    if ticket.status_id == complete_status_id or ticket.completed:
        return ResolveDecision(
            ResolveAction.ALREADY_COMPLETE,
            link_state=LinkState.RESOLVED,
            evidence={"status_before": ticket.status_id, "status_after": ticket.status_id},
        )
    if time_entry_count is None:
        raise ValueError("count the ticket's time entries before deciding")
    if internal_publish is None:
        return _blocked(
            ResolveBlock.NO_INTERNAL_PUBLISH,
            status_before=ticket.status_id,
            time_entries=time_entry_count,
        )
    if time_entry_count > 0:
        return ResolveDecision(
            ResolveAction.LEAVE_OPEN,
            note_text=TIME_ENTRIES_NOTE_TEXT,
            link_state=LinkState.LEFT_OPEN_TIME_ENTRIES,
            run_message=left_open_message(time_entry_count),
            evidence={
                "time_entries": time_entry_count,
                "status_before": ticket.status_id,
                "status_after": ticket.status_id,
                "publish": internal_publish,
            },
        )
    return ResolveDecision(
        ResolveAction.CLOSE,
        note_text=RESOLVE_NOTE_TEXT,
        set_status_id=complete_status_id,
        link_state=LinkState.RESOLVED,
        evidence={
            "time_entries": 0,
            "status_before": ticket.status_id,
            "status_after": complete_status_id,
            "publish": internal_publish,
        },
    )


def left_open_message(time_entries: int) -> str:
    noun = "time entry" if time_entries == 1 else "time entries"
    return f"resolve requested, left open: {time_entries} {noun}"


def _words(label: str) -> str:
    return " ".join(label.casefold().replace("-", " ").split())


def internal_publish_value(options: Iterable[PicklistOption]) -> int | None:
    """The note publish value that keeps a note among internal users, or None.

    "All Autotask Users" is customer-visible and never chosen; values that include co-managed
    users reach people outside the MSP and are not chosen either. Among the rest, a label with
    "internal" wins, the lowest value first, for a stable choice.
    """
    candidates = [
        option
        for option in options
        if option.active
        and "internal" in _words(option.label)
        and "all autotask users" not in _words(option.label)
        and "co managed" not in _words(option.label)
        and "comanaged" not in _words(option.label)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda option: option.value).value


def complete_status_value(options: Iterable[PicklistOption]) -> int | None:
    """The Complete status from the Tickets status picklist: by label, else the system value;
    in a PSA that groups its statuses (Jira), the first active status of the done group."""
    listed = list(options)
    if any(option.group for option in listed):
        done = [o for o in listed if o.group == DONE_GROUP and o.active]
        return done[0].value if done else None
    for option in listed:
        if _words(option.label) == _words(COMPLETE_LABEL):
            return option.value
    if any(option.value == COMPLETE_SYSTEM_VALUE for option in listed):
        return COMPLETE_SYSTEM_VALUE
    return None
