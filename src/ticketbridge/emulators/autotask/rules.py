"""What the server does on its own when rows are written: numbers, dates, cross-checks.

Every function here runs inside one request with the rows already validated against the
metadata; the texts of errors are those reported from live tenants (see the reference notes).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable
from random import Random
from typing import Any

from . import dates
from .errors import app_error
from .store import Row
from .urls import http_url_problem
from .writes import WriteContext

COMPLETE = 5
RESOURCE_ROLE_TEXT = (
    "When assigning a Resource, you must assign both a assignedResourceID and "
    "assignedResourceRoleID."
)
TIME_ROLE_TEXT = "TimeEntries for Tickets must have a roleID"
TIME_HOURS_TEXT = "Must have at least one of hoursWorked or startDateTime/endDateTime"
MAX_ATTACHMENT_BYTES = 6 * 1024 * 1024
ATTACHMENT_WINDOW_BYTES = 10_000_000
ATTACHMENT_WINDOW_SECONDS = 300


def ticket_number(ctx: WriteContext) -> str:
    day = ctx.now[:10].replace("-", "")
    count = ctx.store.ticket_days.get(day, 0) + 1
    ctx.store.ticket_days[day] = count
    return f"T{day}.{count:04d}"


def _check_assignment(ctx: WriteContext, row: Row) -> None:
    resource, role = row.get("assignedResourceID"), row.get("assignedResourceRoleID")
    if (resource is None) != (role is None):
        raise app_error(RESOURCE_ROLE_TEXT)
    if resource is not None:
        allowed = ctx.store.resource_roles.get(str(resource), [])
        if role not in allowed:
            raise app_error(
                f"The resource {resource} is not assigned the role {role}. "
                "A Resource and Role pair must be valid for the ticket's queue."
            )


def touch_ticket(
    ctx: WriteContext, ticket_id: int | None, *, customer_visible: bool = False
) -> None:
    """Notes, time entries and attachments count as activity on their ticket."""
    if ticket_id is None:
        return
    ticket = ctx.store.get("Tickets", ticket_id)
    if ticket is None:
        return
    ticket["lastActivityDate"] = ctx.now
    ticket["lastActivityResourceID"] = ctx.acting_resource
    if customer_visible:
        ticket["lastCustomerVisibleActivityDateTime"] = ctx.now
    ctx.events.append(("Tickets", "Update", ticket, {"lastActivityDate"}))


def on_create(ctx: WriteContext, entity: str, row: Row, rng: Random) -> None:
    handler = _CREATE.get(entity)
    if handler:
        handler(ctx, row, rng)
    ctx.events.append((entity, "Create", row, set(row)))


def on_update(ctx: WriteContext, entity: str, old: Row, row: Row, changed: set[str]) -> None:
    handler = _UPDATE.get(entity)
    if handler:
        handler(ctx, old, row, changed)
    if changed:
        ctx.events.append((entity, "Update", row, changed))


def on_delete(ctx: WriteContext, entity: str, row: Row) -> None:
    if entity == "TimeEntries":
        touch_ticket(ctx, row.get("ticketID"))
    if entity == "TicketWebhookFields":
        _refresh_webhook_ready(ctx, row.get("webhookID"))
    ctx.events.append((entity, "Delete", row, set()))


def _ticket_created(ctx: WriteContext, row: Row, rng: Random) -> None:
    _check_assignment(ctx, row)
    if ctx.store.tenant.get("queue_required", True) and row.get("queueID") is None:
        raise app_error("queueID is required")
    row["ticketNumber"] = ticket_number(ctx)
    row["createDate"] = ctx.now
    row["creatorResourceID"] = ctx.acting_resource
    row["creatorType"] = 1
    row["lastActivityDate"] = ctx.now
    row["lastActivityResourceID"] = ctx.acting_resource
    row["lastActivityPersonType"] = 1
    row["lastTrackedModificationDateTime"] = ctx.now
    row["impersonatorCreatorResourceID"] = ctx.impersonator_id
    if row.get("status") == COMPLETE:
        row["completedDate"] = ctx.now
        row["completedByResourceID"] = ctx.acting_resource


def _ticket_updated(ctx: WriteContext, old: Row, row: Row, changed: set[str]) -> None:
    _check_assignment(ctx, row)
    if not changed:
        return
    if "status" in changed:
        if row.get("status") == COMPLETE:
            row["completedDate"] = ctx.now
            row["completedByResourceID"] = ctx.acting_resource
            changed.add("completedDate")
        elif old.get("status") == COMPLETE:
            row["completedDate"] = None
            row["completedByResourceID"] = None
            changed.add("completedDate")
    row["lastActivityDate"] = ctx.now
    row["lastActivityResourceID"] = ctx.acting_resource
    row["lastTrackedModificationDateTime"] = ctx.now
    changed.add("lastActivityDate")


def _note_created(ctx: WriteContext, row: Row, rng: Random) -> None:
    row["createDateTime"] = ctx.now
    row["lastActivityDate"] = ctx.now
    row["creatorResourceID"] = ctx.acting_resource
    row["impersonatorCreatorResourceID"] = ctx.impersonator_id
    touch_ticket(ctx, row.get("ticketID"), customer_visible=row.get("publish") == 1)


def _note_updated(ctx: WriteContext, old: Row, row: Row, changed: set[str]) -> None:
    if changed:
        row["lastActivityDate"] = ctx.now
        row["impersonatorUpdaterResourceID"] = ctx.impersonator_id
        touch_ticket(ctx, row.get("ticketID"))


def _hours(row: Row) -> None:
    start, end = row.get("startDateTime"), row.get("endDateTime")
    if row.get("hoursWorked") is None:
        if start is None or end is None:
            raise app_error(TIME_HOURS_TEXT)
        seconds = (dates.parse(end) - dates.parse(start)).total_seconds()
        row["hoursWorked"] = round(seconds / 3600, 4)
    row["hoursToBill"] = row["hoursWorked"]


def time_entry_created(ctx: WriteContext, row: Row, rng: Random | None = None) -> None:
    if row.get("ticketID") is not None and row.get("roleID") is None:
        raise app_error(TIME_ROLE_TEXT)
    _hours(row)
    row["dateWorked"] = row.get("dateWorked") or row.get("startDateTime") or ctx.now
    row["timeEntryType"] = 2 if row.get("ticketID") is not None else 1
    row["createDateTime"] = ctx.now
    row["lastModifiedDateTime"] = ctx.now
    row["creatorUserID"] = ctx.acting_resource
    row["lastModifiedUserID"] = ctx.acting_resource
    touch_ticket(ctx, row.get("ticketID"))


def _time_entry_updated(ctx: WriteContext, old: Row, row: Row, changed: set[str]) -> None:
    if not changed:
        return
    if {"startDateTime", "endDateTime"} & changed and "hoursWorked" not in changed:
        row["hoursWorked"] = None
    _hours(row)
    row["lastModifiedDateTime"] = ctx.now
    row["lastModifiedUserID"] = ctx.acting_resource
    touch_ticket(ctx, row.get("ticketID"))


def _stamp(*names: str) -> Any:
    def created(ctx: WriteContext, row: Row, rng: Random) -> None:
        for name in names:
            row[name] = ctx.now

    return created


def _stamp_update(*names: str) -> Any:
    def updated(ctx: WriteContext, old: Row, row: Row, changed: set[str]) -> None:
        if changed:
            for name in names:
                row[name] = ctx.now

    return updated


def _check_webhook_urls(row: Row, names: Iterable[str] = ("webhookUrl", "deactivationUrl")) -> None:
    for name in names:
        problem = http_url_problem(row.get(name))
        if problem is not None:
            raise app_error(
                f"The value for field {name} is not a valid http or https URL ({problem})."
            )


def _webhook_created(ctx: WriteContext, row: Row, rng: Random) -> None:
    _check_webhook_urls(row)
    row["webhookGUID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    row["isReady"] = False
    if row.get("isActive") is None:
        row["isActive"] = True
    row.setdefault("_failures", 0)
    row.setdefault("_sequence", 0)


def _webhook_updated(ctx: WriteContext, old: Row, row: Row, changed: set[str]) -> None:
    _check_webhook_urls(row, sorted({"webhookUrl", "deactivationUrl"} & changed))


def _refresh_webhook_ready(ctx: WriteContext, webhook_id: Any, pending: Row | None = None) -> None:
    """Ready once at least one field is subscribed; ``pending`` is a row not yet stored."""
    webhook = ctx.store.get("TicketWebhooks", int(webhook_id)) if webhook_id else None
    if webhook is None:
        return
    rows = [*ctx.store.table("TicketWebhookFields").values(), *([pending] if pending else [])]
    webhook["isReady"] = any(
        f.get("isSubscribedField") for f in rows if f.get("webhookID") == webhook["id"]
    )


def _webhook_field_created(ctx: WriteContext, row: Row, rng: Random) -> None:
    _refresh_webhook_ready(ctx, row.get("webhookID"), row)


def _webhook_field_updated(ctx: WriteContext, old: Row, row: Row, changed: set[str]) -> None:
    old.update(row)
    _refresh_webhook_ready(ctx, row.get("webhookID"))


def attachment_created(
    ctx: WriteContext, row: Row, uploads: list[tuple[float, int]], now_ts: float
) -> None:
    """Decode and size-check the bytes; the volume window is 10,000,000 bytes per 5 min."""
    try:
        raw = base64.b64decode(row.get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        raise app_error("The attachment data is not valid base64.") from None
    if row.get("attachmentType") == "FILE_ATTACHMENT" and not raw:
        raise app_error("Value does not exist for the required field data.")
    if len(raw) > MAX_ATTACHMENT_BYTES:
        raise app_error(
            f"The attachment exceeds the maximum file size of {MAX_ATTACHMENT_BYTES} bytes."
        )
    uploads[:] = [u for u in uploads if now_ts - u[0] < ATTACHMENT_WINDOW_SECONDS]
    if sum(size for _, size in uploads) + len(raw) > ATTACHMENT_WINDOW_BYTES:
        raise app_error(
            "The attachment upload threshold of 10,000,000 bytes in 5 minutes has been "
            "exceeded. Attachment creation is blocked for 5 minutes."
        )
    uploads.append((now_ts, len(raw)))
    row["fileSize"] = len(raw)
    row["parentID"] = row.get("ticketID")
    row["parentType"] = 4
    row["isTaskAttachment"] = False
    row["attachDate"] = ctx.now
    row["attachedByResourceID"] = ctx.acting_resource
    touch_ticket(ctx, row.get("ticketID"))


def _additional_contact_created(ctx: WriteContext, row: Row, rng: Random) -> None:
    """A ticket's additional contacts are people of its company, each once."""
    ticket = ctx.store.get("Tickets", int(row["ticketID"])) or {}
    contact = ctx.store.get("Contacts", int(row["contactID"])) or {}
    if contact.get("companyID") != ticket.get("companyID"):
        raise app_error("The contact must belong to the ticket's company.")
    for other in ctx.store.table("TicketAdditionalContacts").values():
        if (other["ticketID"], other["contactID"]) == (row["ticketID"], row["contactID"]):
            raise app_error("The contact is already an additional contact of this ticket.")


_CREATE: dict[str, Any] = {
    "TicketAdditionalContacts": _additional_contact_created,
    "Tickets": _ticket_created,
    "TicketNotes": _note_created,
    "TimeEntries": time_entry_created,
    "Companies": _stamp("createDate", "lastActivityDate", "lastTrackedModifiedDateTime"),
    "Contacts": _stamp("createDate", "lastActivityDate", "lastModifiedDate"),
    "ConfigurationItems": _stamp("createDate", "lastModifiedTime"),
    "TicketWebhooks": _webhook_created,
    "TicketWebhookFields": _webhook_field_created,
}
_UPDATE: dict[str, Any] = {
    "Tickets": _ticket_updated,
    "TicketNotes": _note_updated,
    "TimeEntries": _time_entry_updated,
    "Companies": _stamp_update("lastActivityDate", "lastTrackedModifiedDateTime"),
    "Contacts": _stamp_update("lastActivityDate", "lastModifiedDate"),
    "ConfigurationItems": _stamp_update("lastModifiedTime"),
    "TicketWebhookFields": _webhook_field_updated,
    "TicketWebhooks": _webhook_updated,
}
