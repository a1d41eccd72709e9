"""The diagnostics of Settings > Integrations > Autotask (design §7.6).

- Test connection: zone, an authenticated call, reference access; says which step failed.
- Validate configuration: every problem at once, from the stored settings, the cached
  reference data and a connection test.

Both are audited with their outcome and never raise connector errors: a failure is a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ticketbridge.connectors.psa.base import CheckResult, CheckStep
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_content import check_base_url
from ticketbridge.services.connections import autotask as autotask_connection
from ticketbridge.services.connections import reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.autotask import IntegrationUnavailable
from ticketbridge.services.connections.settings import DEFAULT_FIELDS, SUBJECT, FieldError
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit

STEP_LABELS = {
    "zone": "Zone discovery",
    "authenticated": "Authentication",
    "reference_access": "Reference data access",
}
DEFAULT_LABELS = {
    "default_queue_id": "default queue",
    "default_source_id": "default ticket source",
    "default_status_id": "default status",
    "priority_warning_id": "priority for Warning",
    "priority_error_id": "priority for Error",
}


def _steps(result: CheckResult) -> dict[str, CheckStep]:
    return {
        "zone": result.zone,
        "authenticated": result.authenticated,
        "reference_access": result.reference_access,
    }


def step_details(result: CheckResult) -> dict[str, dict[str, object]]:
    return {name: {"ok": s.ok, "message": s.message} for name, s in _steps(result).items()}


def test_connection(runtime: Runtime, *, actor: str) -> CheckResult:
    """Raises IntegrationUnavailable (audited, nothing sent) while disabled or incomplete."""
    action = "autotask.test"
    with runtime.session_factory() as session:
        try:
            with autotask_connection.active(
                runtime, session, priority=Priority.OPERATOR
            ) as autotask:
                result = autotask.connector.check()
        except IntegrationUnavailable as exc:
            session.rollback()
            autotask_connection.record_failure(runtime, actor=actor, action=action, exc=exc)
            raise
        audit.record(
            session,
            actor=actor,
            action=action,
            subject=SUBJECT,
            outcome="ok" if result.ok else "failed",
            details={"steps": step_details(result), **result.details},
        )
        session.commit()
        return result


@dataclass(frozen=True)
class ValidationReport:
    problems: list[FieldError]
    checked_at: datetime
    connection: CheckResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_configuration(runtime: Runtime, *, actor: str) -> ValidationReport:
    """Every problem at once: settings, base URL, ticket defaults against the cached reference
    data, and (when enabled and complete) a connection test."""
    with runtime.session_factory() as session:
        stored = integration_settings.load(session)
        settings = stored.settings
        problems = list(integration_settings.check(session, settings, secret_set=stored.secret_set))
        if not settings.enabled:
            problems.insert(0, FieldError("enabled", "the integration is disabled"))
        for name, value in (
            ("username", settings.username),
            ("integration_code", settings.integration_code),
        ):
            if not value and not any(p.field == name for p in problems):
                problems.append(FieldError(name, "not set"))
        if not stored.secret_set and not any(p.field == "secret" for p in problems):
            problems.append(FieldError("secret", "not set"))
        url_problem = check_base_url(settings.base_url)
        if url_problem and not any(p.field == "base_url" for p in problems):
            problems.append(FieldError("base_url", url_problem + " Tickets cannot be created."))
        if stored.reference_synced_at is None:
            problems.append(FieldError("reference", "reference data was never refreshed"))
        problems += _default_problems(session, settings)
        connection: CheckResult | None = None
        if settings.enabled:
            try:
                with autotask_connection.active(
                    runtime, session, priority=Priority.OPERATOR
                ) as autotask:
                    connection = autotask.connector.check()
            except IntegrationUnavailable as exc:
                problems.append(FieldError("connection", exc.message))
        if connection is not None:
            for name, step in _steps(connection).items():
                if step.ok is False:
                    problems.append(
                        FieldError("connection", f"{STEP_LABELS[name]}: {step.message}")
                    )
        report = ValidationReport(problems, runtime.clock(), connection)
        audit.record(
            session,
            actor=actor,
            action="autotask.validate",
            subject=SUBJECT,
            outcome="ok" if report.ok else "problems",
            details={"problems": [f"{p.field}: {p.message}" for p in problems]},
        )
        session.commit()
        return report


def _default_problems(
    session: Session, settings: integration_settings.AutotaskSettings
) -> list[FieldError]:
    values = {
        category: {int(v.value_id): v for v in rows}
        for category, rows in reference.options(session).items()
    }
    problems = []
    for name, category in DEFAULT_FIELDS.items():
        chosen = getattr(settings, name)
        label = DEFAULT_LABELS[name]
        if chosen is None:
            if name != "default_source_id":  # the source may be left to Autotask's default
                problems.append(FieldError(name, f"no {label} chosen"))
            continue
        value = values.get(category, {}).get(chosen)
        if value is not None and not value.active:
            problems.append(FieldError(name, f"the {label} {value.name!r} is inactive in Autotask"))
    return problems
