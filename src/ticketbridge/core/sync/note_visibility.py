"""Notes keep their visibility, both ways (issue 14, item 4).

A public note (an Autotask note published to the customer, a Jira reply) becomes a public
comment or note on the other side; an internal note becomes an internal one: a Jira service
desk comment with ``public: false``, or a comment restricted to a role or group on a project
that is not a service desk, or an Autotask note with an internal publish value. A note is never
made public on the way: when the target cannot hold an internal note the note is refused, and a
note whose visibility cannot be read counts as internal.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class NoteAction(StrEnum):
    WRITE_PUBLIC = "write_public"
    WRITE_INTERNAL = "write_internal"
    REFUSE = "refuse"


@dataclass(frozen=True)
class NoteTarget:
    """What the target can hold. Jira: ``internal`` on a service desk project, or when a role or
    group to restrict comments to is configured. Autotask: when an internal publish value exists
    (resolve_policy.internal_publish_value)."""

    internal: bool
    public: bool = True


@dataclass(frozen=True)
class NotePlan:
    action: NoteAction
    reason: str

    @property
    def refused(self) -> bool:
        return self.action is NoteAction.REFUSE


def plan_note(visibility: Visibility | None, target: NoteTarget) -> NotePlan:
    """How a note of ``visibility`` (None: could not be read) is written on ``target``."""
    if visibility is Visibility.PUBLIC:
        if target.public:
            return NotePlan(NoteAction.WRITE_PUBLIC, "public stays public")
        # Kept from the customer is the safe direction, and no less than it was.
        if target.internal:
            return NotePlan(NoteAction.WRITE_INTERNAL, "the target holds internal notes only")
        return NotePlan(NoteAction.REFUSE, "the target can hold neither kind of note")
    if target.internal:
        reason = "internal stays internal" if visibility else "visibility unknown: kept internal"
        return NotePlan(NoteAction.WRITE_INTERNAL, reason)
    return NotePlan(
        NoteAction.REFUSE, "the target cannot hold an internal note; it is not made public"
    )


def jira_comment_visibility(
    *, jsd_public: bool | None, restricted_to: str | None = None
) -> Visibility:
    """A Jira comment: internal when the service desk marks it not public, or when its
    ``visibility`` restricts it to a role or group."""
    if jsd_public is False or restricted_to:
        return Visibility.INTERNAL
    return Visibility.PUBLIC


def autotask_note_visibility(publish: int | None, public_values: Collection[int]) -> Visibility:
    """An Autotask note: public only when its publish value is one the sync is told is public;
    any other value, or none, is internal."""
    if publish is not None and publish in public_values:
        return Visibility.PUBLIC
    return Visibility.INTERNAL
