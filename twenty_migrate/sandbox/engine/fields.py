"""The data-arg processor: validation and transforms of record input, per field type.

:func:`process_data` turns one record of a create or update call into the values the
engine stores, with Twenty's exact error messages (twenty-api.md §4). It does not look at
other records: uniqueness and relation targets are checked by the store.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from twenty_migrate.sandbox.engine.jsvalues import (
    UUID_PATTERN,
    format_datetime,
    normalize_domain,
    normalize_email_address,
    normalize_link,
    parse_datetime,
    remove_empty_links,
)
from twenty_migrate.sandbox.engine.phones import transform_phones
from twenty_migrate.sandbox.engine.richtext import blocknote_to_markdown, markdown_to_blocknote
from twenty_migrate.sandbox.errors import SandboxError, bad_request, inspect_js
from twenty_migrate.sandbox.metadata.model import (
    ACTOR_SOURCES,
    COMPOSITE_TYPES,
    RICH_TEXT_TYPES,
    FieldMeta,
    ObjectMeta,
)

# [inferred] null for a non-nullable field that has a default: treated as "not given"
# (the default applies on create, the stored value stays on update).
NULL_WITH_DEFAULT_IS_UNDEFINED = True
# [inferred] empty strings in TEXT sub-fields of composites are kept ("" is Twenty's
# column default); only the unique/identity sub-fields below turn "" into null.
EMPTY_TO_NULL_SUBFIELDS: frozenset[str] = frozenset(
    {"primaryEmail", "primaryPhoneNumber", "primaryLinkUrl"}
)
# [version-dependent] `additionalEmails: []` is stored as null.
EMPTY_ADDITIONAL_EMAILS_TO_NULL = True
# Fields never written by a client, whatever the input says (kept from the stored row); the
# v1 RICH_TEXT of releases before 1.20 too (FieldMeta.is_legacy_rich_text).
UNWRITABLE_TYPES: frozenset[str] = frozenset({"TS_VECTOR"})

# Used with ``match``: ``$`` lets a value with one trailing newline through.
_UUID_RE = re.compile(f"^{UUID_PATTERN}$")
_DATE_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")

__all__ = [
    "Connect",
    "ProcessedData",
    "default_value",
    "empty_composite",
    "format_datetime",
    "is_uuid",
    "normalize_email",
    "normalize_link",
    "not_nullable_error",
    "parse_datetime",
    "process_data",
    "transform_composite",
    "transform_scalar",
]


# ------------------------------------------------------------------------------- helpers
def _error(message: str, code: str, **kwargs: Any) -> SandboxError:
    return bad_request(message, code=code, **kwargs)


def is_uuid(value: Any) -> bool:
    """True when ``value`` is a UUID string (any version)."""
    return isinstance(value, str) and _UUID_RE.match(value) is not None


def normalize_email(value: str, where: str) -> str | None:
    """Trim, lower-case and IDN-encode an email; "" -> None."""
    try:
        return normalize_email_address(value)
    except ValueError:
        raise _error(
            f'Invalid string value {inspect_js(value)} for email field "{where}"', "INVALID_TEXT"
        ) from None


def _number(value: Any) -> float | int | None:
    """A NUMERIC value: number or numeric string; None when not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, str):
        text = value.strip()
        if re.match(r"^[+-]?\d+$", text):
            return int(text)
        try:
            parsed = float(text)
        except ValueError:
            return None
        if math.isnan(parsed) or math.isinf(parsed):
            return None
        return int(parsed) if parsed.is_integer() and "e" not in text.lower() else parsed
    return None


# --------------------------------------------------------------------------- scalars
def transform_scalar(f: FieldMeta, key: str, value: Any) -> Any:
    """Validate and transform a non-null value of a scalar field (not composite)."""
    ftype = f.type
    if ftype == "TEXT":
        if not isinstance(value, str):
            raise _error(
                f'Invalid string value {inspect_js(value)} for text field "{key}"', "INVALID_TEXT"
            )
        return value if value != "" else None
    if ftype == "NUMBER":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise _error(
                f'Invalid number value {inspect_js(value)} for field "{key}"', "INVALID_NUMBER"
            )
        return value
    if ftype == "NUMERIC":
        number = _number(value)
        if number is None:
            raise _error(f'Invalid number value NaN for field "{key}"', "INVALID_NUMBER")
        return number
    if ftype == "BOOLEAN":
        if not isinstance(value, bool):
            raise _error(
                f'Invalid boolean value {inspect_js(value)} for field "{key}"', "INVALID_BOOLEAN"
            )
        return value
    if ftype == "UUID":
        if not is_uuid(value):
            raise _error(
                f'Invalid UUID value {inspect_js(value)} for field "{key}"', "INVALID_UUID"
            )
        return value
    if ftype == "DATE":
        return _transform_date(key, value)
    if ftype == "DATE_TIME":
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise _error(
                f'Invalid value {inspect_js(value)} for date-time field "{key}". '
                "Expected format: 'YYYY-MM-DDTHH:mm:ssZ'",
                "INVALID_DATE_OR_DATE_TIME",
            )
        return format_datetime(moment)
    if ftype in ("SELECT", "RATING"):
        return _transform_select(f, key, value)
    if ftype == "MULTI_SELECT":
        return _transform_multi_select(f, key, value)
    if ftype == "ARRAY":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise _error(_array_message(value, key), "INVALID_ARRAY")
        for item in value:
            if not isinstance(item, str):
                raise _error(_array_message(item, key), "INVALID_ARRAY")
        return list(value)
    if ftype in ("RAW_JSON", "FILES"):
        return _transform_raw_json(key, value)
    if ftype == "POSITION":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise _error(
                f'Invalid position value {inspect_js(value)} for field "{key}"', "INVALID_POSITION"
            )
        return value
    raise _error(
        f"{key} {ftype}-typed field does not support write operations", "INVALID_ARGS_DATA"
    )


def _array_message(value: Any, key: str) -> str:
    return f'Invalid value {inspect_js(value)} for field "{key} - Array values need to be string"'


def _transform_date(key: str, value: Any) -> str:
    match = _DATE_RE.match(value) if isinstance(value, str) else None
    valid = False
    if match:
        try:
            date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            valid = True
        except ValueError:
            valid = False
    if not valid:
        raise _error(
            f'Invalid value {inspect_js(value)} for date field "{key}". '
            "Expected format: 'YYYY-MM-DD'",
            "INVALID_DATE_OR_DATE_TIME",
        )
    return str(value)


def _transform_select(f: FieldMeta, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _error(
            f'Invalid string value {inspect_js(value)} for text field "{key}"', "INVALID_TEXT"
        )
    if value not in f.option_values():
        raise _error(f'Invalid value {inspect_js(value)} for field "{key}"', "INVALID_SELECT")
    return value


def _transform_multi_select(f: FieldMeta, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _error(_array_message(value, key), "INVALID_MULTI_SELECT")
    allowed = f.option_values()
    for item in value:
        if not isinstance(item, str):
            raise _error(_array_message(item, key), "INVALID_MULTI_SELECT")
        if item not in allowed:
            raise _error(
                f'Invalid value {inspect_js(item)} for multi select field "{key}"',
                "INVALID_MULTI_SELECT",
            )
    return list(value)


def _transform_raw_json(key: str, value: Any) -> Any:
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
    if not isinstance(parsed, (dict, list)):
        raise _error(
            f'Invalid object value {inspect_js(value)} for field "{key}"', "INVALID_RAW_JSON"
        )
    return parsed


# -------------------------------------------------------------------------- composites
def empty_composite(ftype: str) -> dict[str, Any]:
    """The stored value of an omitted composite field: every sub-field null."""
    return {prop.name: None for prop in COMPOSITE_TYPES[ftype]}


def _composite_error(key: str, value: Any) -> SandboxError:
    return _error(
        f'Invalid object value {inspect_js(value)} for field "{key}"', "INVALID_COMPOSITE_FIELD"
    )


def transform_composite(f: FieldMeta, key: str, value: Any) -> dict[str, Any]:
    """Validate and transform a composite value; returns only the sub-fields given."""
    ftype = f.type
    if ftype in RICH_TEXT_TYPES:
        return _transform_rich_text(ftype, key, value)
    if not isinstance(value, dict):
        raise _composite_error(key, value)
    props = {p.name: p for p in COMPOSITE_TYPES[ftype] if not p.hidden}
    for sub in value:
        if sub not in props:
            raise _composite_error(key, value)
    if ftype == "PHONES":
        return transform_phones(key, value)
    if ftype == "LINKS":
        return _transform_links(f, key, value)
    result: dict[str, Any] = {}
    for sub, raw in value.items():
        prop = props[sub]
        where = f"{key}.{sub}"
        if raw is None:
            result[sub] = None
        elif ftype == "EMAILS":
            result[sub] = _email_part(sub, where, raw)
        elif ftype == "ACTOR" and sub == "source":
            if raw not in ACTOR_SOURCES:
                raise _error(
                    f'Invalid value {inspect_js(raw)} for field "{where}"', "INVALID_SELECT"
                )
            result[sub] = raw
        elif prop.type == "NUMERIC":
            number = _number(raw)
            if number is None:
                raise _error(f'Invalid number value NaN for field "{where}"', "INVALID_NUMBER")
            result[sub] = number
        elif prop.type == "RAW_JSON":
            result[sub] = _transform_raw_json(where, raw)
        else:
            if not isinstance(raw, str):
                raise _error(
                    f'Invalid string value {inspect_js(raw)} for text field "{where}"',
                    "INVALID_TEXT",
                )
            result[sub] = None if raw == "" and sub in EMPTY_TO_NULL_SUBFIELDS else raw
    return result


def _email_part(sub: str, where: str, raw: Any) -> Any:
    if sub == "primaryEmail":
        if not isinstance(raw, str):
            raise _error(
                f'Invalid string value {inspect_js(raw)} for email field "{where}"', "INVALID_TEXT"
            )
        return normalize_email(raw, where)
    if not isinstance(raw, list):
        raise _error(
            f'Invalid string value {inspect_js(raw)} for email field "{where}"', "INVALID_TEXT"
        )
    emails: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise _error(
                f'Invalid string value {inspect_js(item)} for email field "{where}"', "INVALID_TEXT"
            )
        email = normalize_email(item, where)
        if email is not None:
            emails.append(email)
    return None if not emails and EMPTY_ADDITIONAL_EMAILS_TO_NULL else emails


def _transform_links(f: FieldMeta, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """A LINKS input as transform-links-value.util.ts stores it; only given keys returned.

    Links without a URL are dropped and the first remaining one moves up to primary
    (remove-empty-links.ts); when that happens all three sub-fields are written.
    """
    url, label = value.get("primaryLinkUrl"), value.get("primaryLinkLabel")
    if (url is not None and not isinstance(url, str)) or (
        label is not None and not isinstance(label, str)
    ):
        raise _composite_error(key, value)
    raw_links = value.get("secondaryLinks")
    if raw_links is not None and not isinstance(raw_links, list):
        raise _composite_error(key, value)
    secondary: list[dict[str, Any]] = []
    for item in raw_links or []:
        if not isinstance(item, dict) or set(item) - {"url", "label"}:
            raise _composite_error(key, value)
        if any(v is not None and not isinstance(v, str) for v in item.values()):
            raise _composite_error(key, value)
        secondary.append(item)
    # transform-links-value.util.ts: getLinkUrlNormalizer(settings?.type)
    bare_host = (f.settings or {}).get("type") == "domain"
    normalize = normalize_domain if bare_host else normalize_link
    first_url, first_label, others = remove_empty_links(url, label, secondary)
    others = [{**link, "url": normalize(link["url"])} for link in others]
    first_url = normalize(first_url) or None if first_url else None
    promoted = not url and first_url is not None
    result: dict[str, Any] = {}
    if promoted or "primaryLinkUrl" in value:
        result["primaryLinkUrl"] = first_url
        if promoted or "primaryLinkLabel" in value or not url:
            result["primaryLinkLabel"] = first_label
    elif "primaryLinkLabel" in value:
        result["primaryLinkLabel"] = label
    if promoted or "secondaryLinks" in value:
        result["secondaryLinks"] = None if raw_links is None else others
    return result


def _transform_rich_text(ftype: str, key: str, value: Any) -> dict[str, Any]:
    # [uncertain] "rich text" for the RICH_TEXT of 1.20+ (PR #18628 renamed the type; the
    # message's wording after the rename was not read in Twenty's source).
    kind = "rich text v2" if ftype == "RICH_TEXT_V2" else "rich text"
    message = f'Invalid {kind} value {inspect_js(value)} for field "{key}" - Should be an object'
    if not isinstance(value, dict) or set(value) - {"markdown", "blocknote"}:
        raise _error(message, "INVALID_COMPOSITE_FIELD")
    markdown, blocknote = value.get("markdown"), value.get("blocknote")
    if isinstance(blocknote, list):
        blocknote = json.dumps(blocknote, separators=(",", ":"))
    if (markdown is not None and not isinstance(markdown, str)) or (
        blocknote is not None and not isinstance(blocknote, str)
    ):
        raise _error(message, "INVALID_COMPOSITE_FIELD")
    if markdown is not None and blocknote is None:
        blocknote = markdown_to_blocknote(markdown) if markdown else None
    elif blocknote is not None and markdown is None:
        try:
            markdown = blocknote_to_markdown(blocknote) if blocknote else None
        except (ValueError, TypeError):
            raise _error(message, "INVALID_COMPOSITE_FIELD") from None
    return {"blocknote": blocknote or None, "markdown": markdown or None}


# ------------------------------------------------------------------------ processor
@dataclass
class Connect:
    """A ``{relation: {connect: {where}}}`` or ``{relation: {disconnect: true}}`` input."""

    field: FieldMeta
    where: dict[str, Any] | None  # None for disconnect


@dataclass
class ProcessedData:
    """One record's input after validation and transforms.

    ``values`` maps field names and join-column names to stored values; composite fields
    hold only the sub-fields given (the store merges them).
    """

    values: dict[str, Any]
    connects: list[Connect] = field(default_factory=list)


def not_nullable_error(key: str) -> SandboxError:
    """Twenty's error for null in a required field."""
    return _error(
        f"Field {key} is not nullable and has no default value.",
        "INVALID_ARGS_DATA",
        user_friendly_message="A required field is missing.",
    )


def process_data(obj: ObjectMeta, data: Any, *, update: bool = False) -> ProcessedData:
    """Validate and transform one record's input (create or update).

    Args:
        obj: the object written to.
        data: the record input (a JSON object).
        update: True for updates (``createdBy`` is then ignored).

    Returns:
        The stored values and the relation connects to resolve.

    Raises:
        SandboxError: the first invalid key or value, with Twenty's message.
    """
    if not isinstance(data, dict):
        raise _error(f"Invalid data {inspect_js(data)}", "INVALID_ARGS_DATA")
    join_columns = obj.join_columns()
    values: dict[str, Any] = {}
    connects: list[Connect] = []
    for key, value in data.items():
        f = obj.fields.get(key)
        if f is not None and not f.is_active:
            f = None
        if f is None:
            owner = join_columns.get(key)
            if owner is None:
                raise _error(
                    f'Object {obj.name_singular} doesn\'t have any "{key}" field.',
                    "INVALID_ARGS_DATA",
                )
            if value is None:
                if not owner.is_nullable:
                    raise not_nullable_error(key)
                values[key] = None
            elif not is_uuid(value):
                raise _error(
                    f'Invalid UUID value {inspect_js(value)} for field "{key}"', "INVALID_UUID"
                )
            else:
                values[key] = value
            continue
        if f.relation is not None:
            connects.append(_relation_input(obj, f, key, value, data))
            continue
        if f.type in UNWRITABLE_TYPES or f.is_legacy_rich_text:
            raise _error(
                f"{key} {f.type}-typed field does not support write operations", "INVALID_ARGS_DATA"
            )
        if update and key == "createdBy" and not f.is_custom:
            continue  # the original creator is kept on update
        if value is None:
            if f.type == "POSITION":
                raise _error(f'Invalid position value null for field "{key}"', "INVALID_POSITION")
            if not f.is_nullable:
                if f.default_value is None:
                    raise not_nullable_error(key)
                if NULL_WITH_DEFAULT_IS_UNDEFINED:
                    continue
            values[key] = empty_composite(f.type) if f.is_composite else None
            continue
        if f.is_composite:
            values[key] = transform_composite(f, key, value)
        else:
            values[key] = transform_scalar(f, key, value)
    return ProcessedData(values, connects)


def _relation_input(
    obj: ObjectMeta, f: FieldMeta, key: str, value: Any, data: dict[str, Any]
) -> Connect:
    relation = f.relation
    assert relation is not None
    if relation.type == "ONE_TO_MANY":
        raise _error(
            f"One-to-many relation {key} field does not support write operations.",
            "INVALID_ARGS_DATA",
        )
    join = relation.join_column or f"{key}Id"
    if join in data:
        raise _error(f"{key} and {join} cannot be both provided.", "INVALID_ARGS_DATA")
    if isinstance(value, dict) and value.get("disconnect") is True and len(value) == 1:
        return Connect(f, None)
    connect = value.get("connect") if isinstance(value, dict) and len(value) == 1 else None
    where = connect.get("where") if isinstance(connect, dict) else None
    if not isinstance(where, dict) or not where:
        raise _error(
            f'Invalid relation value {inspect_js(value)} for field "{key}"', "INVALID_ARGS_DATA"
        )
    return Connect(f, dict(where))


def default_value(f: FieldMeta, now: str) -> Any:
    """The stored value of an omitted field on create (SQL-literal defaults resolved)."""
    if f.is_composite:
        return empty_composite(f.type)
    return _literal(f.default_value, now)


def _literal(value: Any, now: str) -> Any:
    if isinstance(value, str):
        if value == "now":
            return now
        if len(value) >= 2 and value[0] == value[-1] == "'":
            return value[1:-1]
        return None if value == "uuid" else value
    if isinstance(value, dict):
        return {k: _literal(v, now) for k, v in value.items()}
    return value
