"""Per-object rows from plain HTML status tables (NAKIVO, Active Backup, generic reports).

A table qualifies when one of its rows names a status column and a name-like column; each
later row with a status word in that column becomes an object. Column names come in English,
German, Dutch and French.
"""

from __future__ import annotations

from ticketbridge.connectors.parsers.htmltext import Element
from ticketbridge.connectors.parsers.keywords import status_word
from ticketbridge.core.reports import ParsedObject

_NAME_COLUMNS = {
    "name",
    "vm",
    "vm name",
    "object",
    "objects",
    "machine",
    "computer",
    "device",
    "host",
    "workload",
    "source",
    "item",
    "naam",
    "apparaat",
    "gerät",
    "objekt",
    "nom",
    "appareil",
    "machine virtuelle",
    "objet",
}
_STATUS_COLUMNS = {"status", "result", "state", "ergebnis", "resultaat", "statut", "résultat"}
_MESSAGE_COLUMNS = {
    "details",
    "message",
    "error",
    "errors",
    "reason",
    "description",
    "info",
    "remark",
    "details/errors",
    "meldung",
    "fehler",
    "bericht",
    "melding",
    "détails",
    "erreur",
}
_TYPE_COLUMNS = {"type", "typ", "kind", "soort"}


def read_status_tables(root: Element) -> list[ParsedObject]:
    objects: list[ParsedObject] = []
    for table in root.iter("table"):
        rows = [r for r in table.iter("tr") if _owner_table(r) == table]
        columns: dict[str, int] | None = None
        for row in rows:
            texts = [c.text() for c in row.cells()]
            lowered = [t.lower().rstrip(":") for t in texts]
            if columns is None:
                columns = _header(lowered)
                continue
            if len(texts) <= max(columns.values()):
                continue
            status = status_word(texts[columns["status"]])
            name = texts[columns["name"]]
            if status is None or not name:
                continue
            objects.append(
                ParsedObject(
                    name=name,
                    type=texts[columns["type"]] if "type" in columns else "",
                    status=status,
                    message=texts[columns["message"]] if "message" in columns else "",
                )
            )
    return objects


def _owner_table(row: Element) -> Element | None:
    node = row.parent
    while node is not None and node.tag != "table":
        node = node.parent
    return node


def _header(cells: list[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, text in enumerate(cells):
        if text in _NAME_COLUMNS and "name" not in found:
            found["name"] = index
        elif text in _STATUS_COLUMNS and "status" not in found:
            found["status"] = index
        elif text in _MESSAGE_COLUMNS and "message" not in found:
            found["message"] = index
        elif text in _TYPE_COLUMNS and "type" not in found:
            found["type"] = index
    return found if "name" in found and "status" in found else None
