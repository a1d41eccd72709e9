"""Jira Service Management's service desks and customer organizations
(``/rest/servicedeskapi``): list the service desks, list, create and delete organizations,
add one to or remove one from a service desk. Paged as JSM pages (``start``, ``limit``,
``size``, ``isLastPage``, ``_links``); errors in JSM's shape (``errorMessage`` and
``i18nErrorMessage``, not the platform's ``errorMessages``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import refdata, seed
from .errors import JiraError, field_errors
from .store import Store
from .wire import NO_CONTENT, Reply, Req

if TYPE_CHECKING:
    from .app import Emulator

ROOT = "/rest/servicedeskapi"
PAGE_LIMIT = 50  # JSM's default page, and the most this emulator hands out


def jsm_error(status: int, message: str, key: str) -> JiraError:
    i18n = {"i18nKey": key, "parameters": []}
    return JiraError(status, body={"errorMessage": message, "i18nErrorMessage": i18n})


def _page(req: Req, path: str, values: list[dict[str, Any]]) -> Reply:
    start = max(0, req.int_arg("start", 0))
    limit = min(max(1, req.int_arg("limit", PAGE_LIMIT)), PAGE_LIMIT)
    chunk = values[start : start + limit]
    last = start + limit >= len(values)
    base = f"{req.view.base}{ROOT}/{path}"
    links: dict[str, str] = {"base": req.view.base, "context": "", "self": base}
    if not last:
        links["next"] = f"{base}?start={start + limit}&limit={limit}"
    if start:
        links["prev"] = f"{base}?start={max(0, start - limit)}&limit={limit}"
    return Reply(
        body={
            "_expands": [],
            "size": len(chunk),
            "start": start,
            "limit": limit,
            "isLastPage": last,
            "_links": links,
            "values": chunk,
        }
    )


def _desk_projects() -> list[dict[str, Any]]:
    return [p for p in seed.PROJECTS if "serviceDeskId" in p]


def _desk(id_or_project: str) -> dict[str, Any]:
    """A service desk by its id or, as Cloud also accepts, its project's id or key."""
    for project in _desk_projects():
        if id_or_project in {project["serviceDeskId"], project["id"]}:
            return project
        if id_or_project.upper() == project["key"]:
            return project
    raise jsm_error(404, "The service desk does not exist.", "sd.service.desk.not.found")


def _desk_json(req: Req, project: dict[str, Any]) -> dict[str, Any]:
    desk_id = project["serviceDeskId"]
    return {
        "id": desk_id,
        "projectId": project["id"],
        "projectKey": project["key"],
        "projectName": project["name"],
        "_links": {"self": f"{req.view.base}{ROOT}/servicedesk/{desk_id}"},
    }


def _org_json(req: Req, organization: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": organization["id"],
        "name": organization["name"],
        "_links": {"self": f"{req.view.base}{ROOT}/organization/{organization['id']}"},
    }


def _organization(store: Store, organization_id: Any) -> dict[str, Any]:
    found = store.data["organizations"].get(str(organization_id))
    if found is None:
        raise jsm_error(404, "The organization does not exist.", "sd.organization.not.found")
    return dict(found)


def _organization_id(req: Req) -> str:
    raw = req.json_object().get("organizationId")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise jsm_error(400, "The organizationId must be a number.", "sd.organization.id.invalid")
    return str(raw)


def desk_organization_ids(store: Store, project: dict[str, Any]) -> list[str]:
    return list(store.data["desk_organizations"].get(project.get("serviceDeskId", ""), []))


def organizations_json(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    """An issue's Organizations field: the organizations that still exist, as Jira shows them."""
    known = store.data["organizations"]
    return [{"id": i, "name": known[i]["name"]} for i in ids if i in known]


def check_issue_organizations(store: Store, issue: dict[str, Any]) -> None:
    """Only organizations added to the issue's service desk may be set on it."""
    allowed = desk_organization_ids(store, refdata.project(issue["project"]))
    if not set(issue["organizations"]) <= set(allowed):
        raise field_errors(**{seed.ORGANIZATIONS_FIELD: "One or more organizations are invalid."})


# --- handlers ---------------------------------------------------------------------------


def service_desks(emu: Emulator, req: Req) -> Reply:
    return _page(req, "servicedesk", [_desk_json(req, p) for p in _desk_projects()])


def service_desk(emu: Emulator, req: Req) -> Reply:
    return Reply(body=_desk_json(req, _desk(req.params["desk"])))


def desk_organizations(emu: Emulator, req: Req) -> Reply:
    project = _desk(req.params["desk"])
    found = [_organization(emu.store, i) for i in desk_organization_ids(emu.store, project)]
    found.sort(key=lambda o: int(o["id"]))
    path = f"servicedesk/{project['serviceDeskId']}/organization"
    return _page(req, path, [_org_json(req, o) for o in found])


def add_desk_organization(emu: Emulator, req: Req) -> Reply:
    project = _desk(req.params["desk"])
    organization = _organization(emu.store, _organization_id(req))
    listed = emu.store.data["desk_organizations"].setdefault(project["serviceDeskId"], [])
    if organization["id"] not in listed:
        listed.append(organization["id"])
    return NO_CONTENT


def remove_desk_organization(emu: Emulator, req: Req) -> Reply:
    project = _desk(req.params["desk"])
    organization = _organization(emu.store, _organization_id(req))
    listed = emu.store.data["desk_organizations"].get(project["serviceDeskId"], [])
    if organization["id"] in listed:
        listed.remove(organization["id"])
    return NO_CONTENT


def organizations(emu: Emulator, req: Req) -> Reply:
    found = sorted(emu.store.data["organizations"].values(), key=lambda o: int(o["id"]))
    return _page(req, "organization", [_org_json(req, o) for o in found])


def organization(emu: Emulator, req: Req) -> Reply:
    return Reply(body=_org_json(req, _organization(emu.store, req.params["id"])))


def create_organization(emu: Emulator, req: Req) -> Reply:
    name = req.json_object().get("name")
    if not isinstance(name, str) or not name.strip():
        raise jsm_error(400, "An organization needs a name.", "sd.organization.name.empty")
    taken = {o["name"].casefold() for o in emu.store.data["organizations"].values()}
    if name.strip().casefold() in taken:
        raise jsm_error(
            409, "An organization with this name already exists.", "sd.organization.name.taken"
        )
    made = {"id": emu.store.new_id("organization"), "name": name.strip()}
    emu.store.data["organizations"][made["id"]] = made
    return Reply(201, _org_json(req, made))


def delete_organization(emu: Emulator, req: Req) -> Reply:
    """Gone from every service desk and from every issue's Organizations field."""
    found = _organization(emu.store, req.params["id"])
    del emu.store.data["organizations"][found["id"]]
    for listed in emu.store.data["desk_organizations"].values():
        if found["id"] in listed:
            listed.remove(found["id"])
    for issue in emu.store.data["issues"].values():
        if found["id"] in issue["organizations"]:
            issue["organizations"].remove(found["id"])
    return NO_CONTENT
