"""Transitions: the ones available from the issue's status now, and performing one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import refdata, seed
from .activity import add_comment_record
from .errors import JiraError, bad_request, field_errors
from .issues import _snapshot, record_change
from .wire import Reply, Req

if TYPE_CHECKING:
    from .app import Emulator


def available(issue: dict[str, Any]) -> list[dict[str, Any]]:
    proj = refdata.project(issue["project"])
    return [t for t in seed.WORKFLOWS[proj["workflow"]] if issue["status"] in t["from"]]


def _transition_json(req: Req, transition: dict[str, Any], with_fields: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": transition["id"],
        "name": transition["name"],
        "to": refdata.status_json(req.view, transition["to"]),
        "hasScreen": transition["resolution"] is not None,
        "isGlobal": False,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if with_fields:
        out["fields"] = {}
        if transition["resolution"]:
            out["fields"]["resolution"] = {
                "required": transition["resolution"] == "required",
                "schema": {"type": "resolution", "system": "resolution"},
                "name": "Resolution",
                "key": "resolution",
                "hasDefaultValue": transition["resolution"] == "optional",
                "operations": ["set"],
                "allowedValues": [
                    refdata.resolution_json(req.view, r["id"]) for r in seed.RESOLUTIONS
                ],
            }
    return out


def list_transitions(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    with_fields = "transitions.fields" in ",".join(req.args("expand"))
    wanted = req.arg("transitionId")
    shown = [t for t in available(issue) if wanted in {None, t["id"]}]
    return Reply(
        body={
            "expand": "transitions",
            "transitions": [_transition_json(req, t, with_fields) for t in shown],
        }
    )


def do_transition(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    body = req.json_object()
    spec = body.get("transition")
    if not isinstance(spec, dict) or not ("id" in spec or "name" in spec):
        raise bad_request("Missing 'transition' identifier")
    wanted = str(spec.get("id", ""))
    name = str(spec.get("name", "")).lower()
    transition = next(
        (
            t
            for t in available(issue)
            if t["id"] == wanted or (not wanted and t["name"].lower() == name)
        ),
        None,
    )
    if transition is None:
        raise bad_request(f"Transition id '{wanted or name}' is not valid for this issue.")
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise bad_request("fields must be an object")
    unknown = [f for f in fields if f != "resolution" or not transition["resolution"]]
    if unknown:
        raise JiraError(
            400,
            [],
            {
                f: f"Field '{f}' cannot be set. It is not on the appropriate screen, or unknown."
                for f in unknown
            },
        )
    resolution = None
    if "resolution" in fields:
        resolution = refdata.pick(seed.RESOLUTIONS, fields["resolution"])
        if resolution is None:
            raise field_errors(resolution="Specify a valid resolution.")
    elif transition["resolution"] == "required":
        raise field_errors(resolution="Resolution is required.")
    before = _snapshot(issue)
    issue["status"] = transition["to"]
    if refdata.status_category(transition["to"]) == "done":
        issue["resolution"] = resolution["id"] if resolution else seed.RESOLUTIONS[0]["id"]
        issue["resolved"] = emu.now_ts()
    else:
        issue["resolution"] = None
        issue["resolved"] = None
    entry = record_change(emu, issue, before, req.user)
    update = body.get("update") or {}
    for op in update.get("comment", []) if isinstance(update, dict) else []:
        if isinstance(op, dict) and isinstance(op.get("add"), dict):
            add_comment_record(emu, req, issue, op["add"])
    if entry:
        emu.emit("jira:issue_updated", issue, req.user, event_type="issue_generic", changelog=entry)
    return Reply(204)
