"""Items a run flagged for an operator (a delete is never propagated), as a viewer reads them
and an admin settles them: through the API and the sync's page, each clear or forget audited.
Both emulators, both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from tests.factories import add_token, add_user, csrf_of, login
from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, new_ticket, titles
from ticketbridge.core.roles import Role
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.services.sync import run as sync_run
from ticketbridge.settings import Settings
from ticketbridge.storage.models.audit import AuditEvent
from ticketbridge.storage.models.sync import SyncFailure, SyncReference
from ticketbridge.web.app import create_app

A_TO_B, TICKET = Direction.A_TO_B, EntityKind.TICKET


@pytest.fixture
def app(paired: Paired, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    made = create_app(settings, engine=engine, clock=paired.clock)
    paired.world.attach(made.state.ctx)
    with TestClient(made) as client:
        yield client


def _bearer(paired: Paired, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {add_token(paired.db, role, f'{role.value}-flags')}"}


def _run(paired: Paired) -> sync_run.RunReport:
    paired.clock.advance(minutes=1)
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "succeeded", report.errors
    return report


def _flag_a_deleted_copy(paired: Paired, title: str) -> SyncReference:
    new_ticket(paired.runtime, paired.a, paired.acme, title)
    _run(paired)
    with paired.db() as session:
        entry = session.scalars(select(SyncReference)).one()
    paired.world.delete_jira_issue(int(entry.b_id))
    assert _run(paired).counts.of(A_TO_B, TICKET).flagged == 1
    return entry


def _audited(paired: Paired, action: str) -> list[AuditEvent]:
    with paired.db() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_viewer_reads_a_flag_with_its_reason_and_may_not_clear_it(
    paired: Paired, app: TestClient
) -> None:
    entry = _flag_a_deleted_copy(paired, "Agent offline on WS20")
    viewer = _bearer(paired, Role.VIEWER)

    listed = app.get(f"/api/v1/syncs/{paired.sync_id}/flagged", headers=viewer)

    assert listed.status_code == 200
    [flag] = listed.json()
    assert (flag["id"], flag["a_id"], flag["b_id"]) == (entry.id, entry.a_id, entry.b_id)
    assert flag["flag_reason"] == f"ticket {entry.b_id} is gone on side B"
    assert app.get("/api/v1/syncs", headers=viewer).status_code == 200
    assert app.get(f"/api/v1/syncs/{paired.sync_id}/runs", headers=viewer).status_code == 200
    url = f"/api/v1/syncs/{paired.sync_id}/flagged/{entry.id}/clear"
    assert app.post(url, headers=viewer).status_code == 403
    assert app.post(url, headers=_bearer(paired, Role.OPERATOR)).status_code == 403
    assert app.post(f"/api/v1/syncs/{paired.sync_id}/run", headers=viewer).status_code == 403


def test_forgetting_a_flag_lets_the_original_be_copied_anew_when_it_changes(
    paired: Paired, app: TestClient
) -> None:
    entry = _flag_a_deleted_copy(paired, "Agent offline on WS21")
    admin = _bearer(paired, Role.ADMIN)
    url = f"/api/v1/syncs/{paired.sync_id}/flagged/{entry.id}"

    answer = app.post(f"{url}/forget", headers=admin)

    assert answer.status_code == 200 and answer.json() == {"id": entry.id, "action": "forget"}
    assert app.post(f"{url}/forget", headers=admin).status_code == 404  # settled once
    assert app.get(f"/api/v1/syncs/{paired.sync_id}/flagged", headers=admin).json() == []
    [event] = _audited(paired, "sync.flag.forget")
    assert event.details["b_id"] == entry.b_id and "gone on side B" in str(event.details)
    paired.world.retitle_autotask_ticket(int(entry.a_id), "Agent offline on WS21 (again)")
    assert _run(paired).counts.of(A_TO_B, TICKET).created == 1
    since = paired.clock.now.replace(year=paired.clock.now.year - 1)
    assert titles(paired.runtime, paired.b, since).count("Agent offline on WS21 (again)") == 1


def test_clearing_a_flag_reads_both_tickets_on_the_next_run(
    paired: Paired, app: TestClient
) -> None:
    # A pair flagged while one ticket was unreadable, both there now: it syncs again.
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup slow on FS22")
    _run(paired)
    with paired.db() as session:
        entry = session.scalars(select(SyncReference)).one()
        entry.flagged, entry.flag_reason = True, f"ticket {entry.b_id} is gone on side B"
        session.commit()
    paired.clock.advance(minutes=30)
    _run(paired)  # left alone while flagged; the watermarks move past the pair
    add_user(paired.db, "ada", Role.ADMIN)
    assert login(app, "ada").status_code == 303
    page = app.get(f"/syncs/{paired.sync_id}").text
    assert f"ticket {entry.b_id} is gone on side B" in page.split('id="sync-flagged"')[1]

    cleared = app.post(
        f"/syncs/{paired.sync_id}/flagged/{entry.id}/clear",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )

    assert cleared.status_code == 303
    assert len(_audited(paired, "sync.flag.clear")) == 1
    report = _run(paired)  # nothing changed since: only the queued retries read the pair
    assert report.counts.of(A_TO_B, TICKET).seen == 1
    assert report.counts.of(Direction.B_TO_A, TICKET).seen == 1
    assert report.counts.of(A_TO_B, TICKET).flagged == 0
    with paired.db() as session:
        assert not session.get(SyncReference, entry.id).flagged  # type: ignore[union-attr]
        assert session.scalars(select(SyncFailure)).all() == []


def test_a_cleared_flag_whose_ticket_is_still_gone_is_flagged_again(
    paired: Paired, app: TestClient
) -> None:
    entry = _flag_a_deleted_copy(paired, "Agent offline on WS23")
    admin = _bearer(paired, Role.ADMIN)
    url = f"/api/v1/syncs/{paired.sync_id}/flagged/{entry.id}/clear"
    assert app.post(url, headers=admin).status_code == 200

    _run(paired)

    [flag] = app.get(f"/api/v1/syncs/{paired.sync_id}/flagged", headers=admin).json()
    assert flag["flag_reason"] == f"ticket {entry.b_id} is gone on side B"
    since = paired.clock.now.replace(year=paired.clock.now.year - 1)
    assert titles(paired.runtime, paired.a, since).count("Agent offline on WS23") == 1


def test_a_viewer_sees_the_syncs_pages_without_any_button(paired: Paired, app: TestClient) -> None:
    entry = _flag_a_deleted_copy(paired, "Agent offline on WS24")
    add_user(paired.db, "vera", Role.VIEWER)
    assert login(app, "vera").status_code == 303

    listing = app.get("/syncs")
    page = app.get(f"/syncs/{paired.sync_id}")

    assert listing.status_code == 200 and 'href="/syncs"' in listing.text
    row = listing.text.split(f'id="sync-{paired.sync_id}"')[1].split("</tr>")[0]
    assert f'href="/syncs/{paired.sync_id}#sync-flagged">1<' in row
    assert page.status_code == 200
    flagged = page.text.split('id="sync-flagged"')[1].split("</table>")[0]
    assert "gone on side B" in flagged and "<button" not in flagged
    token = csrf_of(page.text)
    url = f"/syncs/{paired.sync_id}/flagged/{entry.id}/forget"
    assert app.post(url, data={"csrf_token": token}).status_code == 403
    assert app.post(f"/syncs/{paired.sync_id}/run", data={"csrf_token": token}).status_code == 403
