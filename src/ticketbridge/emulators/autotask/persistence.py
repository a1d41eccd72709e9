"""Optional JSON state file so that a demo survives restarts."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .store import Store


def load(path: Path) -> Store | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    return Store.from_json(json.loads(path.read_text(encoding="utf-8")))


def save(path: Path, store: Store) -> None:
    """Write to a temporary file and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(store.to_json(), separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)
