"""Client-credentials tokens for a Microsoft 365 source through msal, and what every msal
application of a source shares: a local authority without instance discovery, an HTTP client
that sends a request again when its kept-alive connection was dropped, and msal's and the
network's exceptions turned into our error tree (graph_auth.py builds on these)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnavailable,
)

if TYPE_CHECKING:
    from ticketbridge.connectors.mail.graph import GraphConfig


class MsalTokenProvider:
    """Client-credentials tokens from Entra ID through msal.

    The msal application is built on first use, because its constructor already discovers the
    tenant over the network. ``http_client`` is passed to msal (a requests-like client; an
    ``httpx.Client`` works) so tests can answer msal's calls without a network.
    """

    def __init__(self, config: GraphConfig, *, http_client: Any = None) -> None:
        self.config = config
        self._http_client = http_client
        self._app: Any = None

    def __call__(self) -> str:
        result = self._acquire()
        token = result.get("access_token") if isinstance(result, dict) else None
        if isinstance(token, str) and token:
            return token
        error = str(result.get("error", "unknown_error")) if isinstance(result, dict) else "?"
        description = str(result.get("error_description", "")) if isinstance(result, dict) else ""
        # The first line of Entra's description holds the AADSTS code, never the secret.
        detail = description.splitlines()[0][:200] if description else ""
        raise ConnectorAuthError(
            f"Entra ID refused the client credentials ({error}){': ' + detail if detail else ''}"
        )

    def _acquire(self) -> Any:
        if self._app is None:
            self._app = msal_call(self.config, self._build)
        return msal_call(
            self.config, lambda: self._app.acquire_token_for_client(scopes=[self.config.scope])
        )

    def _build(self) -> Any:
        import msal  # imported late: only production sources need it

        cfg = self.config
        if cfg.client_secret is None:
            raise ConnectorAuthError(
                f"No client secret is set for mailbox {cfg.mailbox}, so it cannot be read as "
                "the app (client credentials): enter the app's client secret, or sign the "
                "mailbox's user in with `ticketbridge mailbox authenticate NAME --device-code`."
            )
        return msal.ConfidentialClientApplication(
            cfg.client_id,
            client_credential=cfg.client_secret.get_secret_value(),
            authority=f"{cfg.authority_url}/{cfg.tenant_id}",
            **msal_options(cfg, self._http_client),
        )


def msal_options(config: GraphConfig, http_client: Any = None) -> dict[str, Any]:
    """What every msal application of a source is built with."""
    import msal

    client = http_client if http_client is not None else token_session()
    options: dict[str, Any] = {"http_client": client}
    if not is_microsoft_authority(config.authority_url, msal.authority.WELL_KNOWN_AUTHORITY_HOSTS):
        # msal asks Microsoft which authorities are valid unless told not to; a local
        # authority (the Graph emulator's sandbox) is not on Microsoft's list, and asking
        # would leave the machine (docs/emulator-graph.md).
        options["instance_discovery"] = False
    return options


def token_session() -> Any:
    """msal's HTTP client: a requests session (msal's own kind) that sends a request once more
    on a fresh connection when the kept-alive one it went out on was dropped unanswered.

    The device code sign-in polls Entra every few seconds while the user signs in. A server
    whose keep-alive ends at that same interval (uvicorn's default of 5 s, the sandbox's)
    closes the idle connection just as the next poll goes out, and the sign-in the user was
    completing failed with a ConnectionError. Every request msal makes may go twice: a poll
    only asks again, and a code or refresh token redeemed twice is answered or refused by
    Entra like any other.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    once = Retry(total=1, connect=1, read=1, status=0, other=0, redirect=0, allowed_methods=None)
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=once))
    session.mount("http://", HTTPAdapter(max_retries=once))
    return session


def msal_call(config: GraphConfig, call: Callable[[], Any]) -> Any:
    """``call()`` (an msal call) with msal's and the network's exceptions in our error tree."""
    try:
        return call()
    except ConnectorError:
        raise
    except ValueError as exc:
        # msal raises ValueError when tenant discovery fails (unknown tenant, bad authority).
        raise ConnectorConfigError(
            f"The Entra ID tenant {config.tenant_id!r} could not be discovered at "
            f"{config.authority_url}."
        ) from exc
    except (httpx.HTTPError, OSError) as exc:
        raise ConnectorUnavailable(f"Could not reach Entra ID ({type(exc).__name__}).") from exc
    except Exception as exc:
        # msal's own errors (an error status from Entra) and those of requests, msal's
        # default HTTP client; matched by module to keep both imports out of this one.
        if type(exc).__module__.split(".")[0] in ("msal", "requests"):
            raise ConnectorUnavailable(
                f"Entra ID could not issue a token ({type(exc).__name__})."
            ) from exc
        raise


def is_microsoft_authority(url: str, microsoft_hosts: Collection[str]) -> bool:
    """Whether ``url`` is one of Entra ID's own sign-in hosts (msal's list of them)."""
    return (urlsplit(url).hostname or "").lower() in microsoft_hosts
