"""The correlation explainer: which customer, device and ticket an alert would join, and why
not; it writes nothing and never shows the credentials."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from tests.services.alerts.mails import SECRETS, alert_mail, token
from tests.services.alerts.support import BRIGHTWATER, COBALT, add_ticket, deliver, only_alert
from tests.services.autotask_world import AutotaskWorld, configure
from ticketbridge.services.alerts.explain import explain
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import Alert, AlertDevice, AlertSource


def labels(result: object) -> dict[str, bool | None]:
    return {step.label: step.ok for step in result.steps}  # type: ignore[attr-defined]


def test_token_would_join_the_open_ticket_of_its_company(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    add_ticket(world, COBALT, alert="8932")
    mine = add_ticket(world, BRIGHTWATER, alert="8932")

    result = explain(runtime, token())

    assert result.verdict == f"Would join ticket {mine['ticketNumber']}."
    assert labels(result) == {
        "Token": True, "Source": True, "Customer": True, "Company": True,
        "Open alert": False, "Device": True, "Open ticket": True,
    }  # fmt: skip
    assert [c.why_not for c in result.considered] == [None]
    assert result.token is not None and result.token["customer_id"] == "100"
    assert result.credentials_redacted


def test_says_why_not_when_only_another_company_has_the_alert(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    add_ticket(world, COBALT, alert="8932")

    result = explain(runtime, token())

    assert result.joins_ticket is None
    assert result.verdict.startswith("Would wait for an operator")
    assert "No open ticket of company 102" in result.steps[-1].detail


def test_pasted_mail_would_be_counted_on_an_open_alert(runtime: Runtime) -> None:
    deliver(runtime, alert_mail(1))
    alert_id = only_alert(runtime).id

    result = explain(runtime, alert_mail(2).decode())

    assert result.joins_alert_id == alert_id
    assert result.verdict == f"Would be counted on alert {alert_id}."


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Backup job Nightly finished with status Success.", "Not an alert"),
        (token(customer="999"), "Would wait for an operator: the CustomerID is not mapped."),
        (token(source="Brand New RMM"), "Would wait for an operator: map the source's"),
    ],
    ids=["no-token", "unmapped-customer", "new-source"],
)
def test_says_why_an_alert_would_wait(runtime: Runtime, text: str, verdict: str) -> None:
    assert explain(runtime, text).verdict.startswith(verdict)


def test_disabled_integration_is_said_and_not_asked(runtime: Runtime, world: AutotaskWorld) -> None:
    configure(runtime, enabled=False)
    world.forget_requests()

    result = explain(runtime, token())

    assert result.steps[-1].detail.startswith("Not asked")
    assert world.requests() == []


def test_explaining_writes_nothing_and_logs_no_credential(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with runtime.session_factory() as session:
        before = [
            session.scalar(select(func.count()).select_from(t))
            for t in (Alert, AlertSource, AlertDevice)
        ]

    result = explain(runtime, alert_mail().decode() + token(source="Another RMM"))

    with runtime.session_factory() as session:
        after = [
            session.scalar(select(func.count()).select_from(t))
            for t in (Alert, AlertSource, AlertDevice)
        ]
    assert before == after
    shown = repr(result) + caplog.text
    assert not any(secret in shown for secret in SECRETS)
