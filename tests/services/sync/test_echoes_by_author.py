"""Echoes told by author (issue 14, item 3), between the Autotask emulator (side A) and the
Jira emulator (side B). On Jira, B to A's listing asks for the changelog, so a change of a copy
whose latest author is the sync's own Jira account, no later than the sync wrote it, is the
sync's write coming back and goes nowhere; the same change by another Jira user is carried. On
Autotask, the resource the round trip's ticket webhook excludes counts as the sync's too.
"""

from __future__ import annotations

import pytest

from tests.services.sync.conftest import Paired
from tests.services.sync.entities_support import (
    ALERT,
    STANDARD,
    autotask_ticket,
    change_jira_labels,
    counterpart,
    new,
    switches,
)
from tests.services.sync.support import AS_AGENT, JIRA_AUTH
from tests.services.sync.test_ticket_updates import (
    _change_in_autotask,
    _pair,
    _read,
    _run,
    _writes,
)
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.storage.models.roundtrip import WebhookRegistration

A_TO_B, B_TO_A, TICKET = Direction.A_TO_B, Direction.B_TO_A, EntityKind.TICKET
INTEGRATION = 30  # an Autotask resource other than the sync's API user (29)


def _sync_writes_a_title_onto_the_copy(paired: Paired, title: str) -> tuple[int, int]:
    ticket, issue = _pair(paired, "Backup window too short")
    _change_in_autotask(paired, ticket, title=title)
    assert _run(paired).counts.of(A_TO_B, TICKET).updated == 1
    return ticket, issue


def _retitle_in_jira(paired: Paired, issue: int, title: str, headers: dict[str, str]) -> None:
    """At the instant the sync wrote the copy (the clock is not moved)."""
    body = {"fields": {"summary": title}}
    answer = paired.world.jira_http.put(f"/rest/api/3/issue/{issue}", json=body, headers=headers)
    assert answer.status_code == 204, answer.text


def test_a_jira_change_made_only_by_the_syncs_account_is_skipped_as_an_echo(
    paired: Paired,
) -> None:
    ticket, issue = _sync_writes_a_title_onto_the_copy(paired, "Backup window (22:00)")
    # Jira changes what the sync wrote, under the sync's account (as a post function run
    # on its save would): the sync's own write, coming back.
    _retitle_in_jira(paired, issue, "Backup window (22:00) [rule]", JIRA_AUTH)
    paired.world.forget_requests()

    report = _run(paired)

    counts = report.counts.of(B_TO_A, TICKET)
    assert (counts.seen, counts.skipped, counts.updated) == (1, 1, 0)
    assert _writes(paired) == []  # nothing written to Autotask
    assert _read(paired, paired.a, ticket).title == "Backup window (22:00)"
    # Settled: the next run does not look at it again.
    assert _run(paired).counts.of(B_TO_A, TICKET).updated == 0
    assert _writes(paired) == []


def test_the_same_change_by_another_jira_user_is_carried(paired: Paired) -> None:
    ticket, issue = _sync_writes_a_title_onto_the_copy(paired, "Backup window (22:00)")
    _retitle_in_jira(paired, issue, "Backup window (23:00)", AS_AGENT)

    report = _run(paired)

    assert report.counts.of(B_TO_A, TICKET).updated == 1
    assert _read(paired, paired.a, ticket).title == "Backup window (23:00)"


def test_a_jira_label_changed_after_the_syncs_write_is_carried_though_it_wrote_the_title(
    paired: Paired,
) -> None:
    """With categories carried, a label is a synced field: its history, not the older one of
    the sync's title write, names who changed the issue last."""
    switches(paired, categories=True)
    ticket = new(paired, True, "Backup job warning", category_id=STANDARD)
    _run(paired)
    issue = counterpart(paired, autotask_id=ticket)
    _change_in_autotask(paired, ticket, title="Backup job warning (FS02)")
    assert _run(paired).counts.of(A_TO_B, TICKET).updated == 1  # the sync's summary history
    paired.clock.advance(minutes=1)

    change_jira_labels(paired, issue, remove="standard", add="alert")  # another Jira user
    report = _run(paired)

    assert report.counts.of(B_TO_A, TICKET).updated == 1
    assert autotask_ticket(paired, "Backup job warning (FS02)")["ticketCategory"] == ALERT


def _exclude_from_the_round_trips_webhook(paired: Paired, resource: int) -> None:
    """As ``ticketbridge roundtrip`` records a registered webhook excluding ``resource``."""
    with paired.db() as session:
        session.add(
            WebhookRegistration(
                name="ticketbridge 1",
                webhook_url="https://tb.test/hooks/autotask/1",
                deactivation_url="https://tb.test/hooks/autotask/1/deactivated",
                secret_encrypted="unused here",
                state="ready",
                excluded_resource_id=resource,
                created_by="test",
            )
        )
        session.commit()


@pytest.mark.parametrize("excluded", [True, False], ids=["excluded", "not excluded"])
def test_autotasks_change_by_the_webhooks_excluded_resource_is_the_syncs_own(
    paired: Paired, excluded: bool
) -> None:
    if excluded:
        _exclude_from_the_round_trips_webhook(paired, INTEGRATION)
    ticket, issue = _pair(paired, "Tape rotation late")
    _retitle_in_jira(paired, issue, "Tape rotation late (week 49)", AS_AGENT)
    assert _run(paired).counts.of(B_TO_A, TICKET).updated == 1
    # At the instant the sync wrote it, the excluded integration resource rewrites the title.
    _change_in_autotask(
        paired, ticket, title="Tape rotation late (week 49) [rule]", asResourceID=INTEGRATION
    )
    paired.world.forget_requests()

    counts = _run(paired).counts.of(A_TO_B, TICKET)

    if excluded:
        assert (counts.skipped, counts.updated) == (1, 0)
        assert _writes(paired) == []
        assert _read(paired, paired.b, issue).title == "Tape rotation late (week 49)"
    else:  # someone else's change: carried
        assert counts.updated == 1
        assert _read(paired, paired.b, issue).title == "Tape rotation late (week 49) [rule]"
