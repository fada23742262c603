"""Twenty's checks on one value, with its own error messages (twenty-api.md §4).

A check takes the JSON value a cell is sent as and returns ``(rule, message)`` when
Twenty refuses it, else None (:data:`Check`). :func:`scalar_check` gives the check of a
scalar type or composite part; the other ``*_check`` factories cover the parts with rules
of their own. :func:`inspect_js` writes values the way Twenty's messages show them. The
sandbox keeps its own copy of each rule, so it can judge these.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from twenty_migrate.values.jsvalues import UUID_PATTERN as UUID_PATTERN  # re-exported
from twenty_migrate.values.jsvalues import DateTimeParser
from twenty_migrate.values.jsvalues import inspect_js as inspect_js  # re-exported
from twenty_migrate.values.jsvalues import twenty_email as twenty_email  # re-exported
from twenty_migrate.values.parsing import CURRENCY_CODES
from twenty_migrate.values.payloads import MISSING

UUID_RE = re.compile(UUID_PATTERN)
#: An ASCII subset of the email shape :func:`twenty_email` accepts, run vectorised.
FAST_EMAIL = (
    r"^[a-z0-9_.!#$%&'*+/=?^`{|}~-]+@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
#: Numeric text both Twenty (JavaScript ``Number``) and Python read the same way.
_NUMERIC_RE = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIMES = DateTimeParser("[0-9]")
#: A four-digit year other than 0000, which Postgres refuses and pandas would parse (no
#: lookahead: the fast paths run it through RE2).
FAST_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
#: The canonical date-time shape, decided vectorised.
FAST_DATETIME = (
    rf"^{FAST_YEAR}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:\.[0-9]{{3}})?Z$"
)
#: Stands for the row's whole composite value in a message, filled in once the row is known.
COMPOSITE_MARK = "\x00composite\x00"
Check = tuple[str, str] | None  # (rule, message) or None when Twenty accepts the value


# --------------------------------------------------------------------------- messages
def _text_error(value: Any, where: str) -> Check:
    return "invalid_text", f'Invalid string value {inspect_js(value)} for text field "{where}"'


def composite_error(where: str) -> Check:
    """The message of a composite value Twenty refuses as a whole."""
    # The mark is replaced by the row's whole composite value once the row is known.
    return "invalid_composite", f'Invalid object value {COMPOSITE_MARK} for field "{where}"'


def _array_error(value: Any, where: str, rule: str) -> Check:
    return (
        rule,
        f'Invalid value {inspect_js(value)} for field "{where} - Array values need to be string"',
    )


# --------------------------------------------------------------------------- value rules
def _number(value: Any) -> float | None:
    """A NUMERIC value as Twenty reads it: a finite number or numeric text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMERIC_RE.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def email_check(value: Any, where: str) -> Check:
    """Twenty's check of one email address."""
    if not isinstance(value, str):
        return (
            "invalid_email",
            f'Invalid string value {inspect_js(value)} for email field "{where}"',
        )
    try:
        twenty_email(value)
    except ValueError:
        return (
            "invalid_email",
            f'Invalid string value {inspect_js(value)} for email field "{where}"',
        )
    return None


def _is_twenty_datetime(text: str) -> bool:
    """Whether Twenty reads ``text`` as a date-time (ISO, ``20240115``, ``January 15, 2024``)."""
    # Twenty converts to UTC: that instant must exist too.
    return _DATETIMES.parse(text) is not None


def _date_ok(text: str) -> bool:
    match = _DATE_RE.fullmatch(text)
    if match is None:
        return False
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True


def blocknote_ok(value: Any) -> bool:
    """A BlockNote document Twenty can turn into markdown: a JSON list of block objects."""
    try:
        blocks = json.loads(value, parse_constant=_no_constant) if isinstance(value, str) else value
    except ValueError:
        return False

    def fine(items: Any) -> bool:
        if not isinstance(items, list):
            return False
        for block in items:
            if not isinstance(block, dict) or not isinstance(block.get("type", ""), str):
                return False
            props = block.get("props") or {}
            if not isinstance(props, dict) or not re.fullmatch(
                r"[0-9]+", str(props.get("level", 1))
            ):
                return False
            content = block.get("content")
            if content is not None and not isinstance(content, str | list):
                return False
            if block.get("children") is not None and not fine(block["children"]):
                return False
        return True

    return fine(blocks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: JavaScript's JSON refuses them


def scalar_check(ftype: str, where: str, options: Collection[str] = ()) -> Callable[[Any], Check]:
    """The check Twenty makes on one non-empty value of a scalar type (or composite part)."""

    def text(value: Any) -> Check:
        return None if isinstance(value, str) else _text_error(value, where)

    def number(value: Any) -> Check:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            rule = "invalid_position" if ftype == "POSITION" else "invalid_number"
            word = "position" if ftype == "POSITION" else "number"
            return rule, f'Invalid {word} value {inspect_js(value)} for field "{where}"'
        return None

    def numeric(value: Any) -> Check:
        if _number(value) is None:
            return "invalid_number", f'Invalid number value NaN for field "{where}"'
        return None

    def boolean(value: Any) -> Check:
        if isinstance(value, bool):
            return None
        return "invalid_boolean", f'Invalid boolean value {inspect_js(value)} for field "{where}"'

    def uuid_value(value: Any) -> Check:
        if isinstance(value, str) and UUID_RE.fullmatch(value):
            return None
        return "invalid_uuid", f'Invalid UUID value {inspect_js(value)} for field "{where}"'

    def day(value: Any) -> Check:
        if isinstance(value, str) and _date_ok(value):
            return None
        return "invalid_date", (
            f'Invalid value {inspect_js(value)} for date field "{where}". '
            "Expected format: 'YYYY-MM-DD'"
        )

    def moment(value: Any) -> Check:
        if isinstance(value, str) and _is_twenty_datetime(value):
            return None
        return "invalid_datetime", (
            f'Invalid value {inspect_js(value)} for date-time field "{where}". '
            "Expected format: 'YYYY-MM-DDTHH:mm:ssZ'"
        )

    def select(value: Any) -> Check:
        # Values that are text are checked against the options by GX itself (in-set).
        return None if isinstance(value, str) else _text_error(value, where)

    def multi(value: Any) -> Check:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return _array_error(value, where, "not_in_options")
        for item in items:
            if not isinstance(item, str):
                return _array_error(item, where, "not_in_options")
            if item not in options:
                return "not_in_options", (
                    f'Invalid value {inspect_js(item)} for multi select field "{where}"'
                )
        return None

    def array(value: Any) -> Check:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return _array_error(value, where, "invalid_array")
        bad = next((item for item in items if not isinstance(item, str)), MISSING)
        return None if bad is MISSING else _array_error(bad, where, "invalid_array")

    def raw_json(value: Any) -> Check:
        parsed = value
        if isinstance(value, str):
            try:
                parsed = json.loads(value, parse_constant=_no_constant)
            except ValueError:
                parsed = None
        if isinstance(parsed, dict | list):
            return None
        return "invalid_json", f'Invalid object value {inspect_js(value)} for field "{where}"'

    checks: dict[str, Callable[[Any], Check]] = {
        "TEXT": text,
        "NUMBER": number,
        "POSITION": number,
        "NUMERIC": numeric,
        "BOOLEAN": boolean,
        "UUID": uuid_value,
        "DATE": day,
        "DATE_TIME": moment,
        "SELECT": select,
        "RATING": select,
        "MULTI_SELECT": multi,
        "ARRAY": array,
        "RAW_JSON": raw_json,
    }
    return checks.get(ftype, text)


# --------------------------------------------------------------------------- composite parts
def required_text(check: Callable[[Any], Check], where: str) -> Callable[[Any], Check]:
    """``check``, refusing ``""`` as well: Twenty stores it as null."""

    def required(value: Any) -> Check:
        if value == "":  # Twenty stores "" as null
            return "required", f"Field {where} is not nullable and has no default value."
        return check(value)

    return required


def currency_check(where: str) -> Callable[[Any], Check]:
    """The check of a currency code: text, and an ISO 4217 code when not empty."""

    def check(value: Any) -> Check:
        if not isinstance(value, str):
            return _text_error(value, where)
        if value and value not in CURRENCY_CODES:
            return "unknown_currency", (
                f'Unknown currency code {inspect_js(value)} for field "{where}": Twenty stores it '
                "but shows amounts only in ISO 4217 currencies (USD, EUR, GBP, ...)"
            )
        return None

    return check


def email_list_check(where: str) -> Callable[[Any], Check]:
    """The check of ``additionalEmails``: a list of addresses Twenty accepts."""

    def check(value: Any) -> Check:
        if not isinstance(value, list):
            return (
                "invalid_email",
                f'Invalid string value {inspect_js(value)} for email field "{where}"',
            )
        for item in value:
            failed = email_check(item, where)
            if failed is not None:
                return failed
        return None

    return check


def links_list_check(name: str) -> Callable[[Any], Check]:
    """The check of ``secondaryLinks``: a list of ``{url, label}`` of text."""

    def check(value: Any) -> Check:
        if not isinstance(value, list):
            return composite_error(name)
        for item in value:
            if not isinstance(item, dict) or set(item) - {"url", "label"}:
                return composite_error(name)
            if any(v is not None and not isinstance(v, str) for v in item.values()):
                return composite_error(name)
        return None

    return check
