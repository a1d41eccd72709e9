"""Times as backup mails print them: local, often without an offset, sometimes without a date.

The rule (see docs/parsers.md): a body time without an offset is local to the sender, and the
sender's offset is the one on the mail's ``Date:`` header. Everything returned is UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("january", "jan", "januar", "januari", "janvier", "janv", "jänner"),
        ("february", "feb", "februar", "februari", "février", "févr", "fev"),
        ("march", "mar", "märz", "maerz", "maart", "mrt", "mars"),
        ("april", "apr", "avril", "avr"),
        ("may", "mai", "mei"),
        ("june", "jun", "juni", "juin"),
        ("july", "jul", "juli", "juillet", "juil"),
        ("august", "aug", "augustus", "août", "aout"),
        ("september", "sep", "sept", "septembre"),
        ("october", "oct", "oktober", "okt", "octobre"),
        ("november", "nov", "novembre"),
        ("december", "dec", "dezember", "dez", "décembre", "déc"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _number

_CLOCK = re.compile(
    r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s*(am|pm|a\.m\.|p\.m\.)?(?![\d:])", re.I
)
_PLUS_DAYS = re.compile(r"\(\+(\d+)\)")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_NUM_DATE = re.compile(r"(?<![\d.])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?![\d])")
_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
_NUMBER = re.compile(r"(?<![\d:])(\d{1,4})(?![\d:])")
_EPOCH = re.compile(r"\((\d{9,11})\)")


def sender_zone(mail_date: datetime | None) -> tzinfo:
    """The zone body times are read in: the ``Date:`` header's offset, else UTC."""
    if mail_date is not None and mail_date.tzinfo is not None:
        return mail_date.tzinfo
    return UTC


def to_utc(naive: datetime, mail_date: datetime | None) -> datetime:
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=sender_zone(mail_date)).astimezone(UTC)


def local_day(mail_date: datetime | None) -> date | None:
    """The calendar day of the mail in the sender's own zone."""
    return None if mail_date is None else mail_date.date()


def parse_clock(text: str) -> tuple[time, int] | None:
    """'22:05:12', '10:05 PM', '00:05:12 (+1)' -> (time, days after the reference day)."""
    found = _CLOCK.search(text)
    if not found:
        return None
    hour, minute, second = int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)
    meridiem = (found.group(4) or "").lower().replace(".", "")
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    plus = _PLUS_DAYS.search(text)
    return time(hour, minute, second), int(plus.group(1)) if plus else 0


def parse_date(text: str, *, day_first: bool | None = None) -> date | None:
    """A calendar date in ISO, numeric or long localised form; None when there is none.

    Numeric dates with '.' are day first (European); with '/' they are month first unless the
    first number cannot be a month or ``day_first`` says otherwise.
    """
    found = _ISO_DATE.search(text)
    if found:
        return _safe_date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    found = _NUM_DATE.search(text)
    if found:
        first, sep, second, year_text = found.groups()
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        a, b = int(first), int(second)
        dayfirst = day_first if day_first is not None else sep in ".-" or a > 12
        return _safe_date(year, b, a) if dayfirst else _safe_date(year, a, b)
    return _long_date(text)


def _long_date(text: str) -> date | None:
    # Long forms: 'Thursday, January 4, 2024', 'Donnerstag, 4. Januar 2024', 'jeudi 4 janvier
    # 2024', 'Fri Jul 24 07:01:02 2026'. Clock times are removed so their digits are not taken.
    cleaned = _CLOCK.sub(" ", text)
    month = None
    month_end = 0
    for word in _WORD.finditer(cleaned):
        key = word.group(0).lower().rstrip(".")
        if key in _MONTHS:
            month, month_end = _MONTHS[key], word.end()
            break
    if month is None:
        return None
    numbers = [(m.start(), int(m.group(1))) for m in _NUMBER.finditer(cleaned)]
    years = [n for _, n in numbers if n >= 1970]
    days = [(pos, n) for pos, n in numbers if 1 <= n <= 31]
    if not years or not days:
        return None
    # The day is the small number nearest to the month name.
    day = min(days, key=lambda item: abs(item[0] - month_end))[1]
    return _safe_date(years[0], month, day)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_datetime(
    text: str, mail_date: datetime | None, *, day_first: bool | None = None
) -> datetime | None:
    """A date-and-time in body text, read in the sender's zone and returned in UTC.

    A time with no date takes the day of the mail's ``Date:`` header (in the sender's zone).
    None when the text holds no time (an empty or missing field included).
    """
    epoch = _EPOCH.search(text)
    if epoch:
        return datetime.fromtimestamp(int(epoch.group(1)), UTC)
    clock = parse_clock(text)
    day = parse_date(text, day_first=day_first)
    if day is None:
        day = local_day(mail_date)
    if day is None or clock is None:
        return None
    moment, plus = clock
    return to_utc(datetime.combine(day + timedelta(days=plus), moment), mail_date)


def on_day(day: date | None, text: str, mail_date: datetime | None) -> datetime | None:
    """A date-less clock time ('22:05:12', '00:01:02 (+1)') on ``day`` (default: the mail's)."""
    clock = parse_clock(text)
    base = day or local_day(mail_date)
    if clock is None or base is None:
        return None
    moment, plus = clock
    return to_utc(datetime.combine(base + timedelta(days=plus), moment), mail_date)


_DURATION_UNITS = (
    (re.compile(r"(\d+)\s*(?:d|days?|tage?n?|dagen|dag|jours?|j)\b", re.I), 86400),
    (re.compile(r"(\d+)\s*(?:h|hours?|hrs?|stunden?|stunde\(n\)|uur|uren|heures?)\b", re.I), 3600),
    (re.compile(r"(\d+)\s*(?:m|mins?|minutes?|minuten?|minute\(n\)|minuut)\b", re.I), 60),
    (
        re.compile(
            r"(\d+)\s*(?:s|secs?|seconds?|sekunden?|sekunde\(n\)|seconden?|secondes?)\b", re.I
        ),
        1,
    ),
)
_HMS = re.compile(r"(?<![\d:])(?:(\d+)\.)?(\d{1,3}):(\d{2}):(\d{2})(?:\.\d+)?(?![\d:])")


def parse_duration(text: str) -> timedelta | None:
    """'0:07:26', '00:03:06.6072410', '1.02:03:04', '9m 28s', '2 Stunde(n) 5 Minute(n)'.

    None when the text holds no duration (an empty or missing field included).
    """
    found = _HMS.search(text)
    if found:
        days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    total = 0
    matched = False
    for pattern, factor in _DURATION_UNITS:
        unit = pattern.search(text)
        if unit:
            matched = True
            total += int(unit.group(1)) * factor
    return timedelta(seconds=total) if matched else None
