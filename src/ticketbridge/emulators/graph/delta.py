"""Graph's delta query on a mail folder: pages of changes, a nextLink per page and a deltaLink
at the end, both carrying the round's position in an opaque token (410 Gone once expired)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import GraphState, Mailbox
from .wire import DEFAULT_SELECT, error, immutable, message_json, not_found, prefer

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


def encode_token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        return None
    return decoded if isinstance(decoded, dict) else None


async def delta(request: Request, mailbox: Mailbox) -> Response:
    state: GraphState = request.app.state.graph
    folder = mailbox.folder(request.path_params["folder"])
    if folder is None:
        return not_found()
    query = request.query_params
    token_text = query.get("$deltatoken") or query.get("$skiptoken")
    if token_text:
        token = decode_token(token_text)
        if token is None or token.get("f") != folder.id:
            return error(400, "BadRequest", "The delta or skip token is malformed.")
        if token.get("g") != state.generation:
            return error(410, "SyncStateNotFound", "The sync state has expired.")
        since = int(token["s"]) if "$deltatoken" in query else int(token["since"])
        upto = mailbox.seq if "$deltatoken" in query else int(token["u"])
        offset = 0 if "$deltatoken" in query else int(token["o"])
        select = list(token["sel"])
    else:
        since, upto, offset = 0, mailbox.seq, 0
        raw_select = query.get("$select")
        select = [s.strip() for s in raw_select.split(",")] if raw_select else []
        select = select or list(DEFAULT_SELECT)
    page_size = DEFAULT_PAGE_SIZE
    preference = prefer(request).get("odata.maxpagesize")
    if preference and preference.isdigit():
        page_size = max(1, min(int(preference), MAX_PAGE_SIZE))
    rows = mailbox.delta_rows(folder.id, since, upto)
    page = rows[offset : offset + page_size]
    immutable_ids = immutable(request)
    values: list[dict[str, Any]] = []
    for message, kind in page:
        if kind == "removed":
            values.append(
                {
                    "@odata.type": "#microsoft.graph.message",
                    "id": message.immutable_id if immutable_ids else message.rest_id,
                    "@removed": {"reason": "deleted"},
                }
            )
        else:
            values.append(message_json(message, immutable_ids, select))
    base = f"{request.url.scheme}://{request.url.netloc}/v1.0/users/"
    link = f"{base}{request.path_params['user']}/mailFolders/{folder.id}/messages/delta"
    body: dict[str, Any] = {"value": values}
    gen = state.generation
    if offset + page_size < len(rows):
        skip = {"f": folder.id, "g": gen, "since": since, "u": upto, "o": offset + page_size}
        body["@odata.nextLink"] = f"{link}?$skiptoken={encode_token({**skip, 'sel': select})}"
    else:
        delta = {"f": folder.id, "g": gen, "s": upto, "sel": select}
        body["@odata.deltaLink"] = f"{link}?$deltatoken={encode_token(delta)}"
    applied = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if preference else None
    return JSONResponse(body, headers=applied)
