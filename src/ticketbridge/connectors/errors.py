"""The one error tree every connector raises.

Connectors raise only these (habit 4). Callers decide what to do from the class and from
``retryable``; they never parse messages.

::

    ConnectorError                  base; .retryable, .status_code, .request, .response
    ├── ConnectorUnavailable        timeouts, connection failures, 5xx, 429 (retryable;
    │                               .retry_after in seconds when the remote said so;
    │                               .outcome_unknown when a write may have happened;
    │                               .unprocessed when refused before processing)
    ├── ConnectorAuthError          credentials refused (401, unknown user, bad integration code)
    │   └── ConnectorPermissionError  authenticated, but not allowed (403, or Autotask's
    │                                 "does not have the adequate permissions" inside a 500)
    ├── RemoteNotFound              the object does not exist (any more): flag, never unlink
    ├── RemoteRejected              the remote refused this input (validation); .remote_messages
    │   └── RemoteTooLarge            a file over the PSA's size limit (413, Autotask's file
    │                                 size text) or over the caller's cap; .limit in bytes
    └── ConnectorConfigError        our side is misconfigured (missing host or credentials, a host
                                    that does not speak this API, a method the API refuses: 405)

Messages are safe to show to an operator: they never hold a secret. ``request`` and
``response`` are short, redacted one-line summaries kept for the audit trail and the API log.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class: something went wrong talking to the outside world."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request: str | None = None,
        response: str | None = None,
        remote_messages: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request = request
        self.response = response
        self.remote_messages = remote_messages
        # Set when a write succeeded remotely but a follow-up read failed, so a caller can
        # record what exists instead of creating it again.
        self.remote_id: int | None = None

    def __str__(self) -> str:
        return self.message


class ConnectorUnavailable(ConnectorError):
    """The remote could not answer now; trying again later may work."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        unprocessed: bool = False,
        status_code: int | None = None,
        request: str | None = None,
        response: str | None = None,
        remote_messages: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            request=request,
            response=response,
            remote_messages=remote_messages,
        )
        self.retry_after = retry_after
        # True when a non-idempotent request may have been applied (the request was sent but
        # no answer came back). A create must then be reconciled, not repeated.
        self.outcome_unknown = outcome_unknown
        # True when the remote said it refused the request before processing it, whatever
        # the status code (Autotask's thread limit answers 500): nothing was written.
        self.unprocessed = unprocessed


class ConnectorAuthError(ConnectorError):
    """The remote refused our credentials."""


class ConnectorPermissionError(ConnectorAuthError):
    """The credentials work but the API user lacks a right needed for this call."""


class RemoteNotFound(ConnectorError):
    """The remote object does not exist, was deleted, or is invisible to this user."""


class RemoteRejected(ConnectorError):
    """The remote refused the request's content; the same request will fail again."""


class RemoteTooLarge(RemoteRejected):
    """A file is larger than the PSA takes, or than the caller allowed; ``limit`` in bytes
    when known. Sending the same file again fails again."""

    def __init__(self, message: str, *, limit: int | None = None, status_code: int | None = None):
        super().__init__(message, status_code=status_code)
        self.limit = limit


class ConnectorConfigError(ConnectorError):
    """The integration's own configuration is wrong; an administrator must fix it."""
