"""Golden files for ticket content (design §5A).

Each scenario is tests/fixtures/ticket_content/<scenario>.input.json next to
<scenario>.expected.txt; a new pair is picked up without touching this module. After an
intended change of wording, rewrite the expected files with
`.venv/bin/python -m tests.core.test_ticket_content_golden` and review the diff.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_content import (
    ContentSettings,
    RunFacts,
    RunObject,
    TicketContent,
    compose_ticket,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ticket_content"
SCENARIOS = sorted(path.name.removesuffix(".input.json") for path in FIXTURES.glob("*.input.json"))


def load(scenario: str) -> tuple[RunFacts, ContentSettings]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{scenario}.input.json").read_text("utf-8"))
    raw = data["facts"]
    facts = RunFacts(
        run_id=raw["run_id"],
        job_id=raw["job_id"],
        customer_name=raw["customer_name"],
        job_name=raw["job_name"],
        backup_product=raw["backup_product"],
        job_type=raw["job_type"],
        status=RunStatus(raw["status"]),
        started_at=datetime.fromisoformat(raw["started_at"]),
        overall_remark=raw.get("overall_remark"),
        objects=tuple(
            RunObject(o["name"], o.get("type", ""), RunStatus(o["status"]), o.get("message"))
            for o in raw.get("objects", [])
        ),
    )
    return facts, ContentSettings(**data["settings"])


def render(content: TicketContent) -> str:
    return (
        f"title: {content.title}\n"
        f"external_id: {content.external_id}\n"
        f"truncated: {str(content.truncated).lower()}\n"
        f"--- description ---\n{content.description}\n"
    )


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 8
    for scenario in SCENARIOS:
        assert (FIXTURES / f"{scenario}.expected.txt").exists(), scenario


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_5a_ticket_content_matches_golden_file(scenario: str) -> None:
    facts, settings = load(scenario)
    content = compose_ticket(facts, settings)
    expected = (FIXTURES / f"{scenario}.expected.txt").read_text("utf-8")
    assert render(content) == expected
    assert len(content.title) <= settings.title_limit
    assert len(content.description) <= settings.description_limit


def regenerate() -> None:
    for scenario in SCENARIOS:
        facts, settings = load(scenario)
        target = FIXTURES / f"{scenario}.expected.txt"
        target.write_text(render(compose_ticket(facts, settings)), "utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    regenerate()
