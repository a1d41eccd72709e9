"""Ticket webhooks registered in the Autotask emulator and received by the round-trip services."""

from __future__ import annotations

import httpx
import pytest

from tests.services.roundtrip.support import (
    HookWorld,
    hook_requests,
    roundtrip_audits,
    to_services,
)
from tests.services.tickets.support import Clock, audits, current
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.emulators.autotask.entities import webhook_field_ids
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.roundtrip import polling, webhooks
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing
from ticketbridge.storage.models import WebhookRegistration

COMPLETE, IN_PROGRESS = 5, 8
API_USER_RESOURCE = 29
FIELD_IDS = {name: fid for fid, name in webhook_field_ids().items()}
ODD_TITLE = "Backup <failed> & 'retried' \"twice\" `now` +1 — Zürich"


def _store(world: HookWorld) -> dict:
    return world.transport.app.state.emulator.store.tables  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def registration(runtime: Runtime, ticket_id: int) -> WebhookRegistration:
    return webhooks.register(runtime, actor="admin")


def test_registering_subscribes_status_and_last_activity_and_excludes_our_api_user(
    world: HookWorld, registration: WebhookRegistration
) -> None:
    assert registration.state == "ready", registration.last_error
    assert registration.excluded_resource_id == API_USER_RESOURCE
    tables = _store(world)
    remote = tables["ticketwebhooks"][registration.remote_id]
    assert remote["webhookUrl"].endswith(f"/hooks/autotask/webhooks/{registration.id}")
    assert remote["deactivationUrl"] == remote["webhookUrl"] + "/deactivated"
    assert (remote["isSubscribedToUpdateEvents"], remote["isSubscribedToDeleteEvents"]) == (
        True,
        True,
    )
    fields = {
        f["fieldID"]: (f["isSubscribedField"], f["isDisplayAlwaysField"])
        for f in tables["ticketwebhookfields"].values()
    }
    assert fields == {
        FIELD_IDS["status"]: (True, True),
        FIELD_IDS["lastActivityDate"]: (True, True),
    }
    [excluded] = tables["ticketwebhookexcludedresources"].values()
    assert excluded["resourceID"] == API_USER_RESOURCE


def test_our_api_user_is_found_by_its_user_name_before_we_created_any_ticket(
    runtime: Runtime,
) -> None:
    registration = webhooks.register(runtime, actor="admin")
    assert registration.excluded_resource_id == API_USER_RESOURCE


def test_a_signed_event_over_escaped_characters_is_applied(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    run_id: int,
    ticket_id: int,
    registration: WebhookRegistration,
) -> None:
    # Send the title along too, so the body carries everything Autotask escapes.
    world.api(
        "POST",
        f"TicketWebhooks/{registration.remote_id}/Fields",
        {"fieldID": FIELD_IDS["title"], "isSubscribedField": False, "isDisplayAlwaysField": True},
    )
    clock.advance(minutes=3)
    world.admin("PATCH", f"tickets/{ticket_id}", {"title": ODD_TITLE, "status": COMPLETE})
    world.deliver()

    [stored] = hook_requests(runtime, "webhook")
    assert b"\\u003C" in stored.body and b"\\u00FC" in stored.body and b"\\u002B" in stored.body
    assert stored.outcome == "applied"
    assert world.relay.answers == [200]
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert link.resolved_in_psa_by == "resource 31"  # the PersonID, until the read names her
    polling.fetch_hinted(runtime)
    link = current(runtime, run_id)
    assert link is not None and link.resolved_in_psa_by == "Tara Technician"


def test_a_wrong_signature_is_refused_with_nothing_applied(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    run_id: int,
    ticket_id: int,
    registration: WebhookRegistration,
) -> None:
    receive = to_services(runtime)

    def tampered(request: httpx.Request) -> httpx.Response:
        body = request.content.replace(b'"Status":"5"', b'"Status":"8"')
        forged = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        return receive(forged)

    world.relay.target = tampered
    clock.advance(minutes=3)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()

    assert world.relay.answers == [401]
    [stored] = hook_requests(runtime, "webhook")
    assert stored.outcome == "rejected" and b'"Status":"8"' in stored.body
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.ACTIVE.value
    assert roundtrip_audits(runtime) == []


def test_our_own_writes_do_not_echo_back(
    runtime: Runtime, world: HookWorld, run_id: int, registration: WebhookRegistration
) -> None:
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {"allow_resolve": True},
            actor="t",
            now=runtime.clock(),
            kind="autotask",
        )
        session.commit()
    ticketing.resolve(runtime, run_id, actor="olivia")
    assert world.deliver() == []
    assert hook_requests(runtime, "webhook") == []


def test_a_deleted_ticket_is_suspected_then_confirmed_by_the_reads_after_the_hint(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    run_id: int,
    ticket_id: int,
    registration: WebhookRegistration,
) -> None:
    world.admin("DELETE", f"tickets/{ticket_id}")
    world.deliver()
    [stored] = hook_requests(runtime, "webhook")
    assert (stored.outcome, stored.ticket_id) == ("recorded", ticket_id)

    polling.fetch_hinted(runtime)
    link = current(runtime, run_id)
    assert link is not None and link.missing_since is not None
    assert link.state == LinkState.ACTIVE.value  # suspected: one miss is not proof
    polling.fetch_hinted(runtime)  # too early to confirm: nothing due yet
    clock.advance(minutes=1)
    polling.fetch_hinted(runtime)

    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.DELETED_EXTERNAL.value
    assert [e.outcome for e in audits(runtime, "ticket.validate")] == ["suspected", "deleted"]


def test_autotask_deactivating_the_webhook_is_recorded_and_shown(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    ticket_id: int,
    registration: WebhookRegistration,
) -> None:
    world.relay.force_status = 503  # every delivery fails, as far as Autotask can tell
    for turn in range(25):
        clock.advance(minutes=1)
        world.set_status(ticket_id, IN_PROGRESS if turn % 2 else COMPLETE)
        world.deliver()
    world.deliver()  # the deactivation notice

    [notice] = hook_requests(runtime, "deactivation")
    assert notice.outcome == "recorded"
    with runtime.session_factory() as session:
        row = session.get(WebhookRegistration, registration.id)
        assert row is not None and row.state == "deactivated"
        assert row.deactivated_at == clock.now
    # Polling reads the webhook's state too, so a lost notice would be noticed as well.
    assert webhooks.refresh(runtime) == 1
    with runtime.session_factory() as session:
        row = session.get(WebhookRegistration, registration.id)
        assert row is not None and row.state == "deactivated"


def test_an_unsigned_deactivation_notice_is_refused(
    runtime: Runtime, registration: WebhookRegistration
) -> None:
    request = httpx.Request(
        "POST",
        f"https://x.example/hooks/autotask/webhooks/{registration.id}/deactivated",
        content=b'{"Action":"Deactivated"}',
    )
    assert to_services(runtime)(request).status_code == 401
    with runtime.session_factory() as session:
        row = session.get(WebhookRegistration, registration.id)
        assert row is not None and row.state == "ready"


def test_registration_failure_is_kept_with_its_error(
    runtime: Runtime, world: HookWorld, ticket_id: int
) -> None:
    world.fault(status=500, path_contains="TicketWebhooks", methods=["POST"], count=5)
    row = webhooks.register(runtime, actor="admin")
    assert row.state == "failed" and row.last_error
    [event] = [e for e in audits(runtime, "roundtrip.webhook.register")]
    assert event.outcome == "failed"
