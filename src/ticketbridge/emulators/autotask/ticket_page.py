"""A small read-only web page for one ticket, where Autotask's "open ticket" URL points.

Autotask opens a ticket in its web UI at ``<webUrl>Autotask/AutotaskExtend/ExecuteCommand.aspx
?Code=OpenTicketDetail&TicketID=<id>``; zone discovery gives out the emulator as ``webUrl``, so
the product's Open ticket button lands here. The page shows what a newcomer wants to see of the
ticket the product created (title, status, company, notes, time entries) and nothing else:
no API users, no secrets, no forms. It is not part of the REST API, so it is neither logged,
counted against the request threshold nor hit by faults.

Every value is escaped; the only style is one inline block allowed by its hash, so the page
keeps a strict Content-Security-Policy (no script at all).
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from typing import TYPE_CHECKING, Any

from .store import Row, Store
from .wire import Call, Reply

if TYPE_CHECKING:
    from .app import Emulator

PATH = ["autotask", "autotaskextend", "executecommand.aspx"]
OPEN_TICKET = "openticketdetail"
TICKET_ID = re.compile(r"[0-9]{1,18}")
STATUS_COMPLETE = 5

STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d232b}"
    "header{background:#0f3057;color:#fff;padding:.6rem 1.2rem}"
    "main{max-width:960px;margin:0 auto;padding:1rem 1.2rem}"
    "h1{font-size:1.35rem;margin:.2rem 0 .8rem}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;"
    "padding:.8rem;border:1px solid #d9dee4;margin:0}dt{color:#4b5560}dd{margin:0}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{border-bottom:1px solid #d9dee4;padding:.35rem .5rem;text-align:left;"
    "vertical-align:top}td.text,.description{white-space:pre-wrap;overflow-wrap:anywhere}"
    ".description{background:#fff;border:1px solid #d9dee4;padding:.8rem;margin:0}"
    ".note{color:#4b5560;font-size:.9em}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HEADERS = {
    "content-security-policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def handle(emulator: Emulator, call: Call, low: list[str]) -> Reply:
    """Answer a request under ``/Autotask/``: the ticket page, or a small HTML error page."""
    if call.method not in ("GET", "HEAD"):
        reply = _page(405, "Method not allowed", "<p>This page can only be read.</p>")
        reply.headers["allow"] = "GET, HEAD"
        return reply
    if low != PATH:
        return _not_found("The emulator serves only the ticket detail page here.")
    query = {key.lower(): value for key, value in call.query.items()}
    if query.get("code", "").lower() != OPEN_TICKET:
        return _not_found("The emulator opens tickets only (Code=OpenTicketDetail).")
    ticket_id = query.get("ticketid", "")
    if not TICKET_ID.fullmatch(ticket_id):
        return _not_found("TicketID must be a ticket's numeric id.")
    ticket = emulator.store.get("Tickets", int(ticket_id))
    if ticket is None:
        return _not_found(f"There is no ticket {int(ticket_id)} (it may have been deleted).")
    return _page(200, _ticket_title(ticket), _ticket_body(emulator.store, ticket))


def _not_found(message: str) -> Reply:
    return _page(404, "Ticket not found", f"<p>{escape(message)}</p>")


def _page(status: int, title: str, body: str) -> Reply:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Autotask emulator</title><style>{STYLE}</style></head>"
        "<body><header>Autotask emulator · read-only ticket view</header>"
        f'<main id="main"><h1>{escape(title)}</h1>{body}'
        '<p class="note">Served by the ticketbridge Autotask emulator. In a real tenant this '
        "address opens the ticket in Autotask.</p></main></body></html>"
    )
    return Reply(status, html.encode(), dict(HEADERS), content_type="text/html; charset=utf-8")


def _ticket_title(ticket: Row) -> str:
    return f"{ticket.get('ticketNumber') or ticket['id']} · {ticket.get('title') or ''}"


def _when(value: Any) -> str:
    """The wire form (``2026-03-02T14:30:00.000Z``) as ``2026-03-02 14:30 UTC``."""
    if not isinstance(value, str) or len(value) < 16:
        return ""
    return f"{value[:10]} {value[11:16]} UTC"


def _label(store: Store, entity: str, field: str, value: Any) -> str:
    if value is None:
        return ""
    return store.picklist_label(entity, field, value) or str(value)


def _resource(store: Store, resource_id: Any) -> str:
    row = store.get("Resources", resource_id) if isinstance(resource_id, int) else None
    if row is None:
        return "" if resource_id is None else f"resource {resource_id}"
    return f"{row.get('firstName', '')} {row.get('lastName', '')}".strip()


def _company(store: Store, company_id: Any) -> str:
    row = store.get("Companies", company_id) if isinstance(company_id, int) else None
    if row is None:
        return "" if company_id is None else f"company {company_id}"
    return f"{row.get('companyName', '')} ({company_id})"


def _ticket_body(store: Store, ticket: Row) -> str:
    facts = [
        ("Ticket number", ticket.get("ticketNumber") or ""),
        ("Ticket id", str(ticket["id"])),
        ("Status", _label(store, "Tickets", "status", ticket.get("status"))),
        ("Company", _company(store, ticket.get("companyID"))),
        ("Priority", _label(store, "Tickets", "priority", ticket.get("priority"))),
        ("Queue", _label(store, "Tickets", "queueID", ticket.get("queueID"))),
        ("Created", _when(ticket.get("createDate"))),
        ("Last activity", _when(ticket.get("lastActivityDate"))),
    ]
    if ticket.get("status") == STATUS_COMPLETE:
        facts.append(("Completed", _when(ticket.get("completedDate"))))
    parts = [
        "<dl>"
        + "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
        + "</dl>",
        "<h2>Description</h2>",
        f'<p class="description">{escape(ticket.get("description") or "(none)")}</p>',
        _notes(store, ticket["id"]),
        _time_entries(store, ticket["id"]),
    ]
    return "".join(parts)


def _children(store: Store, entity: str, ticket_id: int) -> list[Row]:
    rows = [row for row in store.table(entity).values() if row.get("ticketID") == ticket_id]
    return sorted(rows, key=lambda row: row["id"])


def _notes(store: Store, ticket_id: int) -> str:
    notes = _children(store, "TicketNotes", ticket_id)
    if not notes:
        return "<h2>Notes</h2><p>No notes.</p>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(_when(note.get('createDateTime')))}</td>"
        f"<td>{escape(_label(store, 'TicketNotes', 'noteType', note.get('noteType')))}</td>"
        f"<td>{escape(_label(store, 'TicketNotes', 'publish', note.get('publish')))}</td>"
        f"<td>{escape(note.get('title') or '')}</td>"
        f'<td class="text">{escape(note.get("description") or "")}</td>'
        "</tr>"
        for note in notes
    )
    return (
        f"<h2>Notes ({len(notes)})</h2><table><thead><tr>"
        '<th scope="col">Created</th><th scope="col">Type</th><th scope="col">Published to</th>'
        '<th scope="col">Title</th><th scope="col">Text</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _time_entries(store: Store, ticket_id: int) -> str:
    entries = _children(store, "TimeEntries", ticket_id)
    if not entries:
        return "<h2>Time entries</h2><p>No time entries.</p>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(_when(entry.get('startDateTime') or entry.get('dateWorked')))}</td>"
        f"<td>{escape(_resource(store, entry.get('resourceID')))}</td>"
        f"<td>{escape(str(entry.get('hoursWorked') or ''))}</td>"
        f'<td class="text">{escape(entry.get("summaryNotes") or "")}</td>'
        "</tr>"
        for entry in entries
    )
    return (
        f"<h2>Time entries ({len(entries)})</h2><table><thead><tr>"
        '<th scope="col">Worked</th><th scope="col">Resource</th><th scope="col">Hours</th>'
        '<th scope="col">Summary</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )
