"""JQL search: Cloud's ``/search/jql`` (nextPageToken); ``/search`` (offsets; DC only)."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from . import jql
from .errors import SEARCH_REMOVED, JiraError, bad_request, not_found
from .render import can_see, issue_json
from .wire import Reply, Req

if TYPE_CHECKING:
    from .app import Emulator

# Cloud's search/jql returns at most this many of an issue's histories under
# expand=changelog, the most recent (JRACLOUD-96459); Data Center's search returns them all.
SEARCH_HISTORIES = 40
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


def _text_of(emu: Emulator, user: dict[str, Any] | None) -> jql.TextOf:
    def text_of(issue: dict[str, Any], name: str) -> str:
        parts = []
        if name in {"summary", "text"}:
            parts.append(issue["summary"])
        if name in {"description", "text"} and issue["description"]:
            parts.append(issue["description"]["text"])
        if name in {"comment", "text"}:
            parts += [
                c["body"]["text"]
                for c in emu.store.comments_of(issue["id"])
                if can_see(user, c["visibility"])
            ]
        return "\n".join(parts)

    return text_of


def _params(req: Req) -> dict[str, Any]:
    """GET query parameters or a POST body, as one dict (lists for the list-valued ones)."""
    if req.method == "POST":
        body = req.json_object()
        listed = {"fields", "properties", "expand"}
        return {
            k: ([v] if isinstance(v, str) and k in listed else v)
            for k, v in body.items()
            if v is not None
        }
    out: dict[str, Any] = {}
    for key, value in req.query:
        if key in {"fields", "properties", "expand", "reconcileIssues"}:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def _int(params: dict[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise bad_request(f"The value '{raw}' is invalid for parameter '{name}'.") from None


def _run(emu: Emulator, req: Req, text: str, *, bounded: bool) -> list[dict[str, Any]]:
    query = jql.parse(
        text, now=emu.now_ts(), text_of=_text_of(emu, req.view.user), indexed=emu.indexed_properties
    )
    if bounded and query.where is None:
        raise bad_request(UNBOUNDED)
    return query.run(emu.store.live_issues())


def _token(text: str, offset: int) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")


def _offset(token: str, text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset, digest = raw.split(":", 1)
        if digest == hashlib.sha256(text.encode()).hexdigest()[:16]:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise bad_request("The provided next page token is invalid or expired.")


def search_jql(emu: Emulator, req: Req) -> Reply:
    if not req.view.cloud:
        raise not_found("null for uri: " + req.path)
    params = _params(req)
    text = str(params.get("jql") or "")
    fields = params.get("fields") or ["id"]
    cheap = all(f.strip() in {"id", "key"} for part in fields for f in str(part).split(","))
    limit = max(0, min(_int(params, "maxResults", 50), 5000 if cheap else 100))
    token = params.get("nextPageToken")
    hits = _run(emu, req, text, bounded=True)
    start = _offset(str(token), text) if token else 0
    page = hits[start : start + limit]
    out: dict[str, Any] = {
        "issues": [
            issue_json(
                req.view,
                emu.store,
                i,
                fields=list(fields),
                expand=params.get("expand"),
                properties=params.get("properties"),
                default_fields=["id"],
                histories_limit=SEARCH_HISTORIES,
            )
            for i in page
        ]
    }
    if start + limit < len(hits) and limit > 0:
        out["nextPageToken"] = _token(text, start + limit)  # absent on the last page
    out["isLast"] = "nextPageToken" not in out
    return Reply(body=out)


def search_offset(emu: Emulator, req: Req) -> Reply:
    if req.view.cloud:
        raise JiraError(410, [SEARCH_REMOVED])
    params = _params(req)
    start = max(0, _int(params, "startAt", 0))
    limit = max(0, min(_int(params, "maxResults", 50), 1000))
    hits = _run(emu, req, str(params.get("jql") or ""), bounded=False)
    issues = [
        issue_json(
            req.view,
            emu.store,
            i,
            fields=params.get("fields"),
            expand=params.get("expand"),
            properties=params.get("properties"),
            default_fields=["*navigable"],
        )
        for i in hits[start : start + limit]
    ]
    body = {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": limit,
        "total": len(hits),
        "issues": issues,
    }
    return Reply(body=body)


def approximate_count(emu: Emulator, req: Req) -> Reply:
    if not req.view.cloud:
        raise not_found("null for uri: " + req.path)
    params = _params(req)
    return Reply(body={"count": len(_run(emu, req, str(params.get("jql") or ""), bounded=True))})
