"""Seeds: ``empty`` (the MSP, its staff and picklists) and ``demo`` (plus customers and tickets).

The demo companies match the product's demo customers, some with a slightly different name
(so that name suggestions are exercised) and two without any company at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import dates
from .entities import webhook_field_ids
from .metadata import picklist_value as pv
from .store import Store

SEEDS = ("demo", "empty")
MSP_COMPANY = "TicketBridge Demo MSP"
DEMO_CUSTOMERS = (
    "Acme Logistics",
    "Brightwater Dental",
    "Cobalt Engineering",
    "Delta Freight Partners",
    "Evergreen Schools",
    "Fairview Medical Group",
    "Granite Legal LLP",
    "Harbor Marine Supply",
    "Ironwood Architects",
    "Juniper Accounting",
    "Keystone Manufacturing",
    "Lakeside Veterinary",
)
# Demo customer -> company name in the tenant (None: no company, left unmapped).
DEMO_COMPANY_NAMES: dict[str, str | None] = {
    "Acme Logistics": "Acme Logistics Inc.",
    "Brightwater Dental": "Brightwater Dental",
    "Cobalt Engineering": "Cobalt Engineering Ltd",
    "Delta Freight Partners": "Delta Freight Partners",
    "Evergreen Schools": "Evergreen School District",
    "Fairview Medical Group": "Fairview Medical Group",
    "Granite Legal LLP": "Granite Legal",
    "Harbor Marine Supply": "Harbor Marine Supply Co.",
    "Ironwood Architects": "Ironwood Architects",
    "Juniper Accounting": None,
    "Keystone Manufacturing": "Keystone Manufacturing, Inc.",
    "Lakeside Veterinary": None,
}
EXTRA_COMPANIES = (
    ("Northwind Traders", True),
    ("Summit Hosting", True),
    ("Old Oak Insurance", False),
)

QUEUES = [
    (5, "Client Portal"),
    (6, "Post Sale"),
    (8, "Level I Support"),
    (29682833, "Monitoring Alert"),
    (29682969, "Backup Alerts"),
    (29683354, "Triage"),
    (29683481, "Helpdesk"),
]
STATUSES = [
    (1, "New", True),
    (5, "Complete", True),
    (7, "Waiting Customer", True),
    (8, "In Progress", True),
    (9, "Waiting Materials", True),
    (10, "Dispatched", True),
    (11, "Escalate", True),
    (12, "Waiting Vendor", True),
    (13, "Waiting Approval", True),
    (14, "On Hold (retired)", False),
]
PRIORITIES = [(4, "Low"), (2, "Medium"), (1, "High"), (6, "Critical")]
SOURCES = [
    (-2, "Insourced"),
    (-1, "Client Portal"),
    (1, "Other"),
    (2, "Phone"),
    (4, "Email"),
    (6, "Helpdesk"),
    (8, "Monitoring Alert"),
    (11, "Web Portal"),
]
NOTE_TYPES = [
    (1, "Summary", True),
    (2, "Detail", True),
    (3, "Task Notes", True),
    (13, "Workflow Rule Note", True),
    (99, "RMM Note", True),
    (100, "Legacy", False),
]
PUBLISH = [(1, "All Autotask Users"), (2, "Internal Project Team"), (4, "Internal & Co-Managed")]
ATTACHMENT_PUBLISH = [
    (1, "All Autotask Users"),
    (2, "Internal Users Only"),
    (4, "Internal & Co-Managed"),
]
TICKET_TYPES = [
    (1, "Service Request"),
    (2, "Incident"),
    (3, "Problem"),
    (4, "Change Request"),
    (5, "Alert"),
]
ISSUE_TYPES = [(1, "Hardware"), (2, "Software"), (3, "Backup")]
SUB_ISSUE_TYPES = [
    (1, "Server", "1"),
    (2, "Workstation", "1"),
    (3, "Operating System", "2"),
    (4, "Job Failed", "3"),
    (5, "Job Warning", "3"),
]
COMPANY_TYPES = [
    (1, "Customer"),
    (2, "Lead"),
    (3, "Prospect"),
    (4, "Dead"),
    (5, "Cancellation"),
    (6, "Vendor"),
    (7, "Partner"),
]
RESOURCES = [
    (29, "TicketBridge", "API", "ticketbridge.api"),
    (30, "Limited", "API", "limited.api"),
    (31, "Tara", "Technician", "tara.tech"),
    (32, "Sam", "Dispatcher", "sam.dispatch"),
]
ROLES = [(29683400, "Technician"), (29683401, "Dispatcher"), (29683402, "API User")]


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


def build(name: str, now: datetime) -> Store:
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
