"""The site's mutable state as plain JSON-able dicts, with the lookups every handler needs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from . import seed
from .errors import not_found

ORGANIZATION_STATE = ("organizations", "desk_organizations")


class Store:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def fresh(cls, seed_name: str) -> Store:
        return cls(seed.build(seed_name))

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)

    def restore(self, data: dict[str, Any]) -> None:
        fresh = seed.build(str(data.get("seed", "empty")))
        # A state file from before organizations were state gets the seeded ones.
        data = {**{k: fresh[k] for k in ORGANIZATION_STATE if k not in data}, **data}
        data["next_ids"] = {**fresh["next_ids"], **(data.get("next_ids") or {})}
        if set(data) != set(fresh):
            raise ValueError("not a Jira emulator snapshot")
        self.data = copy.deepcopy(data)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Store | None:
        if not path.exists():
            return None
        store = cls.fresh("empty")
        store.restore(json.loads(path.read_text(encoding="utf-8")))
        return store

    # --- ids ------------------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        value = int(self.data["next_ids"][kind])
        self.data["next_ids"][kind] = value + 1
        return str(value)

    def new_key(self, project_key: str) -> str:
        number = int(self.data["next_keys"][project_key])
        self.data["next_keys"][project_key] = number + 1
        return f"{project_key}-{number}"

    # --- lookups --------------------------------------------------------------------------
    def live_issues(self) -> list[dict[str, Any]]:
        return [i for i in self.data["issues"].values() if not i["deleted"]]

    def issue(self, id_or_key: str) -> dict[str, Any]:
        """A live issue by id or key (keys case-insensitive), else Jira's 404."""
        found = self.data["issues"].get(id_or_key)
        if found is None:
            wanted = id_or_key.upper()
            found = next(
                (i for i in self.data["issues"].values() if wanted in {i["key"], *i["old_keys"]}),
                None,
            )
        if found is None or found["deleted"]:
            raise not_found()
        return found

    def comments_of(self, issue_id: str) -> list[dict[str, Any]]:
        return [c for c in self.data["comments"].values() if c["issue_id"] == issue_id]

    def worklogs_of(self, issue_id: str) -> list[dict[str, Any]]:
        return [w for w in self.data["worklogs"].values() if w["issue_id"] == issue_id]

    def attachments_of(self, issue_id: str) -> list[dict[str, Any]]:
        return [a for a in self.data["attachments"].values() if a["issue_id"] == issue_id]
