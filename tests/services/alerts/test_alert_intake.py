"""Alert mails become alerts, not runs; repeats are counted; correlation against the emulator."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.services.alerts.conftest import Prepared
from tests.services.alerts.mails import alert_mail
from tests.services.alerts.support import (
    BRIGHTWATER,
    add_device,
    alerts,
    deliver,
    occurrences,
    only_alert,
    process,
)
from tests.services.autotask_world import AutotaskWorld, configure
from tests.services.tickets.support import Clock
from ticketbridge.services.alerts import sources
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import AlertSource, MailMessage, Run


def test_alert_mail_becomes_an_alert_and_no_run(runtime: Runtime) -> None:
    mail_id = deliver(runtime, alert_mail())

    with runtime.session_factory() as session:
        mail = session.get(MailMessage, mail_id)
        assert mail is not None
        assert (mail.state, mail.parser, mail.run_ids, mail.awaiting_approval) == (
            "parsed", "ates", [], False,
        )  # fmt: skip
        assert session.scalar(select(func.count(Run.id))) == 0
    alert = only_alert(runtime)
    assert (alert.state, alert.count, alert.alert_ref, alert.device_ref) == (
        "new",
        1,
        "8932",
        "123",
    )
    assert alert.title == "Disk space low on SRV01"
    assert "below 5 % free" in alert.summary and "Autotask" not in alert.summary
    assert mail.detected[0]["alert_id"] == alert.id


def test_correlation_finds_customer_company_and_device_then_waits(
    runtime: Runtime, prepared: Prepared
) -> None:
    deliver(runtime, alert_mail())

    result = process(runtime)

    alert = only_alert(runtime)
    assert result.correlated == 1
    assert alert.state == "waiting"
    assert (alert.customer_id, alert.company_id) == (prepared.customer_id, BRIGHTWATER)
    assert alert.ci_name == "BRIGHT-SRV01" and alert.ci_id
    assert "No open ticket" in alert.reason and "operator decides" in alert.reason


def test_device_of_another_company_is_not_attached(runtime: Runtime, world: AutotaskWorld) -> None:
    add_device(world, 103, "777", "COBALT-SRV01")
    deliver(runtime, alert_mail(device="777"))

    process(runtime)

    assert only_alert(runtime).ci_id is None


def test_repeats_of_an_open_alert_are_counted_on_it(runtime: Runtime, clock: Clock) -> None:
    for n in range(3):
        clock.advance(minutes=5)
        deliver(runtime, alert_mail(n))

    alert = only_alert(runtime)
    assert alert.count == 3
    assert len(occurrences(runtime, alert.id)) == 3
    assert alert.last_seen_at > alert.first_seen_at


def test_routing_a_mail_again_counts_nothing(runtime: Runtime) -> None:
    deliver(runtime, alert_mail())

    mail_intake.reparse(runtime.session_factory, now=runtime.clock)

    assert only_alert(runtime).count == 1


def test_alerts_without_an_alert_or_ticket_id_are_never_merged(runtime: Runtime) -> None:
    deliver(runtime, alert_mail(1, alert=None))
    deliver(runtime, alert_mail(2, alert=None))

    assert [a.count for a in alerts(runtime)] == [1, 1]


def test_unmapped_customer_waits_and_its_mapping_sends_it_back(
    runtime: Runtime, prepared: Prepared
) -> None:
    deliver(runtime, alert_mail(customer="555"))
    process(runtime)
    assert "CustomerID '555'" in only_alert(runtime).reason
    assert only_alert(runtime).state == "waiting"

    with session_scope(runtime.session_factory) as session:
        other = catalog.create_customer(session, "Unmapped Ltd", actor="test").id
        sources.map_customer(session, prepared.source_id, "555", other, actor="test")
        [view] = sources.list_sources(session)
        assert view.unmapped == ()
    assert only_alert(runtime).state == "new"
    process(runtime)

    alert = only_alert(runtime)
    assert (alert.state, alert.customer_id, alert.company_id) == ("waiting", other, None)
    assert "not mapped to an Autotask company" in alert.reason


def test_unknown_source_is_added_with_the_operator_rule(runtime: Runtime) -> None:
    deliver(runtime, alert_mail(source="Other RMM"))

    with runtime.session_factory() as session:
        names = {s.name: s.create_rule for s in session.scalars(select(AlertSource))}
    assert names["Other RMM"] == "operator"


def test_disabled_integration_leaves_the_alert_new_and_sends_nothing(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    configure(runtime, enabled=False)
    deliver(runtime, alert_mail())
    world.forget_requests()

    process(runtime)

    alert = only_alert(runtime)
    assert alert.state == "new" and "not asked" in alert.reason
    assert world.requests() == []


def _device_queries(world: AutotaskWorld) -> int:
    return sum("ConfigurationItems/query" in r["path"] for r in world.requests())


def test_a_devices_items_are_asked_of_autotask_once_a_day(
    runtime: Runtime, world: AutotaskWorld, clock: Clock
) -> None:
    world.forget_requests()
    for n in (1, 2):
        deliver(runtime, alert_mail(n, alert=str(n)))
        process(runtime)
    asked_for_two = _device_queries(world)
    clock.advance(days=1, minutes=1)
    deliver(runtime, alert_mail(3, alert="3"))
    process(runtime)

    assert asked_for_two == 1
    assert _device_queries(world) == 2
    assert {a.ci_name for a in alerts(runtime)} == {"BRIGHT-SRV01"}


def test_a_device_not_found_is_asked_again_after_an_hour_and_then_attached(
    runtime: Runtime, world: AutotaskWorld, clock: Clock
) -> None:
    world.forget_requests()
    deliver(runtime, alert_mail(1, device="555", alert="1"))
    process(runtime)
    add_device(world, BRIGHTWATER, "555", "BRIGHT-NAS01")
    clock.advance(minutes=30)
    deliver(runtime, alert_mail(2, device="555", alert="2"))
    process(runtime)
    within_the_hour = _device_queries(world)
    clock.advance(minutes=31)
    deliver(runtime, alert_mail(3, device="555", alert="3"))
    process(runtime)

    assert within_the_hour == 1
    assert _device_queries(world) == 2
    assert [a.ci_name for a in alerts(runtime)] == [None, None, "BRIGHT-NAS01"]
