"""The diagnostics of a PSA connection (design §7.6).

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
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import connector_fields, named, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.connections.settings import (
    DEFAULT_FIELDS,
    ConnectionSettings,
    FieldError,
)
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


def test_connection(
    runtime: Runtime, *, actor: str, connection_id: int | None = None
) -> CheckResult:
    """Test the connection (None: the ticketing default) and keep the outcome on it. Raises
    IntegrationUnavailable (audited, nothing sent) while disabled or incomplete."""
    with runtime.session_factory() as session:
        row = named.find(session, connection_id)
        action = f"{row.kind if row else 'psa'}.test"
        subject = f"connection {row.id if row else connection_id}"
        try:
            with active_connection.active(
                runtime, session, connection_id, priority=Priority.OPERATOR
            ) as psa:
                result = psa.connector.check()
        except IntegrationUnavailable as exc:
            session.rollback()
            active_connection.record_failure(
                runtime, actor=actor, action=action, exc=exc, subject=subject
            )
            raise
        row = named.get(session, psa.connection_id)
        row.check_ok = result.ok
        row.check_message = _summary(result)[:500]
        row.checked_at = runtime.clock()
        audit.record(
            session,
            actor=actor,
            action=action,
            subject=subject,
            outcome="ok" if result.ok else "failed",
            details={"steps": step_details(result), **result.details},
        )
        session.commit()
        return result


def _summary(result: CheckResult) -> str:
    if result.ok:
        return "Connected."
    return next(
        (f"{STEP_LABELS[n]}: {s.message}" for n, s in _steps(result).items() if s.ok is False),
        "Not reached.",
    )


@dataclass(frozen=True)
class ValidationReport:
    problems: list[FieldError]
    checked_at: datetime
    connection: CheckResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_configuration(
    runtime: Runtime, *, actor: str, connection_id: int | None = None
) -> ValidationReport:
    """Every problem at once: settings, base URL, ticket defaults against the cached reference
    data, and (when enabled and complete) a connection test."""
    with runtime.session_factory() as session:
        stored = integration_settings.load(session, connection_id)
        settings = stored.settings
        kind = stored.kind
        problems = (
            integration_settings.check(
                session,
                settings,
                stored.connector,
                kind=kind,
                secret_set=stored.secret_set,
                connection_id=stored.connection_id,
            )
            if kind
            else [FieldError("connection", "no PSA connection is set up")]
        )
        if not settings.enabled:
            problems.insert(0, FieldError("enabled", "the integration is disabled"))
        if kind:
            # Everything the connection needs once enabled, said now even while disabled.
            for problem in integration_settings.connector_errors(
                kind, stored.connector, secret_set=stored.secret_set, enabled=True
            ):
                if not any(p.field == problem.field for p in problems):
                    problems.append(
                        FieldError(
                            problem.field,
                            "not set"
                            if problem.message == "required to enable"
                            else problem.message,
                        )
                    )
            if not stored.secret_set and not any(
                p.field in connector_fields.secret_fields(kind) for p in problems
            ):
                field = (connector_fields.secret_fields(kind) or ("secret",))[0]
                problems.append(FieldError(field, "not set"))
        url_problem = check_base_url(settings.base_url)
        if url_problem and not any(p.field == "base_url" for p in problems):
            problems.append(FieldError("base_url", url_problem + " Tickets cannot be created."))
        if stored.reference_synced_at is None:
            problems.append(FieldError("reference", "reference data was never refreshed"))
        problems += _default_problems(session, settings, stored.connection_id)
        connection: CheckResult | None = None
        if settings.enabled:
            try:
                with active_connection.active(
                    runtime, session, stored.connection_id, priority=Priority.OPERATOR
                ) as psa:
                    connection = psa.connector.check()
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
            action=f"{kind or 'psa'}.validate",
            subject=f"connection {stored.connection_id}",
            outcome="ok" if report.ok else "problems",
            details={"problems": [f"{p.field}: {p.message}" for p in problems]},
        )
        session.commit()
        return report


def _default_problems(
    session: Session, settings: ConnectionSettings, connection_id: int | None
) -> list[FieldError]:
    values = {
        category: {int(v.value_id): v for v in rows}
        for category, rows in reference.options(session, connection_id).items()
    }
    problems = []
    for name, category in DEFAULT_FIELDS.items():
        chosen = getattr(settings, name)
        label = DEFAULT_LABELS[name]
        if chosen is None:
            if name != "default_source_id":  # the source may be left to the PSA's default
                problems.append(FieldError(name, f"no {label} chosen"))
            continue
        value = values.get(category, {}).get(chosen)
        if value is not None and not value.active:
            problems.append(FieldError(name, f"the {label} {value.name!r} is inactive in the PSA"))
    return problems
