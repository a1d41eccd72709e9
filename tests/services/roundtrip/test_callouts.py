"""Extension callouts sent by the Autotask emulator, received by the round-trip services."""

from __future__ import annotations

import base64
import random
from datetime import timedelta

import httpx
import pytest

from tests.services.roundtrip.support import (
    TARA,
    HookWorld,
    hook_requests,
    make_callout,
    roundtrip_audits,
    to_services,
)
from tests.services.tickets.support import Clock, current
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.roundtrip import RoundtripInputError, polling
from ticketbridge.services.roundtrip.replay import replay
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing

COMPLETE, IN_PROGRESS, NEW = 5, 8, 1
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "options",
    [
        {"fmt": "name_value", "http_method": "POST"},
        {"fmt": "name_value", "http_method": "GET"},
        {"fmt": "soap", "method_name": "TicketClosed"},
        {"fmt": "soap", "method_name": "MyWebMethod", "soap_action": "http://tempuri.org/MyWebMethod"},
        {"fmt": "xml_rpc", "method_name": "ticket.closed"},
    ],
    ids=["name-value-post", "name-value-get", "soap", "soap-tempuri", "xml-rpc"],
)  # fmt: skip
def test_each_format_brings_the_closure_back_to_the_run(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int, options: dict
) -> None:
    make_callout(runtime, world, **options)
    world.deliver()  # the create's own callout
    clock.advance(minutes=5)

    world.set_status(ticket_id, COMPLETE)
    world.deliver()

    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert link.resolved_in_psa_at == clock.now
    assert link.last_status_label == "Complete"
    assert world.relay.answers[-1] == 200
    assert hook_requests(runtime, "callout")[-1].outcome == "applied"
    # The confirming read adds who completed it.
    polling.fetch_hinted(runtime)
    link = current(runtime, run_id)
    assert link is not None and link.resolved_in_psa_by == TARA
    with runtime.session_factory() as session:
        assert ticketing.view(session, run_id).label == f"Resolved in Autotask by {TARA}"


def test_wrong_credentials_are_refused_and_nothing_is_applied(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    world.admin("DELETE", "callouts/1")
    world.add_callout("autotask", "not-the-password-at-all")

    world.set_status(ticket_id, COMPLETE)
    world.deliver()

    assert world.relay.answers[-1] == 401
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.ACTIVE.value
    stored = hook_requests(runtime, "callout")[-1]
    assert stored.outcome == "rejected"
    assert stored.headers["authorization"] == "[not stored]"
    assert b"status=Complete" in stored.body  # kept, as received
    with pytest.raises(RoundtripInputError):
        replay(runtime, stored.id, actor="admin")


def test_ten_retries_are_applied_once(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    world.deliver()
    world.relay.force_status = 500  # Autotask sees a failure every time and retries
    clock.advance(minutes=1)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    for _ in range(10):
        clock.advance(seconds=60)
        world.deliver()

    closing = [r for r in hook_requests(runtime, "callout") if b"Complete" in r.body]
    assert len(closing) == 11
    assert [r.outcome for r in closing] == ["applied"] + ["duplicate"] * 10
    assert [e.outcome for e in roundtrip_audits(runtime)] == ["resolved_in_psa"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_retries_of_several_changes_in_shuffled_order_end_in_the_newest_state(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int, seed: int
) -> None:
    make_callout(runtime, world)
    world.relay.target = None  # record only
    for status in (IN_PROGRESS, COMPLETE, NEW, COMPLETE):
        clock.advance(minutes=2)
        world.set_status(ticket_id, status)
        world.deliver()
    captured = [r for r in world.relay.requests if f"id={ticket_id}".encode() in r.content]
    copies = [r for r in captured for _ in range(10)]
    random.Random(seed).shuffle(copies)

    receive = to_services(runtime)
    assert {receive(r).status_code for r in copies} == {200}

    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert link.last_activity_at == clock.now
    applied = [r for r in hook_requests(runtime, "callout") if r.outcome == "applied"]
    # Each (ticket, last activity, status) applied at most once, whatever the order.
    keys = [(r.parsed or {}).get("last_activity") for r in applied]
    assert len(keys) == len(set(keys)) <= len(captured)


def test_an_older_callout_arriving_after_a_newer_one_is_ignored(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    world.relay.target = None
    clock.advance(minutes=1)
    world.set_status(ticket_id, IN_PROGRESS)
    world.deliver()
    clock.advance(minutes=1)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    older, newer = world.relay.requests[-2:]

    receive = to_services(runtime)
    assert receive(newer).status_code == 200
    assert receive(older).status_code == 200

    assert [r.outcome for r in hook_requests(runtime, "callout")] == ["applied", "stale"]
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert link.last_status_label == "Complete"


def test_a_callout_for_a_ticket_we_do_not_know_is_kept_and_answered_200(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int
) -> None:
    make_callout(runtime, world)
    world.set_status(7001, COMPLETE)  # a demo ticket no run links
    world.deliver()

    assert world.relay.answers == [200]
    [stored] = hook_requests(runtime, "callout")
    assert (stored.outcome, stored.ticket_id) == ("unknown_ticket", 7001)

    # Linked later, the kept request can be replayed onto the run.
    number = world.api("GET", "Tickets/7001")["item"]["ticketNumber"]
    # (7001 is Acme Logistics Inc.'s; the run's customer is mapped to Brightwater Dental.)
    ticketing.link_existing(runtime, run_id, number, actor="olivia", confirm_company_mismatch=True)
    link = current(runtime, run_id)
    assert link is not None and link.ticket_id == 7001
    assert replay(runtime, stored.id, actor="admin").outcome == "applied"
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value


def test_a_body_that_is_not_a_callout_is_kept_and_answered_400(
    runtime: Runtime, world: HookWorld
) -> None:
    password = make_callout(runtime, world)
    auth = base64.b64encode(f"autotask:{password}".encode()).decode()
    request = httpx.Request(
        "POST",
        "https://ticketbridge.example.com/hooks/autotask/callouts/autotask",
        content=b"number=T1&status=New",
        headers={"Authorization": f"Basic {auth}", "Content-Type": FORM},
    )
    assert to_services(runtime)(request).status_code == 400
    stored = hook_requests(runtime)[-1]
    assert (stored.outcome, stored.body) == ("unreadable", b"number=T1&status=New")
    assert stored.error is not None and "ticket id" in stored.error


def test_an_unknown_callout_name_is_404_and_not_stored(runtime: Runtime) -> None:
    request = httpx.Request(
        "POST", "https://x.example/hooks/autotask/callouts/nope", content=b"id=1"
    )
    assert to_services(runtime)(request).status_code == 404
    assert hook_requests(runtime) == []


def test_a_soap_callout_sent_to_a_name_value_endpoint_is_unsupported(
    runtime: Runtime, world: HookWorld, clock: Clock, ticket_id: int
) -> None:
    password = make_callout(runtime, world, fmt="name_value")
    world.admin("DELETE", "callouts/1")
    world.add_callout("autotask", password, format="soap")
    clock.advance(minutes=1)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    assert world.relay.answers[-1] == 400
    assert hook_requests(runtime, "callout")[-1].outcome == "unsupported"


def test_stale_retries_after_a_poll_read_change_nothing(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    world.relay.target = None
    clock.advance(minutes=1)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    polling.poll(runtime)  # the poll saw it first
    before = current(runtime, run_id)

    to_services(runtime)(world.relay.requests[-1])

    assert hook_requests(runtime, "callout")[-1].outcome == "duplicate"
    after = current(runtime, run_id)
    assert before is not None and after is not None
    assert after.resolved_in_psa_by == before.resolved_in_psa_by == TARA
    assert len(roundtrip_audits(runtime)) == 1
    assert after.last_activity_at is not None
    assert after.last_activity_at <= clock.now + timedelta(seconds=1)
