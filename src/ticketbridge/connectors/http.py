"""The one place connectors send HTTP requests.

Every request goes through :meth:`HttpChannel.request`, which turns httpx exceptions and error
statuses into the tree of :mod:`ticketbridge.connectors.errors`, retries what is safe to retry,
and writes the API log. What an error answer means (its messages, ``Retry-After``, the default
status mapping) is in :mod:`ticketbridge.connectors.http_errors`; secrets are masked by
:mod:`ticketbridge.connectors.redaction` before anything is logged or kept.

Retry rules (after pycontribs/jira and django-autotask):

- Idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, or a read sent as POST and flagged
  ``idempotent=True``) are retried on any retryable error: timeouts, connection failures, 5xx
  without a business message, 429.
- Anything else (a create) is retried only when the remote certainly did not act on it: 429 and
  503 (refused before processing), an error the vendor rules mark ``unprocessed`` (Autotask's
  thread limit, whatever its status) and connection failures before the request was sent. A timeout
  or a 500 on a create raises :class:`ConnectorUnavailable` with ``outcome_unknown=True``: the
  caller reconciles (finds the ticket by its external id) instead of creating a second one.
- ``Retry-After`` (seconds or an HTTP date) is honoured; a wait longer than
  ``RetryPolicy.max_retry_after`` is not slept through but raised, with ``retry_after`` set, so
  a job can be rescheduled. Otherwise the delay grows exponentially, is capped, and has jitter.
- Sleeping and time come from injected functions, so tests never really wait.

A connector may pass a :class:`RequestGate` (the Autotask connector's holds a slot of the
PSA request governor, :mod:`ticketbridge.connectors.governor`): every attempt runs inside
``gate.hold(method, url, wait=...)``, so a retry queues again like any other request and the
backoff sleep holds no slot. An error the gate raises (queue wait exceeded, budget low) is
raised as it is, never retried here: nothing was sent. ``wait`` is the request's timeout.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from ticketbridge.connectors import metrics
from ticketbridge.connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnavailable,
)
from ticketbridge.connectors.http_errors import (
    SUMMARY_CHARS,
    default_error,
    parse_retry_after,
    remote_messages,
)
from ticketbridge.connectors.redaction import Redactor

ApiLogLevel = Literal["off", "summary", "full"]
ErrorHook = Callable[[httpx.Response, tuple[str, ...]], ConnectorError | None]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_FULL_LOG_CHARS = 4000
# How long a request may queue at a gate when neither it nor its client has a timeout.
_DEFAULT_WAIT = 60.0

log = logging.getLogger("ticketbridge.connectors.api")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    # A Retry-After beyond this is not waited for inside a request; the error goes to the caller.
    max_retry_after: float = 60.0
    # Total time slept for one logical request.
    max_total_wait: float = 90.0


NO_RETRY = RetryPolicy(max_attempts=1)


class RequestGate(Protocol):
    """Admits each attempt; see the module docstring."""

    def hold(self, method: str, url: str, *, wait: float) -> AbstractContextManager[object]: ...


class HttpChannel:
    """Sends requests through one httpx client; see the module docstring for the rules."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        service: str = "The PSA",
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        log_level: ApiLogLevel = "off",
        redactor: Redactor | None = None,
        error_hook: ErrorHook | None = None,
        gate: RequestGate | None = None,
        metric_labels: tuple[str, str] | None = None,
    ) -> None:
        """``metric_labels`` (kind, connection name): count every attempt in the PSA request
        metrics (:mod:`ticketbridge.connectors.metrics`); None counts nothing (mail APIs)."""
        self.client = client
        self.service = service
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.log_level = log_level
        self.redactor = redactor or Redactor()
        self.error_hook = error_hook
        self.gate = gate
        self.metric_labels = metric_labels

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """``timeout`` (seconds) overrides the client's timeout for this request, and bounds
        its wait at the gate. ``files`` (field -> (file name, bytes, content type)) sends a
        multipart body instead of ``json``; ``content``, a body sent as it is."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            with self._hold(method, url, timeout):
                response, error, reached = self._attempt(
                    method,
                    url,
                    json if content is None else content,
                    params,
                    headers,
                    timeout,
                    files,
                )
            if response is not None:
                return response
            assert error is not None
            if not idempotent and isinstance(error, ConnectorUnavailable):
                refused = not reached or error.status_code in (429, 503) or error.unprocessed
                if not refused:
                    error.outcome_unknown = True
                    raise error
            delay = self._delay(error, attempt)
            if delay is None or waited + delay > self.retry.max_total_wait:
                raise error
            log.warning(
                "%s %s failed (%s); retry %d in %.1f s",
                method,
                self._safe_url(url),
                error.message,
                attempt,
                delay,
            )
            self.sleep(delay)
            waited += delay

    def _hold(self, method: str, url: str, timeout: float | None) -> AbstractContextManager[object]:
        if self.gate is None:
            return nullcontext()
        wait = timeout if timeout is not None else self.client.timeout.read
        return self.gate.hold(method, url, wait=_DEFAULT_WAIT if wait is None else wait)

    def _delay(self, error: ConnectorError, attempt: int) -> float | None:
        if not error.retryable or attempt >= self.retry.max_attempts:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.retry.max_retry_after:
                return None
            # Never earlier than asked; a little later so parallel clients do not stampede.
            return float(retry_after) * self.rng.uniform(1.0, 1.1)
        ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        return ceiling * self.rng.uniform(0.5, 1.0)

    def _attempt(
        self,
        method: str,
        url: str,
        body: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        timeout: float | None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> tuple[httpx.Response | None, ConnectorError | None, bool]:
        """One try: the response on success, else the error and whether the request was sent."""
        summary = f"{method} {self._safe_url(url)}"
        started = self.clock()
        try:
            with self._counted(method, url) as outcome:
                response = self.client.request(
                    method,
                    url,
                    **({"content": body} if isinstance(body, bytes) else {"json": body}),
                    params=params,
                    headers=dict(headers or {}),
                    files=files,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
                outcome.append(str(response.status_code))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            error: ConnectorError = ConnectorConfigError(
                f"{self.service} address is not a valid http(s) URL.", request=summary
            )
            self._log_failure(summary, type(exc).__name__)
            return None, error, False
        except httpx.TransportError as exc:
            self._log_failure(summary, type(exc).__name__)
            reached = not isinstance(
                exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
            )
            return None, self._transport_error(exc, summary), reached
        elapsed_ms = (self.clock() - started) * 1000
        # A file's bytes are never logged: only its name and size.
        logged = body if not files else {k: f"{v[0]} ({len(v[1])} bytes)" for k, v in files.items()}
        self._log_exchange(method, url, logged, headers, params, response, elapsed_ms)
        if response.is_success:
            return response, None, True
        return None, self._status_error(response, summary), True

    @contextmanager
    def _counted(self, method: str, url: str) -> Iterator[list[str]]:
        """In flight while the attempt runs; then counted with its status, or with the name
        of the exception that left no answer."""
        if self.metric_labels is None:
            yield []
            return
        kind, connection = self.metric_labels
        endpoint = metrics.endpoint_template(url)
        in_flight = metrics.PSA_IN_FLIGHT.labels(kind, connection)
        outcome: list[str] = []
        started = time.perf_counter()
        in_flight.inc()
        try:
            yield outcome
        except Exception as exc:
            outcome.append(type(exc).__name__)
            raise
        finally:
            in_flight.dec()
            status = outcome[0] if outcome else "unknown"
            metrics.PSA_REQUESTS.labels(kind, connection, method, endpoint, status).inc()
            metrics.PSA_DURATION.labels(kind, connection, endpoint).observe(
                time.perf_counter() - started
            )

    def _transport_error(self, exc: httpx.TransportError, summary: str) -> ConnectorError:
        if isinstance(exc, httpx.TimeoutException):
            message = f"{self.service} did not answer in time ({type(exc).__name__})."
        else:
            message = f"Could not reach {self.service} ({type(exc).__name__})."
        return ConnectorUnavailable(message, request=summary)

    def _status_error(self, response: httpx.Response, summary: str) -> ConnectorError:
        messages = tuple(self.redactor.text(m) for m in remote_messages(response))
        error = None
        if self.error_hook is not None:
            error = self.error_hook(response, messages)
        if error is None:
            error = default_error(response, messages, self.service)
        error.status_code = response.status_code
        error.request = summary
        error.response = self._response_summary(response)
        error.remote_messages = messages
        # Set here for every classifier (vendor hook or default) rather than in each of them.
        if isinstance(error, ConnectorUnavailable) and error.retry_after is None:
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
        return error

    def _response_summary(self, response: httpx.Response) -> str:
        ctype = response.headers.get("content-type", "").split(";")[0]
        text = " ".join(response.text[:SUMMARY_CHARS].split())
        return self.redactor.text(f"HTTP {response.status_code} {ctype}: {text}".strip())

    def _safe_url(self, url: str) -> str:
        # Query strings carry paging state and user names: keep errors to the path.
        return self.redactor.text(url.split("?", 1)[0])

    def _log_failure(self, summary: str, reason: str) -> None:
        if self.log_level != "off":
            log.info("%s -> %s", summary, reason)

    def _log_exchange(
        self,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        response: httpx.Response,
        elapsed_ms: float,
    ) -> None:
        if self.log_level == "off":
            return
        summary = f"{method} {self._safe_url(url)} -> {response.status_code} ({elapsed_ms:.0f} ms)"
        if self.log_level == "summary":
            log.info("%s", summary)
            return
        sent_headers = self.redactor.headers(dict(headers or {}))
        request_body = "" if body is None else jsonlib.dumps(body, default=str)
        log.info(
            "%s\n  params: %s\n  request headers: %s\n  request body: %s\n  response body: %s",
            summary,
            self.redactor.text(jsonlib.dumps(dict(params or {}))),
            sent_headers,
            self.redactor.text(request_body[:_FULL_LOG_CHARS]),
            self.redactor.text(_loggable(response)),
        )


def _loggable(response: httpx.Response) -> str:
    """The answer as the full log shows it: a file's bytes (an attachment download) are only
    counted, never written to the log."""
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and not (ctype.startswith("text/") or ctype.endswith(("json", "xml"))):
        return f"<{len(response.content)} bytes of {ctype}>"
    return response.text[:_FULL_LOG_CHARS]
