"""Where the round trip stands, for the settings page and the API: the callouts and webhooks,
the last polls with their hint coverage, the reads still due, and a warning when hints seem
to have stopped. Reads only; sends nothing to Autotask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketbridge.services.roundtrip import config, webhooks
from ticketbridge.services.roundtrip.config import CalloutView
from ticketbridge.services.roundtrip.webhooks import WebhookView
from ticketbridge.services.tickets.psa import current_settings, roundtrip_connection
from ticketbridge.storage.models import RoundtripPoll, RoundtripState, TicketHint

RECENT_POLLS = 12
COVERAGE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Coverage:
    counted: int
    announced: int
    unannounced: int

    @property
    def share(self) -> float | None:
        return None if not self.counted else self.announced / self.counted


@dataclass(frozen=True)
class RoundtripStatus:
    enabled: bool
    base_url: str
    state: RoundtripState
    callouts: list[CalloutView]
    webhooks: list[WebhookView]
    polls: list[RoundtripPoll]
    coverage: Coverage  # the last 24 hours of successful polls
    fetches_due: int
    fetch_errors: int
    warning: str | None


def coverage_warning(latest: RoundtripPoll | None) -> str | None:
    """A callout that stopped firing shows on the very next poll."""
    if latest is None or not latest.ok or not latest.unannounced:
        return None
    ids = ", ".join(str(i) for i in (latest.unannounced_ids or [])[:10])
    if not latest.announced:
        return (
            f"The last poll found {latest.unannounced} change(s) of linked tickets that no "
            f"callout or webhook announced (tickets {ids}): callouts or webhooks may have "
            "stopped firing. Check the workflow rule, the callout and the webhook in Autotask."
        )
    return (
        f"The last poll found {latest.unannounced} of {latest.counted} change(s) of linked "
        f"tickets that no callout or webhook announced (tickets {ids})."
    )


def status(session: Session, now: datetime) -> RoundtripStatus:
    base = config.base_url(session)
    polls = list(
        session.scalars(select(RoundtripPoll).order_by(RoundtripPoll.id.desc()).limit(RECENT_POLLS))
    )
    totals = session.execute(
        select(
            func.coalesce(func.sum(RoundtripPoll.counted), 0),
            func.coalesce(func.sum(RoundtripPoll.announced), 0),
            func.coalesce(func.sum(RoundtripPoll.unannounced), 0),
        ).where(RoundtripPoll.ok.is_(True), RoundtripPoll.started_at >= now - COVERAGE_WINDOW)
    ).one()
    latest_ok = next((p for p in polls if p.ok), None)
    return RoundtripStatus(
        enabled=current_settings(session, roundtrip_connection(session)).enabled,
        base_url=base,
        state=config.state(session),
        callouts=config.list_callouts(session, base),
        webhooks=webhooks.views(session),
        polls=polls,
        coverage=Coverage(int(totals[0]), int(totals[1]), int(totals[2])),
        fetches_due=int(
            session.scalar(
                select(func.count()).select_from(TicketHint).where(TicketHint.fetch_due_at <= now)
            )
            or 0
        ),
        fetch_errors=int(
            session.scalar(
                select(func.count())
                .select_from(TicketHint)
                .where(TicketHint.last_error.is_not(None), TicketHint.fetch_due_at.is_not(None))
            )
            or 0
        ),
        warning=coverage_warning(latest_ok),
    )
