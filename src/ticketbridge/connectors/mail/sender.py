"""What every outbound mail transport offers the service desk: send one finished message.

A sender only delivers. Composing (subject, threading headers, our marker header) is
core/service_desk/notifications.py's; recording what was sent and retrying is the service's.
One module per transport, registered by kind in services/service_desk/notices.py:

- ``smtp``: a relay the installation names (`smtp_relay.SmtpRelaySender`);
- ``graph``: Microsoft Graph ``sendMail`` as the service-desk mailbox itself
  (`graph_send.GraphSender`), with the mail source's app registration.

`send` raises only `ConnectorError` subclasses: `ConnectorUnavailable` when trying again later
may work (a 4xx SMTP answer, a timeout, a 5xx or 429), `RemoteRejected` when the message was
refused for good (a 5xx SMTP answer), `ConnectorAuthError` and `ConnectorConfigError` when an
administrator must fix the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Protocol, runtime_checkable


@runtime_checkable
class MailSender(Protocol):
    def send(self, message: EmailMessage, *, recipients: Sequence[str]) -> None:
        """Deliver ``message`` (headers complete: From, To, Subject, Message-ID) to
        ``recipients``, the envelope's addresses."""
        ...

    def close(self) -> None:
        """Release connections. Safe to call twice."""
        ...
