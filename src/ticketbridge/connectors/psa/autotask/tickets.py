"""Autotask ticket and company items as the protocol's RemoteTicket and RemoteCompany, and the
fields the connector asks for when it reads them."""

from __future__ import annotations

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
)
COMPANY_FIELDS = ("id", "companyName", "isActive")


def remote_ticket(item: dict[str, Any], status: int | None, labels: dict[int, str]) -> RemoteTicket:
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
    )


def remote_company(item: dict[str, Any]) -> RemoteCompany:
    active = item.get("isActive")
    return RemoteCompany(
        id=int(item["id"]),
        name=str(item.get("companyName") or ""),
        active=True if active is None else bool(active),
    )
