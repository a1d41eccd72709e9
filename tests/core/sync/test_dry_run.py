"""The dry-run diff: counts per side and action, a bounded sample (issue 14, item 8)."""

from __future__ import annotations

from ticketbridge.core.sync.dry_run import DryRunPlan, PlannedAction, diff
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import EntityKind, Side

TICKET = EntityKind.TICKET
NOTE = EntityKind.NOTE


def planned(
    target: Side, action: ItemAction, count: int, kind: EntityKind = TICKET
) -> list[PlannedAction]:
    return [
        PlannedAction(target, kind, action, f"{target}-{action}-{index}", f"Ticket {index}")
        for index in range(count)
    ]


def test_counts_per_side_and_action() -> None:
    result = diff(
        planned(Side.B, ItemAction.CREATE, 120)
        + planned(Side.A, ItemAction.CREATE, 30)
        + planned(Side.A, ItemAction.UPDATE, 7)
        + planned(Side.B, ItemAction.SKIP_SYNCED, 50)
        + planned(Side.B, ItemAction.CREATE, 40, kind=NOTE)
    )
    assert result.count(Side.B, ItemAction.CREATE) == 160
    assert result.count(Side.B, ItemAction.CREATE, TICKET) == 120
    assert result.count(Side.A, ItemAction.CREATE) == 30
    assert result.count(Side.A, ItemAction.UPDATE) == 7
    assert result.count(Side.B, ItemAction.SKIP_SYNCED) == 50
    assert result.count(Side.A, ItemAction.FLAG) == 0
    assert result.writes == 197


def test_the_sample_is_bounded_per_side_kind_and_action_and_holds_writes_only() -> None:
    result = diff(
        planned(Side.B, ItemAction.CREATE, 1000)
        + planned(Side.A, ItemAction.UPDATE, 2)
        + planned(Side.B, ItemAction.SKIP_ECHO, 1000),
        sample_per_group=3,
    )
    assert len(result.sample) == 5
    assert [action.source_id for action in result.sample[:3]] == [
        "b-create-0",
        "b-create-1",
        "b-create-2",
    ]
    assert all(action.action.writes for action in result.sample)


def test_the_plan_is_read_once_so_a_generator_will_do() -> None:
    generated = (action for action in planned(Side.B, ItemAction.CREATE, 10))
    assert diff(generated).count(Side.B, ItemAction.CREATE) == 10


def test_an_empty_plan_is_an_empty_diff() -> None:
    result = diff([])
    assert result.writes == 0 and result.sample == ()


def test_plans_merged_in_pass_order_diff_as_one_plan_read_in_that_order() -> None:
    first = planned(Side.B, ItemAction.CREATE, 2) + planned(Side.A, ItemAction.LINK, 4)
    later = planned(Side.B, ItemAction.CREATE, 6, kind=TICKET)[2:] + planned(
        Side.A, ItemAction.CREATE, 1
    )
    merged, plan = DryRunPlan(sample_per_group=3), DryRunPlan(sample_per_group=3)
    for action in first:
        merged.append(action)
    for action in later:
        plan.append(action)
    merged.merge(plan)
    assert merged.diff() == diff(first + later, sample_per_group=3)
    assert [a.source_id for a in merged.diff().sample][:3] == [
        "b-create-0",
        "b-create-1",
        "b-create-2",
    ]


def test_a_plan_keeps_the_sample_not_every_action() -> None:
    plan = DryRunPlan(sample_per_group=2)
    for action in planned(Side.B, ItemAction.CREATE, 10_000):
        plan.append(action)
    assert plan.diff().count(Side.B, ItemAction.CREATE) == 10_000
    assert len(plan.sample) == 2
