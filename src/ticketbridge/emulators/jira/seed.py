"""The seeded site: users, projects, issue types, priorities, statuses, workflows, resolutions.

Ids are the small numbers a fresh Jira Cloud site hands out (statuses 1/3/10001, priorities
1-5, resolutions 10000+), always served as strings. Two projects: OPS (software) and SUP (a
Jira Service Management service desk with organizations).
"""

from __future__ import annotations

from typing import Any

DEMO_EMAIL = "api@ticketbridge.example"
DEMO_API_TOKEN = "demo-api-token"  # Cloud: basic auth email:token
DEMO_PAT = "demo-personal-access-token"  # Data Center: Authorization: Bearer <PAT>
AGENT_EMAIL = "agent@ticketbridge.example"
AGENT_API_TOKEN = "agent-api-token"
AGENT_PAT = "agent-personal-access-token"

STATUS_CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}

USERS: list[dict[str, Any]] = [
    {
        "accountId": "5b10a2844c20165700ede21g",
        "name": "api",  # Data Center's username (and key)
        "emailAddress": DEMO_EMAIL,
        "displayName": "Ticketbridge API",
        "token": DEMO_API_TOKEN,
        "pat": DEMO_PAT,
        "groups": ["jira-administrators", "jira-software-users"],
        "roles": ["Administrators", "Developers", "Service Desk Team"],
    },
    {
        "accountId": "5b10ac8d82e05b22cc7d4ef5",
        "name": "agent",
        "emailAddress": AGENT_EMAIL,
        "displayName": "Alex Agent",
        "token": AGENT_API_TOKEN,
        "pat": AGENT_PAT,
        "groups": ["jira-software-users"],
        "roles": ["Developers", "Service Desk Team"],
    },
    # Jira Service Management customers: accounts that raise requests on a service desk but
    # hold no product access (no API token, no groups); user search finds them.
    {
        "accountId": "qm:7f3a1c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b:customer-casey",
        "name": "casey",
        "emailAddress": "casey@contoso.example",
        "displayName": "Casey Customer",
        "accountType": "customer",
        "token": None,
        "pat": None,
        "groups": [],
        "roles": [],
    },
    {
        "accountId": "qm:7f3a1c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b:customer-dana",
        "name": "dana",
        "emailAddress": "dana@contoso.example",
        "displayName": "Dana Customer",
        "accountType": "customer",
        "token": None,
        "pat": None,
        "groups": [],
        "roles": [],
    },
]

ISSUE_TYPES: list[dict[str, Any]] = [
    {"id": "10001", "name": "Task", "description": "A small, distinct piece of work."},
    {"id": "10002", "name": "Bug", "description": "A problem or error."},
    {"id": "10003", "name": "Service Request", "description": "Requests for help."},
    {"id": "10004", "name": "Incident", "description": "For system outages or incidents."},
]

PRIORITIES: list[dict[str, Any]] = [
    {"id": "1", "name": "Highest", "statusColor": "#d04437"},
    {"id": "2", "name": "High", "statusColor": "#f15C75"},
    {"id": "3", "name": "Medium", "statusColor": "#f79232"},
    {"id": "4", "name": "Low", "statusColor": "#707070"},
    {"id": "5", "name": "Lowest", "statusColor": "#999999"},
]
DEFAULT_PRIORITY = "3"

STATUSES: list[dict[str, Any]] = [
    {"id": "1", "name": "To Do", "category": "new"},
    {"id": "3", "name": "In Progress", "category": "indeterminate"},
    {"id": "10001", "name": "Done", "category": "done"},
    {"id": "10010", "name": "Waiting for support", "category": "new"},
    {"id": "10011", "name": "Waiting for customer", "category": "indeterminate"},
    {"id": "10012", "name": "Resolved", "category": "done"},
]

RESOLUTIONS: list[dict[str, Any]] = [
    {"id": "10000", "name": "Done", "description": "Work has been completed on this issue."},
    {"id": "10001", "name": "Won't Do", "description": "This issue won't be actioned."},
    {"id": "10002", "name": "Duplicate", "description": "The problem is a duplicate."},
]

# A transition: id, name, target status, and whether its screen asks for a resolution
# ("required": the service desk's resolve screen; "optional": set to Done when omitted, as
# the software simplified workflow's post-function does). "from": statuses it leaves.
WORKFLOWS: dict[str, list[dict[str, Any]]] = {
    "software": [
        {"id": "11", "name": "To Do", "to": "1", "from": ["3", "10001"], "resolution": None},
        {"id": "21", "name": "In Progress", "to": "3", "from": ["1", "10001"], "resolution": None},
        {"id": "31", "name": "Done", "to": "10001", "from": ["1", "3"], "resolution": "optional"},
    ],
    "service_desk": [
        {"id": "851", "name": "Respond to customer", "to": "10011", "from": ["10010"]},
        {"id": "761", "name": "Resolve this issue", "to": "10012", "from": ["10010", "10011"]},
        {"id": "901", "name": "Reopen", "to": "10010", "from": ["10012"]},
    ],
}
for _t in WORKFLOWS["service_desk"]:
    _t["resolution"] = "required" if _t["id"] == "761" else None

# Customer organizations (JSM), all three added to SUP's service desk (id 1).
ORGANIZATIONS: list[dict[str, Any]] = [
    {"id": "1", "name": "Contoso Ltd"},
    {"id": "2", "name": "Fabrikam Inc"},
    {"id": "3", "name": "Northwind Traders"},
]
ORGANIZATIONS_FIELD = "customfield_10002"

PROJECTS: list[dict[str, Any]] = [
    {
        "id": "10000",
        "key": "OPS",
        "name": "Operations",
        "projectTypeKey": "software",
        "workflow": "software",
        "issueTypes": ["10001", "10002"],
        "initialStatus": "1",
        "lead": 0,
    },
    {
        "id": "10001",
        "key": "SUP",
        "name": "Support",
        "projectTypeKey": "service_desk",
        "workflow": "service_desk",
        "issueTypes": ["10003", "10004"],
        "initialStatus": "10010",
        "lead": 0,
        "serviceDeskId": "1",
    },
]

PROJECT_ROLES = ["Administrators", "Developers", "Service Desk Team"]

# System fields /field lists (id, name, schema type, searchable clause names).
SYSTEM_FIELDS: list[tuple[str, str, str, list[str]]] = [
    ("summary", "Summary", "string", ["summary"]),
    ("description", "Description", "string", ["description"]),
    ("issuetype", "Issue Type", "issuetype", ["issuetype", "type"]),
    ("project", "Project", "project", ["project"]),
    ("status", "Status", "status", ["status"]),
    ("priority", "Priority", "priority", ["priority"]),
    ("resolution", "Resolution", "resolution", ["resolution"]),
    ("resolutiondate", "Resolved", "datetime", ["resolutiondate", "resolved"]),
    ("labels", "Labels", "array", ["labels"]),
    ("created", "Created", "datetime", ["created", "createdDate"]),
    ("updated", "Updated", "datetime", ["updated", "updatedDate"]),
    ("reporter", "Reporter", "user", ["reporter"]),
    ("assignee", "Assignee", "user", ["assignee"]),
    ("creator", "Creator", "user", ["creator"]),
    ("comment", "Comment", "comments-page", ["comment"]),
    ("worklog", "Log Work", "array", []),
    ("attachment", "Attachment", "array", ["attachments"]),
    ("issuekey", "Key", "string", ["id", "issue", "issuekey", "key"]),
    ("statusCategory", "Status Category", "statusCategory", ["statusCategory"]),
    (ORGANIZATIONS_FIELD, "Organizations", "array", ["Organizations", "cf[10002]"]),
]


def build(seed_name: str) -> dict[str, Any]:
    """A fresh site's mutable state (the reference data above is fixed)."""
    if seed_name not in {"demo", "empty"}:
        raise ValueError("seed must be demo or empty")
    return {
        "next_ids": {
            "issue": 10000,
            "comment": 10000,
            "worklog": 10000,
            "attachment": 10000,
            "history": 10000,
            "organization": len(ORGANIZATIONS) + 1,
        },
        "next_keys": {p["key"]: 1 for p in PROJECTS},
        "issues": {},
        "comments": {},
        "worklogs": {},
        "attachments": {},
        "webhooks": {},
        # Organizations can be made, deleted and added to a service desk, so they are state.
        "organizations": {o["id"]: dict(o) for o in ORGANIZATIONS},
        "desk_organizations": {
            p["serviceDeskId"]: [o["id"] for o in ORGANIZATIONS]
            for p in PROJECTS
            if "serviceDeskId" in p
        },
        "next_webhook": 1,
        "seed": seed_name,
    }
