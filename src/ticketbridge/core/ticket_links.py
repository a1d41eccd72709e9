"""The link between a run and an Autotask ticket, as a state machine (design §4.2, §5, §6A, §6B,
§9). Pure: every function takes the current time and returns a new value.

    (none) --reserve--> creating --created--> active --resolve, no time entries--> resolved
                           |                    |  --Complete in Autotask--> resolved, "in Autotask"
                           |                    |     (also from left_open_time_entries)
                           |                    |  <--reopened in Autotask-- resolved
                           |                    |
                           |                    +--resolve, time entries--> left_open_time_entries
                           |                    |
                           |        a miss, then a second miss >= 1 minute later
                           |                    v
                    (create failed)      deleted_external --re-link / create new--> (new link)
                           v
                      superseded  <-- any link replaced by Re-link, Create new or Link existing

A run has at most one current link (any state but superseded); the storage layer holds that line
with a unique constraint on the run's current link, which is what makes two clicks or two workers
give one ticket. Nothing is deleted: a superseded link stays in the run's history.

What Autotask reports back (callouts, webhooks, polling; ``core/ticket_observations.py`` decides
which report counts) moves a link with :func:`resolved_in_psa` and :func:`reopened`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from ticketbridge.core.roles import Permission
from ticketbridge.core.statuses import RunStatus


class LinkState(StrEnum):
    CREATING = "creating"
    ACTIVE = "active"
    RESOLVED = "resolved"
    LEFT_OPEN_TIME_ENTRIES = "left_open_time_entries"
    DELETED_EXTERNAL = "deleted_external"
    SUPERSEDED = "superseded"


class LinkOrigin(StrEnum):
    CREATED = "created"
    LINKED = "linked"
    MANUAL = "manual"


class IntegrationMode(StrEnum):
    DISABLED = "disabled"
    ENABLED = "enabled"
    COMPATIBILITY = "compatibility"  # enabled, manual ticket numbers allowed too (§6A.3)


class Action(StrEnum):
    CREATE = "create"
    OPEN = "open"
    RESOLVE = "resolve"
    LINK_EXISTING = "link_existing"
    RELINK = "relink"
    CREATE_NEW = "create_new"
    MANUAL_NUMBER = "manual_number"


# Opening a ticket only needs to read it; every other action changes something.
REQUIRED_PERMISSION: dict[Action, Permission] = {
    action: Permission.READ if action is Action.OPEN else Permission.REVIEW for action in Action
}

# §6B: one "not found" marks a link suspected; only a second one at least this much later
# confirms the deletion, so that a single glitch (a replica lagging, a proxy error page read as
# 404) never flips a link.
CONFIRM_MISS_AFTER = timedelta(minutes=1)
# Runs on screen re-validate their tickets when the last read is older than this.
VALIDATION_MAX_AGE = timedelta(minutes=5)

_VALIDATED_STATES = frozenset(
    {LinkState.ACTIVE, LinkState.RESOLVED, LinkState.LEFT_OPEN_TIME_ENTRIES}
)


@dataclass(frozen=True)
class TicketLink:
    run_id: int
    state: LinkState
    origin: LinkOrigin
    created_by: str
    created_at: datetime
    ticket_id: int | None = None
    ticket_number: str | None = None
    ticket_url: str | None = None
    last_status_id: int | None = None
    last_status_at: datetime | None = None
    missing_since: datetime | None = None
    deleted_at: datetime | None = None
    superseded_at: datetime | None = None
    time_entries: int | None = None
    # The ticket's last activity as last reported by Autotask (its ordering key: an older
    # report never overwrites a newer one), and who completed it there and when.
    last_activity_at: datetime | None = None
    resolved_in_psa_by: str | None = None
    resolved_in_psa_at: datetime | None = None

    @property
    def has_validated_ticket(self) -> bool:
        return self.ticket_id is not None and self.origin is not LinkOrigin.MANUAL

    @property
    def suspected_missing(self) -> bool:
        return self.missing_since is not None and self.state is not LinkState.DELETED_EXTERNAL

    @property
    def is_current(self) -> bool:
        return self.state is not LinkState.SUPERSEDED


class TransitionError(ValueError):
    """A transition the link's state does not allow: a bug in the caller, not a user error."""


def _require(link: TicketLink, *states: LinkState) -> None:
    if link.state not in states:
        raise TransitionError(f"link of run {link.run_id} is {link.state}, not {states}")


# --- creating and linking ---------------------------------------------------------------------


def reserve(run_id: int, actor: str, now: datetime) -> TicketLink:
    """The row written before the create request; its uniqueness is the one-ticket guarantee."""
    return TicketLink(run_id, LinkState.CREATING, LinkOrigin.CREATED, actor, now)


def created(link: TicketLink, ticket_id: int, ticket_number: str, now: datetime) -> TicketLink:
    _require(link, LinkState.CREATING)
    return replace(
        link, state=LinkState.ACTIVE, ticket_id=ticket_id, ticket_number=ticket_number,
        last_status_at=now,
    )  # fmt: skip


def creation_failed(link: TicketLink, now: datetime) -> TicketLink:
    """A create that Autotask definitely refused: the reservation is released, kept as history."""
    _require(link, LinkState.CREATING)
    return replace(link, state=LinkState.SUPERSEDED, superseded_at=now)


def linked(
    run_id: int, ticket_id: int, ticket_number: str, actor: str, now: datetime
) -> TicketLink:
    """Link existing / Re-link: a ticket validated in Autotask by its number."""
    return TicketLink(
        run_id, LinkState.ACTIVE, LinkOrigin.LINKED, actor, now,
        ticket_id=ticket_id, ticket_number=ticket_number, last_status_at=now,
    )  # fmt: skip


def manual(run_id: int, ticket_number: str, actor: str, now: datetime) -> TicketLink:
    """A ticket number typed in, as before the integration: shown, never resolved."""
    return TicketLink(
        run_id, LinkState.ACTIVE, LinkOrigin.MANUAL, actor, now, ticket_number=ticket_number
    )


def supersede(link: TicketLink, now: datetime) -> TicketLink:
    if link.state is LinkState.CREATING:
        raise TransitionError("a link being created cannot be replaced")
    return link if link.state is LinkState.SUPERSEDED else replace(
        link, state=LinkState.SUPERSEDED, superseded_at=now
    )  # fmt: skip


# --- resolving --------------------------------------------------------------------------------


def resolved(link: TicketLink, status_id: int, now: datetime) -> TicketLink:
    _require(link, LinkState.ACTIVE, LinkState.LEFT_OPEN_TIME_ENTRIES)
    return replace(
        link, state=LinkState.RESOLVED, last_status_id=status_id, last_status_at=now,
        missing_since=None,
    )  # fmt: skip


def left_open(link: TicketLink, time_entries: int, status_id: int, now: datetime) -> TicketLink:
    _require(link, LinkState.ACTIVE)
    return replace(
        link, state=LinkState.LEFT_OPEN_TIME_ENTRIES, time_entries=time_entries,
        last_status_id=status_id, last_status_at=now, missing_since=None,
    )  # fmt: skip


# --- closure coming back from Autotask (issue 13) ---------------------------------------------


def resolved_in_psa(
    link: TicketLink, status_id: int | None, by: str | None, at: datetime, now: datetime
) -> TicketLink:
    """The ticket was completed in Autotask (by someone there, at ``at``)."""
    _require(link, LinkState.ACTIVE, LinkState.LEFT_OPEN_TIME_ENTRIES, LinkState.RESOLVED)
    return replace(
        link, state=LinkState.RESOLVED, last_status_id=status_id, last_status_at=now,
        missing_since=None, resolved_in_psa_by=by, resolved_in_psa_at=at,
    )  # fmt: skip


def reopened(link: TicketLink, status_id: int | None, now: datetime) -> TicketLink:
    """A completed ticket was given an open status again in Autotask: Resolve is offered again."""
    _require(link, LinkState.RESOLVED)
    return replace(
        link, state=LinkState.ACTIVE, last_status_id=status_id, last_status_at=now,
        missing_since=None, resolved_in_psa_by=None, resolved_in_psa_at=None,
    )  # fmt: skip


# --- deletion detection (§6B, §9.3) -------------------------------------------------------------


def can_validate(link: TicketLink) -> bool:
    return link.state in _VALIDATED_STATES and link.has_validated_ticket


def record_found(link: TicketLink, status_id: int, now: datetime) -> TicketLink:
    """The ticket was read: any earlier miss was a glitch."""
    if not can_validate(link):
        return link
    return replace(link, last_status_id=status_id, last_status_at=now, missing_since=None)


def record_miss(link: TicketLink, now: datetime) -> TicketLink:
    """Autotask answered not found for the link's ticket ID."""
    if not can_validate(link):
        return link
    if link.missing_since is None or now < link.missing_since:
        return replace(link, missing_since=now)
    if now - link.missing_since >= CONFIRM_MISS_AFTER:
        return replace(link, state=LinkState.DELETED_EXTERNAL, deleted_at=now)
    return link


def validation_due(link: TicketLink, now: datetime) -> bool:
    """Whether a screen showing this link should re-read its ticket. A suspected link is always
    due, so that the confirming read happens as soon as the minute has passed."""
    if not can_validate(link):
        return False
    if link.missing_since is not None:
        return now - link.missing_since >= CONFIRM_MISS_AFTER
    return link.last_status_at is None or now - link.last_status_at >= VALIDATION_MAX_AGE


# --- what may be done -------------------------------------------------------------------------


@dataclass(frozen=True)
class RunContext:
    """What besides the link decides whether a run is offered Create (issue 11): its status with
    the setting for Success runs, and why its customer has no company to ticket, if so
    (``core.mapping_status.creation_blocker`` of the stored mapping)."""

    status: RunStatus
    allow_success_tickets: bool = False
    mapping_blocker: str | None = None


SUCCESS_NEEDS_SETTING = (
    "This run succeeded: tickets for Success runs are switched off in Settings > Integrations "
    "> Autotask."
)
_CREATES = (Action.CREATE, Action.CREATE_NEW)


def success_refusal(run: RunContext | None) -> str | None:
    """A Success run is not offered Create unless the setting allows it."""
    if run is not None and run.status is RunStatus.SUCCESS and not run.allow_success_tickets:
        return SUCCESS_NEEDS_SETTING
    return None


def allowed_actions(
    link: TicketLink | None,
    mode: IntegrationMode,
    allow_resolve: bool = True,
    run: RunContext | None = None,
) -> frozenset[Action]:
    """Actions offered for a run's current link (None: the run has no ticket). With ``run``,
    Create and Create new are also judged by the run: not for a Success run without the
    setting, and not for a customer whose mapping blocks creation (:func:`disabled_actions`
    says why)."""
    actions = _by_link(link, mode, allow_resolve)
    if run is not None and (success_refusal(run) or run.mapping_blocker):
        actions = actions - frozenset(_CREATES)
    return actions


def disabled_actions(
    link: TicketLink | None,
    mode: IntegrationMode,
    allow_resolve: bool = True,
    run: RunContext | None = None,
) -> dict[Action, str]:
    """Actions shown but not clickable, with the reason to show beside them: Create (or Create
    new) for a customer with no valid company mapping. A Success run without the setting is
    simply not offered Create: there is nothing to fix, so nothing is shown."""
    if run is None or success_refusal(run) or not run.mapping_blocker:
        return {}
    by_link = _by_link(link, mode, allow_resolve)
    return {action: run.mapping_blocker for action in _CREATES if action in by_link}


def _by_link(
    link: TicketLink | None, mode: IntegrationMode, allow_resolve: bool
) -> frozenset[Action]:
    if link is not None and link.state is LinkState.SUPERSEDED:
        raise ValueError("pass the run's current link, not a superseded one")
    manual_ok = mode is not IntegrationMode.ENABLED and (
        link is None or link.origin is LinkOrigin.MANUAL
    )
    actions: set[Action] = {Action.MANUAL_NUMBER} if manual_ok else set()
    if mode is IntegrationMode.DISABLED:
        # Zero Autotask requests: existing links stay visible, but nothing acts on them.
        return frozenset(actions)
    if link is None:
        return frozenset(actions | {Action.CREATE, Action.LINK_EXISTING})
    if link.origin is LinkOrigin.MANUAL:
        # A typed number is not proof a ticket exists; creating another could duplicate it.
        return frozenset(actions | {Action.LINK_EXISTING})
    if link.state is LinkState.CREATING:
        return frozenset()
    if link.state is LinkState.DELETED_EXTERNAL:
        return frozenset({Action.RELINK, Action.CREATE_NEW})
    actions.add(Action.OPEN)
    if link.state is LinkState.ACTIVE and allow_resolve and link.has_validated_ticket:
        actions.add(Action.RESOLVE)
    return frozenset(actions)


def refusal(
    action: Action,
    link: TicketLink | None,
    mode: IntegrationMode,
    allow_resolve: bool = True,
    run: RunContext | None = None,
) -> str | None:
    """Why an action is refused, in words for the operator, or None when it is allowed."""
    if action in allowed_actions(link, mode, allow_resolve, run):
        return None
    if action in _CREATES and action in _by_link(link, mode, allow_resolve):
        # Allowed by the link; the run refuses it.
        return success_refusal(run) or (run.mapping_blocker if run is not None else None)
    if mode is IntegrationMode.DISABLED:
        return "The Autotask integration is disabled."
    if link is not None and link.state is LinkState.CREATING:
        return "A ticket is being created for this run."
    if link is not None and link.state is LinkState.DELETED_EXTERNAL:
        return "The ticket was deleted in Autotask: re-link or create a new ticket."
    if action is Action.RESOLVE and not allow_resolve:
        return "Resolving tickets from ticketbridge is switched off in Settings."
    if action is Action.RESOLVE and link is not None and not link.has_validated_ticket:
        return "Only a ticket linked by its Autotask ticket ID can be resolved."
    if action is Action.MANUAL_NUMBER:
        return "Manual ticket numbers are off while the Autotask integration is enabled."
    if action in (Action.CREATE, Action.LINK_EXISTING) and link is not None:
        return "This run already has a ticket."
    return f"{action.value.replace('_', ' ').capitalize()} is not possible in this state."


def state_label(link: TicketLink, psa: str = "the PSA") -> str:
    """What the run's ticket cell says; ``psa`` names the connection the ticket lives in."""
    if link.state is LinkState.DELETED_EXTERNAL:
        return f"Deleted in {psa}"
    if link.suspected_missing:
        return f"Not found in {psa} (checking again)"
    if link.state is LinkState.LEFT_OPEN_TIME_ENTRIES:
        entries = link.time_entries or 0
        noun = "time entry" if entries == 1 else "time entries"
        return f"Resolve requested, left open: {entries} {noun}"
    if link.state is LinkState.RESOLVED and link.resolved_in_psa_at is not None:
        return f"Resolved in {psa}" + (
            f" by {link.resolved_in_psa_by}" if link.resolved_in_psa_by else ""
        )
    if link.origin is LinkOrigin.MANUAL:
        return "Manual ticket number"
    return {
        LinkState.CREATING: "Creating ticket",
        LinkState.ACTIVE: "Open",
        LinkState.RESOLVED: "Resolved",
        LinkState.SUPERSEDED: "Replaced",
    }[link.state]
