"""Autotask ticket and company items as the protocol's RemoteTicket and RemoteCompany, and the
fields the connector asks for when it reads them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ticketbridge.connectors.psa.base import RemoteCompany, RemoteTicket
from ticketbridge.connectors.psa.values import opt_int, utc_datetime

TICKET_FIELDS = (
    "id",
    "ticketNumber",
    "status",
    "companyID",
    "title",
    "externalID",
    "lastActivityDate",
    "completedDate",
    "description",
    "priority",
    "queueID",
    "contactID",
    "ticketCategory",
    # Who made the last activity, and whether it was a change of the ticket's own fields.
    "lastActivityResourceID",
    "lastTrackedModificationDateTime",
)
COMPANY_FIELDS = ("id", "companyName", "isActive")
# What a create not read back leaves unread: Autotask answers with the new id alone, names the
# ticket and stamps the time itself, and its workflow rules may set status, priority, queue
# and contact as the ticket is saved, so only a read says what it holds.
DECIDED_BY_AUTOTASK = frozenset(
    {
        "number",
        "status_id",
        "status_label",
        "priority_id",
        "queue_id",
        "contact_email",
        "last_activity",
        "completed_at",
        "changed_by",
    }
)


def remote_ticket(
    item: dict[str, Any],
    status: int | None,
    labels: dict[int, str],
    contacts: dict[int, str] | None = None,
) -> RemoteTicket:
    contacts = contacts or {}
    return RemoteTicket(
        id=int(item["id"]),
        number=str(item.get("ticketNumber") or ""),
        status_id=status,
        status_label="" if status is None else labels.get(status, str(status)),
        company_id=opt_int(item.get("companyID")),
        title=str(item.get("title") or ""),
        external_id=item.get("externalID") or None,
        last_activity=utc_datetime(item.get("lastActivityDate")),
        completed_at=utc_datetime(item.get("completedDate")),
        description=str(item.get("description") or ""),
        priority_id=opt_int(item.get("priority")),
        changed_by=changed_by(item),
        queue_id=opt_int(item.get("queueID")),
        contact_email=contacts.get(opt_int(item.get("contactID")) or 0),
        categories=tuple(str(c) for c in [opt_int(item.get("ticketCategory"))] if c is not None),
    )


def as_made(ticket_id: int, body: dict[str, Any]) -> RemoteTicket:
    """The ticket a create made from what it sent (``body``), without reading it back."""
    decided = ("status", "priority", "queueID", "contactID")
    item = {k: v for k, v in body.items() if k not in decided} | {"id": ticket_id}
    return replace(remote_ticket(item, None, {}), unread=DECIDED_BY_AUTOTASK)


def changed_by(item: dict[str, Any]) -> str | None:
    """The resource of the last activity when that activity was a change of the ticket's own
    fields (its tracked modification is the same instant); a note or file added later moves
    only the last activity, and says nothing about who changed the fields, so then None."""
    resource = opt_int(item.get("lastActivityResourceID"))
    activity = utc_datetime(item.get("lastActivityDate"))
    modified = utc_datetime(item.get("lastTrackedModificationDateTime"))
    if resource is None or activity is None or activity != modified:
        return None
    return str(resource)


def remote_company(item: dict[str, Any]) -> RemoteCompany:
    active = item.get("isActive")
    return RemoteCompany(
        id=int(item["id"]),
        name=str(item.get("companyName") or ""),
        active=True if active is None else bool(active),
    )
