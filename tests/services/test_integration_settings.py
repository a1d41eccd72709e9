from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.autotask_world import (
    BASE_URL,
    EMULATOR_URL,
    AutotaskWorld,
    configure,
    demo_settings,
)
from ticketbridge.emulators.autotask import DEMO_API_SECRET, DEMO_API_USER, DEMO_INTEGRATION_CODE
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import named, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections import setup as connection_setup
from ticketbridge.services.connections.active import IntegrationDisabled
from ticketbridge.services.connections.settings import InvalidIntegrationSettings
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, db: sessionmaker[Session], world: AutotaskWorld
) -> Runtime:
    return world.attach(build_runtime(settings, engine=engine, clock=lambda: NOW))


def _save(runtime: Runtime, **changes: object) -> integration_settings.StoredSettings:
    with runtime.session_factory() as session:
        stored = integration_settings.save(
            session, runtime.secret_box, dict(changes), actor="alice", now=NOW, kind="autotask"
        )
        session.commit()
        return stored


def _load(runtime: Runtime) -> integration_settings.StoredSettings:
    with runtime.session_factory() as session:
        return integration_settings.load(session)


def test_settings_survive_a_reload_and_an_empty_secret_keeps_the_stored_one(
    runtime: Runtime,
) -> None:
    _save(runtime, **demo_settings(allow_resolve=True, logging_level="summary"))

    # The tracking identifier binds no secret (a change of destination does: see
    # tests/services/test_secret_binding.py).
    _save(runtime, secret="", integration_code="OTHER-CODE")

    stored = _load(runtime)
    assert stored.secret_set
    assert stored.connector["integration_code"] == "OTHER-CODE"
    assert stored.settings.allow_resolve is True
    assert stored.connector["logging_level"] == "summary"
    assert stored.connector["api_host"] == EMULATOR_URL
    assert stored.updated_by == "alice"
    with runtime.session_factory() as session:
        config = active_connection.connector_config(session, runtime.secret_box).config
    assert config.secret.get_secret_value() == DEMO_API_SECRET


def test_the_secret_is_encrypted_at_rest_and_never_audited_or_logged(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    _save(runtime, **demo_settings(logging_level="full"))
    integration_checks.test_connection(runtime, actor="alice")
    reference.refresh(runtime, actor="alice")

    with runtime.session_factory() as session:
        row = named.first_of_kind(session, "autotask")
        assert row is not None and row.secret_encrypted
        assert DEMO_API_SECRET not in row.secret_encrypted
        assert DEMO_API_SECRET not in str(row.config)
        events = list(session.scalars(select(AuditEvent)))
        details = [str(e.details) for e in events]
        saved = next(str(e.details) for e in events if e.action == "autotask.settings.update")
    assert details and not any(DEMO_API_SECRET in d for d in details)
    assert "secret" in saved  # the audit names the changed field, not its value
    assert "Tickets/entityInformation/fields" in caplog.text  # the full API log did run
    assert DEMO_API_SECRET not in caplog.text


def test_invalid_settings_are_refused_with_every_problem_at_its_field(runtime: Runtime) -> None:
    with pytest.raises(InvalidIntegrationSettings) as refused:
        _save(
            runtime,
            enabled=True,
            environment="custom",
            api_host="",
            username="",
            base_url="/relative",
            max_listed_objects=500,
            default_queue_id=999,
        )

    fields = {e.field for e in refused.value.errors}
    assert fields == {
        "api_host",
        "username",
        "secret",
        "integration_code",
        "base_url",
        "max_listed_objects",
        "default_queue_id",
    }
    assert _load(runtime).settings.enabled is False  # nothing was stored


def test_unknown_environment_and_logging_level_are_refused(runtime: Runtime) -> None:
    with pytest.raises(InvalidIntegrationSettings) as refused:
        _save(runtime, environment="staging", logging_level="loud")

    assert {e.field for e in refused.value.errors} == {"environment", "logging_level"}


def test_an_api_host_must_be_an_absolute_http_url(runtime: Runtime) -> None:
    with pytest.raises(InvalidIntegrationSettings) as refused:
        _save(runtime, environment="custom", api_host="ftp://emulator")

    assert [e.field for e in refused.value.errors] == ["api_host"]


def test_a_disabled_integration_builds_no_connector(runtime: Runtime, world: AutotaskWorld) -> None:
    configure(runtime, enabled=False)

    with (
        runtime.session_factory() as session,
        pytest.raises(IntegrationDisabled),
        active_connection.active(runtime, session),
    ):
        pass
    with pytest.raises(IntegrationDisabled):
        integration_checks.test_connection(runtime, actor="alice")

    assert world.requests() == []


def test_connection_test_reports_each_step_and_is_audited(runtime: Runtime) -> None:
    configure(runtime)

    result = integration_checks.test_connection(runtime, actor="alice")

    assert result.ok
    assert result.zone.ok and result.authenticated.ok and result.reference_access.ok
    with runtime.session_factory() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "autotask.test")
        ).one()
    assert event.outcome == "ok"
    assert event.details["steps"]["zone"]["ok"] is True


def test_connection_test_says_authentication_failed_for_a_wrong_secret(
    runtime: Runtime,
) -> None:
    configure(runtime, secret="wrong-secret")

    result = integration_checks.test_connection(runtime, actor="alice")

    assert result.zone.ok is True
    assert result.authenticated.ok is False
    assert result.reference_access.ok is None


def test_validate_configuration_lists_every_problem_at_once(runtime: Runtime) -> None:
    configure(runtime, base_url="", secret="wrong-secret")

    report = integration_checks.validate_configuration(runtime, actor="alice")

    fields = [p.field for p in report.problems]
    assert "base_url" in fields
    assert "reference" in fields
    assert {"default_queue_id", "default_status_id", "priority_warning_id"} <= set(fields)
    assert any(p.field == "connection" and "Authentication" in p.message for p in report.problems)
    assert not report.ok


def test_validate_configuration_passes_a_complete_setup(runtime: Runtime) -> None:
    configure(runtime)
    reference.refresh(runtime, actor="alice")
    _save(runtime, default_queue_id=29682833)  # "Monitoring Alert" queue of the demo tenant

    report = integration_checks.validate_configuration(runtime, actor="alice")

    assert report.problems == []
    assert report.connection is not None and report.connection.ok


def test_base_url_is_kept_as_entered(runtime: Runtime) -> None:
    configure(runtime)

    assert _load(runtime).settings.base_url == BASE_URL


def test_demo_setup_enables_the_integration_and_loads_reference_data(runtime: Runtime) -> None:
    done = connection_setup.connect(
        runtime,
        name="Autotask",
        kind="autotask",
        connector={
            "environment": "custom",
            "api_host": EMULATOR_URL,
            "username": DEMO_API_USER,
            "secret": DEMO_API_SECRET,
            "integration_code": DEMO_INTEGRATION_CODE,
        },
        base_url="http://127.0.0.1:8000",
        actor="demo",
    ).refreshed

    stored = _load(runtime)
    assert stored.settings.enabled and stored.connector["environment"] == "custom"
    assert stored.settings.base_url == "http://127.0.0.1:8000"
    assert done.counts["queue"] == 7 and stored.reference_synced_at == NOW
