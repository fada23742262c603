"""Twenty's REST query parameters: ``filter``, ``order_by``, ``limit``, ``depth``.

A port of ``server/src/engine/api/rest/input-request-parsers/*`` (twenty-api.md §7.2,
§8.2), quirks included: a ``filter`` string such as
``or(emails.primaryEmail[eq]:"a@b.com",not(id[is]:NULL))`` becomes the same filter dict
the GraphQL API takes (``{"or": [{"emails": {"primaryEmail": {"eq": "a@b.com"}}}, ...]}``),
and every malformed parameter gets Twenty's own 400 message.
"""

from __future__ import annotations

import re
from typing import Any

from twenty_migrate.sandbox.errors import SandboxError, bad_request
from twenty_migrate.sandbox.metadata.model import COMPOSITE_TYPES, ObjectMeta

CONJUNCTIONS = ("or", "and", "not")
FILTER_COMPARATORS = (
    "eq",
    "neq",
    "in",
    "containsAny",
    "is",
    "gt",
    "gte",
    "lt",
    "lte",
    "startsWith",
    "endsWith",
    "like",
    "ilike",
)
ORDER_BY_DIRECTIONS = ("AscNullsFirst", "AscNullsLast", "DescNullsFirst", "DescNullsLast")
DEFAULT_ORDER_DIRECTION = "AscNullsFirst"
ALLOWED_DEPTHS = (0, 1)

QUERY_DEFAULT_LIMIT_RECORDS = 60
"""REST ``limit`` when none is given (``QueryDefaultLimitRecords.ts``); capped by max_records."""

CAST_FILTER_VALUES_BY_FIELD_TYPE = True
"""[version-dependent] Cast filter values by field type (NUMBER/POSITION -> float,
NUMERIC -> int, BOOLEAN -> bool), as older parsers did; the newest leaves them strings
and lets the query layer coerce them."""

_ROOT_CONJUNCTION = re.compile(r"^(or|and|not)\((.+)\)$")
_BASE_FILTER = re.compile(r"^(.+)\[(.+)\]:(.+)$")


def _filter_error(message: str) -> SandboxError:
    return bad_request(message, code="INVALID_FILTER_QUERY_PARAM")


# -- filter ---------------------------------------------------------------------------------


def parse_filter(filter_query: str | None, obj: ObjectMeta | None = None) -> dict[str, Any]:
    """Parse a REST ``filter`` string into Twenty's filter dict.

    Args:
        filter_query: The raw parameter (None when absent).
        obj: The object filtered, used to cast values by field type.

    Returns:
        ``{}`` when there is no filter; otherwise a dict rooted at a conjunction
        (``and`` unless the string starts with one).

    Raises:
        SandboxError: 400 with Twenty's message for a malformed filter.

    Example:
        >>> parse_filter("name.firstName[eq]:Ada")
        {'and': [{'name': {'firstName': {'eq': 'Ada'}}}]}
    """
    if filter_query is None:
        return {}
    _check_filter_query(filter_query)
    if not _ROOT_CONJUNCTION.match(filter_query):
        filter_query = f"and({filter_query})"
    return _parse(filter_query, obj)


def _check_filter_query(filter_query: str) -> None:
    diff = filter_query.count("(") - filter_query.count(")")
    if diff != 0:
        n = abs(diff)
        kind = "close" if diff > 0 else "open"
        hint = f"{n} {kind} bracket{'s are' if n > 1 else ' is'}"
        raise _filter_error(f"'filter' invalid. {hint} missing in the query")


def _parse(filter_query: str, obj: ObjectMeta | None) -> dict[str, Any]:
    match = _ROOT_CONJUNCTION.match(filter_query)
    if match:
        conjunction = match.group(1)
        parts = [_parse(part, obj) for part in _split_filter_content(filter_query)]
        if conjunction == "not":
            if len(parts) > 1:
                raise _filter_error(
                    "'filter' invalid. 'not' conjunction should contain only 1 condition. "
                    "eg: not(field[eq]:1)"
                )
            return {"not": parts[0]}
        return {conjunction: parts}
    fields, comparator, raw = _parse_base_filter(filter_query)
    value = _format_value(raw, _leaf_type(obj, fields), comparator)
    result: dict[str, Any] = {comparator: value}
    for name in reversed(fields):
        result = {name: result}
    return result


def _split_filter_content(filter_query: str) -> list[str]:
    """The comma-separated predicates inside the outermost parentheses."""
    in_brackets = in_double = in_single = False
    depth = 0
    predicates: list[str] = []
    current: list[str] = []
    for c in filter_query:
        keep = depth >= 1
        if c == "(":
            depth += 1
        if c == ")":
            depth -= 1
            keep = depth >= 1
        if c in "[]":
            in_brackets = not in_brackets
        if c == '"':
            in_double = not in_double
        if c == "'":
            in_single = not in_single
        if c == "," and depth == 1 and not (in_brackets or in_double or in_single):
            predicates.append("".join(current))
            current = []
            keep = False
        if keep:
            current.append(c)
    predicates.append("".join(current))
    return predicates


def _parse_base_filter(base: str) -> tuple[list[str], str, str]:
    if not _BASE_FILTER.match(base):
        raise _filter_error(f"'filter' invalid for '{base}'. eg: price[gte]:10")
    fields: list[str] = []
    comparator: list[str] = []
    value: list[str] = []
    fill_fields, fill_comparator, fill_value = True, False, False
    # field_1.subfield[in]:["2023-01-01","2024-01-01"] -> fields, comparator, value
    for c in base:
        if fill_value:
            value.append(c)
        if c == "]" and not fill_value:
            fill_comparator = False
        if c == ":" and not fill_comparator:
            fill_value = True
        if fill_comparator:
            comparator.append(c)
        if c == "[" and fill_fields:
            fill_fields = False
            fill_comparator = True
        if fill_fields:
            fields.append(c)
    op = "".join(comparator)
    if op not in FILTER_COMPARATORS:
        raise _filter_error(
            f"'filter' invalid for '{base}', comparator {op} not in {', '.join(FILTER_COMPARATORS)}"
        )
    return "".join(fields).split("."), op, "".join(value)


def _leaf_type(obj: ObjectMeta | None, fields: list[str]) -> str | None:
    """Type of the value at ``fields`` (a field, or a composite's sub-field)."""
    if obj is None or not fields or not CAST_FILTER_VALUES_BY_FIELD_TYPE:
        return None
    field = obj.field(fields[0])
    if field is None:
        return None
    if len(fields) == 1:
        return None if field.is_composite else field.type
    for prop in field.composite_properties:
        if prop.name == fields[1]:
            return prop.type
    return None


def _format_value(value: str, field_type: str | None, comparator: str | None = None) -> Any:
    if comparator in ("in", "containsAny"):
        if not value or value[0] != "[" or value[-1] != "]":
            raise _filter_error(
                f"'filter' invalid for '{comparator}' operator. Received '{value}' but array "
                f"value expected eg: 'field[{comparator}]:[value_1,value_2]'"
            )
        return [_format_value(item, field_type) for item in value[1:-1].split(",")]
    if comparator == "is":
        return value
    if field_type == "NUMERIC":
        return _to_number(value, integer=True)
    if field_type in ("NUMBER", "POSITION"):
        return _to_number(value, integer=False)
    if field_type == "BOOLEAN":
        return value.lower() == "true"
    if len(value) >= 2 and value[0] in "\"'" and value[-1] in "\"'":
        return value[1:-1]
    return value


def _to_number(value: str, *, integer: bool) -> Any:
    text = value.strip().strip("\"'")
    try:
        return int(text) if integer else float(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return value  # left for the query layer to refuse


# -- order_by -------------------------------------------------------------------------------


def parse_order_by(order_by: str | None, obj: ObjectMeta | None = None) -> list[dict[str, Any]]:
    """Parse ``order_by=field_1[DescNullsLast],emails.primaryEmail,...``.

    Args:
        order_by: The raw parameter (None when absent).
        obj: The object ordered; a composite field without a sub-field is refused.

    Returns:
        Order items for the engine (``id`` is appended there, not here); ``[]`` when absent.

    Raises:
        SandboxError: 400 for an unknown direction or a bare composite field.

    Example:
        >>> parse_order_by("createdAt[DescNullsLast],name.lastName")
        [{'createdAt': 'DescNullsLast'}, {'name': {'lastName': 'AscNullsFirst'}}]
    """
    if order_by is None:
        return []
    result: list[dict[str, Any]] = []
    for item in order_by.split(","):
        if "[" in item and "]" in item:
            name, _, rest = item.partition("[")
            direction = rest.replace("]", "", 1)
            if direction not in ORDER_BY_DIRECTIONS:
                allowed = "', '".join(ORDER_BY_DIRECTIONS)
                raise bad_request(
                    f"'order_by' direction '{direction}' invalid. Allowed values are "
                    f"'{allowed}'. eg: ?order_by=field_1[AscNullsFirst],"
                    "field_2[DescNullsLast],field_3",
                    code="INVALID_ORDER_BY_QUERY_PARAM",
                )
        else:
            name, direction = item, DEFAULT_ORDER_DIRECTION
        path = name.split(".")
        _check_order_field(obj, path)
        entry: Any = direction
        for part in reversed(path):
            entry = {part: entry}
        result.append(entry)
    return result


def _check_order_field(obj: ObjectMeta | None, path: list[str]) -> None:
    if obj is None:
        return
    field = obj.field(path[0])
    if field is not None and field.is_composite and len(path) == 1:
        example = COMPOSITE_TYPES[field.type][0].name
        raise bad_request(
            f"'order_by' invalid for composite field '{path[0]}'. Order by one of its "
            f"sub-fields, eg: {path[0]}.{example}[AscNullsFirst]",
            code="INVALID_ORDER_BY_QUERY_PARAM",
        )


# -- limit, depth ---------------------------------------------------------------------------


def parse_limit(limit: str | None, *, default: int, maximum: int) -> int:
    """Parse ``limit``: absent -> ``default``; capped at ``maximum``.

    Raises:
        SandboxError: 400 ``limit 'x' is invalid. Should be an integer``.
    """
    if not limit:
        return min(default, maximum)
    try:
        number = float(limit.strip()) if limit.strip() else 0.0
    except ValueError:
        number = float("nan")
    if number != number or number < 0 or not number.is_integer():
        raise bad_request(
            f"limit '{limit}' is invalid. Should be an integer", code="INVALID_LIMIT_QUERY_PARAM"
        )
    return min(int(number), maximum)


def parse_depth(depth: str | None) -> int:
    """Parse ``depth``: absent -> 0; only 0 and 1 are allowed.

    Raises:
        SandboxError: 400 ``'depth=2' parameter invalid. Allowed values are 0, 1``.
    """
    if not depth:
        return 0
    try:
        number = float(depth.strip()) if depth.strip() else 0.0
    except ValueError:
        number = float("nan")
    if number not in ALLOWED_DEPTHS:
        raise bad_request(
            f"'depth={depth}' parameter invalid. Allowed values are "
            f"{', '.join(str(d) for d in ALLOWED_DEPTHS)}",
            code="INVALID_DEPTH_QUERY_PARAM",
        )
    return int(number)


# -- fields ---------------------------------------------------------------------------------


def parse_fields(fields: str | None, obj: ObjectMeta) -> list[str] | None:
    """Parse ``fields=id,name``: the keys a record answer keeps (None: all of them).

    Port of ``fields-parser-utils/parse-fields-rest-request.util.ts``: names are trimmed,
    blanks and repeats dropped; a relation's join column (``companyId``) is accepted too
    [uncertain].

    Raises:
        SandboxError: 400 for an empty list or an unknown field.
    """
    if fields is None:
        return None
    names = list(dict.fromkeys(n.strip() for n in fields.split(",") if n.strip()))
    if not names:
        raise bad_request(
            "'fields' parameter is empty. Expected a comma-separated list of field names, "
            "e.g. fields=id,name",
            code="INVALID_FIELDS_QUERY_PARAM",
        )
    readable = {f.name for f in obj.fields.values() if f.is_active} | set(obj.join_columns())
    unknown = [name for name in names if name not in readable]
    if unknown:
        raise bad_request(
            f"'fields' parameter invalid. Unknown or unreadable fields on "
            f"'{obj.name_singular}': {', '.join(unknown)}",
            code="INVALID_FIELDS_QUERY_PARAM",
        )
    return names
