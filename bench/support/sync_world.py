"""The world bench/sync.py syncs: the Autotask emulator holding many changed tickets with their
notes and files, and an empty Jira emulator, both served by uvicorn on loopback ports in a
process of their own (so the bench's memory figures are the sync's, not the emulators').

Every request either emulator answers is counted at the server by :class:`Counted`, an ASGI
wrapper, by kind: reads (queries, searches, GETs), file contents (downloads) and writes. The
counts are read and cleared over ``/_bench/counts``, which is not counted.

The changed tickets are made the way the PSA would hold them: one ticket, one note and one file
go through the emulator's REST API, and the rest are copies of those rows with their own ids,
titles, texts and bytes (27,000 API calls would take the bench longer than the sync).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx

from tests.web.serving import serve
from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    InProcessTransport,
)
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import create_app as create_jira

COUNTS_PATH = "/_bench/counts"
_NUMBER = re.compile(r"/\d+")
ACME = "Acme Logistics Inc."
API = "/ATServicesRest/V1.0"
_DOWNLOAD = (
    re.compile(r"/Tickets/\d+/Attachments/\d+$"),  # Autotask: one file with its bytes
    re.compile(r"/attachment/content/\d+$"),  # Jira Cloud
    re.compile(r"^/secure/attachment/"),  # Jira Data Center
)


@dataclass(frozen=True)
class Size:
    tickets: int
    notes: int
    files: int

    def __str__(self) -> str:
        return f"{self.tickets:,} tickets, {self.notes:,} notes, {self.files:,} files"


def kind_of(method: str, path: str) -> str:
    """read, file (a file's content) or write."""
    if any(pattern.search(path) for pattern in _DOWNLOAD):
        return "file"
    if method == "GET" or path.endswith(("/query", "/query/next", "/search/jql", "/search")):
        return "read"
    return "write"


class Counted:
    """An ASGI app that counts each HTTP request of ``app`` by kind."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.paths: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == COUNTS_PATH:
            await self._counts(scope, send)
            return
        if not scope["path"].startswith("/_emulator"):
            kind = kind_of(scope["method"], scope["path"])
            self.counts[kind] += 1
            # Where the requests go: the path with its ids made one.
            path = _NUMBER.sub("/N", scope["path"])
            self.paths[f"{kind} {scope['method']} {path}"] += 1
        await self.app(scope, receive, send)

    async def _counts(self, scope: Any, send: Any) -> None:
        body = json.dumps({"counts": self.counts, "paths": self.paths}).encode()
        if scope["method"] == "DELETE":
            self.counts.clear()
            self.paths.clear()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _fill_autotask(app: Any, size: Size) -> int:
    """Make ``size`` in the Autotask emulator on Acme; Acme's company id."""
    em = app.state.emulator
    acme = next(r["id"] for r in em.store.table("Companies").values() if r["companyName"] == ACME)
    template = next(r for r in em.store.table("Tickets").values() if r["companyID"] == acme)
    stamp = em.now_text()
    first = _new_ticket(em, template, 0, stamp)
    auth = {
        "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
        "UserName": DEMO_API_USER,
        "Secret": DEMO_API_SECRET,
    }
    with httpx.Client(
        transport=InProcessTransport(app), base_url="http://emulator.bench", headers=auth
    ) as http:
        # Autotask slows and then refuses requests past 10,000 an hour: the seed's method needs
        # more than that at 5,000 tickets, so the limit is lifted to count its requests at all.
        lifted = {"threshold": 1_000_000_000, "reset_counter": True}
        http.patch("/_emulator/limits", json=lifted).raise_for_status()
        note = {"title": "Note 1", "description": "Checked the job log.", "noteType": 1}
        made = http.post(f"{API}/Tickets/{first['id']}/Notes", json=note | {"publish": 1})
        made.raise_for_status()
        body = {
            "id": 0,
            "attachmentType": "FILE_ATTACHMENT",
            "title": "job-0.log",
            "fullPath": "job-0.log",
            "contentType": "text/plain",
            "publish": 1,
            "data": base64.b64encode(_file_bytes(0)).decode(),
        }
        filed = http.post(f"{API}/Tickets/{first['id']}/Attachments", json=body)
        filed.raise_for_status()
    note_row = em.store.get("TicketNotes", made.json()["itemId"])
    file_row = em.store.get("TicketAttachments", filed.json()["itemId"])
    tickets = [first] + [_new_ticket(em, template, n, stamp) for n in range(1, size.tickets)]
    for n in range(1, size.notes):
        ticket = tickets[n % len(tickets)]
        row = copy.deepcopy(note_row)
        row.pop("id")
        # Every other note internal: visibility is carried both ways.
        row.update(
            ticketID=ticket["id"],
            title=f"Note {n + 1}",
            description=f"Checked the job log, pass {n + 1}.",
            publish=1 if n % 2 == 0 else 2,
        )
        em.store.insert("TicketNotes", row)
    for n in range(1, size.files):
        ticket = tickets[n % len(tickets)]
        row = copy.deepcopy(file_row)
        row.pop("id")
        data = _file_bytes(n)
        row.update(
            ticketID=ticket["id"],
            parentID=ticket["id"],
            title=f"job-{n}.log",
            fullPath=f"job-{n}.log",
            data=base64.b64encode(data).decode(),
            fileSize=len(data),
        )
        em.store.insert("TicketAttachments", row)
    return int(acme)


def _new_ticket(em: Any, template: dict[str, Any], n: int, stamp: str) -> dict[str, Any]:
    row = copy.deepcopy(template)
    row.pop("id")
    row.update(
        ticketNumber=f"T20261202.{n + 1:05d}",
        title=f"Backup failed on SRV{n:05d}",
        createDate=stamp,
        lastActivityDate=stamp,
        externalID=None,
    )
    return em.store.insert("Tickets", row)


def _file_bytes(n: int) -> bytes:
    return f"backup job {n}: 412 files, {n % 7} errors\n".encode() * 20


def serve_world(size: Size, pipe: Connection) -> None:
    """Run in a process of its own: fill, serve, send both URLs, and serve until told."""
    autotask_app = create_autotask(seed="demo")
    acme = _fill_autotask(autotask_app, size)
    with (
        serve(Counted(autotask_app)) as autotask_url,
        serve(Counted(create_jira(seed="empty"))) as jira_url,
    ):
        pipe.send({"autotask": autotask_url, "jira": jira_url, "acme": acme})
        pipe.recv()  # anything: stop


def counts(url: str, *, clear: bool = False) -> dict[str, Any]:
    answer = httpx.request("DELETE" if clear else "GET", f"{url}{COUNTS_PATH}", timeout=30)
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found
