"""Which open ticket a new RMM alert joins, and when a joined alert's note may be sent.

The rule follows Autotask's own Add Ticket Email Service (seed 003, docs/alerts.md): an alert
whose Alert ID, or without one its Ticket ID, is the value of the matching ticket UDF
("<source> Alert ID", "<source> Ticket ID") of an open ticket of the same company joins that
ticket; otherwise it is a new alert. Never across companies: the same Alert ID in another
company's ticket is another alert. Repeats are rate-limited to one internal note per interval,
each naming every occurrence since the last one.

Pure: callers pass in the alert's keys and the tickets Autotask (or our own rows) know of.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

NOTE_INTERVAL = timedelta(minutes=15)
EXTERNAL_ID_MAX_LENGTH = 50  # Autotask's Tickets.externalID
NOTE_LIST_LIMIT = 20  # occurrences named one by one in a note; the rest are counted


class DedupKind(StrEnum):
    ALERT = "alert"  # the Alert ID
    TICKET = "ticket"  # the monitoring tool's Ticket ID, when it sends no Alert ID


@dataclass(frozen=True)
class AlertKeys:
    source_id: int  # our alert source (the token's partner application)
    company_id: int | None  # the Autotask company the alert's customer maps to
    customer_ref: str | None  # the token's CustomerID, when no company is known
    alert_ref: str | None
    ticket_ref: str | None

    @property
    def dedup(self) -> tuple[DedupKind, str] | None:
        if self.alert_ref:
            return (DedupKind.ALERT, self.alert_ref)
        if self.ticket_ref:
            return (DedupKind.TICKET, self.ticket_ref)
        return None


@dataclass(frozen=True)
class CandidateTicket:
    """A ticket that carries one of the alert UDFs (as read from Autotask)."""

    id: int
    number: str
    company_id: int | None
    alert_ref: str | None = None
    ticket_ref: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class Considered:
    ticket: CandidateTicket
    why_not: str | None  # None: this is the ticket joined


@dataclass(frozen=True)
class Decision:
    ticket: CandidateTicket | None  # the ticket to join; None: a new alert
    reason: str
    considered: tuple[Considered, ...] = ()


def group_key(keys: AlertKeys) -> str | None:
    """What an open alert and its repeats share in our own table (None: no de-duplication,
    every mail is an alert of its own). Within a company when one is known, else within the
    token's CustomerID; always within the source."""
    dedup = keys.dedup
    if dedup is None:
        return None
    scope = f"company:{keys.company_id}" if keys.company_id else f"customer:{keys.customer_ref}"
    text = json.dumps([keys.source_id, scope, dedup[0].value, dedup[1]])
    return hashlib.sha256(text.encode()).hexdigest()


def _describe(dedup: tuple[DedupKind, str]) -> str:
    return f"{'Alert ID' if dedup[0] is DedupKind.ALERT else 'Ticket ID'} {dedup[1]!r}"


def choose_ticket(keys: AlertKeys, candidates: Iterable[CandidateTicket]) -> Decision:
    """The open ticket of the alert's company carrying its Alert ID (or Ticket ID), the oldest
    when several do; otherwise none, with the reason and why each candidate was passed over."""
    dedup = keys.dedup
    if dedup is None:
        return Decision(None, "The alert has neither an Alert ID nor a Ticket ID: it is new.")
    if keys.company_id is None:
        return Decision(None, "The alert's customer has no Autotask company: nothing to join.")
    considered: list[Considered] = []
    chosen: CandidateTicket | None = None
    for ticket in sorted(candidates, key=lambda t: t.id):
        value = ticket.alert_ref if dedup[0] is DedupKind.ALERT else ticket.ticket_ref
        if (value or "").strip() != dedup[1]:
            why: str | None = f"its {_describe(dedup).split(' ')[0]} ID is {value!r}"
        elif ticket.company_id != keys.company_id:
            why = f"it belongs to another company ({ticket.company_id})"
        elif ticket.completed:
            why = "it is complete"
        elif chosen is not None:
            why = f"{chosen.number or chosen.id} is older"
        else:
            why, chosen = None, ticket
        considered.append(Considered(ticket, why))
    if chosen is None:
        return Decision(
            None,
            f"No open ticket of company {keys.company_id} carries {_describe(dedup)}: "
            "the alert is new.",
            tuple(considered),
        )
    return Decision(
        chosen,
        f"Open ticket {chosen.number or chosen.id} of the same company carries "
        f"{_describe(dedup)}: the alert joins it.",
        tuple(considered),
    )


def alert_reference(
    alert_id: int, installation: str, max_length: int = EXTERNAL_ID_MAX_LENGTH
) -> str:
    """The alert ticket's idempotency reference (externalID and description marker), like a
    run's but ``alert-<id>@<installation>``; a hash prefix when the installation is too long."""
    slug = re.sub(r"[^a-z0-9-]+", "-", installation.strip().lower()).strip("-") or "default"
    head = f"alert-{alert_id}@"
    room = max_length - len(head)
    if len(slug) <= room:
        return head + slug
    return head + hashlib.sha256(slug.encode()).hexdigest()[: max(room, 6)]


def note_due(last_note_at: datetime | None, now: datetime, interval: timedelta) -> bool:
    """Whether a joined alert's repeats may be noted now: at once the first time, then at
    most once per ``interval``."""
    return last_note_at is None or now >= last_note_at + interval


@dataclass(frozen=True)
class Occurrence:
    seen_at: datetime
    subject: str


def join_note(
    source: str, dedup: tuple[DedupKind, str] | None, occurrences: Sequence[Occurrence]
) -> str:
    """The internal note for the occurrences of an alert joined to a ticket since its last
    note. Names no credential (the token's ID and PW are never passed in)."""
    count = len(occurrences)
    what = _describe(dedup) if dedup else "an alert"
    times = "once" if count == 1 else f"{count} times"
    lines = [f"ticketbridge: {source or 'RMM'} alert {what} received {times}; joined this ticket."]
    for item in sorted(occurrences, key=lambda o: o.seen_at)[:NOTE_LIST_LIMIT]:
        stamp = item.seen_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"- {stamp}: {item.subject or '(no subject)'}")
    if count > NOTE_LIST_LIMIT:
        lines.append(f"- and {count - NOTE_LIST_LIMIT} more")
    return "\n".join(lines)


@dataclass(frozen=True)
class DeviceCandidate:
    """A configuration item whose device UDF carries the alert's DeviceID."""

    id: int
    company_id: int | None
    name: str = ""
    active: bool = True


@dataclass(frozen=True)
class DeviceChoice:
    device: DeviceCandidate | None
    reason: str


def choose_device(
    device_ref: str | None, company_id: int | None, found: Iterable[DeviceCandidate]
) -> DeviceChoice:
    """The configuration item for the alert's DeviceID: one of the alert's company (an active
    one first, then the lowest id); never another company's."""
    if not device_ref:
        return DeviceChoice(None, "The alert names no device.")
    items = sorted(found, key=lambda d: (not d.active, d.id))
    if not items:
        return DeviceChoice(None, f"No configuration item carries DeviceID {device_ref!r}.")
    own = [d for d in items if company_id is not None and d.company_id == company_id]
    if not own:
        where = ", ".join(str(d.company_id) for d in items[:3])
        return DeviceChoice(
            None, f"DeviceID {device_ref!r} belongs to another company's item ({where})."
        )
    device = own[0]
    label = device.name or str(device.id)
    return DeviceChoice(device, f"DeviceID {device_ref!r} is configuration item {label}.")
