"""A synced note edited: the edited text goes across, both edited: the later wins and the
other is kept for the conflict log (issue 14, items 3 and 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketbridge.core.sync.note_edits import NoteEdit, NoteVersion, resolve_edit
from ticketbridge.core.sync.sides import Side

EARLY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LATE = EARLY + timedelta(minutes=10)
SYNCED = "hash-as-synced"


def note(side: Side, text: str, at: datetime, *, edited: bool = True) -> NoteVersion:
    return NoteVersion(side, text, f"hash of {text}", at, edited=edited)


def judged(
    changed: NoteVersion, counterpart: NoteVersion, *, origin: Side = Side.A, both: bool = True
) -> NoteEdit:
    return resolve_edit(
        changed, counterpart, counterpart_synced_hash=SYNCED, origin=origin, both_ways=both
    )


def test_an_edit_on_one_side_goes_to_the_other() -> None:
    unchanged = NoteVersion(Side.B, "Spooler restarted.", SYNCED, EARLY)

    edit = judged(note(Side.A, "Spooler restarted twice.", LATE), unchanged)

    assert (edit.winner, edit.writes_to, edit.conflict) == (Side.A, Side.B, None)


def test_texts_that_already_agree_write_nothing() -> None:
    edit = judged(note(Side.A, "Done.\r\n", LATE), note(Side.B, "  Done.", EARLY))

    assert (edit.writes_to, edit.conflict) == (None, None)


def test_both_edited_the_later_wins_and_the_earlier_is_the_conflicts_loser() -> None:
    edit = judged(note(Side.A, "Restarted twice.", EARLY), note(Side.B, "Driver updated.", LATE))

    assert (edit.winner, edit.writes_to) == (Side.B, Side.A)
    assert edit.conflict is not None
    assert (edit.conflict.field, edit.conflict.winner) == ("text", Side.B)
    assert (edit.conflict.winner_value, edit.conflict.loser_value) == (
        "Driver updated.",
        "Restarted twice.",
    )
    assert (edit.conflict.winner_modified_at, edit.conflict.loser_modified_at) == (LATE, EARLY)


def test_both_edited_at_the_same_time_the_side_it_was_made_on_wins() -> None:
    edit = judged(note(Side.A, "One.", LATE), note(Side.B, "Two.", LATE), origin=Side.B)

    assert edit.winner is Side.B and edit.conflict is not None


def test_one_way_the_counterparts_edit_is_not_carried_back() -> None:
    edit = judged(note(Side.A, "One.", EARLY), note(Side.B, "Two.", LATE), both=False)

    assert (edit.winner, edit.conflict) == (Side.A, None)


def test_a_counterpart_never_changed_since_it_was_made_is_no_edit() -> None:
    # Its hash differs from the one recorded at the copy's creation: the PSA's rendering.
    rendered = note(Side.B, "Spooler  restarted.", LATE, edited=False)

    edit = judged(note(Side.A, "Spooler restarted twice.", EARLY), rendered)

    assert (edit.winner, edit.conflict) == (Side.A, None)
