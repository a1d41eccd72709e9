"""Issue create, read, edit, delete, and issue properties."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import refdata, seed, servicedesk
from .errors import JiraError, bad_request, field_errors, not_found
from .render import issue_json
from .text import read_body
from .wire import Reply, Req

if TYPE_CHECKING:
    from .app import Emulator

CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
SETTABLE = {
    "project",
    "issuetype",
    "summary",
    "description",
    "labels",
    "priority",
    "assignee",
    "reporter",
    seed.ORGANIZATIONS_FIELD,
}


def _user_ref(value: Any, field: str) -> str | None:
    if value is None:
        return None
    ref = value.get("accountId") or value.get("name") if isinstance(value, dict) else None
    user = refdata.find_user(str(ref)) if ref else None
    if user is None:
        raise field_errors(**{field: f"Specify a valid value for {field}"})
    return str(user["accountId"])


def _labels(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise field_errors(labels="Operation value must be an array of strings")
    for label in value:
        if not label or " " in label:
            raise field_errors(labels=f"The label '{label}' contains spaces which is invalid.")
        if len(label) > 255:
            raise field_errors(labels="The label must not exceed 255 characters.")
    return list(dict.fromkeys(value))


def _summary(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise field_errors(summary="You must specify a summary of the issue.")
    if "\n" in value or "\r" in value:
        raise field_errors(summary="The summary is invalid because it contains newline characters.")
    if len(value) > 255:
        raise field_errors(summary="Summary must be less than 255 characters.")
    return value


def _organizations(value: Any) -> list[str]:
    """Ids (numbers, strings or ``{"id": ...}``); whether they exist on the project's service
    desk is checked once every field is applied (servicedesk.check_issue_organizations)."""
    ids = [str(v.get("id") if isinstance(v, dict) else v) for v in (value or [])]
    if not isinstance(value, list) or not all(i.isdigit() for i in ids):
        raise field_errors(**{seed.ORGANIZATIONS_FIELD: "One or more organizations are invalid."})
    return list(dict.fromkeys(ids))


def _apply_field(issue: dict[str, Any], name: str, value: Any, req: Req) -> None:
    version = req.view.version
    if name == "summary":
        issue["summary"] = _summary(value)
    elif name == "description":
        issue["description"] = None if value is None else read_body(value, version, name)
    elif name == "labels":
        issue["labels"] = _labels(value or [])
    elif name == "priority":
        prio = refdata.pick(seed.PRIORITIES, value)
        if prio is None:
            raise field_errors(priority="Specify a valid priority")
        issue["priority"] = prio["id"]
    elif name in {"assignee", "reporter"}:
        issue[name] = _user_ref(value, name)
        # A service desk customer holds no product access: only a service desk's request
        # may name one, and only as its reporter.
        customer = (refdata.find_user(issue[name]) or {}).get("accountType") == "customer"
        desk = refdata.project(issue["project"])["projectTypeKey"] == "service_desk"
        if customer and (name != "reporter" or not desk):
            raise field_errors(**{name: f"Specify a valid value for {name}"})
    elif name == seed.ORGANIZATIONS_FIELD:
        if refdata.project(issue["project"])["projectTypeKey"] != "service_desk":
            raise field_errors(**{name: CANNOT_SET.format(name)})
        issue["organizations"] = _organizations(value)


def create(emu: Emulator, req: Req) -> Reply:
    body = req.json_object()
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise field_errors(project="Specify a valid project ID or key")
    problems: dict[str, str] = {}
    proj = None
    try:
        proj = refdata.resolve_project(fields.get("project"))
    except JiraError as exc:
        problems.update(exc.body["errors"] or {})
    kind = None
    if "issuetype" not in fields:
        problems["issuetype"] = "Specify an issue type"
    else:
        kind = refdata.pick(seed.ISSUE_TYPES, fields["issuetype"])
        if kind is None or (proj and kind["id"] not in proj["issueTypes"]):
            problems["issuetype"] = "Specify a valid issue type"
    if "summary" not in fields:
        problems["summary"] = "You must specify a summary of the issue."
    for name in fields:
        if name not in SETTABLE:
            problems[name] = CANNOT_SET.format(name)
    if problems or proj is None or kind is None:
        raise JiraError(400, [], problems)
    now = emu.now_ts()
    issue: dict[str, Any] = {
        "id": emu.store.new_id("issue"),
        "key": "",
        "old_keys": [],
        "project": proj["key"],
        "issuetype": kind["id"],
        "summary": "",
        "description": None,
        "labels": [],
        "priority": seed.DEFAULT_PRIORITY,
        "status": proj["initialStatus"],
        "resolution": None,
        "resolved": None,
        "reporter": req.user["accountId"],
        "creator": req.user["accountId"],
        "assignee": None,
        "organizations": [],
        "created": now,
        "updated": now,
        "properties": {},
        "history": [],
        "deleted": False,
    }
    for name, value in fields.items():
        if name not in {"project", "issuetype"}:
            _apply_field(issue, name, value, req)
    servicedesk.check_issue_organizations(emu.store, issue)
    _apply_updates(issue, body.get("update"))
    for prop in body.get("properties") or []:
        if not isinstance(prop, dict) or not isinstance(prop.get("key"), str):
            raise bad_request("Property key must be a non-empty string.")
        issue["properties"][prop["key"]] = prop.get("value")
    issue["key"] = emu.store.new_key(proj["key"])
    emu.store.data["issues"][issue["id"]] = issue
    emu.emit("jira:issue_created", issue, req.user, event_type="issue_created")
    return Reply(
        201, {"id": issue["id"], "key": issue["key"], "self": f"{req.view.api}/issue/{issue['id']}"}
    )


def _apply_updates(issue: dict[str, Any], update: Any) -> None:
    """The ``update`` verbs Jira offers for labels (add, remove, set) and summary (set)."""
    if update is None:
        return
    if not isinstance(update, dict):
        raise bad_request("update must be an object")
    for name, ops in update.items():
        if name not in {"labels", "summary"} or not isinstance(ops, list):
            raise field_errors(**{name: CANNOT_SET.format(name)})
        for op in ops:
            if not isinstance(op, dict) or len(op) != 1:
                raise field_errors(**{name: "Each operation must have exactly one verb."})
            verb, value = next(iter(op.items()))
            if name == "summary" and verb == "set":
                issue["summary"] = _summary(value)
            elif name == "labels" and verb == "add":
                issue["labels"] = list(dict.fromkeys([*issue["labels"], *_labels([value])]))
            elif name == "labels" and verb == "remove":
                issue["labels"] = [lbl for lbl in issue["labels"] if lbl != value]
            elif name == "labels" and verb == "set":
                issue["labels"] = _labels(value)
            else:
                raise field_errors(**{name: f"Operation '{verb}' is not supported for {name}."})


# The fields whose changes the changelog records: those an edit sets, then a transition's.
TRACKED: tuple[str, ...] = ("summary", "description", "labels", "priority", "assignee", "reporter")
TRACKED += ("status", "resolution")


def _snapshot(issue: dict[str, Any]) -> dict[str, tuple[Any, str | None]]:
    def shown(name: str) -> tuple[Any, str | None]:
        value = issue[name]
        if name == "description":
            return None, value["text"] if value else None
        if name == "labels":
            return None, " ".join(value) or None
        if value is None:
            return None, None
        table = {
            "priority": seed.PRIORITIES,
            "status": seed.STATUSES,
            "resolution": seed.RESOLUTIONS,
        }.get(name)
        if table:
            return value, next(i["name"] for i in table if i["id"] == value)
        if name in {"assignee", "reporter"}:
            user = refdata.find_user(value)
            return value, user["displayName"] if user else None
        return None, value

    return {name: shown(name) for name in TRACKED}


def record_change(
    emu: Emulator,
    issue: dict[str, Any],
    before: dict[str, tuple[Any, str | None]],
    user: dict[str, Any],
) -> dict[str, Any] | None:
    """Append a changelog entry for what changed; None when nothing did."""
    after = _snapshot(issue)
    items = [
        {
            "field": name,
            "fieldtype": "jira",
            "fieldId": name,
            "from": before[name][0],
            "fromString": before[name][1],
            "to": after[name][0],
            "toString": after[name][1],
        }
        for name in TRACKED
        if before[name] != after[name]
    ]
    if not items:
        return None
    entry = {
        "id": emu.store.new_id("history"),
        "author": user["accountId"],
        "created": emu.now_ts(),
        "items": items,
    }
    issue["history"].append(entry)
    issue["updated"] = emu.now_ts()
    return entry


def edit(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    body = req.json_object()
    before = _snapshot(issue)
    work = dict(issue)
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise bad_request("fields must be an object")
    problems = {
        n: CANNOT_SET.format(n) for n in fields if n not in SETTABLE - {"project", "issuetype"}
    }
    if problems:
        raise JiraError(400, [], problems)
    for name, value in fields.items():
        _apply_field(work, name, value, req)
    servicedesk.check_issue_organizations(emu.store, work)
    _apply_updates(work, body.get("update"))
    issue.update(work)
    entry = record_change(emu, issue, before, req.user)
    if entry:
        emu.emit("jira:issue_updated", issue, req.user, event_type="issue_updated", changelog=entry)
    return Reply(204)


def get(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    return Reply(
        body=issue_json(
            req.view,
            emu.store,
            issue,
            fields=req.args("fields"),
            expand=req.args("expand"),
            properties=req.args("properties"),
        )
    )


def delete(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    issue["deleted"] = True
    emu.emit("jira:issue_deleted", issue, req.user, event_type="issue_deleted")
    return Reply(204)


def property_keys(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    base = f"{req.view.api}/issue/{issue['id']}/properties"
    return Reply(body={"keys": [{"self": f"{base}/{k}", "key": k} for k in issue["properties"]]})


def property_get(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    name = req.params["prop"]
    if name not in issue["properties"]:
        raise not_found(f"The property with key '{name}' does not exist.")
    return Reply(body={"key": name, "value": issue["properties"][name]})


def property_put(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    name = req.params["prop"]
    if len(name) > 255:
        raise bad_request("The property key cannot be longer than 255 characters.")
    if len(req.body) > 32768:
        raise bad_request("The property value cannot be longer than 32768 bytes.")
    existed = name in issue["properties"]
    issue["properties"][name] = req.json()
    return Reply(200 if existed else 201, None)


def property_delete(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    name = req.params["prop"]
    if name not in issue["properties"]:
        raise not_found(f"The property with key '{name}' does not exist.")
    del issue["properties"][name]
    return Reply(204)
