"""When another create may be sent for a run whose ticket is being created (issue 9 item 1).

A reservation (the run's link in state ``creating``) goes through phases::

    queued --claim--> sending --ticket returned--> (linked)
      ^                 |
      +--throttled or --+--refused for certain--> (released)
         unavailable    |
                        |
                        +--timeout, reset, 5xx--> unknown --search finds it--> (linked)
                                                     |
                                       quiet period over, search finds nothing
                                                     v
                                        sending again (same reference), or released
                                        after the last attempt

The one rule that keeps a slow Autotask from getting two tickets: after an outcome we did not
see, no create is sent until a quiet period has passed in which the earlier request could have
committed, and a search for the run's reference made after it found nothing. The quiet period
is longer than any create can take; a ``sending`` phase (a process that died mid-request, or a
request still queued or waiting for its answer) is also given the longest time one create call
can last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CreatePhase(StrEnum):
    QUEUED = "queued"  # reserved; nothing sent yet, or the last create was refused unprocessed
    SENDING = "sending"  # a create request is (or was, if its process died) in flight
    UNKNOWN = "unknown"  # sent; Autotask did not say whether it created the ticket


class Step(StrEnum):
    SEND = "send"  # send a create (the first, or another after a proven quiet period)
    WAIT = "wait"  # the earlier create may still commit: search again later
    RELEASE = "release"  # nothing was created after the last attempt: give the run back


@dataclass(frozen=True)
class CreateTiming:
    quiet_period: timedelta
    # The longest one create call can last on our side (queueing, timeout, retries).
    longest_call: timedelta
    max_attempts: int = 3
    # After Autotask refused a create before processing it (throttled, unavailable).
    retry_refused_after: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


@dataclass(frozen=True)
class CreateProgress:
    phase: CreatePhase
    attempts: int  # creates sent so far for this reservation
    touched_at: datetime  # when the last create was sent, or its outcome became unknown


def next_step(progress: CreateProgress, now: datetime, timing: CreateTiming) -> Step:
    """What to do with a reservation once a search for its reference found no ticket."""
    if progress.phase is CreatePhase.QUEUED:
        # Nothing outstanding can commit: never sent, or refused before processing (429, 503),
        # in which case the retry waits a little.
        if progress.attempts == 0:
            return Step.SEND
        if now < progress.touched_at + timing.retry_refused_after:
            return Step.WAIT
        return Step.SEND if progress.attempts < timing.max_attempts else Step.RELEASE
    if now < settles_at(progress, timing):
        return Step.WAIT
    return Step.SEND if progress.attempts < timing.max_attempts else Step.RELEASE


def worth_checking(progress: CreateProgress, now: datetime, timing: CreateTiming) -> bool:
    """Whether a click on a run whose ticket is being created should search Autotask now:
    when the last outcome is unknown, or when the create was queued or sent longer ago than a
    call can last (its process died). A create still in flight is left alone."""
    if progress.phase is CreatePhase.UNKNOWN:
        return True
    return now >= progress.touched_at + timing.longest_call


def settles_at(progress: CreateProgress, timing: CreateTiming) -> datetime:
    """From when a search that finds nothing proves the last create will never commit."""
    wait = timing.quiet_period
    if progress.phase is not CreatePhase.UNKNOWN:
        wait += timing.longest_call
    return progress.touched_at + wait


def waiting_label(progress: CreateProgress, clicked_at: datetime, now: datetime) -> str:
    """What the operator sees while the ticket is being created."""
    since = _duration(now - clicked_at)
    if progress.phase is CreatePhase.QUEUED:
        return f"Creating ticket, queued ({since} since the click)"
    return f"Creating ticket, waiting for Autotask to answer ({since} since the click)"


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
