"""Comments (platform and service desk), worklogs and attachments on an issue."""

from __future__ import annotations

import base64
import email.parser
import email.policy
from typing import TYPE_CHECKING, Any

from . import refdata
from .errors import JiraError, bad_request, field_errors, not_found
from .render import attachment_json, can_see, comment_json, worklog_json
from .text import duration_text, jira_time, parse_duration, parse_jira_time, read_body
from .wire import Reply, Req

if TYPE_CHECKING:
    from .app import Emulator

INTERNAL_PROPERTY = "sd.public.comment"
UPLOAD_LIMIT = 10 * 1024 * 1024


def _visibility(req: Req, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in {"role", "group"}:
        raise field_errors(commentLevel="Visibility type must be role or group.")
    wanted = str(value.get("value") or value.get("identifier") or "")
    kind = "project role" if value["type"] == "role" else "group"
    if not can_see(req.user, value):
        raise field_errors(commentLevel=f"You are currently not a member of the {kind}: {wanted}.")
    return {"type": value["type"], "value": wanted, "identifier": wanted}


def add_comment_record(
    emu: Emulator,
    req: Req,
    issue: dict[str, Any],
    body: dict[str, Any],
    *,
    public: bool | None = None,
) -> dict[str, Any]:
    if "body" not in body:
        raise field_errors(comment="Comment body can not be empty!")
    text = read_body(body["body"], req.view.version, "comment", comment=True)
    if not text["text"].strip():
        raise field_errors(comment="Comment body can not be empty!")
    properties = body.get("properties") or []
    if not isinstance(properties, list) or not all(
        isinstance(p, dict) and "key" in p for p in properties
    ):
        raise bad_request("Comment properties must be a list of {key, value}.")
    internal = any(
        p["key"] == INTERNAL_PROPERTY
        and isinstance(p.get("value"), dict)
        and p["value"].get("internal")
        for p in properties
    )
    if public is None:
        public = not internal
    elif not public:
        properties = [*properties, {"key": INTERNAL_PROPERTY, "value": {"internal": True}}]
    now = emu.now_ts()
    comment = {
        "id": emu.store.new_id("comment"),
        "issue_id": issue["id"],
        "author": req.user["accountId"],
        "body": text,
        "visibility": _visibility(req, body.get("visibility")),
        "properties": properties,
        "public": public,
        "created": now,
        "updated": now,
    }
    emu.store.data["comments"][comment["id"]] = comment
    issue["updated"] = now
    emu.emit("comment_created", issue, req.user, comment=comment)
    return comment


def add_comment(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    comment = add_comment_record(emu, req, issue, req.json_object())
    out = comment_json(req.view, issue, comment)
    if "properties" in ",".join(req.args("expand")):
        out["properties"] = comment["properties"]
    return Reply(201, out)


def list_comments(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    start, limit = req.int_arg("startAt", 0), req.int_arg("maxResults", 5000)
    visible = [c for c in emu.store.comments_of(issue["id"]) if can_see(req.user, c["visibility"])]
    visible.sort(
        key=lambda c: (c["created"], int(c["id"])), reverse=req.arg("orderBy") == "-created"
    )
    page = visible[start : start + limit]
    with_props = "properties" in ",".join(req.args("expand"))
    comments = [
        comment_json(req.view, issue, c) | ({"properties": c["properties"]} if with_props else {})
        for c in page
    ]
    return Reply(
        body={"startAt": start, "maxResults": limit, "total": len(visible), "comments": comments}
    )


def _comment(emu: Emulator, req: Req, issue: dict[str, Any]) -> dict[str, Any]:
    """The comment of the path, 404 when it is not on the issue or not for this user."""
    comment = emu.store.data["comments"].get(req.params["id"])
    if (
        comment is None
        or comment["issue_id"] != issue["id"]
        or not can_see(req.user, comment["visibility"])
    ):
        raise not_found("Can not find a comment for the id: " + req.params["id"] + ".")
    return comment


def get_comment(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    return Reply(body=comment_json(req.view, issue, _comment(emu, req, issue)))


def update_comment(emu: Emulator, req: Req) -> Reply:
    """``PUT issue/{key}/comment/{id}``: a new body (and visibility, when sent); the comment's
    and the issue's ``updated`` move, as Jira's do when a comment is edited."""
    issue = emu.store.issue(req.params["key"])
    comment = _comment(emu, req, issue)
    body = req.json_object()
    if "body" not in body:
        raise field_errors(comment="Comment body can not be empty!")
    text = read_body(body["body"], req.view.version, "comment", comment=True)
    if not text["text"].strip():
        raise field_errors(comment="Comment body can not be empty!")
    if "visibility" in body:
        comment["visibility"] = _visibility(req, body["visibility"])
    comment["body"] = text
    comment["updated"] = issue["updated"] = emu.now_ts()
    emu.emit("comment_updated", issue, req.user, comment=comment, event_type="issue_comment_edited")
    return Reply(body=comment_json(req.view, issue, comment))


def delete_comment(emu: Emulator, req: Req) -> Reply:
    """``DELETE issue/{key}/comment/{id}``: 204; gone from every list and 404 by id after, and
    the issue's ``updated`` moves, as Jira's does."""
    issue = emu.store.issue(req.params["key"])
    comment = _comment(emu, req, issue)
    del emu.store.data["comments"][comment["id"]]
    issue["updated"] = emu.now_ts()
    emu.emit(
        "comment_deleted", issue, req.user, comment=comment, event_type="issue_comment_deleted"
    )
    return Reply(204)


def servicedesk_comment(emu: Emulator, req: Req) -> Reply:
    """JSM's ``POST /rest/servicedeskapi/request/{key}/comment`` with ``public``."""
    issue = emu.store.issue(req.params["key"])
    if refdata.project(issue["project"])["projectTypeKey"] != "service_desk":
        raise not_found("The request could not be found or you do not have permission to view it.")
    body = req.json_object()
    if not isinstance(body.get("body"), str):
        raise bad_request("The comment body must be text.")
    public = body.get("public", True)
    if not isinstance(public, bool):
        raise bad_request("public must be true or false")
    req.view.version = "2"  # the JSM API takes plain text bodies
    comment = add_comment_record(emu, req, issue, {"body": body["body"]}, public=public)
    author = req.user
    created = comment["created"]
    return Reply(
        201,
        {
            "id": comment["id"],
            "body": comment["body"]["text"],
            "public": comment["public"],
            "author": {
                "accountId": author["accountId"],
                "emailAddress": author["emailAddress"],
                "displayName": author["displayName"],
                "active": True,
                "timeZone": "Etc/UTC",
            },
            "created": {
                "iso8601": jira_time(created),
                "jira": jira_time(created),
                "epochMillis": int(created * 1000),
            },
            "_links": {
                "self": f"{req.view.base}/rest/servicedeskapi/request/{issue['id']}"
                f"/comment/{comment['id']}"
            },
        },
    )


def add_worklog(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    body = req.json_object()
    adjust = req.arg("adjustEstimate", "auto")
    if adjust not in {"new", "leave", "manual", "auto"}:
        raise bad_request("Invalid value for adjustEstimate.")
    seconds: int | None = None
    raw = body.get("timeSpentSeconds")
    if raw is not None:
        try:
            seconds = int(raw)
        except (TypeError, ValueError):
            seconds = None
    elif isinstance(body.get("timeSpent"), str):
        seconds = parse_duration(body["timeSpent"])
    if seconds is None or seconds < 60:
        raise field_errors(timeLogged="You must indicate the time spent working.")
    now = emu.now_ts()
    started = now
    if body.get("started") is not None:
        try:
            started = parse_jira_time(str(body["started"]))
        except ValueError:
            raise field_errors(started="Started date is in an invalid format.") from None
    comment = body.get("comment")
    worklog = {
        "id": emu.store.new_id("worklog"),
        "issue_id": issue["id"],
        "author": req.user["accountId"],
        "comment": None if comment is None else read_body(comment, req.view.version, "comment"),
        "started": started,
        "seconds": seconds,
        "time_spent": duration_text(seconds),
        "created": now,
        "updated": now,
    }
    emu.store.data["worklogs"][worklog["id"]] = worklog
    issue["updated"] = now
    return Reply(201, worklog_json(req.view, issue, worklog))


def list_worklogs(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    logs = [worklog_json(req.view, issue, w) for w in emu.store.worklogs_of(issue["id"])]
    return Reply(body={"startAt": 0, "maxResults": len(logs), "total": len(logs), "worklogs": logs})


def _files(req: Req) -> list[tuple[str, str, bytes]]:
    ctype = req.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise JiraError(415, ["The request must be multipart/form-data with a 'file' part."])
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
    files = []
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_param("name", header="content-disposition") != "file":
            continue
        data = part.get_payload(decode=True)
        name = part.get_filename() or "attachment"
        files.append((name, part.get_content_type(), data if isinstance(data, bytes) else b""))
    return files


def add_attachments(emu: Emulator, req: Req) -> Reply:
    if req.headers.get("x-atlassian-token", "").lower() != "no-check":
        return Reply(403, "XSRF check failed", content_type="text/plain;charset=UTF-8")
    issue = emu.store.issue(req.params["key"])
    files = _files(req)
    if not files:
        raise bad_request(
            "No attachments were found in the request: send a multipart part named 'file'."
        )
    made = []
    for name, mime, data in files:
        if len(data) > UPLOAD_LIMIT:
            raise JiraError(
                413, [f"The file {name} is too large to attach (limit {UPLOAD_LIMIT} bytes)."]
            )
        attachment = {
            "id": emu.store.new_id("attachment"),
            "issue_id": issue["id"],
            "filename": name,
            "mime_type": mime,
            "size": len(data),
            "data": base64.b64encode(data).decode(),
            "author": req.user["accountId"],
            "created": emu.now_ts(),
        }
        emu.store.data["attachments"][attachment["id"]] = attachment
        made.append(attachment_json(req.view, attachment))
    issue["updated"] = emu.now_ts()
    return Reply(200, made)


def _attachment(emu: Emulator, attachment_id: str) -> dict[str, Any]:
    found = emu.store.data["attachments"].get(attachment_id)
    if found is None or emu.store.data["issues"][found["issue_id"]]["deleted"]:
        raise not_found(f"The attachment with id '{attachment_id}' does not exist")
    result: dict[str, Any] = found
    return result


def get_attachment(emu: Emulator, req: Req) -> Reply:
    return Reply(body=attachment_json(req.view, _attachment(emu, req.params["id"])))


def attachment_content(emu: Emulator, req: Req) -> Reply:
    found = _attachment(emu, req.params["id"])
    cloud_api = req.view.cloud and not req.path.startswith("/secure/")
    if cloud_api and (req.arg("redirect") or "true").lower() != "false":
        # Cloud answers 303 to its media service unless the client asks redirect=false; the
        # sandbox has no media host, so the redirect leads back here with redirect=false.
        location = f"{req.view.api}/attachment/content/{found['id']}?redirect=false"
        return Reply(303, b"", headers={"Location": location}, content_type="text/plain")
    return Reply(
        body=base64.b64decode(found["data"]),
        content_type=found["mime_type"],
        headers={"Content-Disposition": f'attachment; filename="{found["filename"]}"'},
    )


def delete_attachment(emu: Emulator, req: Req) -> Reply:
    found = _attachment(emu, req.params["id"])
    del emu.store.data["attachments"][found["id"]]
    return Reply(204)


def attachment_meta(emu: Emulator, req: Req) -> Reply:
    return Reply(body={"enabled": True, "uploadLimit": UPLOAD_LIMIT})
