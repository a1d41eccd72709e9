"""Graph's JSON shapes and request conventions, shared by the emulator's routes."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .mime import Address, Attachment
from .state import Message

DEFAULT_SELECT = (
    "subject",
    "from",
    "receivedDateTime",
    "internetMessageId",
    "isRead",
    "hasAttachments",
    "parentFolderId",
)
# What GET /messages/{id} answers without $select (Graph leaves internetMessageHeaders out
# unless they are selected).
FULL_SELECT = (
    *DEFAULT_SELECT,
    "sentDateTime",
    "conversationId",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "sender",
    "bodyPreview",
    "body",
)


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


async def json_object(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object, or Graph's 400 for a body that is not one."""
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return error(400, "RequestBodyRead", "The request body is not a valid JSON object.")
    return payload


def not_found() -> Response:
    return error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def prefer(request: Request) -> dict[str, str]:
    """All Prefer preferences, whether sent as one comma-joined header or several."""
    found: dict[str, str] = {}
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found


def immutable(request: Request) -> bool:
    return prefer(request).get("idtype", "").lower() == "immutableid"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def select_of(request: Request, default: Iterable[str]) -> list[str]:
    raw = request.query_params.get("$select")
    chosen = [s.strip() for s in raw.split(",") if s.strip()] if raw else []
    return chosen or list(default)


def _recipient(address: Address) -> dict[str, Any]:
    return {"emailAddress": {"name": address[0], "address": address[1]}}


def message_json(
    msg: Message, immutable_ids: bool, select: Iterable[str], *, text_body: bool = False
) -> dict[str, Any]:
    parsed = msg.parsed
    wanted = list(select)
    full: dict[str, Any] = {
        "subject": msg.subject,
        "from": _recipient(msg.sender),
        "sender": _recipient(msg.sender),
        "receivedDateTime": iso(msg.received),
        "sentDateTime": iso(parsed.sent) if parsed.sent else iso(msg.received),
        "internetMessageId": msg.internet_message_id,
        "conversationId": msg.conversation_id,
        "isRead": msg.is_read,
        "hasAttachments": msg.has_attachments,
        "parentFolderId": msg.folder_id,
        "toRecipients": [_recipient(a) for a in parsed.to],
        "ccRecipients": [_recipient(a) for a in parsed.cc],
        "bccRecipients": [_recipient(a) for a in parsed.bcc],
        "replyTo": [_recipient(a) for a in parsed.reply_to],
        "bodyPreview": " ".join(parsed.text_body.split())[:255],
    }
    if "body" in wanted:
        # Prefer: outlook.body-content-type="text" asks for the text form of an HTML body.
        if text_body and parsed.body_type == "html":
            full["body"] = {"contentType": "text", "content": parsed.text_body}
        else:
            full["body"] = {"contentType": parsed.body_type, "content": parsed.body}
    if "internetMessageHeaders" in wanted:
        full["internetMessageHeaders"] = [{"name": n, "value": v} for n, v in parsed.headers]
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.message",
        "id": msg.immutable_id if immutable_ids else msg.rest_id,
    }
    body.update({name: full[name] for name in wanted if name in full})
    return body


def attachment_json(msg: Message, attachment: Attachment) -> dict[str, Any]:
    common: dict[str, Any] = {
        "id": attachment.id,
        "lastModifiedDateTime": iso(msg.received),
        "name": attachment.name,
        "contentType": attachment.content_type,
        "size": len(attachment.content),
        "isInline": attachment.is_inline,
    }
    if attachment.kind == "item":
        return {"@odata.type": "#microsoft.graph.itemAttachment", **common}
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "@odata.mediaContentType": attachment.content_type,
        **common,
        "contentId": attachment.content_id,
        "contentLocation": None,
        "contentBytes": base64.b64encode(attachment.content).decode(),
    }
