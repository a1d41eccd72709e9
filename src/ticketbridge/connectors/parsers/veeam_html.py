"""Reads the Veeam job-report HTML shared by B&R, Veeam Agent, vee-mail and VB365 mails.

The report is a table layout with class hooks: ``jobDescription`` under the title and status
cells, ``sessionDetails`` (the session start as a localised long date), a label/value summary
grid with the session remark in a ``small_label`` span, then a ``processObjectsHeader`` row
naming the object columns. Reading goes by those hooks and by column names, never by exact
attribute strings, because mail gateways rewrite attributes (``nowrap=""``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from ticketbridge.connectors.parsers.htmltext import Element, parse_html
from ticketbridge.connectors.parsers.timeparse import on_day, parse_date
from ticketbridge.core.reports import ParsedObject
from ticketbridge.core.statuses import RunStatus

# Veeam's own words; "Failed" is an error result (the job ran), Pending/None show on copy jobs
# still waiting and are treated as warnings, as Veeam's own report generator does.
VEEAM_STATUS = {
    "success": RunStatus.SUCCESS,
    "warning": RunStatus.WARNING,
    "failed": RunStatus.ERROR,
    "error": RunStatus.ERROR,
    "pending": RunStatus.WARNING,
    "none": RunStatus.WARNING,
    "in progress": RunStatus.WARNING,
}
_GRID_LABELS = (
    "start time",
    "end time",
    "duration",
    "total size",
    "backup size",
    "data read",
    "dedupe",
    "transferred",
    "compression",
    "processing rate",
    "bottleneck",
    "read",
    "processed",
    "success",
    "warning",
    "warnings",
    "error",
    "errors",
)
_TITLE = re.compile(r"^(?P<type>.*?)\s*job\s*:\s*(?P<name>.+)$", re.I)
_FOOTER = re.compile(
    r"(Veeam (?:Backup & Replication|Agent for \w+|Backup for Microsoft 365|"
    r"Backup for Microsoft Office 365)[^<\n]*)",
    re.I,
)


@dataclass
class VeeamSession:
    title: str = ""
    job_type: str = ""
    job_name: str = ""
    description: str = ""
    raw_status: str = ""
    status: RunStatus | None = None
    processed: str = ""
    session_day: date | None = None
    grid: dict[str, str] = field(default_factory=dict)
    remark: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    objects: list[ParsedObject] = field(default_factory=list)
    footer: str = ""


def looks_like_report(html: str) -> bool:
    return "jobDescription" in html or "processObjectsHeader" in html


def read_session(html: str, mail_date: datetime | None) -> VeeamSession | None:
    """The session in a Veeam report, or None when the HTML is not one."""
    if not looks_like_report(html):
        return None
    root = parse_html(html)
    session = VeeamSession()
    _read_header(root, session)
    details = next(root.find_class("sessionDetails"), None)
    if details is not None:
        session.session_day = parse_date(details.text())
    _read_grid(root, session)
    session.started_at = _grid_time(session, "start time", mail_date)
    session.ended_at = _grid_time(session, "end time", mail_date)
    session.objects = read_objects(root, session.session_day, mail_date)
    # The footer is the last line; the product name can also appear earlier in a forward.
    footer = _FOOTER.search(root.text()[-400:])
    session.footer = footer.group(1).strip() if footer else ""
    return session


def _direct_text(node: Element) -> str:
    return " ".join(" ".join(c for c in node.children if isinstance(c, str)).split())


def _read_header(root: Element, session: VeeamSession) -> None:
    descriptions = list(root.find_class("jobDescription"))
    cells = [d.parent for d in descriptions if d.parent is not None]
    if cells:
        session.title = _direct_text(cells[0]) or cells[0].text()
        session.description = descriptions[0].text()
        title = _TITLE.match(session.title)
        if title:
            session.job_type = title.group("type").strip()
            session.job_name = title.group("name").strip()
    if len(cells) > 1:
        session.raw_status = _direct_text(cells[1])
        session.processed = descriptions[1].text()
        session.status = VEEAM_STATUS.get(session.raw_status.lower())


def _read_grid(root: Element, session: VeeamSession) -> None:
    for row in root.iter("tr"):
        if "processObjectsHeader" in row.classes():
            break
        cells = row.cells()
        texts = [c.text() for c in cells]
        for index, label in enumerate(texts[:-1]):
            key = label.lower()
            if key in _GRID_LABELS and key not in session.grid:
                session.grid[key] = texts[index + 1]
        for cell in cells:
            if cell.attrs.get("rowspan") and not session.remark:
                remark = next(cell.find_class("small_label"), None)
                if remark is not None:
                    session.remark = remark.text()


def _grid_time(session: VeeamSession, key: str, mail_date: datetime | None) -> datetime | None:
    value = session.grid.get(key, "")
    return on_day(session.session_day, value, mail_date) if value else None


def read_objects(
    root: Element, session_day: date | None, mail_date: datetime | None
) -> list[ParsedObject]:
    """Object rows under each ``processObjectsHeader`` row, by column name."""
    objects: list[ParsedObject] = []
    for header in root.find_class("processObjectsHeader"):
        columns = [c.text().lower() for c in header.cells()]
        if "name" not in columns or "status" not in columns:
            continue
        table = header.parent
        if table is None:
            continue
        rows = [c for c in table.children if isinstance(c, Element) and c.tag == "tr"]
        for row in rows[rows.index(header) + 1 :]:
            cells = row.cells()
            if len(cells) != len(columns):
                if objects:
                    break  # the next section of the report starts here
                continue
            values = {name: cell.text() for name, cell in zip(columns, cells, strict=True)}
            raw = values.get("status", "")
            status = VEEAM_STATUS.get(raw.lower())
            if status is None:
                continue
            objects.append(
                ParsedObject(
                    name=values.get("name", ""),
                    type=values.get("type", ""),
                    status=status,
                    message=values.get("details", ""),
                )
            )
    return objects
