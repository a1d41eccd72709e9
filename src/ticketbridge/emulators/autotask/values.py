"""Turning JSON values into the stored form of a field, with SQL-Server-style failures."""

from __future__ import annotations

from typing import Any

from . import dates
from .errors import app_error
from .schema import FieldDef

INT_TYPES = {"integer", "long", "short", "byte"}
FLOAT_TYPES = {"decimal", "double", "float"}


def _conversion(value: Any, target: str) -> Exception:
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    return app_error(f"Conversion failed when converting varchar '{shown}' to data type {target}")


def coerce(field: FieldDef, value: Any) -> Any:
    """Stored form of ``value`` for ``field``; raises ApiError(500) when it cannot convert."""
    kind = field.data_type
    if kind in INT_TYPES:
        if isinstance(value, bool):
            raise _conversion(value, "int")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise _conversion(value, "int")
    if kind in FLOAT_TYPES:
        if isinstance(value, bool):
            raise _conversion(value, "decimal")
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value))
        except ValueError:
            raise _conversion(value, "decimal") from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise app_error(f"Invalid value for boolean field {field.name}: use JSON true or false.")
    if kind in {"datetime", "date"}:
        if not isinstance(value, str):
            raise app_error(
                "Conversion failed when converting date and/or time from character string."
            )
        try:
            return dates.fmt(dates.parse(value))
        except ValueError:
            raise app_error(
                "Conversion failed when converting date and/or time from character string."
            ) from None
    if isinstance(value, dict | list):
        raise _conversion(value, "nvarchar")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def coerce_udf(udf_type: str, value: Any) -> Any:
    """UDF values: numbers and datetimes are checked, everything is kept as given text."""
    if value is None:
        return None
    probe = {
        "double": "decimal",
        "decimal": "decimal",
        "integer": "integer",
        "datetime": "datetime",
        "date": "datetime",
    }.get(udf_type)
    if probe:
        return coerce(FieldDef("udf", probe), value)
    return str(value)
