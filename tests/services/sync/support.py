"""Autotask (side A) and Jira (side B) emulators in-process on one clock, for sync tests.

``Runtime.psa_transport`` is one transport for every kind, so :class:`Routes` sends each
request to the emulator of its host. It can also refuse chosen requests as the PSA would
(``refuse``): a ticket Jira rejects, while every other ticket goes through.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.contract.jira_harness import PAIR, RESTRICTED
from tests.factories import NOW
from tests.services.autotask_world import BASE_URL, EMULATOR_URL, demo_settings
from ticketbridge.connectors.psa.base import PsaConnector, TicketDraft
from ticketbridge.emulators.autotask import InProcessTransport
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import AGENT_API_TOKEN, AGENT_EMAIL, DEMO_API_TOKEN, DEMO_EMAIL
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.connections import active, named, reference
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.sync import syncs
from ticketbridge.storage.models.sync import SyncReference

JIRA_URL = "https://jira.test"
JIRA_AUTH = {"Authorization": f"Basic {PAIR}"}  # the sync's own Jira account
# Another Jira user: the changelog names its account, not the sync's, as the change's author.
AGENT_PAIR = base64.b64encode(f"{AGENT_EMAIL}:{AGENT_API_TOKEN}".encode()).decode()
AS_AGENT = {"Authorization": f"Basic {AGENT_PAIR}"}
OPS = 10000  # the Jira emulator's software project
SYNC = "Autotask-Jira"
HELPDESK = 29683481  # an Autotask queue of the demo tenant
BACKUP_ALERTS = 29682969  # another queue of the demo tenant
AUTOTASK_DEFAULTS = {"default_queue_id": HELPDESK, "default_status_id": 1, "priority_warning_id": 2}


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Routes(httpx.BaseTransport):
    def __init__(self, by_host: dict[str, httpx.BaseTransport]) -> None:
        self.by_host = by_host
        # Answers a request the PSA refuses (a validation error), or None to let it through.
        self.refuse: Callable[[httpx.Request], httpx.Response | None] = lambda request: None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        refused = self.refuse(request)
        if refused is not None:
            return refused
        return self.by_host[request.url.host].handle_request(request)


def jira_refuses_titles_with(text: str) -> Callable[[httpx.Request], httpx.Response | None]:
    """Jira answers 400 to an issue create whose summary holds ``text``."""

    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.url.host != "jira.test" or request.method != "POST":
            return None
        if not request.url.path.endswith("/issue"):
            return None
        summary = json.loads(request.read() or b"{}").get("fields", {}).get("summary", "")
        if text not in summary:
            return None
        body = {"errorMessages": [], "errors": {"summary": "The summary is not allowed."}}
        return httpx.Response(400, json=body, request=request)

    return refuse


class SyncWorld:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.autotask = InProcessTransport(create_autotask(seed="demo", clock=clock))
        # The Jira seed "empty" has the projects and no issues; Autotask's demo has the companies.
        self.jira = InProcessTransport(create_jira(seed="empty", clock=clock))
        self.routes = Routes({"emulator.test": self.autotask, "jira.test": self.jira})
        self.autotask_http = httpx.Client(transport=self.autotask, base_url=EMULATOR_URL)
        self.jira_http = httpx.Client(transport=self.jira, base_url=JIRA_URL)

    def attach(self, runtime: Runtime) -> Runtime:
        runtime.psa_transport = self.routes
        return runtime

    def requests(self, emulator: str) -> list[dict[str, object]]:
        """One emulator's request log, its admin calls left out."""
        http = self.autotask_http if emulator == "autotask" else self.jira_http
        found = http.get("/_emulator/requests").json()
        rows = found["requests"] if isinstance(found, dict) else found
        return [r for r in rows if not str(r["path"]).startswith("/_emulator")]

    def delete_jira_issue(self, issue_id: int) -> None:
        """As a Jira user would: the issue is gone."""
        answer = self.jira_http.delete(f"/rest/api/3/issue/{issue_id}", headers=JIRA_AUTH)
        assert answer.status_code == 204, answer.text

    def retitle_jira_issue(self, issue_id: int, title: str) -> None:
        """As a Jira user would: a new summary."""
        body = {"fields": {"summary": title}}
        answer = self.jira_http.put(f"/rest/api/3/issue/{issue_id}", json=body, headers=JIRA_AUTH)
        assert answer.status_code == 204, answer.text

    def retitle_autotask_ticket(self, ticket_id: int, title: str) -> None:
        """As an Autotask user would: a new title (the emulator's admin route)."""
        answer = self.autotask_http.patch(f"/_emulator/tickets/{ticket_id}", json={"title": title})
        assert answer.status_code == 200, answer.text

    def forget_requests(self) -> None:
        self.autotask_http.delete("/_emulator/requests")
        self.jira_http.delete("/_emulator/requests")

    def close(self) -> None:
        self.autotask_http.close()
        self.jira_http.close()
        self.autotask.close()
        self.jira.close()


def connect(
    runtime: Runtime, *, autotask_url: str = EMULATOR_URL, jira_url: str = JIRA_URL
) -> tuple[int, int]:
    """An Autotask connection and a Jira connection, both enabled; their ids."""
    with runtime.session_factory() as session:
        a = named.create(session, name="Autotask", kind="autotask", actor="test", now=NOW)
        b = named.create(session, name="Jira", kind="jira", actor="test", now=NOW)
        box = runtime.secret_box
        connection_settings.save(
            session,
            box,
            demo_settings(api_host=autotask_url),
            actor="test",
            now=NOW,
            connection_id=a.id,
        )
        jira = {"base_url": jira_url, "email": DEMO_EMAIL, "api_token": DEMO_API_TOKEN}
        connection_settings.save(
            session,
            box,
            {"enabled": True, "base_url": BASE_URL, "connector": jira | RESTRICTED},
            actor="test",
            now=NOW,
            connection_id=b.id,
        )
        session.commit()
        ids = a.id, b.id
    # Autotask wants a queue on every ticket: the ticket defaults a copy made there takes.
    reference.refresh(runtime, actor="test", connection_id=ids[0])
    with runtime.session_factory() as session:
        connection_settings.save(
            session,
            runtime.secret_box,
            AUTOTASK_DEFAULTS,
            actor="test",
            now=NOW,
            connection_id=ids[0],
        )
        session.commit()
    return ids


@contextmanager
def psa(runtime: Runtime, connection_id: int) -> Iterator[PsaConnector]:
    """A connection's connector, as another integration (or a person) uses the PSA."""
    with runtime.session_factory() as session, active.active(runtime, session, connection_id) as on:
        yield on.connector


def company(runtime: Runtime, connection_id: int, name: str) -> int:
    with psa(runtime, connection_id) as connector:
        [found] = connector.search_companies(name).items
        return found.id


def make_sync(runtime: Runtime, acme: int, *, name: str = SYNC) -> int:
    """Autotask's Acme and Jira's OPS project paired both ways; starting an hour ago."""
    with runtime.session_factory() as session:
        row = syncs.create(
            session,
            name=name,
            connection_a="Autotask",
            connection_b="Jira",
            start_date=runtime.clock() - timedelta(hours=1),
            actor="test",
            now=runtime.clock(),
            mapping=syncs.company_tables([(str(acme), str(OPS))]),
            scope_a={"company_ids": [acme]},
            scope_b={"company_ids": [OPS]},
        )
        session.commit()
        return row.id


def new_ticket(
    runtime: Runtime, connection_id: int, company_id: int, title: str, queue: int | None = HELPDESK
) -> int:
    with psa(runtime, connection_id) as connector:
        draft = TicketDraft(company_id=company_id, title=title, queue_id=queue)
        return connector.create_ticket(draft).id


def titles(runtime: Runtime, connection_id: int, since: datetime) -> list[str]:
    """Every ticket title on that side changed after ``since``, sorted."""
    with psa(runtime, connection_id) as connector:
        return sorted(t.title for t in connector.changed_since(since))


def references(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count(SyncReference.id))) or 0)
