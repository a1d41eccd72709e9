"""``/browse/{key}``: a read-only HTML page where "Open ticket" points, as on a real site.

Not part of the REST API: no authentication, not logged, never faulted. Every value is
escaped and the Content-Security-Policy allows no script.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from . import refdata, seed
from .errors import JiraError
from .text import jira_time
from .wire import Reply

if TYPE_CHECKING:
    from .app import Emulator

CSP = "default-src 'none'; style-src 'unsafe-inline'"


def page(emu: Emulator, key: str) -> Reply:
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
    try:
        issue = emu.store.issue(key)
    except JiraError:
        body = "<!doctype html><title>Issue not found</title><h1>Issue not found</h1>"
        return Reply(404, body, headers, "text/html; charset=utf-8")
    e = html.escape
    status = next(s for s in seed.STATUSES if s["id"] == issue["status"])
    comments = "".join(
        f"<li><b>{e(str((refdata.find_user(c['author']) or {}).get('displayName', '')))}</b> "
        f"{e(jira_time(c['created']))}{' (internal)' if not c['public'] else ''}"
        f"{' (restricted)' if c['visibility'] else ''}<p>{e(c['body']['text'])}</p></li>"
        for c in emu.store.comments_of(issue["id"])
    )
    worklogs = "".join(
        f"<li>{e(w['time_spent'])} on {e(jira_time(w['started']))}</li>"
        for w in emu.store.worklogs_of(issue["id"])
    )
    files = "".join(
        f"<li>{e(a['filename'])} ({a['size']} bytes)</li>"
        for a in emu.store.attachments_of(issue["id"])
    )
    description = e(issue["description"]["text"]) if issue["description"] else ""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>[{e(issue['key'])}] {e(issue['summary'])}</title>"
        f"<h1>{e(issue['key'])}: {e(issue['summary'])}</h1>"
        f"<p>Status: {e(status['name'])} · Labels: {e(' '.join(issue['labels']))}</p>"
        f"<pre>{description}</pre><h2>Comments</h2><ul>{comments}</ul>"
        f"<h2>Work log</h2><ul>{worklogs}</ul><h2>Attachments</h2><ul>{files}</ul></html>"
    )
    return Reply(200, body, headers, "text/html; charset=utf-8")
