"""What Autotask reports about a linked ticket, and what it does to the link (pure, no I/O).

Reports come from four places: extension callouts and webhooks (**hints**, applied at once so
that the run page is current within a request), the targeted fetch that follows a hint and the
periodic poll (**reads**, the truth). Each becomes an :class:`Observation`; :func:`decide`
turns a link and an observation into a :class:`Decision`.

Rules:

1. **Ordering by last activity.** Every change to an Autotask ticket moves its
   ``lastActivityDate``. An observation is applied only when its last activity is *newer* than
   the one last applied to the link: the same report 10 times is applied once (``duplicate``),
   and an older one arriving after a newer one is ignored (``stale``). An observation without a
   last activity (a webhook that does not carry it) cannot be ordered: it changes nothing and
   only asks for a read (``unordered``).
2. **Complete comes back.** A link open or left open whose ticket is seen Complete becomes
   resolved "in Autotask", with who and when; seen open again, it is reopened (active). Any
   other status change updates the label.
3. **Hints never reopen what we resolved.** Autotask may still deliver a callout sent before
   our own Complete; a hint that would reopen a link ticketbridge resolved itself is held for
   the read that follows every hint (``held``).
4. Links being created, deleted, superseded or manual do not follow the ticket
   (``not_applicable``). Any observation proves the ticket exists, so a suspected link is
   cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ticketbridge.core import ticket_links as links
from ticketbridge.core.ticket_links import LinkState, TicketLink

COMPLETE_LABEL = "Complete"


class Source(StrEnum):
    CALLOUT = "callout"
    WEBHOOK = "webhook"
    FETCH = "fetch"
    POLL = "poll"

    @property
    def is_hint(self) -> bool:
        return self in (Source.CALLOUT, Source.WEBHOOK)


class Change(StrEnum):
    RESOLVED_IN_PSA = "resolved_in_psa"
    REOPENED = "reopened"
    STATUS = "status"  # the status changed, the state did not
    ACTIVITY = "activity"  # newer activity, same status
    DETAILS = "details"  # same activity; a read added who completed it
    DUPLICATE = "duplicate"
    STALE = "stale"
    UNORDERED = "unordered"
    HELD = "held"
    NOT_APPLICABLE = "not_applicable"


APPLIED = frozenset(
    {Change.RESOLVED_IN_PSA, Change.REOPENED, Change.STATUS, Change.ACTIVITY, Change.DETAILS}
)
# Changes worth an audit event on the run.
AUDITED = frozenset({Change.RESOLVED_IN_PSA, Change.REOPENED, Change.STATUS})


@dataclass(frozen=True)
class Observation:
    ticket_id: int
    source: Source
    last_activity: datetime | None
    status_id: int | None = None
    status_label: str | None = None
    # Known from reads (completedDate, completedByResourceID) and webhooks (PersonID).
    completed_at: datetime | None = None
    completed_by: str | None = None


@dataclass(frozen=True)
class Decision:
    change: Change
    link: TicketLink
    status_label: str | None = None  # the label to show, when the observation had one

    @property
    def applied(self) -> bool:
        return self.change in APPLIED


def _words(label: str | None) -> str:
    return " ".join((label or "").casefold().replace("-", " ").split())


def is_complete(observation: Observation, complete_status_id: int | None) -> bool:
    """Complete by its picklist value when both are known, else by its label."""
    if observation.status_id is not None and complete_status_id is not None:
        return observation.status_id == complete_status_id
    return _words(observation.status_label) == _words(COMPLETE_LABEL)


def follows_ticket(link: TicketLink) -> bool:
    return links.can_validate(link) and link.is_current


def decide(
    link: TicketLink,
    observation: Observation,
    *,
    complete_status_id: int | None,
    now: datetime,
    current_label: str | None = None,
) -> Decision:
    if not follows_ticket(link) or link.ticket_id != observation.ticket_id:
        return Decision(Change.NOT_APPLICABLE, link)
    seen = observation.last_activity
    if seen is None:
        return Decision(Change.UNORDERED, link)
    known = link.last_activity_at
    if known is not None and seen < known:
        return Decision(Change.STALE, link)
    complete = is_complete(observation, complete_status_id)
    label = observation.status_label
    if known is not None and seen == known:
        return _details(link, observation, complete)
    status_id = observation.status_id if observation.status_id is not None else link.last_status_id
    after = replace(link, last_activity_at=seen)
    if complete and link.state is not LinkState.RESOLVED:
        at = observation.completed_at or seen
        after = links.resolved_in_psa(after, status_id, observation.completed_by, at, now)
        return Decision(Change.RESOLVED_IN_PSA, after, label)
    if complete and link.resolved_in_psa_at is not None:
        # Completed again (reopened and closed while we were not told): who and when are new.
        at = observation.completed_at or seen
        by = observation.completed_by or link.resolved_in_psa_by
        after = links.resolved_in_psa(after, status_id, by, at, now)
    elif not complete and link.state is LinkState.RESOLVED:
        if observation.source.is_hint and link.resolved_in_psa_at is None:
            return Decision(Change.HELD, link)
        return Decision(Change.REOPENED, links.reopened(after, status_id, now), label)
    else:
        after = replace(after, last_status_id=status_id, last_status_at=now, missing_since=None)
    changed = _status_changed(link, observation, current_label)
    return Decision(Change.STATUS if changed else Change.ACTIVITY, after, label)


def _details(link: TicketLink, observation: Observation, complete: bool) -> Decision:
    """The same activity seen again: a read may still tell who completed the ticket."""
    if (
        complete
        and link.resolved_in_psa_at is not None
        and observation.completed_by
        and observation.completed_by != link.resolved_in_psa_by
    ):
        after = replace(
            link,
            resolved_in_psa_by=observation.completed_by,
            resolved_in_psa_at=observation.completed_at or link.resolved_in_psa_at,
        )
        return Decision(Change.DETAILS, after, observation.status_label)
    return Decision(Change.DUPLICATE, link)


def _status_changed(link: TicketLink, observation: Observation, current_label: str | None) -> bool:
    if observation.status_id is not None and link.last_status_id is not None:
        return observation.status_id != link.last_status_id
    if observation.status_label is not None:
        return _words(observation.status_label) != _words(current_label)
    return False
