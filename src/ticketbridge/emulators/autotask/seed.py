"""Seeds: ``empty`` (the MSP, its staff and picklists) and ``demo`` (plus customers and tickets).

The tables they draw on are in :mod:`.seed_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from . import dates
from .auth import ApiUser
from .entities import webhook_field_ids
from .metadata import picklist_value as pv
from .seed_data import (
    ATTACHMENT_PUBLISH,
    COMPANY_TYPES,
    DEMO_COMPANY_NAMES,
    EXTRA_COMPANIES,
    ISSUE_TYPES,
    MSP_COMPANY,
    NOTE_TYPES,
    PRIORITIES,
    PUBLISH,
    QUEUES,
    RESOURCES,
    ROLES,
    SOURCES,
    STATUSES,
    SUB_ISSUE_TYPES,
    TICKET_TYPES,
)
from .store import Store

SEEDS = ("demo", "empty")


def _simple(values: list[tuple[Any, ...]], default: Any = None) -> list[dict[str, Any]]:
    out = []
    for order, item in enumerate(values, start=1):
        active = item[2] if len(item) > 2 and isinstance(item[2], bool) else True
        out.append(
            pv(
                item[0],
                item[1],
                order,
                default=item[0] == default,
                active=active,
                system=isinstance(item[0], int) and item[0] < 20,
            )
        )
    return out


def picklists() -> dict[str, dict[str, list[dict[str, Any]]]]:
    field_ids = webhook_field_ids()
    return {
        "tickets": {
            "status": _simple(STATUSES, default=1),
            "priority": _simple(PRIORITIES, default=2),
            "queueID": _simple(QUEUES),
            "source": _simple(SOURCES),
            "ticketType": _simple(TICKET_TYPES, default=1),
            "ticketCategory": _simple([(2, "Standard"), (3, "Alert")], default=2),
            "issueType": _simple(ISSUE_TYPES),
            "subIssueType": [
                pv(v, label, i, parent=parent)
                for i, (v, label, parent) in enumerate(SUB_ISSUE_TYPES, start=1)
            ],
        },
        "ticketnotes": {
            "noteType": _simple(NOTE_TYPES, default=1),
            "publish": _simple(PUBLISH, default=1),
        },
        "timeentries": {"timeEntryType": _simple([(1, "Task"), (2, "Ticket")])},
        "companies": {"companyType": _simple(COMPANY_TYPES, default=1)},
        "configurationitems": {
            "configurationItemType": _simple([(1, "Server"), (2, "Workstation"), (3, "NAS")]),
            "configurationItemCategoryID": _simple([(101, "Standard")], default=101),
        },
        "ticketattachments": {
            "attachmentType": [
                pv(v, v.replace("_", " ").title(), i)
                for i, v in enumerate(("FILE_ATTACHMENT", "FILE_LINK", "FOLDER_LINK", "URL"), 1)
            ],
            "publish": _simple(ATTACHMENT_PUBLISH, default=1),
        },
        "ticketwebhookfields": {
            "fieldID": [pv(i, name, i) for i, name in field_ids.items()],
        },
    }


def udfs() -> dict[str, list[dict[str, Any]]]:
    return {
        "tickets": [
            {
                "name": "TicketBridge Key",
                "label": "TicketBridge Key",
                "type": "string",
                "length": 255,
                "description": "De-duplication key of the signal",
            },
            {
                "name": "Callout Enabled",
                "label": "Callout Enabled",
                "type": "string",
                "length": 10,
                "description": "Fire the extension callout when set",
            },
            {"name": "Backup Job", "label": "Backup Job", "type": "string", "length": 255},
        ],
        "companies": [
            {
                "name": "Customer Ranking",
                "label": "Customer Ranking",
                "type": "string",
                "length": 100,
            }
        ],
        "contacts": [],
        "configurationitems": [
            {"name": "Backup Agent", "label": "Backup Agent", "type": "string", "length": 100}
        ],
    }


def _company(
    store: Store,
    name: str,
    when: str,
    *,
    active: bool = True,
    row_id: int | None = None,
    company_type: int = 1,
) -> int:
    row: dict[str, Any] = {
        "companyName": name,
        "companyNumber": None,
        "companyType": company_type,
        "isActive": active,
        "phone": "555-0100",
        "ownerResourceID": 31,
        "parentCompanyID": None,
        "address1": None,
        "city": None,
        "state": None,
        "postalCode": None,
        "webAddress": None,
        "createDate": when,
        "lastActivityDate": when,
        "lastTrackedModifiedDateTime": when,
        "userDefinedFields": {},
    }
    return int(store.insert("Companies", row, row_id)["id"])


def _name_api_resource(store: Store, user: ApiUser) -> None:
    """In Autotask an API user is a resource whose user name (and e-mail address) is the name
    it authenticates with: that is how a client finds its own resource id (to exclude its own
    changes from webhooks, say)."""
    row = store.get("Resources", user.resource_id)
    if row is not None:
        row["userName"] = row["email"] = user.username


def build(name: str, now: datetime, api_users: Sequence[ApiUser] = ()) -> Store:
    """The store of seed ``name``; each API user's resource carries its user name."""
    if name not in SEEDS:
        raise ValueError(f"unknown seed {name!r}; choose one of {SEEDS}")
    store = Store(
        picklists=picklists(),
        udfs=udfs(),
        tenant={"queue_required": True, "zone_name": "EMU1", "ci": 8675309},
    )
    when = dates.fmt(now - timedelta(days=400))
    for rid, first, last, user in RESOURCES:
        store.insert(
            "Resources",
            {
                "firstName": first,
                "lastName": last,
                "userName": user,
                "email": f"{user}@msp.example",
                "isActive": True,
            },
            rid,
        )
        store.resource_roles[str(rid)] = [29683400, 29683402] if rid != 32 else [29683401]
    for api_user in api_users:
        _name_api_resource(store, api_user)
    for rid, role in ROLES:
        store.insert("Roles", {"name": role, "isActive": True}, rid)
    _company(store, MSP_COMPANY, when, row_id=0, company_type=7)
    if name == "demo":
        _demo(store, now)
    return store


def _demo(store: Store, now: datetime) -> None:
    when = dates.fmt(now - timedelta(days=200))
    ids: dict[str, int] = {}
    for customer, company in DEMO_COMPANY_NAMES.items():
        if company is not None:
            ids[customer] = _company(store, company, when)
    for extra, active in EXTRA_COMPANIES:
        _company(store, extra, when, active=active)
    for customer, cid in ids.items():
        first = customer.split()[0]
        store.insert(
            "Contacts",
            {
                "companyID": cid,
                "firstName": "Pat",
                "lastName": first,
                "emailAddress": f"pat@{first.lower()}.example",
                "phone": None,
                "mobilePhone": None,
                "title": "Office Manager",
                "externalID": None,
                "isActive": 1,
                "primaryContact": True,
                "createDate": when,
                "lastActivityDate": when,
                "lastModifiedDate": when,
                "userDefinedFields": {},
            },
        )
        store.insert(
            "ConfigurationItems",
            {
                "companyID": cid,
                "configurationItemType": 1,
                "configurationItemCategoryID": 101,
                "productID": 1,
                "referenceTitle": f"{first.upper()}-SRV01",
                "referenceNumber": None,
                "serialNumber": f"SN-{cid:05d}",
                "isActive": True,
                "rmmDeviceID": None,
                "rmmDeviceUID": None,
                "createDate": when,
                "lastModifiedTime": when,
                "userDefinedFields": {"Backup Agent": "demo-agent"},
            },
        )
    _demo_tickets(store, now, ids)


def _demo_tickets(store: Store, now: datetime, ids: dict[str, int]) -> None:
    samples = [
        ("Acme Logistics", "Backup job failed on ACME-SRV01", 1, 29682969),
        ("Brightwater Dental", "Printer offline at front desk", 8, 8),
        ("Cobalt Engineering", "Disk space low on COBALT-SRV01", 5, 29682833),
    ]
    for offset, (customer, title, status, queue) in enumerate(samples):
        created = now - timedelta(days=3 - offset, hours=2)
        stamp = dates.fmt(created)
        day = stamp[:10].replace("-", "")
        store.ticket_days[day] = store.ticket_days.get(day, 0) + 1
        row: dict[str, Any] = {
            f: None
            for f in (
                "description",
                "companyLocationID",
                "contactID",
                "configurationItemID",
                "contractID",
                "billingCodeID",
                "assignedResourceID",
                "assignedResourceRoleID",
                "issueType",
                "subIssueType",
                "dueDateTime",
                "resolvedDateTime",
                "resolution",
                "externalID",
                "rmmAlertID",
                "monitorID",
                "monitorTypeID",
                "serviceLevelAgreementID",
                "estimatedHours",
                "impersonatorCreatorResourceID",
                "completedByResourceID",
                "lastCustomerVisibleActivityDateTime",
            )
        }
        row.update(
            {
                "ticketNumber": f"T{day}.{store.ticket_days[day]:04d}",
                "title": title,
                "status": status,
                "priority": 2,
                "queueID": queue,
                "companyID": ids[customer],
                "ticketType": 1,
                "ticketCategory": 2,
                "source": 6,
                "createDate": stamp,
                "creatorResourceID": 31,
                "creatorType": 1,
                "completedDate": stamp if status == 5 else None,
                "lastActivityDate": stamp,
                "lastActivityResourceID": 31,
                "lastActivityPersonType": 1,
                "lastTrackedModificationDateTime": stamp,
                "isVisibleToComanaged": False,
                "userDefinedFields": {},
            }
        )
        ticket = store.insert("Tickets", row)
        store.insert(
            "TicketNotes",
            {
                "ticketID": ticket["id"],
                "title": "Triage",
                "description": "Looked at the alert.",
                "noteType": 1,
                "publish": 2,
                "createDateTime": stamp,
                "lastActivityDate": stamp,
                "creatorResourceID": 31,
                "createdByContactID": None,
                "impersonatorCreatorResourceID": None,
                "impersonatorUpdaterResourceID": None,
            },
        )
