"""Raw messages from .eml files, for ``ticketbridge mail import PATH...`` and similar tools.

Paths may be files (taken whatever their suffix) or folders (searched recursively for ``*.eml``,
without following symbolic links to folders, so a link loop cannot trap the walk). Files come in
a stable order (sorted per folder) so an interrupted import can be compared with a re-run.

`count_eml` walks the same files without reading them, so a progress bar knows its total before
`iter_eml` starts. A file that cannot be read or is above the size limit is reported to
``on_skip`` and skipped: one bad file never stops an import.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.mail.base import FetchedMail

log = logging.getLogger(__name__)

EML_SUFFIX = ".eml"
OnSkip = Callable[[Path, str], None]


def _log_skip(path: Path, reason: str) -> None:
    log.warning("skipped %s: %s", path, reason)


def eml_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Every file to import, in order. A path that does not exist raises ConnectorConfigError."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path
        else:
            raise ConnectorConfigError(f"{path} is neither a file nor a folder.")


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()  # os.walk descends in this (sorted) order
        for name in sorted(files):
            if name.lower().endswith(EML_SUFFIX):
                yield Path(root) / name


def count_eml(paths: Iterable[str | os.PathLike[str]]) -> int:
    """How many files `iter_eml` will consider (skipped ones included)."""
    return sum(1 for _ in eml_paths(paths))


def iter_eml(
    paths: Iterable[str | os.PathLike[str]],
    *,
    max_bytes: int | None = None,
    on_skip: OnSkip = _log_skip,
) -> Iterator[FetchedMail]:
    """Yield each file as a raw message; `source_id` is the absolute path.

    `received_at` is the file's modification time: the closest thing to an arrival time a file
    has. The Date header, if any, is read by the parsers, not here.
    """
    for path in eml_paths(paths):
        try:
            stat = path.stat()
            if max_bytes is not None and stat.st_size > max_bytes:
                on_skip(path, f"larger than the limit of {max_bytes} bytes ({stat.st_size} bytes)")
                continue
            raw = path.read_bytes()
        except OSError as exc:
            on_skip(path, f"cannot be read ({exc.strerror or type(exc).__name__})")
            continue
        if not raw.strip():
            on_skip(path, "is empty")
            continue
        yield FetchedMail(
            raw=raw,
            source_id=str(path.resolve()),
            received_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )
