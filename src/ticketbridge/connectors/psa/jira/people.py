"""A draft's reporter and watchers as Jira accounts (TicketDraft.reporter, .watchers).

Jira knows people by account (Cloud: ``accountId``; Data Center: the user name), not by
address, so each address is looked up first: Cloud's ``GET user/search?query=<address>``,
Data Center's ``?username=<address>``; one request per address not asked lately. The answer
is kept (``JiraClient.accounts``: the process's ``JiraCache``, by site and sign-in) for 10
minutes, an address without an account for 2, so a desk's repeated sender costs no lookup
per ticket while a new account, or one changed or deactivated, is seen within minutes. Only
an account whose e-mail address is the one looked up counts (a search matches parts of names
too, and Cloud hides the address of a user whose profile says so: such a user is not found).
Service desk customers are accounts as well, so a sender known to a service desk becomes the
request's reporter.

The reporter is a field of the create. Jira refuses one the connection's user may not set (no
Modify Reporter permission) or that may not report in the project (a customer on a software
project) with a 400 naming the field; the issue is then created without it, since a refused
create made nothing. Watchers are added after the create, one ``POST issue/{id}/watchers``
each (the body a JSON string: the account id, or the user name); a refusal there leaves the
issue as made and is reported, never raised: the ticket exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from ticketbridge.connectors.errors import RemoteRejected
from ticketbridge.connectors.psa.jira.client import JiraClient
from ticketbridge.connectors.psa.people import link_each

NOT_FOUND = "no Jira account has this address"
ACCOUNT_TTL_SECONDS = 600
# Shorter: an address often gets its account (a customer signing up) right after a first mail.
NO_ACCOUNT_TTL_SECONDS = 120
ACCOUNTS_KEPT = 5000
# Kept for an address without an account (a found account is never empty).
_NO_ACCOUNT: dict[str, Any] = {}


def accounts(client: JiraClient, addresses: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The account of each address Jira knows, by the address as given."""
    found: dict[str, dict[str, Any]] = {}
    for address in dict.fromkeys(a for a in addresses if a):
        if address.casefold() in {a.casefold() for a in found}:
            continue
        key = (_signed_in(client), address.casefold())
        known = client.accounts.get(key) if client.accounts is not None else None
        user = known if known is not None else _search(client, address)
        if client.accounts is not None and known is None:
            ttl = None if user is not None else NO_ACCOUNT_TTL_SECONDS
            client.accounts.put(key, user or _NO_ACCOUNT, ttl_seconds=ttl)
        if user:
            found[address] = user
    return found


def _search(client: JiraClient, address: str) -> dict[str, Any] | None:
    param = "query" if client.cloud else "username"
    users = client.call("GET", "user/search", params={param: address, "maxResults": "10"})
    for user in users if isinstance(users, list) else []:
        email = user.get("emailAddress") if isinstance(user, dict) else None
        same = isinstance(email, str) and email.casefold() == address.casefold()
        if same and user.get("active", True) and _ref(client, user):
            return dict(user)
    return None


def _signed_in(client: JiraClient) -> str:
    """The site and who signs in there (what that user may see decides who is found), as a
    digest: the key holds no token."""
    seen = f"{client.base} {client.headers.get('Authorization', '')}"
    return hashlib.sha256(seen.encode()).hexdigest()


def reporter_field(client: JiraClient, user: dict[str, Any]) -> dict[str, str]:
    return {"accountId": _ref(client, user)} if client.cloud else {"name": _ref(client, user)}


def refused_reporter(exc: RemoteRejected) -> bool:
    """Whether a refused create names the reporter field (Jira's ``errors.reporter``)."""
    return "reporter:" in exc.message


def add_watchers(
    client: JiraClient,
    issue_id: int,
    watchers: Iterable[str],
    found: dict[str, dict[str, Any]],
) -> tuple[list[str], list[tuple[str, str]]]:
    """Each known watcher added to the issue; those linked, and those not with the reason."""

    def watch(user: dict[str, Any]) -> object:
        return client.call("POST", f"issue/{int(issue_id)}/watchers", json=_ref(client, user))

    return link_each(watchers, found.get, watch, unknown=NOT_FOUND)


def _ref(client: JiraClient, user: dict[str, Any]) -> str:
    value = user.get("accountId") if client.cloud else user.get("name")
    return str(value) if value else ""
