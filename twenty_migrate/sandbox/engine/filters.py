"""Record filters, ordering and cursors, as Twenty's common find-many runner applies them.

A filter is Twenty's GraphQL ``{Object}FilterInput`` as a plain dict; :func:`compile_filter`
turns it into a predicate over stored records. Comparisons follow SQL: a null column never
matches a comparison (``neq`` included), only ``is: NULL``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from functools import cmp_to_key
from typing import Any

from twenty_migrate.sandbox.engine.fields import format_datetime, parse_datetime
from twenty_migrate.sandbox.errors import SandboxError, bad_request, inspect_js
from twenty_migrate.sandbox.metadata.model import COMPOSITE_TYPES, ObjectMeta

Row = dict[str, Any]
Predicate = Callable[[Row], bool]
Getter = Callable[[Row], Any]

DIRECTIONS: tuple[str, ...] = ("AscNullsFirst", "AscNullsLast", "DescNullsFirst", "DescNullsLast")
OPERATORS: frozenset[str] = frozenset(
    {
        "eq",
        "neq",
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "like",
        "ilike",
        "startsWith",
        "endsWith",
        "is",
        "containsAny",
        "containsIlike",
    }
)
# [inferred] `neq` follows SQL (`col != x`), so rows where the column is null never match.
NEQ_MATCHES_NULL = False
_NUMERIC_TYPES = frozenset({"NUMBER", "NUMERIC", "POSITION"})


def _query_error(message: str) -> SandboxError:
    return bad_request(message, code="INVALID_QUERY_INPUT")


def dt_key(value: str) -> str:
    """A sortable key for a stored DATE_TIME string (``...ssZ`` or ``...ss.sssZ``)."""
    if len(value) > 20 and value[19] == ".":
        return value[:23]
    return value[:19] + ".000"


def _getter(path: str) -> Getter:
    if "." in path:
        head, sub = path.split(".", 1)

        def nested(row: Row) -> Any:
            value = row.get(head)
            return value.get(sub) if isinstance(value, dict) else None

        return nested

    def plain(row: Row) -> Any:
        return row.get(path)

    return plain


def mentions_deleted_at(flt: Any) -> bool:
    """True when ``deletedAt`` appears anywhere in the filter (soft-deleted rows shown)."""
    if isinstance(flt, dict):
        return any(key == "deletedAt" or mentions_deleted_at(v) for key, v in flt.items())
    if isinstance(flt, list):
        return any(mentions_deleted_at(item) for item in flt)
    return False


def resolve_path(obj: ObjectMeta, key: str, sub: str | None = None) -> tuple[str, str]:
    """(storage path, value type) of a filterable/orderable field or sub-field."""
    f = obj.fields.get(key)
    if f is None or not f.is_active:
        if key in obj.join_columns():
            return key, "UUID"
        raise _query_error(f'Object {obj.name_singular} doesn\'t have any "{key}" field.')
    if f.relation is not None or f.type == "TS_VECTOR":
        raise _query_error(f'Field "{key}" of object {obj.name_singular} cannot be used here.')
    if sub is None:
        return key, f.type
    for prop in f.composite_properties:
        if prop.name == sub:
            return f"{key}.{sub}", prop.type
    raise _query_error(f'Field "{key}" of object {obj.name_singular} has no "{sub}" sub-field.')


def _coerce(ftype: str, value: Any, key: str) -> Any:
    if value is None:
        return None
    if ftype in _NUMERIC_TYPES:
        if isinstance(value, bool):
            raise _query_error(f"Invalid number value {inspect_js(value)} in filter on {key}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _query_error(
                f"Invalid number value {inspect_js(value)} in filter on {key}"
            ) from None
    if ftype == "DATE_TIME":
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise _query_error(
                f'Invalid value {inspect_js(value)} for date-time field "{key}". '
                "Expected format: 'YYYY-MM-DDTHH:mm:ssZ'"
            )
        return dt_key(format_datetime(moment))
    return value


def _row_value(ftype: str) -> Callable[[Any], Any]:
    if ftype in _NUMERIC_TYPES:
        return lambda v: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
    if ftype == "DATE_TIME":
        return lambda v: dt_key(v) if isinstance(v, str) else v
    return lambda v: v


def like_regex(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """A compiled regex for an SQL LIKE pattern (``%`` and ``_`` wildcards)."""
    parts = []
    for char in pattern:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.S | (re.I if ignore_case else 0)
    return re.compile("^" + "".join(parts) + "$", flags)


def _compare(op: str, left: Any, right: Any) -> bool:
    try:
        if op == "gt":
            return bool(left > right)
        if op == "gte":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


def _operator(getter: Getter, ftype: str, key: str, op: str, operand: Any) -> Predicate:
    conv = _row_value(ftype)
    if op == "is":
        if operand == "NULL":
            return lambda row: getter(row) is None
        if operand == "NOT_NULL":
            return lambda row: getter(row) is not None
        raise _query_error(f"Invalid value {inspect_js(operand)} for 'is' operator on {key}")
    if op == "in":
        if not isinstance(operand, list):
            raise _query_error(f"Invalid value {inspect_js(operand)} for 'in' operator on {key}")
        wanted = {_coerce(ftype, item, key) for item in operand if item is not None}
        return lambda row: (v := getter(row)) is not None and conv(v) in wanted
    if op == "containsAny":
        items = operand if isinstance(operand, list) else [operand]
        wanted_any = set(items)
        return lambda row: isinstance(v := getter(row), list) and not wanted_any.isdisjoint(v)
    if op == "containsIlike":
        text = str(operand)
        regex = like_regex(text if "%" in text else f"%{text}%", ignore_case=True)
        return lambda row: _contains_ilike(getter(row), regex)
    if op in ("like", "ilike", "startsWith", "endsWith"):
        if not isinstance(operand, str):
            raise _query_error(f"Invalid value {inspect_js(operand)} for '{op}' operator on {key}")
        if op == "startsWith":
            return lambda row: isinstance(v := getter(row), str) and v.startswith(operand)
        if op == "endsWith":
            return lambda row: isinstance(v := getter(row), str) and v.endswith(operand)
        regex = like_regex(operand, ignore_case=op == "ilike")
        return lambda row: isinstance(v := getter(row), str) and regex.match(v) is not None
    value = _coerce(ftype, operand, key)
    if op == "eq":
        if value is None:
            return lambda row: False
        return lambda row: (v := getter(row)) is not None and conv(v) == value
    if op == "neq":
        if value is None:
            return lambda row: False
        return lambda row: NEQ_MATCHES_NULL if (v := getter(row)) is None else conv(v) != value
    if value is None:
        return lambda row: False
    return lambda row: (v := getter(row)) is not None and _compare(op, conv(v), value)


def _contains_ilike(value: Any, regex: re.Pattern[str]) -> bool:
    if value is None:
        return False
    items = value if isinstance(value, list) else [value]
    for item in items:
        text = item if isinstance(item, str) else json.dumps(item)
        if regex.match(text):
            return True
    return False


def _field_predicate(path: str, ftype: str, key: str, ops: Any) -> Predicate:
    if not isinstance(ops, dict) or not ops:
        raise _query_error(f"Invalid filter value {inspect_js(ops)} for field {key}")
    getter = _getter(path)
    preds: list[Predicate] = []
    for op, operand in ops.items():
        if op not in OPERATORS:
            raise _query_error(f"Unknown operator {op} in filter on {key}")
        preds.append(_operator(getter, ftype, key, op, operand))
    if len(preds) == 1:
        return preds[0]
    return lambda row: all(p(row) for p in preds)


def compile_filter(obj: ObjectMeta, flt: dict[str, Any] | None) -> Predicate:
    """A predicate for Twenty's filter input (and/or/not, fields, composite sub-fields)."""
    if not flt:
        return lambda row: True
    if not isinstance(flt, dict):
        raise _query_error(f"Invalid filter {inspect_js(flt)}")
    preds: list[Predicate] = []
    for key, value in flt.items():
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise _query_error(f"'{key}' expects a list of filters")
            subs = [compile_filter(obj, item) for item in value]
            preds.append(_all_of(subs) if key == "and" else _any_of(subs))
        elif key == "not":
            preds.append(_negate(compile_filter(obj, value)))
        else:
            preds.append(_key_predicate(obj, key, value))
    if len(preds) == 1:
        return preds[0]
    return lambda row: all(p(row) for p in preds)


def _all_of(preds: list[Predicate]) -> Predicate:
    return lambda row: all(p(row) for p in preds)


def _any_of(preds: list[Predicate]) -> Predicate:
    return lambda row: any(p(row) for p in preds) if preds else True


def _negate(pred: Predicate) -> Predicate:
    return lambda row: not pred(row)


def _key_predicate(obj: ObjectMeta, key: str, value: Any) -> Predicate:
    f = obj.fields.get(key)
    if f is not None and f.is_composite:
        if not isinstance(value, dict) or not value:
            raise _query_error(f"Invalid filter value {inspect_js(value)} for field {key}")
        subs: list[Predicate] = []
        for sub, ops in value.items():
            path, ftype = resolve_path(obj, key, sub)
            subs.append(_field_predicate(path, ftype, f"{key}.{sub}", ops))
        return subs[0] if len(subs) == 1 else (lambda row: all(p(row) for p in subs))
    path, ftype = resolve_path(obj, key)
    return _field_predicate(path, ftype, key, value)


# ----------------------------------------------------------------------------- order
OrderSpec = list[tuple[str, str, str]]  # (storage path, direction, value type)


def order_spec(obj: ObjectMeta, order_by: list[dict[str, Any]] | None) -> OrderSpec:
    """Storage paths and directions of ``order_by``; ``id`` ascending always appended."""
    spec: OrderSpec = []
    for item in order_by or []:
        if not isinstance(item, dict):
            raise _query_error(f"Invalid orderBy {inspect_js(item)}")
        for key, direction in item.items():
            f = obj.fields.get(key)
            if isinstance(direction, dict):
                for sub, sub_direction in direction.items():
                    path, ftype = resolve_path(obj, key, sub)
                    spec.append((path, _direction(sub_direction), ftype))
                continue
            if f is not None and f.is_composite:
                raise _query_error(
                    f"Cannot order by composite field {key}: give a sub-field, "
                    f"e.g. {{{key}: {{{COMPOSITE_TYPES[f.type][0].name}: AscNullsFirst}}}}"
                )
            path, ftype = resolve_path(obj, key)
            if path != "id":
                spec.append((path, _direction(direction), ftype))
    spec.append(("id", "AscNullsFirst", "UUID"))
    return spec


def _direction(value: Any) -> str:
    if value not in DIRECTIONS:
        raise _query_error(
            f"Invalid order direction {inspect_js(value)}. Allowed values are "
            + ", ".join(f"'{d}'" for d in DIRECTIONS)
        )
    return str(value)


def sort_key_values(row: Row, spec: OrderSpec) -> list[Any]:
    """The values of ``row`` used for ordering, comparable with :func:`compare_keys`."""
    values = []
    for path, _, ftype in spec:
        value = _getter(path)(row)
        values.append(_row_value(ftype)(value) if value is not None else None)
    return values


def compare_keys(left: list[Any], right: list[Any], spec: OrderSpec) -> int:
    """-1/0/1 comparing two sort-key lists under ``spec``."""
    for a, b, (_path, direction, _ftype) in zip(left, right, spec, strict=False):
        if a == b:
            continue
        nulls_first = direction.endswith("NullsFirst")
        if a is None:
            return -1 if nulls_first else 1
        if b is None:
            return 1 if nulls_first else -1
        try:
            less = a < b
        except TypeError:
            less = str(a) < str(b)
        result = -1 if less else 1
        return result if direction.startswith("Asc") else -result
    return 0


def sort_rows(rows: list[Row], spec: OrderSpec) -> list[Row]:
    """Rows sorted by ``spec`` (stable multi-pass sort, last key first)."""
    ordered = list(rows)
    for path, direction, ftype in reversed(spec):
        getter = _getter(path)
        conv = _row_value(ftype)
        descending = direction.startswith("Desc")
        nulls_first = direction.endswith("NullsFirst")
        # With reverse=True the flag order flips, so nulls-first needs the larger flag.
        null_flag = 1 if nulls_first == descending else 0

        def key(row: Row, getter: Getter = getter, conv: Any = conv, flag: int = null_flag) -> Any:
            value = getter(row)
            if value is None:
                return (flag, 0)
            return (1 - flag, conv(value))

        try:
            ordered.sort(key=key, reverse=descending)
        except TypeError:
            ordered.sort(
                key=cmp_to_key(
                    lambda a, b: compare_keys(
                        sort_key_values(a, spec), sort_key_values(b, spec), spec
                    )
                )
            )
            break
    return ordered


# ---------------------------------------------------------------------------- cursor
def encode_cursor(row: Row, spec: OrderSpec) -> str:
    """An opaque cursor: base64 JSON of the order values and the id."""
    payload = {path: _getter(path)(row) for path, _d, _t in spec}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The payload of a cursor; SandboxError ``Invalid cursor`` when malformed."""
    try:
        payload = json.loads(base64.b64decode(cursor.encode("ascii"), validate=True))
    except (ValueError, UnicodeError, binascii.Error):
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise bad_request(f"Invalid cursor: {cursor}", code="INVALID_CURSOR")
    return payload


def cursor_key(payload: dict[str, Any], spec: OrderSpec) -> list[Any]:
    """Sort-key values of a decoded cursor."""
    values = []
    for path, _, ftype in spec:
        value = payload.get(path)
        values.append(_row_value(ftype)(value) if value is not None else None)
    return values
