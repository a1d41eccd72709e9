"""Autotask extension callouts, read into one value whatever the format (pure, no I/O).

An extension callout is Autotask's legacy round trip: a workflow rule posts a ticket's id,
number, status, created and last-activity times, the tenant's login domain and one UDF value to
a URL we give it (Admin > Extensions & Integrations > Other Extensions & Tools > Extension
Callout (Tickets)). Three formats exist: Name-Value pairs (a GET query string or a POST
``application/x-www-form-urlencoded`` body, here), SOAP 1.1 and XML-RPC
(:mod:`ticketbridge.core.callout_xml`). All three become a :class:`TicketSignal`.

Times are "reported in Eastern time" (Autotask's help page). What arrives in the wild:

- ``2022-03-25T11:23:58.6100000-04:00``: seven fractional digits (.NET ticks), the help page;
- ``2019-10-29T14:14:47.64300000-04:00:00``: eight digits and an hh:mm:ss offset, captured from
  a live tenant (django-autotask's tests, read 2026-03);
- no offset at all: then the wall-clock time is taken in America/New_York.

Fractions are cut to microseconds (never rounded, so a value never moves to the next second)
and every time is handed on in UTC.

Two kinds of bad input are kept apart (zulip's rule): :class:`CalloutUnreadable` for a body we
cannot read at all (anomalous), and the same class with ``unsupported=True`` for one we can read
but that is not a callout we take (a format other than the one configured).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
# More fields than a callout ever sends; a body with more is not a callout.
MAX_FIELDS = 64
MAX_VALUE_LENGTH = 2000
# Autotask ids are int64; a longer digit string is not an id.
MAX_ID_DIGITS = 18


class CalloutFormat(StrEnum):
    NAME_VALUE = "name_value"
    SOAP = "soap"
    XML_RPC = "xml_rpc"


class CalloutUnreadable(ValueError):
    """The request is not a callout we can apply. The message is safe to show (it quotes no
    more than a short, cleaned piece of the input)."""

    def __init__(self, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unsupported = unsupported


@dataclass(frozen=True)
class TicketSignal:
    """What a callout says about one ticket. Times are aware UTC; ``status`` is the status
    label as Autotask sent it (callouts carry labels, not picklist values)."""

    ticket_id: int
    number: str | None = None
    status: str | None = None
    created: datetime | None = None
    last_activity: datetime | None = None
    domain: str | None = None
    udf: str | None = None


# Field names as Autotask's help page lists them ("TicketID", "TicketLastActivityDateTime") and
# as the data format samples send them ("id", "last_activity_datetime"), lower-cased with "_"
# and "-" dropped.
_ALIASES: dict[str, str] = {
    "id": "id",
    "ticketid": "id",
    "number": "number",
    "ticketnumber": "number",
    "status": "status",
    "ticketstatus": "status",
    "createddatetime": "created",
    "ticketcreateddatetime": "created",
    "created": "created",
    "lastactivitydatetime": "last_activity",
    "ticketlastactivitydatetime": "last_activity",
    "lastactivity": "last_activity",
    "domain": "domain",
    "logindomain": "domain",
    "udf": "udf",
    "udfvalue": "udf",
    "ticketudfvalue": "udf",
}


def canonical_name(name: str) -> str | None:
    """The field a callout parameter carries, or None for one we do not use."""
    return _ALIASES.get(name.strip().lower().replace("_", "").replace("-", ""))


_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,12}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?",
    re.ASCII | re.IGNORECASE,
)


def parse_time(text: str | None, *, naive_zone: tzinfo = EASTERN) -> datetime | None:
    """A callout time in UTC; None for an empty value. A time without an offset is wall-clock
    time in ``naive_zone`` (Eastern for callouts). Raises CalloutUnreadable."""
    if text is None or not text.strip():
        return None
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise CalloutUnreadable(f"unreadable time {_quote(text)}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
        )
    except ValueError:
        raise CalloutUnreadable(f"impossible time {_quote(text)}") from None
    if offset is None:
        # Wall-clock time; in a repeated hour (November) the first one is taken.
        aware = local.replace(tzinfo=naive_zone)
    elif offset.upper() == "Z":
        aware = local.replace(tzinfo=UTC)
    else:
        aware = local.replace(tzinfo=_offset(offset, text))
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        raise CalloutUnreadable(f"time out of range {_quote(text)}") from None


def _offset(text: str, whole: str) -> timezone:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes, seconds = int(digits[0:2]), int(digits[2:4] or 0), int(digits[4:6] or 0)
    if hours > 18 or minutes > 59 or seconds > 59:
        raise CalloutUnreadable(f"impossible offset in {_quote(whole)}")
    delta = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return timezone(sign * delta)


def parse_ticket_id(text: str | None) -> int:
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > MAX_ID_DIGITS:
        raise CalloutUnreadable(f"the ticket id {_quote(value)} is not a number")
    number = int(value)
    if number <= 0:
        raise CalloutUnreadable("the ticket id must be positive")
    return number


def signal_from_fields(pairs: Iterable[tuple[str, str]]) -> TicketSignal:
    """A signal from name/value pairs in any of the three formats; the first of a repeated
    name wins, unknown names are ignored."""
    fields: dict[str, str] = {}
    for count, (name, value) in enumerate(pairs, start=1):
        if count > MAX_FIELDS:
            raise CalloutUnreadable(f"more than {MAX_FIELDS} fields")
        key = canonical_name(name)
        if key is not None and key not in fields:
            if len(value) > MAX_VALUE_LENGTH:
                raise CalloutUnreadable(f"the {key} value is over {MAX_VALUE_LENGTH} characters")
            fields[key] = value
    if "id" not in fields:
        raise CalloutUnreadable("no ticket id (id or TicketID) in the callout")
    return TicketSignal(
        ticket_id=parse_ticket_id(fields["id"]),
        number=_text(fields.get("number")),
        status=_text(fields.get("status")),
        created=parse_time(fields.get("created")),
        last_activity=parse_time(fields.get("last_activity")),
        domain=_text(fields.get("domain")),
        udf=_text(fields.get("udf")),
    )


def parse_name_value(query: str, body: bytes, content_type: str | None) -> TicketSignal:
    """Name-Value pairs from a POST form body, or from the query string (GET, or a POST that
    carries them there)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if body.strip():
        if media and media != "application/x-www-form-urlencoded":
            raise CalloutUnreadable(
                f"a Name-Value callout is form-encoded, not {_quote(media)}", unsupported=True
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise CalloutUnreadable("the form body is not UTF-8") from None
        return signal_from_fields(_pairs(text))
    if query:
        return signal_from_fields(_pairs(query))
    raise CalloutUnreadable("the callout carries no fields")


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise CalloutUnreadable(f"more than {MAX_FIELDS} fields") from None


def looks_like(body: bytes, content_type: str | None) -> CalloutFormat | None:
    """The format a request appears to be in, from its content type and first bytes."""
    media = (content_type or "").split(";")[0].strip().lower()
    head = body.lstrip()[:400].lower()
    if media in {"text/xml", "application/xml", "application/soap+xml"} or head.startswith(b"<"):
        if b"methodcall" in head:
            return CalloutFormat.XML_RPC
        return CalloutFormat.SOAP
    if media == "application/x-www-form-urlencoded" or not body.strip():
        return CalloutFormat.NAME_VALUE
    return None


def udf_matches(signal: TicketSignal, wanted: str | None) -> bool:
    """The optional UDF filter of a configured callout: empty lets everything through."""
    if not wanted:
        return True
    return (signal.udf or "").strip().casefold() == wanted.strip().casefold()


def as_fields(signal: TicketSignal) -> Mapping[str, object]:
    """A signal for storage and display (times in ISO 8601 UTC)."""
    return {
        "ticket_id": signal.ticket_id,
        "number": signal.number,
        "status": signal.status,
        "created": signal.created.isoformat() if signal.created else None,
        "last_activity": signal.last_activity.isoformat() if signal.last_activity else None,
        "domain": signal.domain,
        "udf": signal.udf,
    }


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = "".join(c for c in value if c.isprintable()).strip()
    return cleaned or None


def _quote(value: str) -> str:
    cleaned = "".join(c if c.isprintable() else "?" for c in value)
    return repr(cleaned[:60] + ("…" if len(cleaned) > 60 else ""))
