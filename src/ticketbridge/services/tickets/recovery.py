"""Settling reservations whose create is pending (design §5, §7.3; issue 9 item 1).

A reservation stays ``creating`` while Autotask has not said whether it created the ticket, or
when the process that was sending died. The periodic job ``tickets.recover_creating`` settles
every one of them each minute through :func:`ticketbridge.services.tickets.create.settle`: a
search for the run's reference links what Autotask holds; another create is sent only after the
quiet period, and the run is given back after the last attempt.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.create import settle
from ticketbridge.services.tickets.psa import current_settings
from ticketbridge.storage.models import TicketLinkRow

log = logging.getLogger(__name__)


def settle_pending(runtime: Runtime) -> int:
    """The periodic job: settle every pending reservation; how many were linked or released.
    Sends nothing while the integration is disabled."""
    with runtime.session_factory() as session:
        if not current_settings(session).enabled:
            return 0
        ids = list(
            session.scalars(
                select(TicketLinkRow.id)
                .where(TicketLinkRow.state == LinkState.CREATING.value)
                .order_by(TicketLinkRow.id)
            )
        )
    settled = 0
    for link_id in ids:
        try:
            settle(runtime, link_id, actor="system")
        except store.TicketBeingCreated:
            continue  # still within its quiet period, or another settler has it
        except store.TicketError as exc:
            # Audited where it happened; a reservation given back counts as settled.
            log.info("ticket reservation %s: %s", link_id, exc.message)
            with runtime.session_factory() as session:
                row = store.get(session, link_id)
                settled += int(row is not None and row.state != LinkState.CREATING.value)
            continue
        settled += 1
    return settled
