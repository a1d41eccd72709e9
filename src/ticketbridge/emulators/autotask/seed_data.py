"""The tables the emulator's seeds are built from: the MSP and the demo customers' companies,
the tenant's picklist values, its resources and roles.

The demo companies match the product's demo customers, some with a slightly different name
(so that name suggestions are exercised) and two without any company at all.
"""

from __future__ import annotations

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
