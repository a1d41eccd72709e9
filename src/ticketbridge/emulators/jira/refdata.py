"""Reference objects in Jira's shapes (ids as strings, ``self`` URLs) and lookups by id or name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import seed
from .errors import JiraError, field_errors, not_found

AVATAR = "https://avatar.example/{}.png"


@dataclass
class View:
    """Who asks and how: the base URL, the REST version in the path, the site's mode."""

    base: str
    version: str  # "2" or "3" ("latest" reads as 2)
    cloud: bool
    user: dict[str, Any] | None = None

    @property
    def api(self) -> str:
        return f"{self.base}/rest/api/{self.version}"


def user_json(view: View, user: dict[str, Any] | None) -> dict[str, Any] | None:
    if user is None:
        return None
    avatars = {
        size: AVATAR.format(user["accountId"]) for size in ("48x48", "24x24", "16x16", "32x32")
    }
    if view.cloud:
        return {
            "self": f"{view.api}/user?accountId={user['accountId']}",
            "accountId": user["accountId"],
            "accountType": user.get("accountType", "atlassian"),
            "emailAddress": user["emailAddress"],
            "avatarUrls": avatars,
            "displayName": user["displayName"],
            "active": True,
            "timeZone": "Etc/UTC",
        }
    return {
        "self": f"{view.api}/user?username={user['name']}",
        "name": user["name"],
        "key": user["name"],
        "emailAddress": user["emailAddress"],
        "avatarUrls": avatars,
        "displayName": user["displayName"],
        "active": True,
        "timeZone": "Etc/UTC",
    }


def find_user(account: str | None) -> dict[str, Any] | None:
    for user in seed.USERS:
        if account in {user["accountId"], user["name"], user["emailAddress"]}:
            return user
    return None


def category_json(view: View, key: str) -> dict[str, Any]:
    cat = seed.STATUS_CATEGORIES[key]
    return {"self": f"{view.api}/statuscategory/{cat['id']}", **cat}


def status_json(view: View, status_id: str) -> dict[str, Any]:
    status = next(s for s in seed.STATUSES if s["id"] == status_id)
    return {
        "self": f"{view.api}/status/{status_id}",
        "description": "",
        "iconUrl": f"{view.base}/images/icons/statuses/generic.png",
        "name": status["name"],
        "id": status_id,
        "statusCategory": category_json(view, status["category"]),
    }


def status_category(status_id: str) -> str:
    return str(next(s for s in seed.STATUSES if s["id"] == status_id)["category"])


def issuetype_json(view: View, type_id: str) -> dict[str, Any]:
    kind = next(t for t in seed.ISSUE_TYPES if t["id"] == type_id)
    return {
        "self": f"{view.api}/issuetype/{type_id}",
        "id": type_id,
        "description": kind["description"],
        "iconUrl": f"{view.base}/images/icons/issuetypes/{kind['id']}.svg",
        "name": kind["name"],
        "subtask": False,
        "hierarchyLevel": 0,
    }


def priority_json(view: View, priority_id: str) -> dict[str, Any]:
    prio = next(p for p in seed.PRIORITIES if p["id"] == priority_id)
    return {
        "self": f"{view.api}/priority/{priority_id}",
        "iconUrl": f"{view.base}/images/icons/priorities/{prio['name'].lower()}.svg",
        "name": prio["name"],
        "id": priority_id,
        "statusColor": prio["statusColor"],
        "description": prio["name"],
    }


def resolution_json(view: View, resolution_id: str | None) -> dict[str, Any] | None:
    if resolution_id is None:
        return None
    res = next(r for r in seed.RESOLUTIONS if r["id"] == resolution_id)
    return {"self": f"{view.api}/resolution/{res['id']}", **res}


def project(id_or_key: str) -> dict[str, Any]:
    for proj in seed.PROJECTS:
        if id_or_key in {proj["id"], proj["key"]} or id_or_key.upper() == proj["key"]:
            return proj
    raise not_found(f"No project could be found with key '{id_or_key}'.")


def project_json(view: View, proj: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{view.api}/project/{proj['id']}",
        "id": proj["id"],
        "key": proj["key"],
        "name": proj["name"],
        "avatarUrls": {"48x48": AVATAR.format(proj["key"])},
        "projectTypeKey": proj["projectTypeKey"],
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
    }
    if full:
        out["description"] = ""
        out["lead"] = user_json(view, seed.USERS[proj["lead"]])
        out["issueTypes"] = [issuetype_json(view, t) for t in proj["issueTypes"]]
        out["roles"] = {
            role: f"{view.api}/project/{proj['id']}/role/{10002 + n}"
            for n, role in enumerate(seed.PROJECT_ROLES)
        }
    return out


def pick(items: list[dict[str, Any]], value: Any) -> dict[str, Any] | None:
    """An item named by ``{"id": ...}`` or ``{"name": ...}`` (Jira accepts either)."""
    if not isinstance(value, dict):
        return None
    if "id" in value:
        return next((i for i in items if i["id"] == str(value["id"])), None)
    if "name" in value:
        name = str(value["name"]).lower()
        return next((i for i in items if i["name"].lower() == name), None)
    return None


def resolve_project(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and ("id" in value or "key" in value):
        try:
            return project(str(value.get("id") or value.get("key")))
        except JiraError:
            pass
    raise field_errors(project="Specify a valid project ID or key")


def field_list() -> list[dict[str, Any]]:
    return [
        {
            "id": fid,
            "key": fid,
            "name": name,
            "custom": fid.startswith("customfield_"),
            "orderable": fid not in {"status", "created", "updated", "creator", "issuekey"},
            "navigable": True,
            "searchable": bool(clauses),
            "clauseNames": clauses,
            "schema": {"type": kind, "system": fid}
            if not fid.startswith("customfield_")
            else {
                "type": kind,
                "items": "sd-customerorganization",
                "custom": "com.atlassian.servicedesk:sd-customer-organizations",
                "customId": 10002,
            },
        }
        for fid, name, kind, clauses in seed.SYSTEM_FIELDS
    ]
