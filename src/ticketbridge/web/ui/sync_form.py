"""The sync form's text to a sync's settings and back (the page's half of the API's models).

Inputs are named by the setting's path (``mapping.a_to_b.status.rows``), so an error is shown
next to the input it names, whether this module or the service found it. A mapping table is
typed one row a line, ``source=target``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData

from ticketbridge.services.sync.admin import ENTITIES
from ticketbridge.storage.models.sync import SyncRow

DIRECTIONS = ("a_to_b", "b_to_a")
TABLES = ("status", "priority", "company", "queue", "categories")
SWITCHES = ("a_to_b", "b_to_a", "enabled", *(f"entities.{name}" for name in ENTITIES))
MAX_ROWS = 500


def table_names() -> list[str]:
    return [f"mapping.{d}.{t}" for d in DIRECTIONS for t in TABLES]


def values_of(row: SyncRow | None) -> dict[str, str | bool]:
    """What the form shows for a stored sync (or a new one)."""
    if row is None:
        return {"a_to_b": True, "b_to_a": True, "interval_seconds": "300"}
    shown: dict[str, str | bool] = {
        "name": row.name,
        "connection_a": str(row.connection_a_id),
        "connection_b": str(row.connection_b_id),
        "a_to_b": row.a_to_b,
        "b_to_a": row.b_to_a,
        "enabled": row.enabled,
        "start_date": row.start_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
        "interval_seconds": str(row.interval_seconds),
    }
    for side, scope in (("a", row.scope_a or {}), ("b", row.scope_b or {})):
        shown[f"scope_{side}"] = ", ".join(str(i) for i in scope.get("company_ids", []))
        shown[f"scope_{side}.queue_ids"] = ", ".join(str(i) for i in scope.get("queue_ids", []))
        shown[f"scope_{side}.jql"] = scope.get("jql") or ""
    for name in ENTITIES:
        shown[f"entities.{name}"] = bool((row.entities or {}).get(name))
    for direction in DIRECTIONS:
        for table in TABLES:
            raw = ((row.mapping or {}).get(direction) or {}).get(table) or {}
            rows = raw.get("rows") or {}
            shown[f"mapping.{direction}.{table}.rows"] = "\n".join(
                f"{k}={v}" for k, v in rows.items()
            )
            default = raw.get("default")
            shown[f"mapping.{direction}.{table}.default"] = "" if default is None else default
    return shown


def typed(form: FormData) -> dict[str, str | bool]:
    """What was typed, to show again when the form is refused."""
    kept: dict[str, str | bool] = {
        key: str(value)[:5000] for key, value in form.items() if key != "csrf_token"
    }
    for name in SWITCHES:
        kept[name] = form.get(name) == "true"
    return kept


def settings_of(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings the form asks for, and the errors by input name (empty when none)."""
    errors: dict[str, str] = {}
    settings: dict[str, Any] = {
        "name": str(form.get("name") or ""),
        "a_to_b": form.get("a_to_b") == "true",
        "b_to_a": form.get("b_to_a") == "true",
        "enabled": form.get("enabled") == "true",
        "entities": {name: form.get(f"entities.{name}") == "true" for name in ENTITIES},
    }
    for side in ("a", "b"):
        settings[f"connection_{side}"] = str(form.get(f"connection_{side}") or "")
        ids = _ids(str(form.get(f"scope_{side}") or ""))
        queues = _ids(str(form.get(f"scope_{side}.queue_ids") or ""))
        query = str(form.get(f"scope_{side}.jql") or "").strip()[:2000]
        if ids is None:
            errors[f"scope_{side}"] = "company (Jira: project) ids, separated by commas"
        if queues is None:
            errors[f"scope_{side}.queue_ids"] = "queue ids, separated by commas"
        if ids is not None and queues is not None:
            scope: dict[str, Any] = {"company_ids": ids}
            scope |= {"queue_ids": queues} if queues else {}
            settings[f"scope_{side}"] = scope | ({"jql": query} if query else {})
    when = _moment(str(form.get("start_date") or ""))
    if when is None:
        errors["start_date"] = "a date and time (UTC), e.g. 2026-12-01T08:00"
    else:
        settings["start_date"] = when
    interval = str(form.get("interval_seconds") or "").strip()
    if not interval.isdigit():
        errors["interval_seconds"] = "a number of seconds, 60 to 86400"
    else:
        settings["interval_seconds"] = int(interval)
    mapping: dict[str, Any] = {}
    for direction in DIRECTIONS:
        for table in TABLES:
            name = f"mapping.{direction}.{table}"
            rows = _rows(str(form.get(f"{name}.rows") or ""))
            if rows is None:
                errors[f"{name}.rows"] = "one source=target a line, at most 500"
                continue
            default = str(form.get(f"{name}.default") or "").strip()[:100] or None
            mapping.setdefault(direction, {})[table] = {"rows": rows, "default": default}
    settings["mapping"] = mapping
    return settings, errors


def _ids(text: str) -> list[int] | None:
    parts = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    if len(parts) > MAX_ROWS or not all(p.isdigit() and 0 < int(p) < 2**31 for p in parts):
        return None
    return [int(p) for p in parts]


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _rows(text: str) -> dict[str, str] | None:
    rows: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        source, sep, target = line.partition("=")
        if not sep or not source.strip() or not target.strip():
            return None
        rows[source.strip()[:100]] = target.strip()[:100]
    return rows if len(rows) <= MAX_ROWS else None
