"""What a ticket created from a run says: title, description and idempotency reference.

Design §4.3 and §5A. A ticket is a signal, not a log file: the overall remark leads; without one,
a few object messages stand in for it; identical messages appear once; markup and dumps are
removed. Every description names the job, product and type, run time, status, links to the run's
Job Details page and ends with the marker line that lets a search find the ticket again after
an ambiguous create. The whole text fits the field length; what is cut is the summary, never the
link or the marker. See docs/ticket-rules.md for the decisions behind each choice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from ticketbridge.core.plain_text import cap, clean_block, clean_message, one_line
from ticketbridge.core.statuses import RunStatus, severity
from ticketbridge.core.timezones import is_valid_zone, to_zone

DEFAULT_TITLE_PREFIX = "ticketbridge"
DEFAULT_MAX_LISTED_OBJECTS = 5
# Used when the Tickets metadata gives no length (0 or absent); 8000 and 255 are the values
# commonly cited for Autotask (docs/ticket-rules.md).
DEFAULT_TITLE_MAX_LENGTH = 255
DEFAULT_DESCRIPTION_MAX_LENGTH = 8000
# Autotask documents Tickets.externalID as a 50-character string; the metadata value wins.
DEFAULT_EXTERNAL_ID_MAX_LENGTH = 50

MESSAGE_MAX_CHARS = 300
REMARK_MAX_CHARS = 2000
NAME_MAX_CHARS = 80
FACT_MAX_CHARS = 150
TITLE_MIN_NAME_ROOM = 24

REMARK_OBJECTS_LINE = "Multiple objects reported errors. See ticketbridge for full details."
MORE_OBJECTS_LINE = "And {count} additional objects reported similar errors."
OBJECTS_HEADING = "Objects with errors or warnings:"
NO_DETAILS_LINE = "No remark or object messages were reported for this run."
MISSED_LINE = "No backup report was received for this run."
TRUNCATED_NOTICE = "[Truncated to fit the ticket. Full details in ticketbridge.]"
MARKER_PREFIX = "ticketbridge-ref: "
JOB_DETAILS_LABEL = "Job Details: "

_REFERENCE = re.compile(r"run-\d+@[a-z0-9-]+")
_MARKER_LINE = re.compile(r"^ticketbridge-ref: (run-\d+@[a-z0-9-]+)$", re.MULTILINE)
_INSTALLATION_CHARS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class RunObject:
    name: str
    type: str = ""
    status: RunStatus = RunStatus.SUCCESS
    message: str | None = None


@dataclass(frozen=True)
class RunFacts:
    run_id: int
    job_id: int
    customer_name: str
    job_name: str
    backup_product: str
    job_type: str
    status: RunStatus
    started_at: datetime
    overall_remark: str | None = None
    objects: Sequence[RunObject] = ()

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware")


@dataclass(frozen=True)
class ContentSettings:
    base_url: str
    installation: str
    ui_timezone: str = "UTC"
    title_prefix: str = DEFAULT_TITLE_PREFIX
    max_listed_objects: int = DEFAULT_MAX_LISTED_OBJECTS
    title_max_length: int | None = None
    description_max_length: int | None = None
    external_id_max_length: int | None = None

    def __post_init__(self) -> None:
        base_url_problem = check_base_url(self.base_url)
        if base_url_problem:
            raise ValueError(base_url_problem)
        if not is_valid_zone(self.ui_timezone):
            raise ValueError(f"unknown timezone {self.ui_timezone!r}")
        if self.max_listed_objects < 0:
            raise ValueError("max_listed_objects must not be negative")

    @property
    def title_limit(self) -> int:
        return self.title_max_length or DEFAULT_TITLE_MAX_LENGTH

    @property
    def description_limit(self) -> int:
        return self.description_max_length or DEFAULT_DESCRIPTION_MAX_LENGTH

    @property
    def external_id_limit(self) -> int:
        return self.external_id_max_length or DEFAULT_EXTERNAL_ID_MAX_LENGTH


@dataclass(frozen=True)
class TicketContent:
    title: str
    description: str
    external_id: str
    job_details_url: str
    truncated: bool = field(default=False)


class DescriptionTooShort(ValueError):
    """The field cannot even hold the Job Details link and the marker line."""


def check_base_url(base_url: str) -> str | None:
    """Why a base URL cannot build links (design §7.3A), or None when it can."""
    if not base_url or not base_url.strip():
        return "The base URL is not set."
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "The base URL must be an absolute http(s) URL."
    if parts.query or parts.fragment:
        return "The base URL must not have a query or fragment."
    return None


def job_details_url(base_url: str, job_id: int, run_id: int) -> str:
    return f"{base_url.strip().rstrip('/')}/jobs/{job_id}/runs/{run_id}"


def run_reference(
    run_id: int, installation: str, max_length: int = DEFAULT_EXTERNAL_ID_MAX_LENGTH
) -> str:
    """The run's stable reference, used both as externalID and in the marker line.

    The installation part keeps two ticketbridge instances on one Autotask tenant apart. When it
    would not fit the externalID length it is replaced by a hash prefix, so the value stays
    stable and unique per installation.
    """
    slug = _INSTALLATION_CHARS.sub("-", installation.strip().lower()).strip("-") or "default"
    head = f"run-{run_id}@"
    room = max_length - len(head)
    if len(slug) <= room:
        return head + slug
    if room < 6:
        raise ValueError(f"an externalID of {max_length} characters cannot hold run {run_id}")
    return head + hashlib.sha256(slug.encode()).hexdigest()[:room]


def marker_line(reference: str) -> str:
    return MARKER_PREFIX + reference


def find_reference(description: str | None) -> str | None:
    """The reference in a ticket description's marker line, if it has one."""
    match = _MARKER_LINE.search(description or "")
    return match.group(1) if match else None


def is_reference(value: str | None) -> bool:
    return bool(value and _REFERENCE.fullmatch(value))


def compose_ticket(facts: RunFacts, settings: ContentSettings) -> TicketContent:
    reference = run_reference(facts.run_id, settings.installation, settings.external_id_limit)
    url = job_details_url(settings.base_url, facts.job_id, facts.run_id)
    title = compose_title(
        settings.title_prefix,
        facts.customer_name,
        facts.job_name,
        facts.status,
        settings.title_limit,
    )
    description, truncated = _fit(
        summary=compose_summary(facts, settings.max_listed_objects),
        facts_lines=_fact_lines(facts, settings.ui_timezone),
        link=JOB_DETAILS_LABEL + url,
        marker=marker_line(reference),
        limit=settings.description_limit,
    )
    return TicketContent(title, description, reference, url, truncated)


def compose_title(prefix: str, customer: str, job: str, status: RunStatus, limit: int) -> str:
    """`[<prefix>] <Customer> - <Job> - <Status>` in at most `limit` characters.

    Customer and job give way first (the longer one more), then the prefix; the status is the
    last thing cut, only when nothing else is left.
    """
    customer = one_line(customer) or "Unknown customer"
    job = one_line(job) or "Unknown job"
    prefix = one_line(prefix)
    status_part = f" - {status.label}"
    # The prefix stays while customer and job keep a readable share; past that, names matter
    # more to the ticket owner than the prefix does.
    for head, needed in ([(f"[{prefix}] ", TITLE_MIN_NAME_ROOM)] if prefix else []) + [("", 2)]:
        room = limit - len(head) - len(" - ") - len(status_part)
        if room >= needed:
            kept_customer, kept_job = _share(customer, job, room)
            return f"{head}{kept_customer} - {kept_job}{status_part}"
    return cap(status.label, limit)


def _share(first: str, second: str, room: int) -> tuple[str, str]:
    if len(first) + len(second) <= room:
        return first, second
    half = room // 2
    if len(first) <= half:
        return first, cap(second, room - len(first))
    if len(second) <= room - half:
        return cap(first, room - len(second)), second
    return cap(first, half), cap(second, room - half)


def compose_summary(facts: RunFacts, max_listed: int) -> str:
    """The leading part of the description (design §5A.2-5A.4)."""
    remark = clean_block(facts.overall_remark, REMARK_MAX_CHARS)
    problems = [o for o in facts.objects if severity(o.status) >= severity(RunStatus.WARNING)]
    if remark:
        if any(severity(o.status) > severity(RunStatus.WARNING) for o in problems):
            return f"{remark}\n\n{REMARK_OBJECTS_LINE}"
        return remark
    if problems:
        return _object_listing(problems, max_listed)
    return MISSED_LINE if facts.status is RunStatus.MISSED else NO_DETAILS_LINE


def _object_listing(problems: Sequence[RunObject], max_listed: int) -> str:
    # One entry per distinct (status, message): identical messages are shown once with every
    # object named that reported them, worst status first, then in report order.
    groups: dict[tuple[RunStatus, str], list[RunObject]] = {}
    for obj in problems:
        message = clean_message(obj.message, MESSAGE_MAX_CHARS)
        groups.setdefault((obj.status, message.casefold()), []).append(obj)
    ordered = sorted(groups.items(), key=lambda item: -severity(item[0][0]))
    lines = [OBJECTS_HEADING]
    named = 0
    for (status, _), members in ordered:
        shown = members[: max(0, max_listed - named)]
        if not shown:
            break
        named += len(shown)
        names = ", ".join(_object_name(o) for o in shown)
        message = clean_message(members[0].message, MESSAGE_MAX_CHARS)
        lines.append(f"- {names} [{status.label}]" + (f": {message}" if message else ""))
    if len(lines) == 1:
        lines = []
    hidden = len(problems) - named
    if hidden:
        lines.append(MORE_OBJECTS_LINE.format(count=hidden))
    return "\n".join(lines)


def _object_name(obj: RunObject) -> str:
    name = cap(one_line(obj.name) or "(unnamed)", NAME_MAX_CHARS)
    kind = cap(one_line(obj.type), NAME_MAX_CHARS // 2)
    return f"{name} ({kind})" if kind else name


def _fact_lines(facts: RunFacts, zone: str) -> list[str]:
    local = to_zone(facts.started_at, zone)
    abbreviation = local.strftime("%Z")
    when = local.strftime("%Y-%m-%d %H:%M")
    when += f" {abbreviation}" if abbreviation == zone else f" {abbreviation} ({zone})"
    backup = ", ".join(p for p in (_fact(facts.backup_product), _fact(facts.job_type)) if p)
    return [
        f"Customer: {_fact(facts.customer_name) or 'Unknown customer'}",
        f"Job: {_fact(facts.job_name) or 'Unknown job'}",
        f"Backup: {backup or 'Unknown'}",
        f"Run: {when}",
        f"Status: {facts.status.label}",
    ]


# Which fact line goes first when even a cut summary leaves no room: job, run time and status
# are the mandatory content of §5A.5, so customer and product go before them.
_FACT_DROP_ORDER = (0, 2, 3, 4, 1)


def _fact(value: str) -> str:
    return cap(one_line(value), FACT_MAX_CHARS)


def _fit(
    summary: str, facts_lines: list[str], link: str, marker: str, limit: int
) -> tuple[str, bool]:
    """Join the parts within `limit`: cut the summary first, then drop fact lines.

    The link and the marker line are never cut: without them the ticket can be neither traced
    back to the run nor found again after an ambiguous create.
    """
    tail = f"{link}\n\n{marker}"
    if len(tail) > limit:
        raise DescriptionTooShort(f"{limit} characters cannot hold the link and the marker")

    def assemble(head: str, shown: list[str]) -> str:
        return "\n\n".join(part for part in (head, "\n".join(shown), tail) if part)

    full = assemble(summary, facts_lines)
    if len(full) <= limit:
        return full, False
    shown = list(facts_lines)
    for drop in (None, *_FACT_DROP_ORDER):
        if drop is not None:
            shown.remove(facts_lines[drop])
        room = limit - len(assemble("", shown)) - 2
        head = _cut_summary(summary, room)
        if head is not None:
            return assemble(head, shown), True
    return tail, True


def _cut_summary(summary: str, room: int) -> str | None:
    """The summary within `room` characters, ending in the visible truncation notice; None when
    not even the notice fits."""
    if room < len(TRUNCATED_NOTICE):
        return None
    budget = room - len(TRUNCATED_NOTICE) - 1
    if len(summary) <= budget:
        return f"{summary}\n{TRUNCATED_NOTICE}"
    if budget < 20:
        return TRUNCATED_NOTICE
    # A whole line reads better than half a sentence, unless that throws away too much.
    newline = summary.rfind("\n", 0, budget + 1)
    head = summary[:newline].rstrip() if newline >= budget * 3 // 5 else cap(summary, budget)
    return f"{head}\n{TRUNCATED_NOTICE}"
