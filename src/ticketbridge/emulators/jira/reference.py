"""Read-only reference endpoints: serverInfo, myself, projects, issue types, priorities, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import refdata, seed
from .errors import JiraError
from .text import jira_time
from .wire import Reply, Req

if TYPE_CHECKING:
    from .app import Emulator

CLOUD_VERSION = ("1001.0.0-SNAPSHOT", [1001, 0, 0], 100285)
DC_VERSION = ("9.12.0", [9, 12, 0], 9120000)


def server_info(emu: Emulator, req: Req) -> Reply:
    version, numbers, build = CLOUD_VERSION if req.view.cloud else DC_VERSION
    return Reply(
        body={
            "baseUrl": req.view.base,
            "displayUrl": req.view.base,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": "Cloud" if req.view.cloud else "Server",
            "buildNumber": build,
            "buildDate": "2026-01-05T00:00:00.000+0000",
            "serverTime": jira_time(emu.now_ts()),
            "scmInfo": "0" * 40,
            "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
            "serverTimeZone": "Etc/UTC",
        }
    )


def myself(emu: Emulator, req: Req) -> Reply:
    body = refdata.user_json(req.view, req.user) or {}
    body["locale"] = "en_US"
    body["groups"] = {"size": len(req.user["groups"]), "items": []}
    return Reply(body=body)


def projects(emu: Emulator, req: Req) -> Reply:
    return Reply(body=[refdata.project_json(req.view, p) for p in seed.PROJECTS])


def project_search(emu: Emulator, req: Req) -> Reply:
    start, limit = req.int_arg("startAt", 0), max(1, min(req.int_arg("maxResults", 50), 100))
    text = (req.arg("query") or "").lower()
    keys = set(req.args("keys"))
    found = [
        p
        for p in seed.PROJECTS
        if (not text or text in p["key"].lower() or text in p["name"].lower())
        and (not keys or p["key"] in keys)
    ]
    page = found[start : start + limit]
    body = {
        "self": f"{req.view.api}/project/search?startAt={start}&maxResults={limit}",
        "maxResults": limit,
        "startAt": start,
        "total": len(found),
        "isLast": start + limit >= len(found),
        "values": [refdata.project_json(req.view, p) for p in page],
    }
    if not body["isLast"]:
        body["nextPage"] = (
            f"{req.view.api}/project/search?startAt={start + limit}&maxResults={limit}"
        )
    return Reply(body=body)


def project(emu: Emulator, req: Req) -> Reply:
    return Reply(body=refdata.project_json(req.view, refdata.project(req.params["key"]), full=True))


def project_statuses(emu: Emulator, req: Req) -> Reply:
    proj = refdata.project(req.params["key"])
    used = {t["to"] for t in seed.WORKFLOWS[proj["workflow"]]} | {proj["initialStatus"]}
    statuses = [refdata.status_json(req.view, s["id"]) for s in seed.STATUSES if s["id"] in used]
    return Reply(
        body=[
            {
                "self": f"{req.view.api}/issuetype/{t}",
                "id": t,
                "name": refdata.issuetype_json(req.view, t)["name"],
                "subtask": False,
                "statuses": statuses,
            }
            for t in proj["issueTypes"]
        ]
    )


def issue_types(emu: Emulator, req: Req) -> Reply:
    return Reply(body=[refdata.issuetype_json(req.view, t["id"]) for t in seed.ISSUE_TYPES])


def priorities(emu: Emulator, req: Req) -> Reply:
    return Reply(body=[refdata.priority_json(req.view, p["id"]) for p in seed.PRIORITIES])


def statuses(emu: Emulator, req: Req) -> Reply:
    return Reply(body=[refdata.status_json(req.view, s["id"]) for s in seed.STATUSES])


def status_categories(emu: Emulator, req: Req) -> Reply:
    return Reply(body=[refdata.category_json(req.view, k) for k in seed.STATUS_CATEGORIES])


def resolutions(emu: Emulator, req: Req) -> Reply:
    return Reply(body=[refdata.resolution_json(req.view, r["id"]) for r in seed.RESOLUTIONS])


def fields(emu: Emulator, req: Req) -> Reply:
    return Reply(body=refdata.field_list())


def require_admin(req: Req) -> None:
    if "jira-administrators" not in req.user["groups"]:
        raise JiraError(403, ["You do not have permission to manage webhooks."])
