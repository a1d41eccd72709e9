"""Issues, comments, worklogs and attachments as Jira answers them on v2 (text) and v3 (ADF)."""

from __future__ import annotations

from typing import Any

from . import refdata, seed
from .refdata import View
from .store import Store
from .text import jira_time, render_html, show_body

NAVIGABLE = [
    "summary",
    "description",
    "issuetype",
    "project",
    "status",
    "priority",
    "resolution",
    "resolutiondate",
    "labels",
    "created",
    "updated",
    "reporter",
    "assignee",
    "creator",
]
ALL_FIELDS = [*NAVIGABLE, "comment", "worklog", "attachment", seed.ORGANIZATIONS_FIELD]


def can_see(user: dict[str, Any] | None, visibility: dict[str, Any] | None) -> bool:
    if not visibility:
        return True
    if user is None:
        return False
    wanted = str(visibility.get("value") or visibility.get("identifier") or "")
    pool = user["roles"] if visibility.get("type") == "role" else user["groups"]
    return wanted in pool


def comment_json(view: View, issue: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
    author = refdata.user_json(view, refdata.find_user(comment["author"]))
    out: dict[str, Any] = {
        "self": f"{view.api}/issue/{issue['id']}/comment/{comment['id']}",
        "id": comment["id"],
        "author": author,
        "body": show_body(comment["body"], view.version),
        "updateAuthor": author,
        "created": jira_time(comment["created"]),
        "updated": jira_time(comment["updated"]),
        "jsdPublic": comment["public"],
    }
    if comment["visibility"]:
        out["visibility"] = comment["visibility"]
    return out


def worklog_json(view: View, issue: dict[str, Any], worklog: dict[str, Any]) -> dict[str, Any]:
    author = refdata.user_json(view, refdata.find_user(worklog["author"]))
    out: dict[str, Any] = {
        "self": f"{view.api}/issue/{issue['id']}/worklog/{worklog['id']}",
        "author": author,
        "updateAuthor": author,
        "created": jira_time(worklog["created"]),
        "updated": jira_time(worklog["updated"]),
        "started": jira_time(worklog["started"]),
        "timeSpent": worklog["time_spent"],
        "timeSpentSeconds": worklog["seconds"],
        "id": worklog["id"],
        "issueId": issue["id"],
    }
    if worklog["comment"] is not None:
        out["comment"] = show_body(worklog["comment"], view.version)
    return out


def attachment_json(view: View, attachment: dict[str, Any]) -> dict[str, Any]:
    if view.cloud:
        content = f"{view.api}/attachment/content/{attachment['id']}"
    else:  # Data Center serves the file under /secure/attachment/{id}/{filename}
        content = f"{view.base}/secure/attachment/{attachment['id']}/{attachment['filename']}"
    return {
        "self": f"{view.api}/attachment/{attachment['id']}",
        "id": attachment["id"],
        "filename": attachment["filename"],
        "author": refdata.user_json(view, refdata.find_user(attachment["author"])),
        "created": jira_time(attachment["created"]),
        "size": attachment["size"],
        "mimeType": attachment["mime_type"],
        "content": content,
    }


def wanted_fields(requested: list[str] | None, default: list[str]) -> list[str]:
    """Jira's ``fields`` parameter: ids, ``*all``, ``*navigable``, ``-name`` to drop one."""
    names = [n.strip() for part in (requested or []) for n in part.split(",") if n.strip()]
    if not names:
        names = default
    chosen: list[str] = []
    for name in names:
        if name == "*all":
            chosen += ALL_FIELDS
        elif name == "*navigable":
            chosen += NAVIGABLE
        elif not name.startswith("-") and name not in chosen:
            chosen.append(name)
    dropped = {n[1:] for n in names if n.startswith("-")}
    return [n for n in dict.fromkeys(chosen) if n not in dropped]


def issue_fields(view: View, store: Store, issue: dict[str, Any]) -> dict[str, Any]:
    proj = refdata.project(issue["project"])
    comments = [
        comment_json(view, issue, c)
        for c in store.comments_of(issue["id"])
        if can_see(view.user, c["visibility"])
    ]
    worklogs = [worklog_json(view, issue, w) for w in store.worklogs_of(issue["id"])]
    users = {
        name: refdata.user_json(view, refdata.find_user(issue[name]))
        for name in ("reporter", "assignee", "creator")
    }
    fields: dict[str, Any] = {
        "summary": issue["summary"],
        "description": show_body(issue["description"], view.version),
        "issuetype": refdata.issuetype_json(view, issue["issuetype"]),
        "project": refdata.project_json(view, proj),
        "status": refdata.status_json(view, issue["status"]),
        "priority": refdata.priority_json(view, issue["priority"]),
        "resolution": refdata.resolution_json(view, issue["resolution"]),
        "resolutiondate": jira_time(issue["resolved"]) if issue["resolved"] else None,
        "labels": list(issue["labels"]),
        "created": jira_time(issue["created"]),
        "updated": jira_time(issue["updated"]),
        **users,
        "comment": {
            "comments": comments,
            "self": f"{view.api}/issue/{issue['id']}/comment",
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        },
        "worklog": {"startAt": 0, "maxResults": 20, "total": len(worklogs), "worklogs": worklogs},
        "attachment": [attachment_json(view, a) for a in store.attachments_of(issue["id"])],
    }
    if proj["projectTypeKey"] == "service_desk":
        known = store.data["organizations"]
        fields[seed.ORGANIZATIONS_FIELD] = [
            {"id": i, "name": known[i]["name"]} for i in issue["organizations"] if i in known
        ]
    return fields


def issue_json(
    view: View,
    store: Store,
    issue: dict[str, Any],
    *,
    fields: list[str] | None = None,
    expand: list[str] | None = None,
    properties: list[str] | None = None,
    default_fields: list[str] | None = None,
    histories_limit: int | None = None,
) -> dict[str, Any]:
    """``histories_limit``: the most recent histories an expanded changelog holds at most
    (Cloud's search/jql returns 40 an issue); None: all of them."""
    everything = issue_fields(view, store, issue)
    shown = wanted_fields(fields, default_fields or ["*all"])
    out: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": issue["id"],
        "self": f"{view.api}/issue/{issue['id']}",
        "key": issue["key"],
    }
    selected = {name: everything[name] for name in shown if name in everything}
    if selected or shown != ["id"]:
        out["fields"] = selected
    wants = {e.strip() for part in expand or [] for e in part.split(",")}
    if "renderedFields" in wants:
        out["renderedFields"] = {
            "description": render_html(issue["description"]),
            "comment": {
                "comments": [
                    {**c, "body": render_html(stored["body"])}
                    for c, stored in zip(
                        everything["comment"]["comments"],
                        [
                            s
                            for s in store.comments_of(issue["id"])
                            if can_see(view.user, s["visibility"])
                        ],
                        strict=True,
                    )
                ]
            },
        }
    if "changelog" in wants:
        out["changelog"] = changelog_json(view, issue["history"], histories_limit)
    if properties:
        keys = {k.strip() for part in properties for k in part.split(",") if k.strip()}
        out["properties"] = {
            k: v for k, v in issue["properties"].items() if "*all" in keys or k in keys
        }
    return out


def changelog_json(
    view: View, history: list[dict[str, Any]], limit: int | None = None
) -> dict[str, Any]:
    """An issue's changelog as an ``expand=changelog`` shows it, oldest first; cut to the
    ``limit`` most recent, ``startAt`` says how many older ones were left out."""
    start = max(0, len(history) - limit) if limit is not None else 0
    histories = [
        {
            "id": h["id"],
            "author": refdata.user_json(view, refdata.find_user(h["author"])),
            "created": jira_time(h["created"]),
            "items": h["items"],
        }
        for h in history[start:]
    ]
    return {
        "startAt": start,
        "maxResults": len(histories),
        "total": len(history),
        "histories": histories,
    }
