"""The QueryModel: parsing, validation with the real error texts, and evaluation.

Keys and field names are case-insensitive. String comparisons are case-insensitive (the
tenant database uses a case-insensitive collation). A NULL column matches no comparison, as
in SQL; ``exist``/``notExist`` test for NULL. Rows come back ordered by id.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import app_error, unknown_field
from .schema import EntityDef, FieldDef
from .store import Row
from .values import coerce, coerce_udf

MAX_RECORDS = 500
MAX_OR_CONDITIONS = 500
# No documented limit; real queries nest a few levels. Without one, a filter nested thousands
# of levels deep exhausted the interpreter's stack.
MAX_FILTER_DEPTH = 32
Predicate = Callable[[Row], bool]

OPERATORS = {
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "beginswith",
    "endswith",
    "contains",
    "exist",
    "notexist",
    "in",
    "notin",
}
TEXT_MAX_RECORDS = "maxCountOfRecordsToReturn must be between 1 and 500"
TEXT_OR_LIMIT = "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."
TEXT_ONE_UDF = "Only one user-defined field can be queried at a time."
TEXT_NO_FILTER = "Invalid query syntax. A query must contain at least one filter."
TEXT_TOO_DEEP = (
    f"Invalid query syntax. Filters may be nested at most {MAX_FILTER_DEPTH} levels deep."
)


@dataclass
class Query:
    predicate: Predicate
    max_records: int = MAX_RECORDS
    include: list[str] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _lower_keys(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise app_error("Invalid query syntax.")
    return {str(k).lower(): v for k, v in node.items()}


@dataclass
class _Counter:
    udfs: int = 0
    ors: int = 0


def parse_query(entity: EntityDef, body: Any, udf_defs: list[dict[str, Any]]) -> Query:
    model = _lower_keys(body if body is not None else {})
    max_records = model.get("maxrecords", MAX_RECORDS)
    if max_records is None:
        max_records = MAX_RECORDS
    if (
        isinstance(max_records, bool)
        or not isinstance(max_records, int)
        or not 1 <= max_records <= MAX_RECORDS
    ):
        raise app_error(TEXT_MAX_RECORDS)
    include: list[str] | None = None
    raw_include = model.get("includefields")
    if raw_include:
        if not isinstance(raw_include, list):
            raise app_error("Invalid query syntax.")
        include = []
        for name in raw_include:
            fdef = entity.field(str(name))
            if fdef is None:
                raise unknown_field(str(name), entity.name)
            include.append(fdef.name)
    filters = model.get("filter")
    if not filters:
        raise app_error(TEXT_NO_FILTER)
    if not isinstance(filters, list):
        filters = [filters]
    udfs = {u["name"].lower(): u for u in udf_defs}
    counter = _Counter()
    parts = [_compile(entity, f, udfs, counter, 1) for f in filters]
    if counter.udfs > 1:
        raise app_error(TEXT_ONE_UDF)
    if counter.ors > MAX_OR_CONDITIONS:
        raise app_error(TEXT_OR_LIMIT)
    return Query(_all(parts), max_records, include, model)


def _all(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    return lambda row: all(p(row) for p in parts)


def _any(parts: list[Predicate]) -> Predicate:
    return lambda row: any(p(row) for p in parts)


def _compile(
    entity: EntityDef,
    node: Any,
    udfs: dict[str, dict[str, Any]],
    counter: _Counter,
    depth: int,
) -> Predicate:
    if depth > MAX_FILTER_DEPTH:
        raise app_error(TEXT_TOO_DEEP)
    spec = _lower_keys(node)
    op = str(spec.get("op", "")).lower()
    if op in {"and", "or"}:
        items = spec.get("items") or []
        if not isinstance(items, list):
            raise app_error("Invalid query syntax.")
        if op == "or":
            counter.ors += len(items)
        parts = [_compile(entity, item, udfs, counter, depth + 1) for item in items]
        if op == "and":
            return _all(parts) if parts else (lambda row: True)
        return _any(parts) if parts else (lambda row: False)
    if op not in OPERATORS:
        raise app_error(f"Invalid query syntax. Unknown operator '{spec.get('op')}'.")
    name = str(spec.get("field", ""))
    getter, convert, is_text = _accessor(entity, name, bool(spec.get("udf")), udfs, counter)
    if op in {"exist", "notexist"}:
        want = op == "exist"
        return lambda row: (getter(row) is not None) is want
    if "value" not in spec or spec["value"] is None:
        raise app_error(f"Invalid query syntax. The '{op}' filter on {name} needs a value.")
    raw = spec["value"]
    if op in {"in", "notin"}:
        values = raw if isinstance(raw, list) else [raw]
        counter.ors += len(values)
        wanted = {_norm(convert(v), is_text) for v in values}
        if op == "in":
            return lambda row: (v := getter(row)) is not None and _norm(v, is_text) in wanted
        return lambda row: (v := getter(row)) is not None and _norm(v, is_text) not in wanted
    target = _norm(convert(raw), is_text)
    return _comparison(op, getter, target, is_text)


def _norm(value: Any, is_text: bool) -> Any:
    return str(value).casefold() if is_text else value


def _comparison(op: str, getter: Callable[[Row], Any], target: Any, is_text: bool) -> Predicate:
    """One specialised closure per operator: this runs once per row of every query."""
    if op in {"beginswith", "endswith", "contains"}:
        text = str(target).casefold()
        if op == "beginswith":
            return lambda row: (v := getter(row)) is not None and str(v).casefold().startswith(text)
        if op == "endswith":
            return lambda row: (v := getter(row)) is not None and str(v).casefold().endswith(text)
        return lambda row: (v := getter(row)) is not None and text in str(v).casefold()
    compare = _COMPARE[op]
    if is_text:
        return lambda row: (v := getter(row)) is not None and compare(str(v).casefold(), target)

    def predicate(row: Row) -> bool:
        v = getter(row)
        if v is None:
            return False
        try:
            return bool(compare(v, target))
        except TypeError:
            return False

    return predicate


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "noteq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _accessor(
    entity: EntityDef,
    name: str,
    is_udf: bool,
    udfs: dict[str, dict[str, Any]],
    counter: _Counter,
) -> tuple[Callable[[Row], Any], Callable[[Any], Any], bool]:
    if is_udf:
        definition = udfs.get(name.lower())
        if definition is None:
            raise unknown_field(name, entity.name)
        counter.udfs += 1
        udf_name = definition["name"]
        udf_type = str(definition.get("type", "string"))
        is_text = udf_type not in {"double", "decimal", "integer", "datetime", "date"}

        def udf_value(row: Row) -> Any:
            return (row.get("userDefinedFields") or {}).get(udf_name)

        return udf_value, lambda v: coerce_udf(udf_type, v), is_text
    fdef = entity.field(name)
    if fdef is None:
        raise unknown_field(name, entity.name)
    if not fdef.queryable:
        raise app_error(f"The field {fdef.name} is not queryable for the {entity.name} Entity")
    key = fdef.name
    is_text = fdef.data_type == "string"
    return (lambda row: row.get(key)), (lambda v: _coerce_query(fdef, v)), is_text


def _coerce_query(fdef: FieldDef, value: Any) -> Any:
    return coerce(fdef, value)


def select(rows: Iterable[Row], query: Query) -> list[Row]:
    """Matching rows ordered by id."""
    return sorted((r for r in rows if query.predicate(r)), key=lambda r: r["id"])
