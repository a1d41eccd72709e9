"""Outbound mail as a Microsoft 365 mailbox through Graph ``sendMail``, with the app
registration and token of the mailbox's Graph source (connectors/mail/graph.py).

The message goes as MIME (``POST /users/{mailbox}/sendMail``, ``Content-Type: text/plain``,
the MIME base64-encoded): Graph's JSON form cannot carry In-Reply-To or References (custom
``internetMessageHeaders`` must start with ``x-``), and the notification must be threaded to the
sender's mail. Exchange keeps the headers we wrote and adds what is missing; Sent Items gets a
copy. Needs the Mail.Send application permission (learn.microsoft.com, user-sendmail, 2026-12).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP

import httpx

from ticketbridge.connectors.errors import ConnectorError, ConnectorPermissionError
from ticketbridge.connectors.http import ErrorHook
from ticketbridge.connectors.mail.graph import GraphClient

_SERVICE = "Microsoft Graph"


def _send_error(response: httpx.Response, _messages: tuple[str, ...]) -> ConnectorError | None:
    if response.status_code != 403:
        return None
    try:
        code = str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        code = ""
    return ConnectorPermissionError(
        f"{_SERVICE} would not send as this mailbox ({code or 'HTTP 403'}): the app needs the "
        "Mail.Send application permission, and an application access policy, if any, must "
        "include this mailbox."
    )


class GraphSender(GraphClient):
    """Sends as `GraphConfig.mailbox`. The recipients are the message's own To and Cc:
    Graph takes no separate envelope."""

    error_hook: ErrorHook = staticmethod(_send_error)

    def send(self, message: EmailMessage, *, recipients: Sequence[str]) -> None:
        del recipients  # Graph reads them from the MIME's To and Cc
        # Not idempotent: a timeout after Graph took the mail must not send it twice here; the
        # caller records the failure and its next attempt carries the same Message-ID.
        self._channel.request(
            "POST",
            f"{self._user_url()}/sendMail",
            content=base64.b64encode(message.as_bytes(policy=SMTP)),
            headers={
                "Authorization": f"Bearer {self._tokens()}",
                "Content-Type": "text/plain",
            },
        )

    def __repr__(self) -> str:
        return f"GraphSender({self.config.mailbox!r})"
