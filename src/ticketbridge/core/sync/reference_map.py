"""What to do with one changed item read from one side (issue 14, item 3).

The reference map holds one entry per synced item: its id on each side, the side it was first
made on, and per side the content hash as last synced (for tickets also the field hashes that
hash is made of). Against that entry a changed ticket, note or attachment is:

- created on the other side when it has no entry (and nothing shows the sync made it);
- linked without a write when it has no entry but the sync did make it: it carries the sync's
  origin marker, or the batched marker search found its copy on the other side. This is the
  rerun after a crash between the write and the reference map's commit; it duplicates nothing;
- skipped when its content hash is the one last synced (read again through the overlap);
- skipped as an echo when the only authors of the change are the sync's own identities on that
  side: the sync's own write coming back is never sent back, so an echo never loops;
- updated on the other side otherwise;
- flagged for an operator when it or its counterpart was deleted: deletes are never propagated.
  A flagged entry is left alone until an operator clears the flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ticketbridge.core.sync.sides import EntityKind, Side, SyncIdentities


class ItemAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    LINK = "link"
    SKIP_SYNCED = "skip_synced"
    SKIP_ECHO = "skip_echo"
    SKIP_FLAGGED = "skip_flagged"
    FLAG = "flag"

    @property
    def writes(self) -> bool:
        """Whether the action writes to the other side's PSA."""
        return self in (ItemAction.CREATE, ItemAction.UPDATE)


@dataclass(frozen=True)
class SideRecord:
    """One side of a reference-map entry, as last synced."""

    id: str
    content_hash: str
    # Tickets only: the hash of each mapped field (content_hash.field_hashes).
    field_hashes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReferenceEntry:
    kind: EntityKind
    a: SideRecord
    b: SideRecord
    origin: Side
    last_synced: datetime
    flagged: bool = False

    def on(self, side: Side) -> SideRecord:
        return self.a if side is Side.A else self.b


@dataclass(frozen=True)
class SourceItem:
    """A changed item as read from ``side``."""

    kind: EntityKind
    side: Side
    id: str
    modified_at: datetime
    content_hash: str
    # Who changed it since it was last synced (who made it, when new), as the PSA reports it:
    # Autotask's resource or API user, Jira's account id. Empty when the PSA does not say.
    changed_by: frozenset[str] = frozenset()
    # The id of the other side's item this one was made from, when it carries the sync's
    # origin marker (a Jira comment property, an Autotask note title).
    origin_marker: str | None = None
    # A mapped item the service found gone (not found by id) on its own side.
    deleted: bool = False


@dataclass(frozen=True)
class ItemDecision:
    action: ItemAction
    # The other side's id: the item to update, link to or flag with; None for a create.
    target_id: str | None
    reason: str


def decide(
    item: SourceItem,
    entry: ReferenceEntry | None,
    *,
    ours: SyncIdentities,
    counterpart_missing: bool = False,
    marked_copy: str | None = None,
) -> ItemDecision:
    """The action for ``item`` given its reference-map entry (None when it has none).

    ``counterpart_missing``: the entry's item on the other side was not found by id.
    ``marked_copy``: the id of an item on the other side found carrying this item's origin
    marker (the service looks these up a page at a time for items without an entry).
    """
    if entry is not None and entry.kind is not item.kind:
        raise ValueError(f"a {entry.kind} entry given for a {item.kind}")
    target = item.side.other
    if entry is None:
        if item.deleted or counterpart_missing:
            raise ValueError("a deletion is known only for an item with a reference-map entry")
        return _unmapped(item, ours, marked_copy)
    target_id = entry.on(target).id
    if entry.on(item.side).id != item.id:
        raise ValueError(f"the entry is for {entry.on(item.side).id}, not {item.id}")
    if entry.flagged:
        return ItemDecision(ItemAction.SKIP_FLAGGED, target_id, "flagged for an operator")
    if item.deleted:
        return ItemDecision(
            ItemAction.FLAG, target_id, f"deleted on side {item.side.upper()}; not propagated"
        )
    if counterpart_missing:
        return ItemDecision(
            ItemAction.FLAG, target_id, f"deleted on side {target.upper()}; not propagated"
        )
    if item.content_hash == entry.on(item.side).content_hash:
        return ItemDecision(ItemAction.SKIP_SYNCED, target_id, "unchanged since last synced")
    if _only_ours(item, ours):
        return ItemDecision(ItemAction.SKIP_ECHO, target_id, "changed only by the sync")
    return ItemDecision(ItemAction.UPDATE, target_id, "changed since last synced")


def _unmapped(item: SourceItem, ours: SyncIdentities, marked_copy: str | None) -> ItemDecision:
    copy = item.origin_marker or marked_copy
    if copy is not None:
        return ItemDecision(ItemAction.LINK, copy, "written by the sync; its reference recorded")
    if _only_ours(item, ours):
        return ItemDecision(ItemAction.SKIP_ECHO, None, "made by the sync")
    return ItemDecision(ItemAction.CREATE, None, "not synced yet")


def _only_ours(item: SourceItem, ours: SyncIdentities) -> bool:
    return bool(item.changed_by) and item.changed_by <= ours.on(item.side)
