"""Requests per ticket operation for each PSA connector, and for the `jira` package, side by side.

Each connector talks to its emulator in-process (the emulator's app as its HTTP client); the
count is the emulator's own request log, cleared before each operation, so staging the world
(a time entry, a deletion) is never counted. The operations are the calls the services make:
create then the reconciliation ``find_tickets(external_id=...)``; resolve as
services/ticket_resolve.py runs it (``get_tickets`` of the one id, ``count_time_entries``, the
internal note, ``close_ticket`` when no time entry exists); link by number
(``find_tickets(ticket_number=...)``); deleted detection (``get_tickets`` of a deleted id); a
Run Checks page (``get_tickets`` of the page's linked ids). Caches are warm, as in a running
service: one ticket is created and resolved before anything is counted.

The `jira` package (pycontribs/jira) does the same Jira operations against the same emulator
served on a loopback port, over REST v2 (its v3 bodies are plain strings, which Jira refuses;
docs/emulator-jira.md).
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import httpx
from jira import JIRA

from tests.contract.emulator_harness import AutotaskEmulatorHarness
from tests.contract.jira_harness import JiraEmulatorHarness
from tests.emulators.jira.conftest import serve
from ticketbridge.connectors.psa.base import PsaConnector, TicketDraft
from ticketbridge.core.resolve_policy import RESOLVE_NOTE_TEXT, TIME_ENTRIES_NOTE_TEXT
from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL

# The connectors pass a timeout per request; Starlette's TestClient warns about it.
warnings.filterwarnings("ignore", message="You should not use the 'timeout' argument")
OPS = "OPS"  # the Jira emulator's seeded software project (id 10000)
JIRA_TARGETS = {"create + reconciliation search": 3, "resolve after the read": 4}
ROWS = (
    "create",
    "create + reconciliation search",
    "resolve after the read",
    "resolve incl. the read",
    "resolve, time entries exist",
    "link by number",
    "deleted detection",
    "run checks page",
)


class Side:
    """One connector, its emulator, and how to read and clear that emulator's request log."""

    def __init__(self, name: str, harness: Any, count: Callable[[], int]) -> None:
        self.name, self.harness, self.count = name, harness, count
        self.psa: PsaConnector = harness.connector
        self.clear = lambda: harness.http.delete("/_emulator/requests")
        ref = self.psa.reference_data()
        done = next(v for v in ref.statuses if v.name == "Complete" or v.category == "done")
        self.done_id = done.id
        self.queue_id = next((v.id for v in ref.queues if v.is_default), ref.queues[0].id)
        self.company_id = harness.add_company("Bench Co")

    def draft(self) -> TicketDraft:
        return TicketDraft(
            self.company_id,
            "Backup failed on SRV01",
            "Job Nightly ended with errors.",
            self.queue_id,
            external_id=f"tb-run-{uuid.uuid4().hex[:12]}",
        )

    def cost(self, action: Callable[[], object]) -> int:
        self.clear()
        action()
        return self.count()

    def resolve(self, ticket_id: int) -> None:
        """services/ticket_resolve.py's connector calls after its read."""
        if self.psa.count_time_entries(ticket_id):
            self.psa.add_note(ticket_id, TIME_ENTRIES_NOTE_TEXT, internal=True)
            return
        self.psa.add_note(ticket_id, RESOLVE_NOTE_TEXT, internal=True)
        self.psa.close_ticket(ticket_id, self.done_id)

    def figures(self, page: int) -> dict[str, int]:
        psa = self.psa
        found: dict[str, int] = {}
        self.resolve(psa.create_ticket(self.draft()).id)  # warm the caches
        draft = self.draft()
        made: list[Any] = []
        found["create"] = self.cost(lambda: made.append(psa.create_ticket(draft)))
        found["create + reconciliation search"] = found["create"] + self.cost(
            lambda: psa.find_tickets(external_id=draft.external_id)
        )
        ticket = made[0]
        found["link by number"] = self.cost(lambda: psa.find_tickets(ticket_number=ticket.number))
        read = self.cost(lambda: psa.get_tickets([ticket.id]))
        found["resolve after the read"] = self.cost(lambda: self.resolve(ticket.id))
        found["resolve incl. the read"] = read + found["resolve after the read"]
        worked = psa.create_ticket(self.draft()).id
        self.harness.add_time_entry(worked)
        found["resolve, time entries exist"] = self.cost(
            lambda: (psa.get_tickets([worked]), self.resolve(worked))
        )
        gone = psa.create_ticket(self.draft()).id
        self.harness.delete_ticket(gone)
        found["deleted detection"] = self.cost(lambda: psa.get_tickets([gone]))
        linked = [psa.create_ticket(self.draft()).id for _ in range(page)]
        found["run checks page"] = self.cost(lambda: psa.get_tickets(linked))
        return found


def autotask_side() -> Side:
    harness = AutotaskEmulatorHarness()
    return Side(
        "autotask",
        harness,
        lambda: len(harness.http.get("/_emulator/requests").json()["requests"]),
    )


def jira_side() -> Side:
    harness = JiraEmulatorHarness()
    return Side("jira", harness, lambda: len(harness.http.get("/_emulator/requests").json()))


def jira_package_figures() -> dict[str, int]:
    """The same Jira operations through the `jira` package; its own requests only."""
    served = contextmanager(serve)(mode="cloud")  # the fidelity suite's loopback server
    with served as url, httpx.Client(base_url=url) as admin:
        jira = JIRA(server=url, basic_auth=(DEMO_EMAIL, DEMO_API_TOKEN), max_retries=0)
        jira.enhanced_search_issues(f"project = {OPS}", maxResults=1)  # warm: GET field, once

        def cost(action: Callable[[], object]) -> int:
            admin.delete("/_emulator/requests")
            action()
            return len(admin.get("/_emulator/requests").json())

        found: dict[str, int] = {}
        label = f"tbref-{uuid.uuid4().hex[:12]}"
        fields = {"project": {"key": OPS}, "issuetype": {"name": "Task"}, "labels": [label]}
        made: list[Any] = []

        def create() -> None:
            issue = jira.create_issue(fields=fields | {"summary": "Backup failed on SRV01"})
            jira.add_issue_property(issue.key, "ticketbridge", {"reference": label})
            made.append(issue)

        found["create"] = cost(create)
        found["create + reconciliation search"] = found["create"] + cost(
            lambda: jira.enhanced_search_issues(f'labels = "{label}"', fields=["summary"])
        )
        key = made[0].key
        found["link by number"] = cost(lambda: jira.issue(key))
        read = cost(lambda: jira.issue(key, fields="summary,status,project"))

        def resolve() -> None:
            jira.worklogs(key)
            visibility = {"type": "role", "value": "Administrators"}
            jira.add_comment(key, RESOLVE_NOTE_TEXT, visibility=visibility)
            into_done = [
                t
                for t in jira.transitions(key, expand="transitions.fields")
                if t["to"]["statusCategory"]["key"] == "done"
            ]
            jira.transition_issue(key, into_done[0]["id"], fields={"resolution": {"name": "Done"}})

        found["resolve after the read"] = cost(resolve)
        found["resolve incl. the read"] = read + found["resolve after the read"]
        jira.close()
    return found


def print_side_by_side(page: int) -> None:
    columns: dict[str, dict[str, int]] = {}
    for make in (autotask_side, jira_side):
        side = make()
        columns[side.name] = side.figures(page)
        side.harness.close()
    columns["jira package"] = jira_package_figures()
    print(f"requests per operation, each against its emulator (run checks page: {page} tickets)")
    print(f"{'operation':32}{'autotask':>10}{'jira':>8}{'jira package':>14}{'jira target':>13}")
    for row in ROWS:
        cells = [columns[name].get(row) for name in ("autotask", "jira", "jira package")]
        shown = ["-" if n is None else str(n) for n in cells]
        target = JIRA_TARGETS.get(row)
        verdict = ""
        if target is not None and cells[1] is not None:
            verdict = "  ok" if cells[1] <= target else "  OVER TARGET"
        print(
            f"{row:32}{shown[0]:>10}{shown[1]:>8}{shown[2]:>14}"
            f"{'-' if target is None else f'<= {target}':>13}{verdict}"
        )
