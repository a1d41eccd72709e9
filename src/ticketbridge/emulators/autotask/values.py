"""Turning JSON values into the stored form of a field, with SQL-Server-style failures."""

from __future__ import annotations

import math
import re
from typing import Any

from . import dates
from .errors import app_error
from .schema import FieldDef

INT_TYPES = {"integer", "long", "short", "byte"}
FLOAT_TYPES = {"decimal", "double", "float"}
# SQL Server's ranges behind the API's int32 and int64 fields.
INT_RANGES = {
    "integer": ("int", -(2**31), 2**31 - 1),
    "long": ("bigint", -(2**63), 2**63 - 1),
    "short": ("smallint", -(2**15), 2**15 - 1),
    "byte": ("tinyint", 0, 255),
}
INT_TEXT = re.compile(r"-?[0-9]{1,40}")
DATE_TEXT = "Conversion failed when converting date and/or time from character string."
DATE_RANGE_TEXT = (
    "The conversion of a varchar data type to a datetime data type resulted in an "
    "out-of-range value."
)


def _conversion(value: Any, target: str) -> Exception:
    shown = str(value).lower() if isinstance(value, bool) else str(value)[:200]
    return app_error(f"Conversion failed when converting varchar '{shown}' to data type {target}")


def coerce(field: FieldDef, value: Any) -> Any:
    """Stored form of ``value`` for ``field``; raises ApiError(500) when it cannot convert."""
    kind = field.data_type
    if kind in INT_TYPES:
        return _integer(kind, value)
    if kind in FLOAT_TYPES:
        if isinstance(value, bool | dict | list):
            raise _conversion(value, "decimal")
        try:
            number = float(value) if isinstance(value, int | float) else float(str(value))
        except (ValueError, OverflowError):
            raise _conversion(value, "decimal") from None
        if not math.isfinite(number):  # NaN and Infinity are no SQL Server numbers
            raise _conversion(value, "decimal")
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise app_error(f"Invalid value for boolean field {field.name}: use JSON true or false.")
    if kind in {"datetime", "date"}:
        if not isinstance(value, str):
            raise app_error(DATE_TEXT)
        try:
            return dates.fmt(dates.parse(value))
        except dates.OutOfRange:
            raise app_error(DATE_RANGE_TEXT) from None
        except ValueError:
            raise app_error(DATE_TEXT) from None
    if isinstance(value, dict | list):
        raise _conversion(value, "nvarchar")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _integer(kind: str, value: Any) -> int:
    sql_type, low, high = INT_RANGES[kind]
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and INT_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None:
        raise _conversion(value, "int")
    if not low <= number <= high:
        raise app_error(f"Arithmetic overflow error converting expression to data type {sql_type}.")
    return number


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
