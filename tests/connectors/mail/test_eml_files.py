"""Reading .eml files and folders for `ticketbridge mail import`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.mail.files import count_eml, iter_eml


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    _write(tmp_path / "b.eml", b"Subject: b\r\n\r\nb\r\n")
    _write(tmp_path / "a.EML", b"Subject: a\r\n\r\na\r\n")
    _write(tmp_path / "notes.txt", b"not a mail")
    _write(tmp_path / "sub" / "deeper" / "c.eml", b"Subject: c\r\n\r\nc\r\n")
    return tmp_path


def test_folders_are_searched_recursively_for_eml_files_in_a_stable_order(tree: Path) -> None:
    mails = list(iter_eml([tree]))
    assert [Path(m.source_id).name for m in mails] == ["a.EML", "b.eml", "c.eml"]
    assert mails[0].raw == b"Subject: a\r\n\r\na\r\n"
    assert all(m.received_at is not None and m.received_at.tzinfo for m in mails)


def test_count_matches_what_the_iterator_considers(tree: Path) -> None:
    loose = _write(tree.parent / "loose.msg", b"Subject: loose\r\n\r\nx\r\n")
    assert count_eml([tree, loose]) == 4
    assert len(list(iter_eml([tree, loose]))) == 4


def test_a_file_named_explicitly_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path / "report.txt", b"Subject: x\r\n\r\ny\r\n")
    assert [m.raw for m in iter_eml([path])] == [b"Subject: x\r\n\r\ny\r\n"]


def test_oversized_empty_and_unreadable_files_are_skipped_and_reported(tmp_path: Path) -> None:
    _write(tmp_path / "1-big.eml", b"Subject: big\r\n\r\n" + b"x" * 500)
    _write(tmp_path / "2-empty.eml", b"  \r\n")
    _write(tmp_path / "3-ok.eml", b"Subject: ok\r\n\r\nok\r\n")
    (tmp_path / "4-dangling.eml").symlink_to(tmp_path / "missing")
    skipped: list[tuple[str, str]] = []

    mails = list(
        iter_eml([tmp_path], max_bytes=100, on_skip=lambda p, why: skipped.append((p.name, why)))
    )

    assert [Path(m.source_id).name for m in mails] == ["3-ok.eml"]
    assert [name for name, _ in skipped] == ["1-big.eml", "2-empty.eml", "4-dangling.eml"]
    assert "limit of 100 bytes" in skipped[0][1]


def test_a_missing_path_raises_connector_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectorConfigError, match="neither a file nor a folder"):
        count_eml([tmp_path / "nope"])


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    _write(tmp_path / "real" / "m.eml", b"Subject: m\r\n\r\nm\r\n")
    os.symlink(tmp_path, tmp_path / "real" / "loop")
    assert count_eml([tmp_path / "real"]) == 1
