"""The Autotask connector's settings actions: the connection check and the reference data
(ticket and note picklists) the settings pages offer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ticketbridge.connectors.errors import ConnectorError, ConnectorPermissionError
from ticketbridge.connectors.psa.autotask import picklists
from ticketbridge.connectors.psa.autotask.client import AutotaskClient
from ticketbridge.connectors.psa.base import CheckResult, CheckStep, ReferenceData


def check(client: AutotaskClient, reference_data: Callable[[], ReferenceData]) -> CheckResult:
    """Zone, then authentication and ticket rights, then the ticket lists, each step only
    after the one before succeeded."""
    skipped = CheckStep(None, "Not tried: an earlier step failed.")
    try:
        zone, _ = client.zone(refresh=True)
    except ConnectorError as exc:
        return CheckResult(CheckStep(False, exc.message), skipped, skipped)
    zone_step = CheckStep(True, f"Zone {zone.name or '?'} found at {zone.host}.")
    details = {"zone": zone.name, "api_url": zone.url}
    try:
        info = client.call("GET", "Tickets/entityInformation")
    except ConnectorPermissionError as exc:
        auth = CheckStep(True, "Authenticated.")
        return CheckResult(zone_step, auth, CheckStep(False, exc.message), details)
    except ConnectorError as exc:
        return CheckResult(zone_step, CheckStep(False, exc.message), skipped, details)
    auth = CheckStep(True, _ticket_rights(info))
    try:
        counts = reference_data().counts()
    except ConnectorError as exc:
        return CheckResult(zone_step, auth, CheckStep(False, exc.message), details)
    if not counts["queues"] or not counts["statuses"] or not counts["priorities"]:
        message = "Ticket lists are readable but some are empty: " + _describe(counts)
        return CheckResult(zone_step, auth, CheckStep(False, message), details)
    return CheckResult(zone_step, auth, CheckStep(True, "Read " + _describe(counts)), details)


def reference_data(client: AutotaskClient, clock: Callable[[], float]) -> ReferenceData:
    """Tickets picklists fresh (one request); note picklists from the metadata cache."""
    tickets = client.fields("Tickets", refresh=True)
    notes = client.fields("TicketNotes")
    lists = {k: picklists.picklist(tickets, f) for k, f in picklists.TICKET_PICKLISTS.items()}
    lists |= {k: picklists.picklist(notes, f) for k, f in picklists.NOTE_PICKLISTS.items()}
    return ReferenceData(**lists, fetched_at=datetime.fromtimestamp(clock(), UTC))


def _ticket_rights(info: Any) -> str:
    data = info.get("info") if isinstance(info, dict) else None
    if not isinstance(data, dict):
        return "Authenticated."
    verbs = {"Create": "created", "Query": "queried", "Update": "updated"}
    missing = [past for verb, past in verbs.items() if data.get(f"can{verb}") is False]
    if missing:
        return "Authenticated, but this API user's tickets cannot be " + ", ".join(missing) + "."
    return "Authenticated; tickets can be created, queried and updated."


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()) + "."
