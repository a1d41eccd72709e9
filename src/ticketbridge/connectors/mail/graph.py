"""Microsoft 365 mail source through Microsoft Graph (app-only, client credentials).

Calls (all under ``/users/{mailbox}``, all with ``Prefer: IdType="ImmutableId"`` so a message
keeps its id when we move it):

- ``GET mailFolders/{folder}/messages/delta``: the first call carries ``$select`` and
  ``Prefer: odata.maxpagesize``; then ``@odata.nextLink`` is followed until an
  ``@odata.deltaLink`` arrives. The whole link is the watermark; a nextLink is stored too when a
  fetch stops at its message limit, so the next fetch resumes mid-round. ``@removed`` rows (mail
  we moved away ourselves) are ignored. 410 Gone (expired sync state) restarts a full round;
  de-duplication by Message-ID downstream absorbs the repeats.
- ``GET messages/{id}/$value``: the raw MIME, exactly as stored.
- ``POST messages/{id}/move`` to the processed folder, found by display name under
  ``processed_parent`` (created when missing) once per source object.

Tokens come from an injectable provider (a callable returning a bearer token).
`MsalTokenProvider` is the production one: msal caches the token and renews it, so it is called
before every request. HTTP goes through `connectors.http.HttpChannel`, which honours 429/503
``Retry-After`` with the injected sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermissionError,
    ConnectorUnavailable,
    RemoteNotFound,
)
from ticketbridge.connectors.http import HttpChannel, RetryPolicy
from ticketbridge.connectors.mail.base import FetchBatch, FetchedMail, Watermark
from ticketbridge.connectors.redaction import Redactor

log = logging.getLogger(__name__)

TokenProvider = Callable[[], str]
IMMUTABLE_IDS = 'IdType="ImmutableId"'
_DELTA_SELECT = "id,internetMessageId,receivedDateTime"
_SERVICE = "Microsoft Graph"


class GraphConfig(BaseModel):
    """Per-source settings, stored as JSON with the client secret encrypted at rest."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    mailbox: str = Field(min_length=3, description="UPN or object id of the mailbox")
    folder: str = Field(default="inbox", min_length=1, description="well-known name or id")
    processed_folder: str = Field(default="Processed", min_length=1, description="display name")
    processed_parent: str = Field(default="inbox", min_length=1)
    authority_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    page_size: int = Field(default=50, ge=1, le=1000)
    max_messages: int = Field(default=200, ge=1, le=5000)
    timeout_seconds: float = Field(default=30.0, gt=0)
    poll_interval_seconds: float = Field(default=60.0, gt=0)

    @field_validator("authority_url", "graph_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.rstrip("/")
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
            raise ValueError("must be an http(s) URL")
        return value

    @property
    def scope(self) -> str:
        """The app-only scope of this Graph deployment (``https://graph.microsoft.com/.default``)."""
        parts = urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}/.default"


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
        try:
            if self._app is None:
                self._app = self._build()
            return self._app.acquire_token_for_client(scopes=[self.config.scope])
        except ConnectorError:
            raise
        except ValueError as exc:
            # msal raises ValueError when tenant discovery fails (unknown tenant, bad authority).
            raise ConnectorConfigError(
                f"The Entra ID tenant {self.config.tenant_id!r} could not be discovered at "
                f"{self.config.authority_url}."
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

    def _build(self) -> Any:
        import msal  # imported late: only production sources need it

        cfg = self.config
        kwargs: dict[str, Any] = {}
        if self._http_client is not None:
            kwargs["http_client"] = self._http_client
        return msal.ConfidentialClientApplication(
            cfg.client_id,
            client_credential=cfg.client_secret.get_secret_value(),
            authority=f"{cfg.authority_url}/{cfg.tenant_id}",
            **kwargs,
        )


def _graph_error(response: httpx.Response, _messages: tuple[str, ...]) -> ConnectorError | None:
    """Graph's own error codes where they say more than the status."""
    try:
        error = response.json().get("error", {})
        code = str(error.get("code", ""))
    except (ValueError, AttributeError):
        return None
    if response.status_code == 404 and code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI"):
        return ConnectorConfigError(f"{_SERVICE} does not know this mailbox ({code}).")
    if response.status_code == 403:
        return ConnectorPermissionError(
            f"{_SERVICE} denied access to the mailbox ({code or 'HTTP 403'}): the app needs the "
            "Mail.ReadWrite application permission, and an application access policy, if any, "
            "must include this mailbox."
        )
    return None


class GraphSource:
    """One mail folder of one Microsoft 365 mailbox. Not thread-safe: one poller per source."""

    Config = GraphConfig

    def __init__(
        self,
        config: GraphConfig,
        *,
        token_provider: TokenProvider | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._tokens = token_provider or MsalTokenProvider(config)
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(timeout=config.timeout_seconds)
        self._channel = HttpChannel(
            self._client,
            service=_SERVICE,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            clock=clock,
            redactor=Redactor([config.client_secret.get_secret_value()]),
            error_hook=_graph_error,
        )
        self._processed_id: str | None = None

    # -- MailSource ---------------------------------------------------------------------------

    def fetch(self, watermark: Watermark | None) -> FetchBatch:
        link = self._resume_link(watermark)
        messages: list[FetchedMail] = []
        restarted = False
        while True:
            try:
                page = self._get_delta_page(link)
            except ConnectorError as exc:
                if exc.status_code == 410 and not restarted:
                    log.warning("Graph delta state expired for %s; reading the folder again", self)
                    link, restarted = None, True
                    continue
                if exc.status_code == 404 and link is None:
                    raise ConnectorConfigError(
                        f"{_SERVICE} has no folder {self.config.folder!r} in this mailbox."
                    ) from exc
                raise
            for item in page.get("value") or []:
                if not isinstance(item, dict) or "@removed" in item or not item.get("id"):
                    continue
                mail = self._download(str(item["id"]), item.get("receivedDateTime"))
                if mail is not None:
                    messages.append(mail)
            next_link = page.get("@odata.nextLink")
            delta_link = page.get("@odata.deltaLink")
            if isinstance(next_link, str):
                link = next_link
                if len(messages) >= self.config.max_messages:
                    return FetchBatch(messages, self._watermark(link), more=True)
            elif isinstance(delta_link, str):
                return FetchBatch(messages, self._watermark(delta_link), more=False)
            else:
                raise ConnectorUnavailable(
                    f"{_SERVICE} answered a delta page without a next or delta link."
                )

    def mark_processed(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        destination = self._processed_folder_id(create=True)
        assert destination is not None
        for message_id in ids:
            try:
                # Repeating a move is harmless with immutable ids, so a timeout may retry it.
                self._channel.request(
                    "POST",
                    f"{self._user_url()}/messages/{quote(message_id, safe='')}/move",
                    json={"destinationId": destination},
                    headers=self._headers(),
                    idempotent=True,
                )
            except RemoteNotFound:
                log.info("message already gone from %s; nothing to move", self.config.folder)

    def check(self) -> str:
        folder = self._get_json(f"{self._user_url()}/mailFolders/{self._q(self.config.folder)}")
        processed = self._processed_folder_id(create=False)
        state = "exists" if processed else "will be created"
        return (
            f"{folder.get('displayName', self.config.folder)}: "
            f"{int(folder.get('totalItemCount', 0))} message(s); processed folder "
            f"{self.config.processed_folder!r} {state}"
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"GraphSource({self.config.mailbox!r}, folder={self.config.folder!r})"

    # -- helpers ------------------------------------------------------------------------------

    def _resume_link(self, watermark: Watermark | None) -> str | None:
        if not watermark:
            return None
        link = watermark.get("link")
        same_place = (
            watermark.get("mailbox") == self.config.mailbox
            and watermark.get("folder") == self.config.folder
        )
        # A link from another Graph host (emulator vs production) must not be followed.
        if not same_place or not isinstance(link, str) or not link.startswith(self._origin()):
            return None
        return link

    def _watermark(self, link: str) -> Watermark:
        return {"mailbox": self.config.mailbox, "folder": self.config.folder, "link": link}

    def _download(self, message_id: str, received: Any) -> FetchedMail | None:
        url = f"{self._user_url()}/messages/{quote(message_id, safe='')}/$value"
        try:
            response = self._channel.request("GET", url, headers=self._headers())
        except RemoteNotFound:
            return None  # moved or deleted since the delta page was written
        return FetchedMail(raw=response.content, source_id=message_id, received_at=_when(received))

    def _processed_folder_id(self, *, create: bool) -> str | None:
        if self._processed_id is not None:
            return self._processed_id
        parent_url = (
            f"{self._user_url()}/mailFolders/{self._q(self.config.processed_parent)}/childFolders"
        )
        name = self.config.processed_folder
        odata_name = name.replace("'", "''")
        found = self._get_json(parent_url, params={"$filter": f"displayName eq '{odata_name}'"})
        matches = [f for f in found.get("value") or [] if isinstance(f, dict) and f.get("id")]
        if matches:
            self._processed_id = str(matches[0]["id"])
        elif create:
            response = self._channel.request(
                "POST", parent_url, json={"displayName": name}, headers=self._headers()
            )
            self._processed_id = str(response.json()["id"])
        return self._processed_id

    def _get_delta_page(self, link: str | None) -> dict[str, Any]:
        # The page size preference is not kept in the links, so it goes on every page; query
        # options go on the first call only (the links encode them).
        prefer = f"{IMMUTABLE_IDS}, odata.maxpagesize={self.config.page_size}"
        if link is None:
            return self._get_json(
                self._delta_start(), params={"$select": _DELTA_SELECT}, prefer=prefer
            )
        return self._get_json(link, prefer=prefer)

    def _get_json(
        self, url: str, *, params: dict[str, str] | None = None, prefer: str | None = None
    ) -> dict[str, Any]:
        headers = self._headers()
        if prefer is not None:
            headers["Prefer"] = prefer
        response = self._channel.request("GET", url, params=params, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ConnectorUnavailable(f"{_SERVICE} answered with something other than JSON.")
        return body

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens()}", "Prefer": IMMUTABLE_IDS}

    def _delta_start(self) -> str:
        return f"{self._user_url()}/mailFolders/{self._q(self.config.folder)}/messages/delta"

    def _user_url(self) -> str:
        return f"{self.config.graph_url}/users/{self._q(self.config.mailbox)}"

    def _origin(self) -> str:
        parts = urlsplit(self.config.graph_url)
        return f"{parts.scheme}://{parts.netloc}/"

    @staticmethod
    def _q(segment: str) -> str:
        return quote(segment, safe="@")


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
