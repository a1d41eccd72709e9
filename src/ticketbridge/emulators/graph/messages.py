"""Graph's message calls beyond delta: read one or a page of messages, their attachments, and
send mail (``sendMail`` in JSON or as base64 MIME, ``reply``).

A sent mail is kept in :attr:`GraphState.sent` (the admin API lists it), saved to Sent Items
unless ``saveToSentItems`` is false, and delivered to the Inbox of every recipient that is a
mailbox of this emulator, so a reply from one sandbox mailbox arrives in another.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import mime
from .state import GraphState, Mailbox, Message, SentMail
from .wire import (
    DEFAULT_SELECT,
    FULL_SELECT,
    attachment_json,
    error,
    immutable,
    json_object,
    message_json,
    not_found,
    prefer,
    select_of,
)

DEFAULT_TOP = 10
MAX_TOP = 1000
_CONVERSATION = re.compile(r"^\s*conversationId\s+eq\s+'((?:[^']|'')*)'\s*$")


def _state(request: Request) -> GraphState:
    state: GraphState = request.app.state.graph
    return state


def _as_text(request: Request) -> bool:
    return prefer(request).get("outlook.body-content-type", "").lower() == "text"


async def one(request: Request, mailbox: Mailbox, message: Message, status: int = 200) -> Response:
    select = select_of(request, FULL_SELECT if status == 200 else DEFAULT_SELECT)
    body = message_json(message, immutable(request), select, text_body=_as_text(request))
    return JSONResponse(body, status)


async def get(request: Request, mailbox: Mailbox) -> Response:
    message = mailbox.message(request.path_params["message_id"])
    return not_found() if message is None else await one(request, mailbox, message)


async def listing(request: Request, mailbox: Mailbox) -> Response:
    folder_ref = request.path_params.get("folder")
    folder = mailbox.folder(folder_ref) if folder_ref is not None else None
    if folder_ref is not None and folder is None:
        return not_found()
    query = request.query_params
    try:
        top = max(1, min(int(query.get("$top", DEFAULT_TOP)), MAX_TOP))
        skip = max(0, int(query.get("$skip", 0)))
    except ValueError:
        return error(400, "BadRequest", "$top and $skip must be integers.")
    found = [m for m in mailbox.messages.values() if folder is None or m.folder_id == folder.id]
    wanted = query.get("$filter")
    if wanted is not None:
        match = _CONVERSATION.match(wanted)
        if match is None:
            return error(400, "BadRequest", "Only conversationId eq '...' filters are emulated.")
        conversation = match.group(1).replace("''", "'")
        found = [m for m in found if m.conversation_id == conversation]
    # Graph's default order, newest first; of two received in one second, the later arrival.
    arrival = {m.immutable_id: n for n, m in enumerate(mailbox.messages.values())}
    found.sort(key=lambda m: (m.received, arrival[m.immutable_id]), reverse=True)
    select = select_of(request, FULL_SELECT)
    ids, as_text = immutable(request), _as_text(request)
    body: dict[str, Any] = {
        "value": [message_json(m, ids, select, text_body=as_text) for m in found[skip : skip + top]]
    }
    if skip + top < len(found):
        params = dict(query)
        params["$skip"] = str(skip + top)
        body["@odata.nextLink"] = str(request.url.replace_query_params(**params))
    return JSONResponse(body)


async def mime_value(request: Request, mailbox: Mailbox) -> Response:
    message = mailbox.message(request.path_params["message_id"])
    return not_found() if message is None else Response(message.raw, media_type="text/plain")


async def attachments(request: Request, mailbox: Mailbox) -> Response:
    message = mailbox.message(request.path_params["message_id"])
    if message is None:
        return not_found()
    return JSONResponse(
        {"value": [attachment_json(message, a) for a in message.parsed.attachments]}
    )


def _attachment(mailbox: Mailbox, request: Request) -> tuple[Message, mime.Attachment] | None:
    message = mailbox.message(request.path_params["message_id"])
    if message is None:
        return None
    wanted = request.path_params["attachment_id"]
    found = next((a for a in message.parsed.attachments if a.id == wanted), None)
    return None if found is None else (message, found)


async def attachment(request: Request, mailbox: Mailbox) -> Response:
    found = _attachment(mailbox, request)
    return not_found() if found is None else JSONResponse(attachment_json(*found))


async def attachment_value(request: Request, mailbox: Mailbox) -> Response:
    found = _attachment(mailbox, request)
    if found is None:
        return not_found()
    item = found[1]
    return Response(item.content, media_type=item.content_type)


def _sender(state: GraphState, mailbox: Mailbox) -> mime.Address:
    user = state.identity.user(mailbox.address) if state.identity is not None else None
    return (user.display_name if user is not None else "", mailbox.address)


def _deliver(state: GraphState, mailbox: Mailbox, raw: bytes, save: bool) -> None:
    now = state.now()
    parsed = mime.parse(raw)
    recipients = tuple(a for _, a in (*parsed.to, *parsed.cc, *parsed.bcc))
    state.sent.append(SentMail(mailbox.address, raw, recipients, save, now))
    if save:
        sent_items = mailbox.folder("sentitems")
        assert sent_items is not None
        mailbox.add(sent_items, raw, now, is_read=True)
    delivered = mime.without_bcc(raw)
    for address in dict.fromkeys(a.lower() for a in recipients):
        other = state.mailboxes.get(address)
        inbox = other.folder("inbox") if other is not None else None
        if other is not None and inbox is not None:
            other.add(inbox, delivered, now)


def _send_as_denied() -> Response:
    return error(
        403,
        "ErrorSendAsDenied",
        "The user account which was used to submit this request does not have the right to "
        "send mail on behalf of the specified sending account.",
    )


async def send_mail(request: Request, mailbox: Mailbox) -> Response:
    state = _state(request)
    sender = _sender(state, mailbox)
    if request.headers.get("content-type", "").startswith("text/plain"):
        try:
            raw = mime.mime_from_base64(await request.body())
        except mime.GraphInputError as exc:
            return error(400, exc.code, exc.message)
        _deliver(state, mailbox, mime.complete_mime(raw, sender, state.now()), save=True)
        return Response(status_code=202)
    payload = await json_object(request)
    if isinstance(payload, Response):
        return payload
    message = payload.get("message")
    if not isinstance(message, dict):
        return error(400, "ErrorInvalidParameter", "The message parameter is required.")
    chosen = (message.get("from") or {}).get("emailAddress", {}).get("address")
    if chosen and str(chosen).lower() != mailbox.address.lower():
        return _send_as_denied()
    try:
        raw = mime.compose(message, sender, state.now(), threading={})
    except mime.GraphInputError as exc:
        return error(400, exc.code, exc.message)
    _deliver(state, mailbox, raw, save=payload.get("saveToSentItems", True) is not False)
    return Response(status_code=202)


async def action_on(
    request: Request, mailbox: Mailbox
) -> tuple[Message, dict[str, Any]] | Response:
    """The message a POST action names, and its JSON body; or 404, or 400 for the body."""
    message = mailbox.message(request.path_params["message_id"])
    if message is None:
        return not_found()
    payload = await json_object(request)
    return payload if isinstance(payload, Response) else (message, payload)


async def reply(request: Request, mailbox: Mailbox) -> Response:
    """``POST messages/{id}/reply``: Exchange addresses the sender (or Reply-To), prefixes the
    subject and threads the answer with In-Reply-To and References."""
    state = _state(request)
    found = await action_on(request, mailbox)
    if isinstance(found, Response):
        return found
    original, payload = found
    overrides = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    assert isinstance(overrides, dict)
    parsed = original.parsed
    to = parsed.reply_to or (parsed.sender,)
    subject = (
        parsed.subject if parsed.subject.lower().startswith("re:") else f"RE: {parsed.subject}"
    )
    quoted = "\n".join(f"> {line}" for line in parsed.text_body.splitlines())
    message: dict[str, Any] = {
        "subject": subject,
        "toRecipients": [{"emailAddress": {"name": n, "address": a}} for n, a in to],
        "body": {"contentType": "text", "content": f"{payload.get('comment', '')}\n\n{quoted}"},
        **overrides,
    }
    references = " ".join([*parsed.references, parsed.message_id]).strip()
    threading = {"In-Reply-To": parsed.message_id, "References": references}
    try:
        raw = mime.compose(message, _sender(state, mailbox), state.now(), threading=threading)
    except mime.GraphInputError as exc:
        return error(400, exc.code, exc.message)
    _deliver(state, mailbox, raw, save=True)
    return Response(status_code=202)


def sent_json(sent: SentMail, index: int) -> dict[str, Any]:
    parsed = mime.parse(sent.raw)
    return {
        "index": index,
        "mailbox": sent.mailbox,
        "sentAt": sent.sent_at.isoformat(),
        "recipients": list(sent.recipients),
        "saveToSentItems": sent.save_to_sent_items,
        "subject": parsed.subject,
        "internetMessageId": parsed.message_id,
        "inReplyTo": parsed.in_reply_to or None,
        "references": list(parsed.references),
        "headers": [{"name": n, "value": v} for n, v in parsed.headers],
        "attachments": [
            {"name": a.name, "contentType": a.content_type, "isInline": a.is_inline}
            for a in parsed.attachments
        ],
        "mime": sent.raw.decode("utf-8", "replace"),
    }
