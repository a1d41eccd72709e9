"""The rules of the two-way ticket sync between two PSA connections (issue 14), as pure code.

Nothing here reads a clock, a database or a PSA: the sync service reads, calls these functions
and writes what they decide. One module per rule:

- ``sides``: the two sides of a sync, its two directions, the kinds of item it carries.
- ``watermarks``: where each direction's next query starts.
- ``batching``: ids in pages of the PSA's largest ``in`` query, one query per page.
- ``content_hash``: hashes over the mapped fields only, stable over field order.
- ``reference_map``: create, update, link, skip, skip as echo, or flag, per source item.
- ``field_mapping``: title, description, status and priority from one side to the other.
- ``conflicts``: field by field, the later change wins; the loser goes to the conflict log.
- ``note_visibility``: public stays public, internal stays internal, or the note is refused.
- ``attachments``: de-duplication by name and sha256, the size limit, a failed read fails.
- ``failures``: recorded item failures, capped exponential backoff, which are due.
- ``run_counts``: seen, created, updated, skipped, flagged and failed per direction and kind.
- ``dry_run``: what a run would write, counted per side and action, with a bounded sample.

docs/sync.md states the rules in prose.
"""
