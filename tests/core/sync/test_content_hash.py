"""Content hashes over the mapped fields (issue 14, items 3 and 5)."""

from __future__ import annotations

import hashlib

from ticketbridge.core.sync.content_hash import combine, content_hash, field_hashes, file_sha256

MAPPED = ("title", "description", "status", "priority")
TICKET = {"title": "Backup failed", "description": "Job X failed", "status": "1", "priority": "2"}


def test_the_hash_does_not_depend_on_field_order() -> None:
    reordered = dict(reversed(list(TICKET.items())))
    assert content_hash(reordered, MAPPED) == content_hash(TICKET, MAPPED)


def test_fields_the_sync_does_not_map_do_not_change_the_hash() -> None:
    with_extra = {**TICKET, "lastActivityDate": "2026-03-01T10:00:00Z", "assignee": "bob"}
    assert content_hash(with_extra, MAPPED) == content_hash(TICKET, MAPPED)


def test_a_mapped_field_that_changed_changes_the_hash() -> None:
    assert content_hash({**TICKET, "status": "5"}, MAPPED) != content_hash(TICKET, MAPPED)


def test_line_endings_and_outer_white_space_are_not_an_edit() -> None:
    stored_by_psa = {**TICKET, "description": "Job X failed\r\n"}
    assert content_hash(stored_by_psa, MAPPED) == content_hash(TICKET, MAPPED)


def test_a_value_moved_to_another_field_is_a_change() -> None:
    swapped = {**TICKET, "title": "Job X failed", "description": "Backup failed"}
    assert content_hash(swapped, MAPPED) != content_hash(TICKET, MAPPED)


def test_a_missing_field_and_an_empty_one_differ_from_text() -> None:
    no_priority = {key: value for key, value in TICKET.items() if key != "priority"}
    assert content_hash(no_priority, MAPPED) == content_hash({**TICKET, "priority": None}, MAPPED)
    assert content_hash(no_priority, MAPPED) != content_hash({**TICKET, "priority": ""}, MAPPED)


def test_the_content_hash_is_made_of_the_field_hashes() -> None:
    hashes = field_hashes(TICKET, MAPPED)
    assert set(hashes) == set(MAPPED)
    assert combine(hashes) == content_hash(TICKET, MAPPED)
    changed = field_hashes({**TICKET, "title": "Backup failed again"}, MAPPED)
    assert [name for name in MAPPED if changed[name] != hashes[name]] == ["title"]


def test_file_hash_is_the_sha256_of_its_bytes() -> None:
    assert file_sha256(b"report") == hashlib.sha256(b"report").hexdigest()
