"""IMAP mail source (imapclient).

Watermark: ``{"folder", "uidvalidity", "last_uid"}``. A UID search ``last_uid+1:*`` is filtered
on our side because ``N:*`` always matches the highest UID, even when N is above it (RFC 3501
6.4.8). When the folder's UIDVALIDITY changed (the folder was recreated or rebuilt), every UID is
meaningless, so the whole folder is read again; de-duplication by Message-ID downstream absorbs
the repeats.

Messages are fetched with ``BODY.PEEK[]`` (the full RFC 822 text, without setting ``\\Seen``) in
batches bounded by count and size. ``mark_processed`` sets ``\\Seen`` and moves the messages to
the processed folder: MOVE (RFC 6851) when advertised, else COPY, ``\\Deleted`` and EXPUNGE.

`wait_for_mail` uses IDLE (RFC 2177) on a second, read-only connection when the server
advertises it; otherwise it waits the poll interval (injected sleep) and tells the caller to poll.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ticketbridge.connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
)
from ticketbridge.connectors.mail.base import FetchBatch, FetchedMail, Watermark
from ticketbridge.connectors.mail.imap_support import (
    logout_quietly,
    server_text,
    tls_context,
    translate_error,
)

log = logging.getLogger(__name__)

SEEN = b"\\Seen"
DELETED = b"\\Deleted"
# RFC 2177: servers may drop an idle client after 30 minutes, so never idle longer than this.
MAX_IDLE_SECONDS = 29 * 60
# How often an IDLE looks at its cancel event: a local poll() timeout, no traffic to the server.
_CANCEL_CHECK_SECONDS = 0.5
_FETCH_CHUNK = 20

Security = Literal["tls", "starttls", "plain"]


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ImapConfig(BaseModel):
    """Per-source settings, stored as JSON with the password encrypted at rest."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Security = "tls"
    verify_tls: bool = True
    username: str = Field(min_length=1)
    password: SecretStr
    folder: str = Field(default="INBOX", min_length=1)
    processed_folder: str = Field(default="Processed", min_length=1)
    batch_size: int = Field(default=50, ge=1, le=1000)
    max_batch_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    timeout_seconds: float = Field(default=30.0, gt=0)
    poll_interval_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> ImapConfig:
        # A password in clear text over a network is never acceptable; loopback is for tests.
        if self.security == "plain" and not _is_loopback(self.host):
            raise ValueError("plain IMAP (no TLS) is allowed only to a loopback address")
        if self.folder == self.processed_folder:
            raise ValueError("the processed folder must differ from the watched folder")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.security == "tls" else 143


def _source_id(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}:{uid}"


def _parse_source_id(value: str) -> tuple[int, int] | None:
    head, _, tail = value.partition(":")
    if not (head.isdigit() and tail.isdigit()):
        return None
    return int(head), int(tail)


class ImapSource:
    """One IMAP folder polled for new mail. Not thread-safe: one poller per source."""

    Config = ImapConfig

    def __init__(
        self,
        config: ImapConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        client_class: type[IMAPClient] = IMAPClient,
    ) -> None:
        self.config = config
        self._ssl_context = ssl_context
        self._client_class = client_class
        self._sleep = sleep
        self._clock = clock
        self._client: IMAPClient | None = None
        self._processed_ready = False

    # -- MailSource ---------------------------------------------------------------------------

    def fetch(self, watermark: Watermark | None) -> FetchBatch:
        with self._translated("fetch mail"):
            client = self._session()
            uidvalidity = self._select(client, self.config.folder)
            last_uid = self._resume_point(watermark, uidvalidity)
            found = client.search(["UID", f"{last_uid + 1}:*"])
            candidates = sorted(uid for uid in found if uid > last_uid)
            window = candidates[: self.config.batch_size]
            chosen = self._within_byte_budget(client, window)
            messages = self._fetch_raw(client, chosen, uidvalidity)
            new_last = chosen[-1] if chosen else last_uid
            more = len(candidates) > len(chosen)
        return FetchBatch(
            messages=messages,
            watermark={
                "folder": self.config.folder,
                "uidvalidity": uidvalidity,
                "last_uid": new_last,
            },
            more=more,
        )

    def mark_processed(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._translated("move processed mail"):
            client = self._session()
            uidvalidity = self._select(client, self.config.folder)
            uids = []
            for value in ids:
                parsed = _parse_source_id(value)
                # An id from before a UIDVALIDITY change names some other message now.
                if parsed is not None and parsed[0] == uidvalidity:
                    uids.append(parsed[1])
            if not uids:
                return
            self._ensure_processed_folder(client)
            client.add_flags(uids, [SEEN], silent=True)
            if client.has_capability("MOVE"):
                client.move(uids, self.config.processed_folder)
            else:
                client.copy(uids, self.config.processed_folder)
                client.add_flags(uids, [DELETED], silent=True)
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)
                else:
                    # Without UIDPLUS only a folder-wide EXPUNGE exists; the watched folder is
                    # meant for intake only, so other deleted mail there is fair game.
                    client.expunge()

    def check(self) -> str:
        with self._translated("check the mailbox"):
            client = self._session()
            status = client.folder_status(self.config.folder, [b"MESSAGES", b"UIDVALIDITY"])
            count = int(status.get(b"MESSAGES", 0))
            has_processed = client.folder_exists(self.config.processed_folder)
            idle = "IDLE" if client.has_capability("IDLE") else "polling"
        processed = "exists" if has_processed else "will be created"
        return (
            f"{self.config.folder}: {count} message(s); processed folder "
            f"{self.config.processed_folder!r} {processed}; new mail by {idle}"
        )

    def close(self) -> None:
        client, self._client = self._client, None
        self._processed_ready = False
        if client is not None:
            logout_quietly(client)

    # -- waiting for mail ---------------------------------------------------------------------

    def supports_idle(self) -> bool:
        with self._translated("read server capabilities"):
            return bool(self._session().has_capability("IDLE"))

    def wait_for_mail(
        self,
        watermark: Watermark | None,
        timeout: float | None = None,
        *,
        on_idle: Callable[[], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Block until new mail may be waiting, at most `timeout` seconds (default: poll interval).

        Returns True when the caller should fetch now: new mail was announced, mail newer than
        `watermark` is already there, or (without IDLE) the poll interval has passed. Returns
        False when IDLE timed out quietly. `on_idle` is called once the server is idling, so an
        observer knows that mail arriving from now on will be announced. Once `cancel` is set,
        the wait ends within a second and returns False (a watcher shutting down).
        """
        wait = self.config.poll_interval_seconds if timeout is None else timeout
        wait = min(max(wait, 0.0), MAX_IDLE_SECONDS)
        if cancel is not None and cancel.is_set():
            return False
        if not self.supports_idle():
            if cancel is not None:
                return not cancel.wait(wait)
            self._sleep(wait)
            return True
        with self._translated("wait for new mail"):
            idler = self._connect()
            try:
                status = idler.select_folder(self.config.folder, readonly=True)
                if self._has_unseen_uids(status, watermark):
                    return True
                idler.idle()
                try:
                    if on_idle is not None:
                        on_idle()
                    return self._idle_until_news(idler, wait, cancel)
                finally:
                    idler.idle_done()
            finally:
                logout_quietly(idler)

    def _idle_until_news(
        self, idler: IMAPClient, wait: float, cancel: threading.Event | None
    ) -> bool:
        deadline = self._clock() + wait
        while True:
            if cancel is not None and cancel.is_set():
                return False
            remaining = deadline - self._clock()
            step = max(remaining, 0.0)
            if cancel is not None:
                step = min(step, _CANCEL_CHECK_SECONDS)
            responses = idler.idle_check(timeout=step)
            # EXISTS announces new mail; RECENT accompanies it on some servers.
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                return True
            if remaining <= 0:
                return False

    def _has_unseen_uids(self, status: dict[bytes, Any], watermark: Watermark | None) -> bool:
        # Mail that arrived between the last fetch and IDLE would otherwise wait for the next one.
        if not watermark or watermark.get("folder") != self.config.folder:
            return int(status.get(b"EXISTS", 0)) > 0
        if watermark.get("uidvalidity") != status.get(b"UIDVALIDITY"):
            return True
        uidnext = status.get(b"UIDNEXT")
        return uidnext is not None and int(uidnext) > int(watermark.get("last_uid", 0)) + 1

    # -- helpers ------------------------------------------------------------------------------

    def _resume_point(self, watermark: Watermark | None, uidvalidity: int) -> int:
        if not watermark:
            return 0
        if watermark.get("folder") != self.config.folder:
            return 0
        if watermark.get("uidvalidity") != uidvalidity:
            log.warning(
                "UIDVALIDITY of %r changed (%s -> %s); reading the folder again",
                self.config.folder,
                watermark.get("uidvalidity"),
                uidvalidity,
            )
            return 0
        try:
            return max(0, int(watermark.get("last_uid", 0)))
        except (TypeError, ValueError):
            return 0

    def _within_byte_budget(self, client: IMAPClient, uids: list[int]) -> list[int]:
        if not uids:
            return []
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        chosen: list[int] = []
        total = 0
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            # Always take at least one message, or a single huge mail would block the folder.
            if chosen and total + size > self.config.max_batch_bytes:
                break
            chosen.append(uid)
            total += size
        return chosen

    def _fetch_raw(
        self, client: IMAPClient, uids: list[int], uidvalidity: int
    ) -> list[FetchedMail]:
        messages: list[FetchedMail] = []
        for start in range(0, len(uids), _FETCH_CHUNK):
            chunk = uids[start : start + _FETCH_CHUNK]
            data = client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in chunk:
                item = data.get(uid)
                if item is None:  # expunged by someone else since the search
                    continue
                raw = item.get(b"BODY[]")
                if raw is None:
                    continue
                received = item.get(b"INTERNALDATE")
                messages.append(
                    FetchedMail(
                        raw=bytes(raw),
                        source_id=_source_id(uidvalidity, uid),
                        received_at=received if isinstance(received, datetime) else None,
                    )
                )
        return messages

    def _select(self, client: IMAPClient, folder: str) -> int:
        try:
            status = client.select_folder(folder)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise ConnectorConfigError(
                f"IMAP folder {folder!r} cannot be opened: {server_text(exc)}"
            ) from exc
        return int(status[b"UIDVALIDITY"])

    def _ensure_processed_folder(self, client: IMAPClient) -> None:
        if self._processed_ready:
            return
        if not client.folder_exists(self.config.processed_folder):
            client.create_folder(self.config.processed_folder)
        self._processed_ready = True

    def _session(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> IMAPClient:
        cfg = self.config
        context = self._ssl_context or tls_context(cfg.verify_tls)
        client = self._client_class(
            cfg.host,
            port=cfg.effective_port,
            ssl=cfg.security == "tls",
            ssl_context=context if cfg.security == "tls" else None,
            timeout=cfg.timeout_seconds,
        )
        try:
            # Keep server time zones: INTERNALDATE becomes an aware datetime.
            client.normalise_times = False
            if cfg.security == "starttls":
                client.starttls(context)
            client.login(cfg.username, cfg.password.get_secret_value())
        except BaseException:
            logout_quietly(client)
            raise
        return client

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn socket, TLS and IMAP errors into the connector error tree; drop the session."""
        try:
            yield
        except ConnectorError:
            self.close()
            raise
        except (IMAPClientError, OSError) as exc:
            self.close()
            where = f"{self.config.host}:{self.config.effective_port}"
            raise translate_error(exc, where, action) from exc
