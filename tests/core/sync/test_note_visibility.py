"""Notes keep their visibility; an internal note is never made public (issue 14, item 4)."""

from __future__ import annotations

import pytest

from ticketbridge.core.sync.note_visibility import (
    NoteAction,
    NoteTarget,
    Visibility,
    autotask_note_visibility,
    jira_comment_visibility,
    plan_note,
)

SERVICE_DESK = NoteTarget(internal=True)
PLAIN_PROJECT_WITHOUT_RESTRICTION = NoteTarget(internal=False)
AUTOTASK_ALL_USERS = 1
AUTOTASK_INTERNAL_ONLY = 2
AUTOTASK_INTERNAL_AND_CO_MANAGED = 4


def test_a_public_note_becomes_a_public_comment() -> None:
    assert plan_note(Visibility.PUBLIC, SERVICE_DESK).action is NoteAction.WRITE_PUBLIC


def test_an_internal_note_becomes_an_internal_comment() -> None:
    assert plan_note(Visibility.INTERNAL, SERVICE_DESK).action is NoteAction.WRITE_INTERNAL


def test_an_internal_note_is_refused_where_only_public_comments_exist() -> None:
    result = plan_note(Visibility.INTERNAL, PLAIN_PROJECT_WITHOUT_RESTRICTION)
    assert result.action is NoteAction.REFUSE
    assert result.refused
    assert "not made public" in result.reason


@pytest.mark.parametrize("target", [SERVICE_DESK, PLAIN_PROJECT_WITHOUT_RESTRICTION])
def test_a_note_of_unknown_visibility_is_never_written_public(target: NoteTarget) -> None:
    assert plan_note(None, target).action in (NoteAction.WRITE_INTERNAL, NoteAction.REFUSE)


def test_a_public_note_on_a_target_with_internal_notes_only_stays_from_the_customer() -> None:
    only_internal = NoteTarget(internal=True, public=False)
    assert plan_note(Visibility.PUBLIC, only_internal).action is NoteAction.WRITE_INTERNAL
    assert plan_note(Visibility.PUBLIC, NoteTarget(False, False)).refused


@pytest.mark.parametrize(
    ("jsd_public", "restricted_to", "expected"),
    [
        (True, None, Visibility.PUBLIC),
        (None, None, Visibility.PUBLIC),
        (False, None, Visibility.INTERNAL),
        (None, "Administrators", Visibility.INTERNAL),
        (True, "jira-admins", Visibility.INTERNAL),
    ],
)
def test_jira_comment_visibility(
    jsd_public: bool | None, restricted_to: str | None, expected: Visibility
) -> None:
    assert jira_comment_visibility(jsd_public=jsd_public, restricted_to=restricted_to) is expected


def test_autotask_notes_are_public_only_with_a_publish_value_named_public() -> None:
    public = {AUTOTASK_ALL_USERS}
    assert autotask_note_visibility(AUTOTASK_ALL_USERS, public) is Visibility.PUBLIC
    assert autotask_note_visibility(AUTOTASK_INTERNAL_ONLY, public) is Visibility.INTERNAL
    assert autotask_note_visibility(AUTOTASK_INTERNAL_AND_CO_MANAGED, public) is (
        Visibility.INTERNAL
    )
    assert autotask_note_visibility(None, public) is Visibility.INTERNAL


def test_visibility_kept_both_ways_round_trip() -> None:
    # Internal in Jira -> internal in Autotask -> read back as internal -> internal in Jira.
    seen_in_jira = jira_comment_visibility(jsd_public=False)
    written = plan_note(seen_in_jira, NoteTarget(internal=True))
    assert written.action is NoteAction.WRITE_INTERNAL
    read_back = autotask_note_visibility(AUTOTASK_INTERNAL_ONLY, {AUTOTASK_ALL_USERS})
    assert plan_note(read_back, SERVICE_DESK).action is NoteAction.WRITE_INTERNAL
