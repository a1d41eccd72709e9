"""Finding accounts and watching issues: ``GET user/search`` and ``issue/{key}/watchers``.

User search (Cloud): ``query`` matches the start of a display name's words or of an e-mail
address, case-insensitive, and answers a plain list of users; Data Center names the parameter
``username`` (a login, display name or e-mail address). Neither given: 400. Service desk
customers are found as well (Cloud marks them ``accountType: customer``).

Watchers: ``POST`` with the body a JSON string, the account id (Cloud) or the user name (Data
Center); 204. An unknown user is 400; a customer may watch only a service desk's request.
``GET`` answers ``{"self", "isWatching", "watchCount", "watchers": [...]}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import refdata, seed
from .errors import JiraError
from .wire import NO_CONTENT, Reply, Req

if TYPE_CHECKING:
    from .app import Emulator


def _matches(user: dict[str, Any], text: str) -> bool:
    words = [*user["displayName"].lower().split(), user["emailAddress"].lower(), user["name"]]
    return any(w.startswith(text) for w in words)


def user_search(emu: Emulator, req: Req) -> Reply:
    name = "query" if req.view.cloud else "username"
    text = (req.arg(name) or req.arg("accountId") or "").strip().lower()
    if not text:
        raise JiraError(400, [f"The {name} query parameter was not provided"])
    start, limit = req.int_arg("startAt", 0), max(1, min(req.int_arg("maxResults", 50), 1000))
    found = [u for u in seed.USERS if text == u["accountId"].lower() or _matches(u, text)]
    return Reply(body=[refdata.user_json(req.view, u) for u in found[start : start + limit]])


def _watchers(issue: dict[str, Any]) -> list[str]:
    watchers: list[str] = issue.setdefault("watchers", [])
    return watchers


def add_watcher(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    wanted = req.json() if req.body.strip() else req.user["accountId"]
    if not isinstance(wanted, str):
        raise JiraError(400, ["Can not deserialize the request body: a string was expected."])
    user = refdata.find_user(wanted)
    if user is None:
        raise JiraError(400, [f'The user "{wanted}" does not exist.'])
    desk = refdata.project(issue["project"])["projectTypeKey"] == "service_desk"
    if user.get("accountType") == "customer" and not desk:
        raise JiraError(400, [f'The user "{wanted}" does not have permission to view this issue.'])
    if user["accountId"] not in _watchers(issue):
        _watchers(issue).append(user["accountId"])
    return NO_CONTENT


def list_watchers(emu: Emulator, req: Req) -> Reply:
    issue = emu.store.issue(req.params["key"])
    users = [refdata.find_user(a) for a in _watchers(issue)]
    return Reply(
        body={
            "self": f"{req.view.api}/issue/{issue['key']}/watchers",
            "isWatching": req.user["accountId"] in _watchers(issue),
            "watchCount": len(users),
            "watchers": [refdata.user_json(req.view, u) for u in users if u is not None],
        }
    )
