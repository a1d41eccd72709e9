"""What a report from Autotask does to a run's link (issue 13)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ticketbridge.core import ticket_links as links
from ticketbridge.core.ticket_links import LinkOrigin, LinkState, TicketLink
from ticketbridge.core.ticket_observations import (
    Change,
    Observation,
    Source,
    decide,
    is_complete,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
COMPLETE = 5
NEW = 1
IN_PROGRESS = 8


def _link(**changes: object) -> TicketLink:
    made = links.linked(1, 7004, "T20260302.0001", "olivia", T0 - timedelta(hours=1))
    return replace(made, **changes)  # type: ignore[arg-type]


def _seen(
    minutes: int, status: int | None, source: Source = Source.CALLOUT, **kw: object
) -> Observation:
    return Observation(7004, source, T0 + timedelta(minutes=minutes), status_id=status, **kw)  # type: ignore[arg-type]


def _decide(link: TicketLink, observation: Observation) -> tuple[Change, TicketLink]:
    decision = decide(link, observation, complete_status_id=COMPLETE, now=NOW)
    return decision.change, decision.link


def test_complete_in_autotask_resolves_the_link_with_who_and_when() -> None:
    change, after = _decide(
        _link(), _seen(5, COMPLETE, Source.FETCH, completed_by="Tara Technician")
    )
    assert change is Change.RESOLVED_IN_PSA
    assert after.state is LinkState.RESOLVED
    assert (after.resolved_in_psa_by, after.resolved_in_psa_at) == (
        "Tara Technician",
        T0 + timedelta(minutes=5),
    )
    assert after.last_activity_at == T0 + timedelta(minutes=5)
    assert links.state_label(after, "Autotask") == "Resolved in Autotask by Tara Technician"
    assert links.allowed_actions(after, links.IntegrationMode.ENABLED) == {links.Action.OPEN}


def test_a_link_left_open_for_time_entries_is_resolved_when_its_owner_completes_it() -> None:
    left = links.left_open(_link(), 2, NEW, T0)
    change, after = _decide(left, _seen(5, COMPLETE))
    assert change is Change.RESOLVED_IN_PSA and after.state is LinkState.RESOLVED


def test_reopened_in_autotask_moves_it_back_to_active() -> None:
    _, resolved = _decide(_link(), _seen(5, COMPLETE))
    change, after = _decide(resolved, _seen(9, IN_PROGRESS))
    assert change is Change.REOPENED
    assert after.state is LinkState.ACTIVE
    assert after.resolved_in_psa_at is None and after.resolved_in_psa_by is None
    assert links.Action.RESOLVE in links.allowed_actions(after, links.IntegrationMode.ENABLED)


def test_a_status_change_updates_the_status_and_nothing_else() -> None:
    change, after = _decide(_link(last_status_id=NEW), _seen(3, IN_PROGRESS))
    assert change is Change.STATUS
    assert (after.state, after.last_status_id) == (LinkState.ACTIVE, IN_PROGRESS)


def test_a_label_only_callout_is_compared_by_label() -> None:
    observation = Observation(7004, Source.CALLOUT, T0, status_label="Waiting Customer")
    decision = decide(
        _link(), observation, complete_status_id=COMPLETE, now=NOW, current_label="New"
    )
    assert decision.change is Change.STATUS and decision.status_label == "Waiting Customer"
    complete = Observation(7004, Source.CALLOUT, T0, status_label="complete")
    assert is_complete(complete, COMPLETE)
    assert _decide(_link(), complete)[0] is Change.RESOLVED_IN_PSA


def test_newer_activity_with_the_same_status_is_recorded_without_a_change() -> None:
    change, after = _decide(_link(last_status_id=NEW), _seen(3, NEW))
    assert change is Change.ACTIVITY and after.last_activity_at == T0 + timedelta(minutes=3)


def test_the_same_report_ten_times_is_applied_once() -> None:
    link = _link()
    changes = []
    for _ in range(10):
        decision = decide(link, _seen(5, COMPLETE), complete_status_id=COMPLETE, now=NOW)
        changes.append(decision.change)
        link = decision.link
    assert changes == [Change.RESOLVED_IN_PSA] + [Change.DUPLICATE] * 9


def test_an_older_report_after_a_newer_one_is_ignored() -> None:
    _, resolved = _decide(_link(), _seen(10, COMPLETE))
    change, after = _decide(resolved, _seen(5, NEW))
    assert change is Change.STALE and after == resolved


@pytest.mark.parametrize("seed", range(5))
def test_any_order_of_retries_ends_in_the_newest_state(seed: int) -> None:
    reports = [_seen(1, IN_PROGRESS), _seen(4, COMPLETE), _seen(6, IN_PROGRESS), _seen(8, COMPLETE)]
    shuffled = [r for r in reports for _ in range(10)]
    random.Random(seed).shuffle(shuffled)
    link = _link()
    for observation in shuffled:
        link = _decide(link, observation)[1]
    assert link.state is LinkState.RESOLVED
    assert link.last_activity_at == T0 + timedelta(minutes=8)


def test_a_report_without_last_activity_cannot_be_ordered() -> None:
    observation = Observation(7004, Source.WEBHOOK, None, status_id=COMPLETE)
    assert _decide(_link(), observation) == (Change.UNORDERED, _link())


def test_a_hint_never_reopens_what_ticketbridge_resolved_but_a_read_does() -> None:
    ours = links.resolved(_link(), COMPLETE, NOW)
    assert _decide(ours, _seen(1, NEW))[0] is Change.HELD
    change, after = _decide(ours, _seen(1, NEW, Source.FETCH))
    assert change is Change.REOPENED and after.state is LinkState.ACTIVE


def test_complete_seen_on_a_link_ticketbridge_resolved_keeps_ours() -> None:
    ours = links.resolved(_link(), COMPLETE, NOW)
    change, after = _decide(ours, _seen(1, COMPLETE))
    assert change is Change.ACTIVITY
    assert after.resolved_in_psa_at is None and links.state_label(after) == "Resolved"


def test_a_read_adds_who_completed_it_to_what_a_hint_said() -> None:
    _, hinted = _decide(_link(), _seen(5, COMPLETE))
    assert hinted.resolved_in_psa_by is None
    change, after = _decide(hinted, _seen(5, COMPLETE, Source.FETCH, completed_by="Tara"))
    assert change is Change.DETAILS and after.resolved_in_psa_by == "Tara"


def test_an_observation_clears_a_suspected_miss() -> None:
    suspected = links.record_miss(_link(), NOW - timedelta(seconds=30))
    assert suspected.suspected_missing
    assert not _decide(suspected, _seen(2, NEW))[1].suspected_missing


@pytest.mark.parametrize(
    "link",
    [
        links.reserve(1, "olivia", T0),
        links.manual(1, "T1", "olivia", T0),
        replace(links.linked(1, 7004, "T1", "o", T0), state=LinkState.DELETED_EXTERNAL),
        links.supersede(links.linked(1, 7004, "T1", "o", T0), T0),
        links.linked(1, 9999, "T9", "o", T0),
    ],
)
def test_links_that_do_not_follow_this_ticket_are_left_alone(link: TicketLink) -> None:
    assert _decide(link, _seen(5, COMPLETE))[0] is Change.NOT_APPLICABLE


def test_linked_links_carry_their_origin() -> None:
    assert _link().origin is LinkOrigin.LINKED
