"""A sync's side scoped by Autotask queue or by a JQL fragment: only tickets in scope are copied,
the JQL is ANDed into Jira's own search (Jira pages only what is in scope), and a query a side
cannot take is refused at the field. Both emulators, both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import add_token, add_user, csrf_of, login
from tests.services.sync.conftest import Paired
from tests.services.sync.support import BACKUP_ALERTS, HELPDESK, OPS, SYNC, new_ticket, titles
from ticketbridge.core.roles import Role
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.services.sync import run as sync_run
from ticketbridge.settings import Settings
from ticketbridge.storage.models.sync import SyncRow
from ticketbridge.web.app import create_app

A_TO_B, B_TO_A, TICKET = Direction.A_TO_B, Direction.B_TO_A, EntityKind.TICKET


def _scope(paired: Paired, side: str, scope: dict[str, object]) -> None:
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        setattr(row, f"scope_{side}", scope)
        session.commit()


def _run(paired: Paired) -> sync_run.RunReport:
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "succeeded", report.errors
    return report


def _titles(paired: Paired, connection_id: int) -> list[str]:
    return titles(paired.runtime, connection_id, paired.clock.now - timedelta(days=1))


def test_an_autotask_side_scoped_by_queue_copies_only_that_queues_tickets(
    paired: Paired,
) -> None:
    _scope(paired, "a", {"company_ids": [paired.acme], "queue_ids": [BACKUP_ALERTS]})
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS40", BACKUP_ALERTS)
    new_ticket(paired.runtime, paired.a, paired.acme, "Password reset for Kim", HELPDESK)

    counts = _run(paired).counts.of(A_TO_B, TICKET)

    assert (counts.created, counts.skipped) == (1, 1)
    copied = _titles(paired, paired.b)
    assert "Backup failed on FS40" in copied and "Password reset for Kim" not in copied


def test_a_jira_side_scoped_by_jql_is_narrowed_in_jiras_own_search(paired: Paired) -> None:
    _scope(paired, "b", {"company_ids": [OPS], "jql": 'summary ~ "backup"'})
    new_ticket(paired.runtime, paired.b, OPS, "Backup of the CRM failed", queue=None)
    new_ticket(paired.runtime, paired.b, OPS, "Printer jam on floor 2", queue=None)

    counts = _run(paired).counts.of(B_TO_A, TICKET)

    assert (counts.seen, counts.created) == (1, 1)  # the other issue never left Jira
    copied = _titles(paired, paired.a)
    assert "Backup of the CRM failed" in copied and "Printer jam on floor 2" not in copied


@pytest.fixture
def api(paired: Paired, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, clock=paired.clock)
    token = add_token(paired.db, Role.ADMIN)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.mark.parametrize(
    ("scope", "field", "says"),
    [
        ({"scope_a": {"jql": "project = OPS"}}, "scope_a.jql", "takes no query"),
        ({"scope_b": {"jql": "project = OPS ORDER BY key"}}, "scope_b.jql", "ORDER BY"),
        ({"scope_b": {"jql": "project = OPS) OR (id > 0"}}, "scope_b.jql", "parenthesis"),
        ({"scope_b": {"jql": 'summary ~ "backup'}}, "scope_b.jql", "quote"),
        ({"scope_a": {"queue_ids": ["x"]}}, "scope_a.queue_ids.0", ""),
    ],
)
def test_a_query_a_side_cannot_take_is_refused_at_its_field(
    paired: Paired, api: TestClient, scope: dict[str, object], field: str, says: str
) -> None:
    answer = api.patch(f"/api/v1/syncs/{paired.sync_id}", json=scope)

    assert answer.status_code == 422, answer.text
    fields = answer.json()["error"]["details"]["fields"]
    assert [f["field"] for f in fields] == [field]
    assert says in fields[0]["message"]


def test_a_jql_scope_is_kept_and_shown_back(paired: Paired, api: TestClient) -> None:
    scope = {"company_ids": [OPS], "queue_ids": [], "jql": ' labels = "backup" '}
    answer = api.patch(f"/api/v1/syncs/{paired.sync_id}", json={"scope_b": scope})

    assert answer.status_code == 200, answer.text
    assert answer.json()["scope_b"]["jql"] == 'labels = "backup"'


def test_the_page_form_takes_queues_and_jql_and_refuses_jql_on_autotask(
    paired: Paired, settings: Settings, engine: Engine
) -> None:
    app = create_app(settings, engine=engine, clock=paired.clock)
    add_user(paired.db, "ada", Role.ADMIN)
    with TestClient(app) as client:
        assert login(client, "ada").status_code == 303
        page = f"/syncs/{paired.sync_id}"
        form = {
            "csrf_token": csrf_of(client.get(page).text),
            "name": SYNC,
            "a_to_b": "true",
            "b_to_a": "true",
            "start_date": "2026-11-20T08:00",
            "interval_seconds": "300",
            "scope_a": str(paired.acme),
            "scope_a.queue_ids": f"{BACKUP_ALERTS}, {HELPDESK}",
            "scope_b.jql": 'labels = "backup"',
        }

        refused = client.post(page, data=form | {"scope_a.jql": "project = OPS"})
        saved = client.post(page, data=form, follow_redirects=False)

        assert refused.status_code == 422 and 'id="scope_a-jql-error"' in refused.text
        assert saved.status_code == 303
        shown = client.get(page).text
    assert f'value="{BACKUP_ALERTS}, {HELPDESK}"' in shown
    assert 'value="labels = &#34;backup&#34;"' in shown or "labels = &quot;backup&quot;" in shown
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        assert row.scope_a == {"company_ids": [paired.acme], "queue_ids": [BACKUP_ALERTS, HELPDESK]}
        assert row.scope_b == {"company_ids": [], "jql": 'labels = "backup"'}
