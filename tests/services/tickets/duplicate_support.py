"""Duplicates made behind ticketbridge's back, for the duplicate-sweep tests."""

from __future__ import annotations

from tests.contract.emulator_harness import emulator_connector
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import BACKUP_QUEUE, BRIGHTWATER
from ticketbridge.connectors.psa.base import RemoteTicket, TicketDraft


def copy_behind_our_back(world: AutotaskWorld, reference: str) -> RemoteTicket:
    """A ticket carrying a run's reference, created in the emulator by someone else (through
    the emulator's REST API with a connector of its own, not through ticketbridge)."""
    draft = TicketDraft(
        company_id=BRIGHTWATER, title="Copied backup ticket", queue_id=BACKUP_QUEUE,
        status_id=1, priority_id=2, external_id=reference,
    )  # fmt: skip
    return emulator_connector(world.http).create_ticket(draft)
