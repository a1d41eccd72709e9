"""Microsoft 365 mail source through Microsoft Graph (app-only, or delegated: graph_auth.py).

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
before every request. A source with a stored delegated sign-in (``token_cache``) gets its
tokens from `graph_auth.DelegatedTokenProvider` instead. HTTP goes through
`connectors.http.HttpChannel`, which honours 429/503 ``Retry-After`` with the injected sleep.
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
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermissionError,
    ConnectorUnavailable,
    RemoteNotFound,
)
from ticketbridge.connectors.http import ErrorHook, HttpChannel, RetryPolicy
from ticketbridge.connectors.mail.base import FetchBatch, FetchedMail, Watermark
from ticketbridge.connectors.mail.graph_tokens import MsalTokenProvider
from ticketbridge.connectors.redaction import Redactor

log = logging.getLogger(__name__)

TokenProvider = Callable[[], str]
IMMUTABLE_IDS = 'IdType="ImmutableId"'
# conversationId rides along for the service desk's threading (not in the MIME).
_DELTA_SELECT = "id,internetMessageId,receivedDateTime,conversationId"
_SERVICE = "Microsoft Graph"


class GraphConfig(BaseModel):
    """Per-source settings, stored as JSON with the client secret encrypted at rest."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    # None: a delegated mailbox, signed in with a device code (a public client in Entra);
    # app-only reading (client credentials) needs it.
    client_secret: SecretStr | None = None
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


class GraphClient:
    """A mailbox's Graph calls: its token, its HTTP channel (retries, redaction, Graph's error
    codes). `GraphSource` reads with it, `graph_send.GraphSender` sends."""

    Config = GraphConfig
    error_hook: ErrorHook = staticmethod(_graph_error)

    def __init__(
        self,
        config: GraphConfig,
        *,
        token_provider: TokenProvider | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        token_cache: Any = None,
    ) -> None:
        self.config = config
        if token_provider is None and token_cache is not None:
            # A delegated sign-in is stored (`mailbox authenticate --device-code`).
            from ticketbridge.connectors.mail.graph_auth import DelegatedTokenProvider

            token_provider = DelegatedTokenProvider(config, token_cache)
        self._tokens = token_provider or MsalTokenProvider(config)
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(timeout=config.timeout_seconds)
        self._channel = HttpChannel(
            self._client,
            service=_SERVICE,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            clock=clock,
            redactor=Redactor(
                [config.client_secret.get_secret_value()] if config.client_secret else []
            ),
            error_hook=self.error_hook,
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _user_url(self) -> str:
        return f"{self.config.graph_url}/users/{quote(self.config.mailbox, safe='@')}"


class GraphSource(GraphClient):
    """One mail folder of one Microsoft 365 mailbox. Not thread-safe: one poller per source."""

    def __init__(self, config: GraphConfig, **options: Any) -> None:
        super().__init__(config, **options)
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
                mail = self._download(str(item["id"]), item)
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

    def _download(self, message_id: str, row: dict[str, Any]) -> FetchedMail | None:
        url = f"{self._user_url()}/messages/{quote(message_id, safe='')}/$value"
        try:
            response = self._channel.request("GET", url, headers=self._headers())
        except RemoteNotFound:
            return None  # moved or deleted since the delta page was written
        conversation = row.get("conversationId")
        return FetchedMail(
            raw=response.content,
            source_id=message_id,
            received_at=_when(row.get("receivedDateTime")),
            conversation_id=conversation if isinstance(conversation, str) else "",
        )

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
