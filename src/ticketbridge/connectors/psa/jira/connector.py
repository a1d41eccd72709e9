"""JiraConnector: the PsaConnector protocol over Jira's REST API, Cloud first, Data Center too.

Written from Atlassian's REST documentation and the project's notes (shared/reference
jira-graph-sync.md §1); docs/connector-jira.md says what each protocol word means in Jira and
what every operation costs. It shares no code with the Jira emulator it is tested against.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from ticketbridge.connectors.errors import (
    ConnectorError,
    RemoteNotFound,
    RemoteRejected,
)
from ticketbridge.connectors.governor import Governor
from ticketbridge.connectors.http import HttpChannel, RetryPolicy
from ticketbridge.connectors.psa.base import (
    CheckResult,
    CompanyPage,
    PsaCapabilities,
    ReferenceData,
    RemoteCompany,
    RemoteConfigurationItem,
    RemoteTicket,
    TicketDraft,
)
from ticketbridge.connectors.psa.http_base import OwnedHttpClient
from ticketbridge.connectors.psa.jira import (
    changelog,
    checks,
    creation,
    issues,
    listing,
    people,
    resolving,
)
from ticketbridge.connectors.psa.jira.client import (
    SERVICE,
    JiraClient,
    JiraErrors,
    JiraGate,
    redactor_for,
)
from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.psa.jira.issues import PROPERTY, TICKET_FIELDS
from ticketbridge.connectors.psa.jira.organizations import Organizations
from ticketbridge.connectors.psa.jira.projects import JiraCache, Projects
from ticketbridge.connectors.psa.people import outcome
from ticketbridge.connectors.psa.values import opt_int
from ticketbridge.connectors.recent import Recent
from ticketbridge.core.psa_governor import Priority

IDS_PER_QUERY = 100
LABELS_PER_QUERY = 100
RECONCILE_LIMIT = 50  # search/jql's reconcileIssues takes at most 50 ids
# JQL compares times to the minute: search from a minute earlier, then filter exactly.
JQL_OVERLAP = timedelta(minutes=1)
# Issues whose key and worklog total are kept: a few of the sync's pages (500 tickets each).
RECENT_ISSUES = 2_000


class JiraConnector(OwnedHttpClient):
    kind = "jira"
    Config = JiraConfig
    capabilities = PsaCapabilities(
        user_defined_fields=True,  # our issue property + label, not Jira custom fields
        configuration_items=False,  # Jira has no devices; find_configuration_items -> []
        ticket_sources=False,
        note_picklists=False,
    )

    def __init__(
        self,
        config: JiraConfig,
        *,
        http_client: httpx.Client | None = None,
        cache: JiraCache | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        governor: Governor | None = None,
        priority: Priority = Priority.BACKGROUND,
    ) -> None:
        self.config = config
        redactor = redactor_for(config)
        self._use_client(http_client, config.timeout_seconds)
        self.channel = HttpChannel(
            self._http,
            service=SERVICE,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            clock=clock,
            rng=rng,
            log_level=config.logging_level,
            redactor=redactor,
            error_hook=JiraErrors(redactor),
            gate=JiraGate(governor, priority) if governor is not None else None,
        )
        self.clock = clock
        self.cache = cache or JiraCache()
        self.client = JiraClient(self.channel, config, accounts=self.cache.accounts)
        self.projects = Projects(self.client, self.cache)
        # Companies are a service desk's organizations when the connection names one.
        self.companies: Projects | Organizations = (
            Organizations(self.client, self.cache, config.organizations_of)
            if config.organizations_of
            else self.projects
        )
        # What this instance last read of each issue: its project and status category, so a
        # resolve (read, note, close) does not ask again. Not bounded as the keys are: a sync
        # run adds internal notes to every copy it made, and a project forgotten is a read;
        # each issue holds a shared pair (_remember), so it costs its id and a slot.
        self._seen: dict[int, tuple[int | None, str | None]] = {}
        self._states: dict[tuple[int | None, str | None], tuple[int | None, str | None]] = {}
        # Issue keys by id, as read: the browse address needs the key (else reads it).
        self.keys: dict[int, str] = Recent(RECENT_ISSUES)
        # Worklog totals of the tickets just read, each used once by count_time_entries.
        self._worklogs: dict[int, int] = Recent(RECENT_ISSUES)
        # The account this connection writes as (updates.author_id); "" when Jira named none.
        self.own_account: str | None = None

    # --- settings actions ------------------------------------------------------------------

    def check(self) -> CheckResult:
        return checks.check(self.client, self.config, self.cache, self.reference_data)

    def reference_data(self) -> ReferenceData:
        """Issue types (queues), statuses with categories and priorities: one request each;
        with organizations, the service desk and its Organizations field found again first
        (failing, with the reason, when the project is not a service desk)."""
        self.companies.refresh()
        return checks.reference_data(self.client, self.config, self.clock)

    # --- companies (projects, or a service desk's organizations) -------------------------

    def search_companies(
        self, text: str, *, page_size: int = 25, cursor: str | None = None
    ) -> CompanyPage:
        return self.companies.search(text.strip(), page_size, cursor)

    def get_companies(self, ids: Sequence[int]) -> dict[int, RemoteCompany]:
        return self.companies.by_ids(ids)

    # --- tickets (issues) ------------------------------------------------------------------

    def create_ticket(self, draft: TicketDraft, *, read_back: bool = True) -> RemoteTicket:
        """POST issue (never repeated unless refused unprocessed), then GET it back; without
        ``read_back``, the POST's id and key with what it sent (creation.as_made)."""
        fields = creation.issue_fields(draft, self.companies, self.config.issue_type, self._body)
        found = people.accounts(self.client, [draft.reporter or "", *draft.watchers])
        reporter = found.get(draft.reporter or "")
        if reporter is not None:
            fields["reporter"] = people.reporter_field(self.client, reporter)
        body = {"fields": fields, "properties": creation.properties(draft)}
        timeout = max(self.config.create_timeout_seconds, self.config.timeout_seconds)
        why = people.NOT_FOUND
        try:
            made = self.client.call("POST", "issue", json=body, timeout=timeout) or {}
        except RemoteRejected as exc:
            if "reporter" not in fields or not people.refused_reporter(exc):
                raise
            why = exc.message  # refused, so nothing was made: create it without the reporter
            del fields["reporter"]
            made = self.client.call("POST", "issue", json=body, timeout=timeout) or {}
        issue_id = opt_int(made.get("id"))
        if issue_id is None:
            raise RemoteRejected("Jira created an issue but did not say which.")
        if read_back:
            try:
                ticket = self._read(issue_id)
            except ConnectorError as exc:
                exc.remote_id = issue_id
                raise
        else:
            ticket = creation.as_made(made, draft, fields, reporter)
            # Its project is known unread: an internal note on it need not read the issue.
            self._remember(issue_id, self.companies.project_of(draft.company_id), None)
            self.keys[issue_id] = ticket.number
        if draft.reporter is None and not draft.watchers:
            return ticket
        linked, unlinked = people.add_watchers(self.client, issue_id, draft.watchers, found)
        told = outcome(draft.reporter, "reporter" in fields, why, linked, unlinked)
        return replace(ticket, people=told)

    def get_tickets(self, ids: Sequence[int]) -> dict[int, RemoteTicket]:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: dict[int, RemoteTicket] = {}
        for start in range(0, len(wanted), IDS_PER_QUERY):
            batch = wanted[start : start + IDS_PER_QUERY]
            jql = f"id in ({', '.join(map(str, batch))})"
            try:
                hits = self._search(jql, reconcile=batch)
            except RemoteRejected:
                # Some Jira versions refuse the whole JQL when one id is unknown: ask one by one.
                hits = [t for t in map(self._read_or_none, batch) if t is not None]
            found |= {t.id: t for t in hits if t.id in batch}
        return found

    def find_tickets(
        self, *, ticket_number: str | None = None, external_id: str | None = None
    ) -> list[RemoteTicket]:
        if ticket_number is None and external_id is None:
            raise ValueError("find_tickets needs a ticket number or an external id")
        if ticket_number is not None:
            # A moved issue answers to its old key too; the protocol wants the exact number.
            found = self._read_or_none(ticket_number)
            tickets = [found] if found is not None and found.number == ticket_number else []
        else:
            assert external_id is not None
            tickets = self._search(f'labels = "{issues.reference_label(external_id)}"')
        return sorted(
            (t for t in tickets if external_id is None or t.external_id == external_id),
            key=lambda t: t.id,
        )

    def find_tickets_by_references(
        self, references: Sequence[str]
    ) -> dict[str, list[RemoteTicket]]:
        wanted = list(dict.fromkeys(references))
        found: dict[str, list[RemoteTicket]] = {reference: [] for reference in wanted}
        for start in range(0, len(wanted), LABELS_PER_QUERY):
            labels = [issues.reference_label(r) for r in wanted[start : start + LABELS_PER_QUERY]]
            for ticket in self._search(f"labels in ({', '.join(map(_quoted, labels))})"):
                if ticket.external_id in found:
                    found[ticket.external_id].append(ticket)
        for tickets in found.values():
            tickets.sort(key=lambda t: t.id)
        return found

    def find_tickets_by_udf(
        self, name: str, value: str, *, company_id: int | None = None
    ) -> list[RemoteTicket]:
        jql = f"labels = {_quoted(issues.udf_label(name, value))}"
        if company_id is not None:
            jql += f" AND project = {self.companies.project_of(int(company_id))}"
        exact = [
            t
            for t in self._tickets(
                i for i in self._search_raw(jql) if issues.udfs_of(i).get(name) == value
            )
            if company_id is None or t.company_id == company_id
        ]
        return sorted(exact, key=lambda t: t.id)

    def find_configuration_items(self, udf_name: str, value: str) -> list[RemoteConfigurationItem]:
        return []  # capabilities.configuration_items is False: Jira keeps no devices

    def add_note(self, ticket_id: int, text: str, *, internal: bool = True) -> int:
        """Only an internal note needs the issue's project read first (is it a service
        desk?): a public comment is one POST (a deleted issue answers it with the same 404),
        which halves the requests of every desk reply (resolving.add_note)."""
        desk = False
        if internal:
            project_id = self._project_of(ticket_id)
            desk = project_id is not None and bool(self.cache.service_desk(project_id))
        return resolving.add_note(
            self.client, self.config, ticket_id, text, internal=internal, desk=desk
        )

    def count_time_entries(self, ticket_id: int) -> int:
        """Worklogs: their total, as the read just before said (resolve reads the ticket first,
        so that count is as fresh as a request of its own), else from a one-item page."""
        known = self._worklogs.pop(int(ticket_id), None)
        return known if known is not None else resolving.count_worklogs(self.client, ticket_id)

    def close_ticket(self, ticket_id: int, status_id: int) -> None:
        """Already done as last read: nothing to do; else resolving.close."""
        ticket_id = int(ticket_id)
        if self._seen.get(ticket_id, (None, None))[1] == "done":
            return
        if resolving.close(self.client, self.config, ticket_id, status_id, self._read):
            project, _ = self._seen.get(ticket_id, (None, None))
            self._remember(ticket_id, project, "done")

    def changed_since(self, since: datetime, *, jql: str | None = None) -> list[RemoteTicket]:
        """``jql``: a fragment ANDed into the search (the ``ticket_query`` capability, a sync's
        scope), checked by ``ticket_query.problem`` first."""
        if since.tzinfo is None:
            raise ValueError("changed_since needs an aware datetime")
        # Epoch milliseconds, not "yyyy/MM/dd HH:mm": a bare date string is read in the
        # searching account's time zone (reference §1.5, airbytehq/airbyte#48492).
        start = int((since - JQL_OVERLAP).timestamp() * 1000)
        scope = f"({jql}) AND " if jql else ""
        text = f"{scope}updated >= {start} ORDER BY updated ASC, id ASC"
        # With the changelog: who last changed the synced fields, in the same page (changelog.py).
        expand = (changelog.EXPAND,)
        tickets = self._tickets(
            self.client.search(text, fields=self._fields(), properties=(PROPERTY,), expand=expand)
        )
        return sorted(
            (t for t in tickets if t.last_activity is None or t.last_activity > since),
            key=lambda t: t.id,
        )

    def changed_pages(
        self, since: datetime, *, jql: str | None = None
    ) -> Iterator[list[RemoteTicket]]:
        """``jql`` and the changelog as for ``changed_since``; pages by creation (jira/listing.py
        says why)."""
        fields, expand = self._fields(), (changelog.EXPAND,)
        return listing.changed_pages(
            lambda text: self.client.search(
                text, fields=fields, properties=(PROPERTY,), expand=expand
            ),
            self._tickets,
            since,
            overlap=JQL_OVERLAP,
            jql=jql,
        )

    # --- helpers ---------------------------------------------------------------------------

    def _body(self, text: str) -> Any:
        return issues.adf(text) if self.config.uses_adf else text

    def _search_raw(self, jql: str, reconcile: Sequence[int] = ()) -> list[dict[str, Any]]:
        return list(
            self.client.search(
                jql,
                fields=self._fields(),
                properties=(PROPERTY,),
                reconcile=reconcile if len(reconcile) <= RECONCILE_LIMIT else (),
            )
        )

    def _search(self, jql: str, reconcile: Sequence[int] = ()) -> list[RemoteTicket]:
        return self._tickets(self._search_raw(jql, reconcile))

    def _read(self, id_or_key: int | str) -> RemoteTicket:
        issue = self.client.call(
            "GET",
            f"issue/{id_or_key}",
            params={"fields": ",".join(self._fields()), "properties": PROPERTY},
        )
        return self._tickets([issue])[0]

    def _fields(self) -> tuple[str, ...]:
        return (*TICKET_FIELDS, *self.companies.ticket_fields())

    def _read_or_none(self, id_or_key: int | str) -> RemoteTicket | None:
        try:
            return self._read(id_or_key)
        except RemoteNotFound:
            return None

    def _project_of(self, ticket_id: int) -> int | None:
        """The issue's project (and, through the cache, its type); read when not yet seen.
        A 404 here is the deleted ticket's RemoteNotFound."""
        known = self._seen.get(int(ticket_id))
        if known is None or known[0] is None or self.cache.service_desk(known[0]) is None:
            self._read(ticket_id)
            known = self._seen.get(int(ticket_id))
        return known[0] if known else None

    def _remember(self, issue_id: int, project_id: int | None, category: str | None) -> None:
        """A few projects and four categories: each pair is kept once and shared by its
        issues, not as one tuple of freshly parsed values per issue."""
        state = (project_id, category)
        self._seen[issue_id] = self._states.setdefault(state, state)

    def _tickets(self, found: Iterable[Any]) -> list[RemoteTicket]:
        tickets = []
        for issue in found:
            if not isinstance(issue, dict) or opt_int(issue.get("id")) is None:
                continue
            fields = issue.get("fields") or {}
            self.cache.learn(fields.get("project"))
            ticket = issues.ticket(issue)
            project_id = ticket.company_id  # the project, whatever the company is
            ticket = dataclasses.replace(ticket, company_id=self.companies.company_of(issue))
            status = fields.get("status") or {}
            self._remember(ticket.id, project_id, issues.category_of(status))
            self.keys[ticket.id] = ticket.number
            worklog = fields.get("worklog")
            if isinstance(worklog, dict) and opt_int(worklog.get("total")) is not None:
                self._worklogs[ticket.id] = int(worklog["total"])
            tickets.append(ticket)
        return tickets


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
