"""A sync direction reads, decides and writes a page of its listing at a time (memory flat in
the number of changed tickets): a PSA that fails on a later page leaves the copies the earlier
pages made, recorded, so the next run neither loses nor duplicates them; a dry run over many
pages counts every ticket and keeps only a sample of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, new_ticket, references, titles
from ticketbridge.core.sync import dry_run
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.sync import run as sync_run
from ticketbridge.services.sync import tickets
from ticketbridge.storage.models.sync import SyncWatermark

A_TO_B, TICKET = Direction.A_TO_B, EntityKind.TICKET
TITLES = [f"Disk alert {n} on FS0{n}" for n in range(1, 6)]


def jira_refuses_marker_search(number: int) -> Callable[[httpx.Request], httpx.Response | None]:
    """Jira answers 400 to its ``number``-th search for the sync's markers (by a copy's label)."""
    seen = [0]

    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.url.host != "jira.test" or not request.url.path.endswith("/search/jql"):
            return None
        if not json.loads(request.read() or b"{}").get("jql", "").startswith("labels in ("):
            return None
        seen[0] += 1
        if seen[0] != number:
            return None
        body = {"errorMessages": ["The search could not be run."], "errors": {}}
        return httpx.Response(400, json=body, request=request)

    return refuse


def test_a_failure_on_the_second_page_keeps_the_first_pages_copies_and_duplicates_nothing(
    paired: Paired, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tickets, "PAGE", 2)  # pages of two tickets: 1-2, 3-4, 5
    for title in TITLES:
        new_ticket(paired.runtime, paired.a, paired.acme, title)
    since = paired.clock.now - timedelta(days=1)
    # The second page's marker search fails: the first page is already across.
    paired.world.routes.refuse = jira_refuses_marker_search(2)

    first = sync_run.run(paired.runtime, SYNC)

    assert first.status == "failed"
    assert "could not be run" in first.errors[-1]["error"]
    assert first.counts.of(A_TO_B, TICKET).created == 2
    assert titles(paired.runtime, paired.b, since) == TITLES[:2]
    assert references(paired.db) == 2
    with paired.db() as session:  # the listing was not read to its end: its watermark stays
        assert session.scalars(select(SyncWatermark)).all() == []

    paired.world.routes.refuse = lambda request: None
    paired.clock.advance(minutes=1)
    second = sync_run.run(paired.runtime, SYNC)

    assert second.status == "succeeded", second.errors
    assert second.counts.of(A_TO_B, TICKET).seen == 5
    assert second.counts.of(A_TO_B, TICKET).created == 3
    assert titles(paired.runtime, paired.b, since) == TITLES  # each once
    assert references(paired.db) == 5


def test_a_paged_dry_run_counts_every_ticket_and_samples_the_first_few(
    paired: Paired, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tickets, "PAGE", 2)  # the plan is made over four pages
    sampled = dry_run.DEFAULT_SAMPLE_PER_GROUP
    made = [f"Disk alert {n} on NAS{n}" for n in range(sampled + 2)]
    for title in made:
        new_ticket(paired.runtime, paired.a, paired.acme, title)

    plan = sync_run.run(paired.runtime, SYNC, dry_run=True)

    assert plan.status == "succeeded", plan.errors
    assert plan.diff is not None
    assert plan.diff.count(Side.B, ItemAction.CREATE, TICKET) == len(made)
    # The sample is the first few in the order planned, not every ticket of the run.
    assert [s.label for s in plan.diff.sample if s.kind is TICKET] == made[:sampled]
    assert references(paired.db) == 0
