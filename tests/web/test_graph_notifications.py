"""Microsoft 365 change notifications end to end: our app served by uvicorn on a loopback port
as the public URL, the Graph sandbox over TLS (msal client credentials) subscribing it with the
validation handshake, and a mail delivered in the sandbox reaching our store through the
notification's poll. No worker runs here, so nothing polls on a timer: only a notification can
make the poll."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.cli.graph_mailbox import GraphMailbox, graph_mailbox, tls_files
from tests.web.serving import serve
from ticketbridge.emulators.graph import DEMO_MAILBOX
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail import subscriptions
from ticketbridge.services.mail.polling import PollResult
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import HookRequest, MailMessage, MailSource, MailSubscription
from ticketbridge.web.app import create_app

__all__ = ["graph_mailbox", "tls_files"]  # fixtures
BOUND_SECONDS = 30.0  # a bound on a lost notification, not a figure under test


@dataclass
class Served:
    mailbox: GraphMailbox
    runtime: Runtime  # with the served app's URL as the public URL
    url: str
    polls: queue.SimpleQueue[tuple[int, PollResult]]

    @property
    def hook(self) -> str:
        return f"{self.url}/hooks/graph/notifications/{self.mailbox.source_id}"

    def subscription(self) -> MailSubscription | None:
        with self.runtime.session_factory() as session:
            return session.scalars(select(MailSubscription)).first()

    def remote(self) -> list[dict[str, object]]:
        found: list[dict[str, object]] = self.mailbox.admin.get("/_emulator/subscriptions").json()
        return found


@pytest.fixture
def served(graph_mailbox: GraphMailbox, settings: Settings, engine: Engine) -> Iterator[Served]:
    app = create_app(settings, engine=engine)  # no background: no periodic poll
    polls: queue.SimpleQueue[tuple[int, PollResult]] = queue.SimpleQueue()
    app.state.prompt_poll.observer = lambda source_id, result: polls.put((source_id, result))
    with serve(app) as url:
        public = settings.model_copy(update={"public_url": url})
        yield Served(graph_mailbox, replace(graph_mailbox.runtime, settings=public), url, polls)


def test_a_mail_reaches_the_store_through_its_notification_without_a_timed_poll(
    served: Served,
) -> None:
    [made] = subscriptions.maintain(served.runtime)

    assert made.action == "created", made
    [remote] = served.remote()
    assert remote["notificationUrl"] == served.hook
    assert remote["resource"] == f"users/{DEMO_MAILBOX}/mailFolders('inbox')/messages"
    stored = served.subscription()
    assert stored is not None and stored.remote_id == remote["id"]
    # The secret is stored encrypted: never as Graph holds it.
    assert remote["clientState"] and remote["clientState"] not in stored.client_state
    assert served.polls.empty()

    served.mailbox.deliver("Printer offline")
    source_id, result = served.polls.get(timeout=BOUND_SECONDS)

    assert (source_id, result.error, result.stored) == (served.mailbox.source_id, "", 1)
    with served.runtime.session_factory() as session:
        assert session.scalars(select(MailMessage.subject)).all() == ["Printer offline"]
        [request] = session.scalars(select(HookRequest)).all()
        source = session.get(MailSource, served.mailbox.source_id)
        assert source is not None and source.last_poll_at is not None
        # The poll began once the notification was stored and checked, never before it.
        assert source.last_poll_at >= request.received_at
    assert (request.channel, request.outcome) == ("graph", "applied")
    assert str(remote["clientState"]).encode() not in request.body  # kept without the secret
    assert json.loads(request.body)["value"][0]["subscriptionId"] == remote["id"]


def test_a_notification_with_a_wrong_client_state_is_refused_and_polls_nothing(
    served: Served,
) -> None:
    subscriptions.maintain(served.runtime)
    [remote] = served.remote()
    forged = {
        "value": [
            {
                "subscriptionId": remote["id"],
                "changeType": "created",
                "clientState": "guessed-secret",
                "resource": "Users/x/Messages/y",
            }
        ]
    }

    answer = httpx.post(served.hook, json=forged)

    assert answer.status_code == 401, answer.text
    assert served.polls.empty()
    with served.runtime.session_factory() as session:
        source = session.get(MailSource, served.mailbox.source_id)
        assert source is not None and source.last_poll_at is None
        [request] = session.scalars(select(HookRequest)).all()
    assert request.outcome == "rejected"
    # A source without a subscription has nothing to validate or notify.
    assert httpx.post(f"{served.url}/hooks/graph/notifications/999").status_code == 404
    assert (
        httpx.post(f"{served.url}/hooks/graph/notifications/999?validationToken=x").status_code
        == 404
    )
    assert httpx.post(served.hook, content=b"not json").status_code == 400


def test_a_subscription_is_renewed_a_day_before_it_expires_and_ended_with_its_source(
    served: Served,
) -> None:
    subscriptions.maintain(served.runtime)
    first = served.subscription()
    assert first is not None and first.expires_at is not None
    assert subscriptions.maintain(served.runtime) == []  # nothing due yet

    due = first.expires_at - subscriptions.RENEW_BEFORE
    later = replace(served.runtime, clock=lambda: due)
    [renewed] = subscriptions.maintain(later)

    assert renewed.action == "renewed", renewed
    after = served.subscription()
    assert after is not None and after.expires_at is not None
    assert after.expires_at == due + subscriptions.LIFETIME
    assert after.remote_id == first.remote_id and after.client_state == first.client_state
    [remote] = served.remote()
    granted = datetime.fromisoformat(str(remote["expirationDateTime"]).replace("Z", "+00:00"))
    assert granted == after.expires_at.astimezone(UTC)

    with session_scope(served.runtime.session_factory) as session:
        mail_sources.update_source(
            session,
            served.runtime.secret_box,
            served.mailbox.source_id,
            enabled=False,
            actor="test",
        )
    [ended] = subscriptions.maintain(served.runtime)
    assert ended.action == "ended"
    assert served.remote() == [] and served.subscription() is None


def test_deleting_a_source_ends_its_subscription_at_graph(served: Served) -> None:
    subscriptions.maintain(served.runtime)
    assert len(served.remote()) == 1

    with session_scope(served.runtime.session_factory) as session:
        unsubscribe = subscriptions.ending(served.runtime, session, served.mailbox.source_id)
        mail_sources.delete_source(session, served.mailbox.source_id, actor="test")
    unsubscribe()

    assert served.remote() == [] and served.subscription() is None


def test_a_removed_subscription_told_by_a_lifecycle_event_polls_and_is_made_again(
    served: Served,
) -> None:
    subscriptions.maintain(served.runtime)
    [remote] = served.remote()
    event = {
        "value": [
            {
                "subscriptionId": remote["id"],
                "lifecycleEvent": "subscriptionRemoved",
                "clientState": remote["clientState"],
            }
        ]
    }

    assert httpx.post(served.hook, json=event).status_code == 202
    source_id, result = served.polls.get(timeout=BOUND_SECONDS)
    assert result.error == "" and source_id == served.mailbox.source_id

    [made] = subscriptions.maintain(served.runtime)
    assert made.action == "created"
    assert len(served.remote()) == 2  # the sandbox did not really remove the first
