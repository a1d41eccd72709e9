"""msal itself against the sandbox served over TLS: the flows `mailbox authenticate` relies on,
and the errors it must explain, come back from msal exactly as msal reports Entra's."""

from __future__ import annotations

import base64
import json
from typing import Any

import msal
import pytest

from ticketbridge.emulators.graph import (
    DEFAULT_TOKEN,
    DEMO_AGENT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_MAILBOX,
    DEMO_TENANT_DOMAIN,
)
from ticketbridge.emulators.graph.tls import TlsFiles

from .conftest import Sandbox

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
MAIL = ["Mail.ReadWrite"]


@pytest.fixture(autouse=True)
def trust_the_sandbox_ca(monkeypatch: pytest.MonkeyPatch, tls_files: TlsFiles) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over a session's own verify (so
    # over msal's verify=); a user trusts the sandbox CA through the variable, and so do we.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _confidential(sandbox: Sandbox, secret: str = DEMO_CLIENT_SECRET) -> Any:
    return msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        client_credential=secret,
        authority=sandbox.authority,
        instance_discovery=False,
    )


def _public(sandbox: Sandbox) -> Any:
    return msal.PublicClientApplication(
        DEMO_CLIENT_ID, authority=sandbox.authority, instance_discovery=False
    )


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _deliver(sandbox: Sandbox, subject: str) -> None:
    raw = f"From: A <a@customer.example>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\n"
    url = f"/_emulator/mailboxes/{DEMO_MAILBOX}/folders/inbox/messages"
    assert sandbox.admin.post(url, content=raw.encode()).status_code == 201


def _signed_in(sandbox: Sandbox) -> tuple[Any, dict[str, Any]]:
    """A device flow the service desk's user approved on the sandbox's sign-in page."""
    app = _public(sandbox)
    flow = app.initiate_device_flow(scopes=MAIL)
    page = sandbox.admin.post(
        "/devicelogin",
        data={"user_code": flow["user_code"], "user": DEMO_MAILBOX, "action": "approve"},
    )
    assert "You have signed in to the ticketbridge mailbox application" in page.text
    result = app.acquire_token_by_device_flow(flow)  # approved before the first poll: no wait
    assert "access_token" in result, result
    return app, result


def test_client_credentials_through_msal_give_a_token_that_reads_the_mailbox(
    sandbox: Sandbox,
) -> None:
    _deliver(sandbox, "printer-offline")

    result = _confidential(sandbox).acquire_token_for_client(scopes=GRAPH_DEFAULT)

    assert result["token_type"] == "Bearer"
    assert set(_claims(result["access_token"])["roles"]) == {"Mail.ReadWrite", "Mail.Send"}
    listed = sandbox.admin.get(
        f"/v1.0/users/{DEMO_MAILBOX}/messages", headers=_bearer(result["access_token"])
    )
    assert listed.status_code == 200
    assert [m["subject"] for m in listed.json()["value"]] == ["printer-offline"]


def test_the_tenant_domain_is_an_authority_too(sandbox: Sandbox) -> None:
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        client_credential=DEMO_CLIENT_SECRET,
        authority=f"{sandbox.url}/{DEMO_TENANT_DOMAIN}",
        instance_discovery=False,
    )
    assert "access_token" in app.acquire_token_for_client(scopes=GRAPH_DEFAULT)


def test_a_wrong_secret_is_msals_invalid_client_with_the_aadsts_code(sandbox: Sandbox) -> None:
    result = _confidential(sandbox, "not-the-secret").acquire_token_for_client(scopes=GRAPH_DEFAULT)

    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret")
    assert "not-the-secret" not in json.dumps(result)


def test_an_unknown_tenant_fails_msals_tenant_discovery(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="double check your tenant name") as refused:
        msal.ConfidentialClientApplication(
            DEMO_CLIENT_ID,
            client_credential=DEMO_CLIENT_SECRET,
            authority=f"{sandbox.url}/no-such-tenant.onmicrosoft.com",
            instance_discovery=False,
        )
    # msal keeps Entra's answer to discovery as the cause of its own error.
    assert "AADSTS90002" in str(refused.value.__context__)


def test_a_device_code_not_yet_approved_is_pending(sandbox: Sandbox) -> None:
    app = _public(sandbox)
    flow = app.initiate_device_flow(scopes=MAIL)

    assert flow["verification_uri"] == f"{sandbox.url}/devicelogin"
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda _flow: True)
    assert result["error"] == "authorization_pending"


def test_a_device_code_approved_in_the_sandbox_gives_a_token_for_the_users_own_mailbox(
    sandbox: Sandbox,
) -> None:
    _deliver(sandbox, "for-the-desk")
    app, result = _signed_in(sandbox)

    assert result["id_token_claims"]["preferred_username"] == DEMO_MAILBOX
    assert [a["username"] for a in app.get_accounts()] == [DEMO_MAILBOX]
    assert _claims(result["access_token"])["scp"] == "Mail.ReadWrite"
    mine = sandbox.admin.get("/v1.0/me/messages", headers=_bearer(result["access_token"]))
    theirs = sandbox.admin.get(
        f"/v1.0/users/{DEMO_AGENT}/messages", headers=_bearer(result["access_token"])
    )
    assert [m["subject"] for m in mine.json()["value"]] == ["for-the-desk"]
    assert theirs.status_code == 403


def test_refresh_renews_the_token_and_an_expired_refresh_token_is_invalid_grant(
    sandbox: Sandbox,
) -> None:
    app, first = _signed_in(sandbox)
    account = app.get_accounts()[0]

    renewed = app.acquire_token_silent_with_error(MAIL, account=account, force_refresh=True)
    assert renewed["access_token"] != first["access_token"]
    me = sandbox.admin.get("/v1.0/me/mailFolders/inbox", headers=_bearer(renewed["access_token"]))
    assert me.status_code == 200

    sandbox.admin.post("/_emulator/identity/expire-refresh-tokens")
    refused = app.acquire_token_silent_with_error(MAIL, account=account, force_refresh=True)
    assert refused["error"] == "invalid_grant"
    assert refused["error_codes"] == [700082]


def test_missing_consent_is_aadsts65001_for_a_user_and_no_roles_for_the_app(
    sandbox: Sandbox,
) -> None:
    sandbox.admin.put(f"/_emulator/apps/{DEMO_CLIENT_ID}/consent", json={"granted": False})
    app = _public(sandbox)
    flow = app.initiate_device_flow(scopes=MAIL)
    sandbox.admin.post(
        "/_emulator/devicelogin", json={"user_code": flow["user_code"], "user": DEMO_MAILBOX}
    )

    delegated = app.acquire_token_by_device_flow(flow)
    app_only = _confidential(sandbox).acquire_token_for_client(scopes=GRAPH_DEFAULT)

    assert (delegated["error"], delegated["suberror"]) == ("invalid_grant", "consent_required")
    assert delegated["error_codes"] == [65001]
    assert _claims(app_only["access_token"])["roles"] == []
    denied = sandbox.admin.get(
        f"/v1.0/users/{DEMO_MAILBOX}/messages", headers=_bearer(app_only["access_token"])
    )
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "ErrorAccessDenied")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Access token is empty."),
        (_bearer("made-up"), "Access token validation failure. Invalid audience."),
        (_bearer(DEFAULT_TOKEN), "Access token validation failure. Invalid audience."),
    ],
    ids=["none", "made-up", "fixed-test-token-not-in-the-sandbox"],
)
def test_graph_answers_401_without_a_token_the_sandbox_issued(
    sandbox: Sandbox, headers: dict[str, str], message: str
) -> None:
    answer = sandbox.admin.get(f"/v1.0/users/{DEMO_MAILBOX}/messages", headers=headers)

    assert answer.status_code == 401
    assert answer.json()["error"] == {"code": "InvalidAuthenticationToken", "message": message}


def test_an_expired_access_token_is_refused_by_graph(sandbox: Sandbox) -> None:
    token = _confidential(sandbox).acquire_token_for_client(scopes=GRAPH_DEFAULT)["access_token"]
    sandbox.admin.post("/_emulator/identity/expire-access-tokens")

    answer = sandbox.admin.get(f"/v1.0/users/{DEMO_MAILBOX}/messages", headers=_bearer(token))

    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
