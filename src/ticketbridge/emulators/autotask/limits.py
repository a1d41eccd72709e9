"""Request thresholds: the rolling-hour counter and the per-endpoint thread limit.

Autotask counts external requests per database over a rolling 60 minutes (10,000 by default),
adds latency from 50% and 75% of the threshold, and refuses requests above it. Separately, at
most 3 requests may be in flight per integration code and object endpoint.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

from .errors import ApiError, app_error

THREAD_LIMIT_TEXT = (
    "Itgenatr005: Thread Threshold Exceeded. The Autotask API thread threshold of {limit} "
    "threads has been exceeded for this object endpoint."
)
THRESHOLD_TEXT = (
    "API request threshold of {limit} requests per {minutes} minutes has been exceeded. "
    "Requests are refused until usage falls below the threshold."
)


@dataclass
class LimitSettings:
    threshold: int = 10_000
    timeframe_minutes: int = 60
    delay_at_50: float = 0.5  # seconds before --speed scaling
    delay_at_75: float = 1.0
    thread_limit: int = 3
    thread_limit_status: int = 500

    def update(self, values: dict[str, object]) -> None:
        for key, value in values.items():
            if key in self.__dataclass_fields__:
                setattr(self, key, type(getattr(self, key))(value))

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class RequestCounter:
    """Timestamps (seconds) of counted requests inside the rolling window."""

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self._times: deque[float] = deque()

    def _prune(self, now: float) -> None:
        horizon = now - self.settings.timeframe_minutes * 60
        while self._times and self._times[0] <= horizon:
            self._times.popleft()

    def count(self, now: float) -> int:
        self._prune(now)
        return len(self._times)

    def admit(self, now: float, speed: float) -> float:
        """Count one request; return the delay to add, or raise the 429 when over."""
        self._prune(now)
        limit = self.settings.threshold
        if len(self._times) >= limit:
            wait = self._times[0] + self.settings.timeframe_minutes * 60 - now
            retry_after = max(1, int(wait / speed + 0.999))
            raise ApiError(
                429,
                {
                    "errors": [
                        THRESHOLD_TEXT.format(limit=limit, minutes=self.settings.timeframe_minutes)
                    ]
                },
                {"Retry-After": str(retry_after)},
            )
        self._times.append(now)
        used = len(self._times) / limit
        if used > 0.75:
            return self.settings.delay_at_75 / speed
        if used > 0.5:
            return self.settings.delay_at_50 / speed
        return 0.0

    def clear(self) -> None:
        self._times.clear()


class ThreadLimiter:
    """In-flight requests per (integration code, endpoint), with statistics for tests.

    ``peak`` is the most requests that were at an endpoint at once, *counting a request the
    limit refused*: a client that sends a 4th request shows a peak of 4 even though the 4th
    never ran. ``refused`` counts those refusals. Every request runs on the server's one event
    loop, so no lock is needed.
    """

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self._in_flight: dict[tuple[str, str], int] = {}
        self._peak: dict[tuple[str, str], int] = {}
        self._refused: dict[tuple[str, str], int] = {}

    def acquire(self, code: str, endpoint: str) -> tuple[str, str]:
        key = (code, endpoint.lower())
        current = self._in_flight.get(key, 0)
        self._peak[key] = max(self._peak.get(key, 0), current + 1)
        if current >= self.settings.thread_limit:
            self._refused[key] = self._refused.get(key, 0) + 1
            raise app_error(
                THREAD_LIMIT_TEXT.format(limit=self.settings.thread_limit),
                status=self.settings.thread_limit_status,
            )
        self._in_flight[key] = current + 1
        return key

    def release(self, key: tuple[str, str]) -> None:
        left = self._in_flight.get(key, 1) - 1
        if left <= 0:
            self._in_flight.pop(key, None)
        else:
            self._in_flight[key] = left

    def stats(self) -> list[dict[str, object]]:
        """Per (integration code, endpoint) seen since the last reset."""
        keys = sorted(set(self._peak) | set(self._in_flight))
        return [
            {
                "integration_code": code,
                "endpoint": endpoint,
                "in_flight": self._in_flight.get((code, endpoint), 0),
                "peak_in_flight": self._peak.get((code, endpoint), 0),
                "refused": self._refused.get((code, endpoint), 0),
            }
            for code, endpoint in keys
        ]

    def reset_stats(self) -> None:
        self._peak.clear()
        self._refused.clear()
