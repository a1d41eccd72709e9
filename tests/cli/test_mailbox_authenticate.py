"""`ticketbridge mailbox authenticate`, end to end through msal against the Graph emulator's
sandbox over TLS: client credentials checked with one read of the mailbox; a device code
sign-in approved on the sandbox, its token cache stored encrypted, later reads getting tokens
silently from it; and Entra's refusals told as what to do next."""

from __future__ import annotations

import queue
import threading

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from tests.cli.graph_mailbox import (
    NAME,
    GraphMailbox,
    add_graph_source,
    graph_mailbox,
    tls_files,
)
from tests.services.service_desk.conftest import NOW, set_up_desk
from tests.web.serving import serve
from ticketbridge.cli.main import app
from ticketbridge.emulators.graph import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_MAILBOX
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.mail import polling
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.service_desk import notify_settings
from ticketbridge.services.service_desk.notify_settings import NotifySetup
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import (
    MailMessage,
    MailSource,
    ServiceDeskMailbox,
    ServiceDeskNotice,
)

__all__ = ["graph_mailbox", "tls_files"]  # fixtures
runner = CliRunner()
BOUND_SECONDS = 60  # a bound on a hung sign-in, not a figure under test


def _stored_cache(mailbox: GraphMailbox) -> str | None:
    with mailbox.runtime.session_factory() as session:
        return session.get(MailSource, mailbox.source_id).token_cache  # type: ignore[union-attr]


def _said(result: Result) -> str:
    return " ".join(result.output.split())  # the console wraps long lines


def _sign_in(mailbox: GraphMailbox, name: str = NAME) -> Result:
    """`authenticate --device-code`, the code approved on the sandbox as the service desk's
    user once the command asked Entra for it (observed in the sandbox's state)."""
    done: queue.SimpleQueue[Result] = queue.SimpleQueue()
    args = ["mailbox", "authenticate", name, "--device-code"]
    command = threading.Thread(target=lambda: done.put(runner.invoke(app, args)))
    identity = mailbox.state.identity
    assert identity is not None
    before = set(identity.devices)
    command.start()
    try:
        code = None
        while code is None:
            flows = [f for key, f in list(identity.devices.items()) if key not in before]
            if flows:
                code = flows[0].user_code
            elif not command.is_alive():
                break
            else:
                command.join(0.05)  # re-look at the sandbox's state; bounded below
        if code is not None:
            approved = mailbox.admin.post(
                "/_emulator/devicelogin", json={"user_code": code, "user": DEMO_MAILBOX}
            )
            assert approved.status_code == 200, approved.text
        return done.get(timeout=BOUND_SECONDS)
    finally:
        command.join(BOUND_SECONDS)


def test_client_credentials_authenticate_gets_a_token_and_reads_the_mailbox(
    graph_mailbox: GraphMailbox,
) -> None:
    graph_mailbox.deliver("Printer offline")

    result = runner.invoke(app, ["mailbox", "authenticate", NAME])

    assert result.exit_code == 0, result.output
    assert "client credentials work" in _said(result)
    assert "1 message(s)" in _said(result)


def test_a_device_code_sign_in_is_stored_encrypted_and_later_reads_need_no_new_sign_in(
    graph_mailbox: GraphMailbox,
) -> None:
    signed_in = _sign_in(graph_mailbox)

    assert signed_in.exit_code == 0, signed_in.output
    assert "To sign in, use a web browser to open the page" in _said(signed_in)
    assert f"signed in as {DEMO_MAILBOX}" in _said(signed_in)
    stored = _stored_cache(graph_mailbox)
    identity = graph_mailbox.state.identity
    assert stored is not None and identity is not None
    refresh_tokens = list(identity.refresh)
    assert refresh_tokens and all(token not in stored for token in refresh_tokens)
    assert "refresh_token" not in stored.lower() and "RefreshToken" not in stored
    assert refresh_tokens[-1] in graph_mailbox.runtime.secret_box.decrypt(stored)

    # A later run (the poller, a new process's view of the row) reads with the stored sign-in:
    # no device flow is started, none is approved.
    flows_before = len(identity.devices)
    graph_mailbox.deliver("VPN broken")
    polled = polling.poll(graph_mailbox.runtime, graph_mailbox.source_id)
    assert polled.error == "" and polled.stored == 1
    assert len(identity.devices) == flows_before
    # Nothing was refreshed: the cached access token served, so the cache was not rewritten.
    assert list(identity.refresh) == refresh_tokens and _stored_cache(graph_mailbox) == stored

    checked = runner.invoke(app, ["mailbox", "authenticate", NAME])
    assert checked.exit_code == 0, checked.output
    assert "the stored sign-in works" in _said(checked)
    # The check refreshed the token; msal changed the cache, so it was written back.
    assert _stored_cache(graph_mailbox) not in (None, stored)
    with graph_mailbox.runtime.session_factory() as session:
        assert session.scalars(select(MailMessage.subject)).all() == ["VPN broken"]


def test_an_expired_or_revoked_refresh_token_says_to_sign_in_again(
    graph_mailbox: GraphMailbox,
) -> None:
    assert _sign_in(graph_mailbox).exit_code == 0
    assert graph_mailbox.admin.post("/_emulator/identity/expire-refresh-tokens").status_code == 200

    result = runner.invoke(app, ["mailbox", "authenticate", NAME])

    assert result.exit_code == 1
    assert "expired or was revoked" in _said(result)
    assert f"ticketbridge mailbox authenticate {NAME} --device-code" in _said(result)
    assert "AADSTS700082" in _said(result)


def test_missing_consent_is_explained_with_what_an_administrator_must_grant(
    graph_mailbox: GraphMailbox,
) -> None:
    withdrawn = graph_mailbox.admin.put(
        f"/_emulator/apps/{DEMO_CLIENT_ID}/consent", json={"granted": False}
    )
    assert withdrawn.status_code == 200

    result = _sign_in(graph_mailbox)

    assert result.exit_code == 1
    assert "consent is missing" in _said(result) and "AADSTS65001" in _said(result)
    assert "Mail.ReadWrite" in _said(result)
    assert _stored_cache(graph_mailbox) is None


@pytest.mark.parametrize("option", [[], ["--device-code"]])
def test_a_source_that_is_not_microsoft_365_is_refused_by_name(
    graph_mailbox: GraphMailbox, option: list[str]
) -> None:
    result = runner.invoke(app, ["mailbox", "authenticate", "No such source", *option])

    assert result.exit_code == 1
    assert "no mail source named 'No such source'" in _said(result)


def test_an_app_the_tenant_does_not_know_is_explained_as_the_tenant_or_client_to_check(
    graph_mailbox: GraphMailbox,
) -> None:
    with session_scope(graph_mailbox.runtime.session_factory) as session:
        source = session.get(MailSource, graph_mailbox.source_id)
        assert source is not None
        mail_sources.update_source(
            session,
            graph_mailbox.runtime.secret_box,
            source.id,
            config={**source.config, "client_id": "00000000-0000-0000-0000-00000000beef"},
            secret=DEMO_CLIENT_SECRET,
            actor="test",
        )

    result = _sign_in(graph_mailbox)

    assert result.exit_code == 1
    assert "does not accept this tenant or app" in _said(result)
    assert "AADSTS700016" in _said(result) and "tenant_id and client_id" in _said(result)


def test_a_signed_in_desk_mailbox_sends_its_notifications_as_the_signed_in_user(
    graph_mailbox: GraphMailbox,
) -> None:
    runtime = graph_mailbox.runtime
    with serve(create_jira(seed="empty")) as jira_url:
        set_up_desk(runtime, jira_url, graph_mailbox.source_id)
        with runtime.session_factory() as session:
            mailbox = session.scalars(
                select(ServiceDeskMailbox).where(
                    ServiceDeskMailbox.source_id == graph_mailbox.source_id
                )
            ).one()
            setup = NotifySetup(enabled=True, transport="graph")
            notify_settings.configure(session, runtime.secret_box, mailbox, setup, now=NOW)
            session.commit()
        signed_in = _sign_in(graph_mailbox)
        assert signed_in.exit_code == 0, signed_in.output
        # From now on the app's own tokens carry no permission: only the user's sign-in works.
        withdrawn = graph_mailbox.admin.put(
            f"/_emulator/apps/{DEMO_CLIENT_ID}/consent", json={"granted": False}
        )
        assert withdrawn.status_code == 200
        graph_mailbox.deliver("Monitor flickers")

        polled = polling.poll(runtime, graph_mailbox.source_id)
        assert polled.stored == 1, polled
        [handled] = process_pending(runtime)

    assert handled.outcome == "ticket", handled
    with runtime.session_factory() as session:
        notices = [(n.state, n.detail) for n in session.scalars(select(ServiceDeskNotice))]
    assert notices == [("sent", "")], notices
    [sent] = graph_mailbox.admin.get("/_emulator/sent").json()
    assert handled.ticket_key and handled.ticket_key in str(sent)


def test_a_delegated_mailbox_without_a_client_secret_signs_in_and_reads_as_its_user(
    graph_mailbox: GraphMailbox,
) -> None:
    runtime = graph_mailbox.runtime
    with session_scope(runtime.session_factory) as session:
        mail_sources.delete_source(session, graph_mailbox.source_id, actor="test")
    public = add_graph_source(runtime, graph_mailbox.url, name="Delegated desk", secret=None)
    graph_mailbox.deliver("Keyboard missing keys")

    unsigned = polling.poll(runtime, public)
    assert "No client secret is set" in unsigned.error and "--device-code" in unsigned.error
    app_only = runner.invoke(app, ["mailbox", "authenticate", "Delegated desk"])
    assert app_only.exit_code == 1
    assert "has no client secret" in _said(app_only)
    assert "ticketbridge mailbox authenticate Delegated desk --device-code" in _said(app_only)
    signed_in = _sign_in(graph_mailbox, "Delegated desk")

    assert signed_in.exit_code == 0, signed_in.output
    assert f"signed in as {DEMO_MAILBOX}" in _said(signed_in)
    with runtime.session_factory() as session:
        assert session.get(MailSource, public).secret is None  # type: ignore[union-attr]
    # No secret is stored for this source at all: the reads go as the signed-in user.
    polled = polling.poll(runtime, public)
    assert polled.error == "" and polled.stored == 1, polled
    checked = runner.invoke(app, ["mailbox", "authenticate", "Delegated desk"])
    assert checked.exit_code == 0 and "the stored sign-in works" in _said(checked)
