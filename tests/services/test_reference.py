from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.autotask_world import AutotaskWorld, configure
from ticketbridge.connectors.errors import ConnectorAuthError, ConnectorUnavailable
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.active import IntegrationDisabled
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent

FIELDS_PATH = "/ATServicesRest/V1.0/Tickets/entityInformation/fields"


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, db: sessionmaker[Session], world: AutotaskWorld
) -> Runtime:
    made = world.attach(build_runtime(settings, engine=engine, clock=lambda: NOW))
    configure(made)
    return made


def _options(runtime: Runtime) -> dict[str, dict[str, tuple[int, bool]]]:
    with runtime.session_factory() as session:
        return {
            category: {v.name: (int(v.value_id), v.active) for v in values}
            for category, values in reference.options(session).items()
        }


def test_a_refresh_costs_one_request_once_the_zone_is_known(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    integration_checks.test_connection(runtime, actor="alice")  # discovers the zone
    world.forget_requests()

    result = reference.refresh(runtime, actor="alice")

    assert [(r["method"], r["path"]) for r in world.requests()] == [("GET", FIELDS_PATH)]
    assert result.counts["queue"] == 7
    assert result.counts["publish"] == 3
    assert result.synced_at == NOW


def test_refresh_stores_every_list_with_the_sync_time_and_marks_inactive_values(
    runtime: Runtime,
) -> None:
    reference.refresh(runtime, actor="alice")

    options = _options(runtime)
    assert options["queue"]["Backup Alerts"] == (29682969, True)
    assert options["source"]["Monitoring Alert"] == (8, True)
    assert options["status"]["On Hold (retired)"] == (14, False)
    assert options["note_type"]["Legacy"] == (100, False)
    assert set(options["publish"]) == {
        "All Autotask Users",
        "Internal Project Team",
        "Internal & Co-Managed",
    }
    with runtime.session_factory() as session:
        assert integration_settings.load(session).reference_synced_at == NOW


def test_first_refresh_preselects_defaults_by_name_where_they_exist(runtime: Runtime) -> None:
    result = reference.refresh(runtime, actor="alice")

    assert result.preselected == {
        "default_queue_id": 29683481,
        "default_source_id": 8,
        "default_status_id": 1,
        "priority_warning_id": 2,
        "priority_error_id": 1,
    }
    with runtime.session_factory() as session:
        settings = integration_settings.load(session).settings
    assert settings.default_queue_id == 29683481
    assert settings.priority_error_id == 1


def test_a_default_whose_name_does_not_exist_is_left_unset(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    world.admin("PATCH", "picklists/Tickets/queueID/29683481", {"label": "Service Desk"})

    result = reference.refresh(runtime, actor="alice")

    assert "default_queue_id" not in result.preselected
    with runtime.session_factory() as session:
        assert integration_settings.load(session).settings.default_queue_id is None


def test_a_later_refresh_keeps_the_defaults_an_admin_chose(runtime: Runtime) -> None:
    reference.refresh(runtime, actor="alice")
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {"priority_error_id": 6},
            actor="alice",
            now=NOW,
            kind="autotask",
        )
        session.commit()

    second = reference.refresh(runtime, actor="alice")

    assert second.preselected == {}
    with runtime.session_factory() as session:
        assert integration_settings.load(session).settings.priority_error_id == 6


def test_values_deactivated_or_removed_in_autotask_are_kept_and_marked(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    reference.refresh(runtime, actor="alice")
    world.admin("PATCH", "picklists/Tickets/queueID/29682969", {"isActive": False})
    kept = [
        v for v in world.admin("GET", "picklists/Tickets/source")["values"] if v["label"] != "Phone"
    ]
    world.admin("PUT", "picklists/Tickets/source", {"values": kept})
    runtime.clock = lambda: NOW + timedelta(hours=1)

    reference.refresh(runtime, actor="alice")

    options = _options(runtime)
    assert options["queue"]["Backup Alerts"] == (29682969, False)
    assert options["source"]["Phone"] == (2, False)
    assert options["source"]["Email"] == (4, True)


def test_choosing_an_inactive_value_as_a_new_default_is_refused(runtime: Runtime) -> None:
    reference.refresh(runtime, actor="alice")

    with (
        runtime.session_factory() as session,
        pytest.raises(integration_settings.InvalidIntegrationSettings) as refused,
    ):
        integration_settings.save(
            session,
            runtime.secret_box,
            {"default_status_id": 14},
            actor="alice",
            now=NOW,
            kind="autotask",
        )

    assert [e.field for e in refused.value.errors] == ["default_status_id"]


def test_refresh_failure_is_audited_with_the_autotask_status_code(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    integration_checks.test_connection(runtime, actor="alice")
    world.fault(kind="status", status=401, count=2)

    with pytest.raises(ConnectorAuthError):
        reference.refresh(runtime, actor="alice")

    with runtime.session_factory() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "autotask.reference.refresh")
        ).one()
    assert event.outcome == "failed"
    assert event.details["status_code"] == 401


def test_refresh_while_disabled_sends_nothing(runtime: Runtime, world: AutotaskWorld) -> None:
    configure(runtime, enabled=False)

    with pytest.raises(IntegrationDisabled):
        reference.refresh(runtime, actor="alice")

    assert world.requests() == []


def test_a_throttled_refresh_answers_the_operator_at_once_instead_of_waiting_a_minute(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    reference.refresh(runtime, actor="admin")  # zone and metadata known
    world.forget_requests()
    world.fault(
        kind="status", status=429, retry_after=60, path_contains="/Tickets/entityInformation"
    )

    with pytest.raises(ConnectorUnavailable) as caught:
        reference.refresh(runtime, actor="admin")

    assert caught.value.retry_after == 60
    assert len(world.requests()) == 1  # not retried after waiting out the Retry-After
