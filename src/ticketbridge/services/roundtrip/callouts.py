"""Extension callouts: check one, and apply a stored one (replay).

A callout names its configured endpoint in the URL. Its HTTP basic credentials are compared in
constant time (wrong: 401, nothing applied), the body is read in the configured format
(unreadable or another format: 400, kept), the optional UDF filter applied, and the signal
applied at once (:mod:`apply`): a hint, confirmed by a read shortly after (:mod:`polling`). A
callout for a ticket no run links is kept and answered 200: there is nothing for Autotask to
retry. Requests arriving over HTTP are received in batches, one transaction each
(:mod:`callout_batch`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ticketbridge.core.callout_xml import parse_soap, parse_xml_rpc
from ticketbridge.core.callouts import (
    CalloutFormat,
    CalloutUnreadable,
    TicketSignal,
    as_fields,
    looks_like,
    parse_name_value,
    udf_matches,
)
from ticketbridge.core.ticket_observations import Observation, Source
from ticketbridge.services.roundtrip import apply, config, hook_log
from ticketbridge.services.roundtrip.receipt import Answer, Incoming
from ticketbridge.storage.models import CalloutEndpoint, HookRequest
from ticketbridge.storage.secrets import SecretBox

CHANNEL = "callout"
CHALLENGE = {"WWW-Authenticate": 'Basic realm="ticketbridge callouts", charset="UTF-8"'}


def basic_credentials(incoming: Incoming) -> tuple[str, str] | None:
    scheme, _, token = (incoming.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    username, colon, password = text.partition(":")
    return (username, password) if colon else None


def authorised(box: SecretBox, endpoint: CalloutEndpoint, incoming: Incoming) -> bool:
    credentials = basic_credentials(incoming)
    if credentials is None:
        # Compare anyway, so that a missing header takes as long as a wrong one.
        config.credentials_match(box, endpoint, "", "")
        return False
    return config.credentials_match(box, endpoint, *credentials)


def read_signal(fmt: str, incoming: Incoming) -> tuple[TicketSignal, dict[str, str]]:
    """The signal in the configured format, and notes on how it was read."""
    content_type = incoming.header("content-type")
    seen = looks_like(incoming.body, content_type)
    if incoming.method == "GET" and fmt != CalloutFormat.NAME_VALUE:
        raise CalloutUnreadable(f"a {fmt} callout is POSTed, not sent with GET", unsupported=True)
    if seen is not None and seen != fmt:
        raise CalloutUnreadable(f"expected {fmt}, received {seen.value}", unsupported=True)
    if fmt == CalloutFormat.NAME_VALUE:
        return parse_name_value(incoming.query, incoming.body, content_type), {}
    if fmt == CalloutFormat.SOAP:
        soap = parse_soap(incoming.body, incoming.header("soapaction"))
        return soap.signal, {k: v for k, v in (("method", soap.method), ("note", soap.note)) if v}
    rpc = parse_xml_rpc(incoming.body)
    return rpc.signal, {"method": rpc.method} if rpc.method else {}


@dataclass(frozen=True)
class Refused:
    """A callout answered before anything is applied, and what to keep on its row."""

    answer: Answer
    error: str | None = None
    ticket_id: int | None = None
    parsed: dict[str, Any] = field(default_factory=dict)


def check(
    box: SecretBox, endpoint: CalloutEndpoint, incoming: Incoming
) -> Refused | tuple[TicketSignal, dict[str, Any]]:
    """The signal to apply and how it was read, or why it is answered without applying."""
    if not authorised(box, endpoint, incoming):
        return Refused(
            Answer(401, "authentication required", "rejected", CHALLENGE),
            "wrong or missing user name and password",
        )
    return readable(endpoint, incoming)


def readable(
    endpoint: CalloutEndpoint, incoming: Incoming
) -> Refused | tuple[TicketSignal, dict[str, Any]]:
    """The body read in the endpoint's format and past its UDF filter (credentials aside)."""
    try:
        signal, notes = read_signal(endpoint.format, incoming)
    except CalloutUnreadable as exc:
        outcome = "unsupported" if exc.unsupported else "unreadable"
        return Refused(Answer(400, exc.message, outcome), exc.message)
    parsed = dict(as_fields(signal)) | notes
    if not udf_matches(signal, endpoint.udf_filter):
        answer = Answer(200, "filtered out by the UDF filter", "filtered")
        return Refused(answer, ticket_id=signal.ticket_id, parsed=parsed)
    return signal, parsed


def apply_request(
    session: Session,
    row: HookRequest,
    endpoint: CalloutEndpoint,
    incoming: Incoming,
    now: datetime,
) -> Answer:
    checked = readable(endpoint, incoming)
    if isinstance(checked, Refused):
        hook_log.finish(
            row, checked.answer.outcome, error=checked.error, ticket_id=checked.ticket_id,
            parsed=checked.parsed or None,
        )  # fmt: skip
        return checked.answer
    signal, parsed = checked
    observation = Observation(
        ticket_id=signal.ticket_id,
        source=Source.CALLOUT,
        last_activity=signal.last_activity,
        status_label=signal.status,
    )
    result = apply.apply(
        session,
        observation,
        now=now,
        lists=apply.status_lists(session),
        announced=signal.last_activity,
    )
    hook_log.finish(row, result.outcome, ticket_id=signal.ticket_id, parsed=parsed)
    return Answer(200, result.outcome, result.outcome)
