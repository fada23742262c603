"""Check mapped rows against everything Twenty checks on write, before any call: :func:`validate`.

::

    report = tm.validate(mapped, schema.object("people"), existing=client)
    report                  # in Jupyter: counts per column and rule, failing cells highlighted
    report.failures         # _row, column, rule, value, message, severity
    report.valid            # the rows to import; report.invalid: the rows to fix
    report.to_html("people_validation.html")
    report.raise_for_failures()

**What is checked.** Every check Twenty's data-arg processor makes on one value
(twenty-api.md §4: types, formats, select options, emails, phones, composite shapes,
required fields), with Twenty's own error messages; unique keys within the file and, given
``existing``, against the records already in Twenty (§3: upsert updates them, a plain
create is refused); join columns that must hold record ids; and, folded in, the values the
field map could not convert (:attr:`MappedFrame.problems`) and the relations the resolver
could not resolve. A report without errors means Twenty refuses none of these rows.

**Severity.** ``error``: Twenty refuses the row, or the row would not become the record
meant: duplicates within the file (Twenty refuses them in one batch and silently merges
them across batches), an unknown currency code (Twenty stores it but cannot show the
amount), a value the map could not convert (it would be lost), an unresolved relation.
``warning``: Twenty accepts the row as it is (an upsert that updates an existing record,
the map's warnings, failures of an expectation that allows some with ``mostly``). Rows
with only warnings are :attr:`ValidationReport.valid`.

**How.** Each value check is computed for a whole column at once (vectorised, and once
per distinct value for the rest) into a ``_check.<path>`` column holding the rule a cell
breaks. A great_expectations suite (:func:`build_suite`) expects those columns to be empty,
beside GX's own expectations where GX can say it exactly: required fields not null, select
values in the options, unique keys unique (on ``_key.<path>`` columns: the values as
Twenty compares them). GX runs the suite on an ephemeral context; its unexpected rows are
the failures. Add your own expectations to the suite and pass it back to :func:`validate`.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
import threading
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.errors import ConfigError, MappingError, ValidationFailed
from twenty_migrate.payloads import MISSING, to_json_value
from twenty_migrate.schema import COMPOSITE_SUBFIELDS, FieldSchema, ObjectSchema
from twenty_migrate.values import CURRENCY_CODES, words

if TYPE_CHECKING:
    import os

    from twenty_migrate.mapping import MappedFrame

__all__ = [
    "CHECK_PREFIX",
    "FAILURE_COLUMNS",
    "KEY_PREFIX",
    "ValidationReport",
    "build_suite",
    "validate",
]

#: Columns of :attr:`ValidationReport.failures`.
FAILURE_COLUMNS = ["_row", "column", "rule", "value", "message", "severity"]
#: Prefix of the columns holding the rule a cell breaks (validated by the suite).
CHECK_PREFIX = "_check."
#: Prefix of the columns holding unique-key values as Twenty compares them.
KEY_PREFIX = "_key."
#: Values looked up per call in Twenty (its page size on every version).
LOOKUP_BATCH = 60
#: Failure rows written by :meth:`ValidationReport.to_html` (the frame has them all).
HTML_MAX_ROWS = 5000
#: Result format of the GX run. Row positions, not ``unexpected_index_column_names``:
#: GX builds one dict per unexpected row for those, which takes minutes for a million.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "return_unexpected_index_query": False,
}

_ROW = "_row"
_REF = "_ref."
_SUITE_MARK = "twenty_migrate"
_EXISTING_PREFIX = "twenty:"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_RE = re.compile(_UUID)
#: Email shape Twenty accepts, on the trimmed, lower-cased, punycoded address; the first
#: is the exact check (letters of any script), the second an ASCII subset run vectorised.
_EMAIL_RE = re.compile(
    r"[\w.!#$%&'*+/=?^`{|}~-]+@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)
_FAST_EMAIL = (
    r"^[a-z0-9_.!#$%&'*+/=?^`{|}~-]+@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
#: Numeric text both Twenty (JavaScript ``Number``) and Python read the same way.
_NUMERIC_RE = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DT_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"\s*(Z|z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_DT_BASIC = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})(?:T([0-9]{2})([0-9]{2})([0-9]{2})?(?:[.,]([0-9]+))?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DT_TIME = (
    r"(?:[\s,T]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?\s*([AaPp][Mm])?)?\s*"
    r"(Z|UTC|GMT|[+-][0-9]{2}:?[0-9]{2})?"
)
_DT_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_DT_MONTH_FIRST = re.compile(
    rf"{_DT_WEEKDAY}([a-z]+)\.?\s+([0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+([0-9]{{4}}){_DT_TIME}", re.I
)
_DT_DAY_FIRST = re.compile(
    rf"{_DT_WEEKDAY}([0-9]{{1,2}})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+([0-9]{{4}}){_DT_TIME}", re.I
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        words(
            "jan|january feb|february mar|march apr|april may jun|june jul|july aug|august "
            "sep|sept|september oct|october nov|november dec|december"
        ),
        start=1,
    )
    for name in names.split("|")
}
_FAST_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3})?Z$"
#: Scalar types whose values are the composite sub-field's own type.
_SUB_TYPES = {
    ("ADDRESS", "addressLat"): "NUMERIC",
    ("ADDRESS", "addressLng"): "NUMERIC",
    ("CURRENCY", "amountMicros"): "NUMERIC",
}

_COMPOSITE_MARK = "\x00composite\x00"
Check = tuple[str, str] | None  # (rule, message) or None when Twenty accepts the value


# --------------------------------------------------------------------------- messages
def _js(value: Any) -> str:
    """A value as Node's ``util.inspect`` writes it in Twenty's messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, str):
        if "'" in value and '"' not in value:
            return f'"{value}"'
        return "'" + value.replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[ " + ", ".join(_js(v) for v in value) + " ]" if value else "[]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = []
        for key, item in value.items():
            name = key if re.fullmatch(r"[A-Za-z_$][\w$]*", str(key)) else _js(str(key))
            parts.append(f"{name}: {_js(item)}")
        return "{ " + ", ".join(parts) + " }"
    return str(value)


def _text_error(value: Any, where: str) -> Check:
    return "invalid_text", f'Invalid string value {_js(value)} for text field "{where}"'


def _composite_error(where: str) -> Check:
    # The mark is replaced by the row's whole composite value once the row is known.
    return "invalid_composite", f'Invalid object value {_COMPOSITE_MARK} for field "{where}"'


def _array_error(value: Any, where: str, rule: str) -> Check:
    return rule, f'Invalid value {_js(value)} for field "{where} - Array values need to be string"'


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


def _twenty_email(text: str) -> str | None:
    """The address Twenty stores (trimmed, lower-cased, domain in punycode); "" -> None.

    Raises:
        ValueError: Twenty refuses the address.
    """
    email = text.strip().lower()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if at else domain
    except UnicodeError:
        ascii_domain = ""
    email = f"{local}@{ascii_domain}"
    if not at or not _EMAIL_RE.fullmatch(email):
        raise ValueError(text)
    return email


def _email_check(value: Any, where: str) -> Check:
    if not isinstance(value, str):
        return "invalid_email", f'Invalid string value {_js(value)} for email field "{where}"'
    try:
        _twenty_email(value)
    except ValueError:
        return "invalid_email", f'Invalid string value {_js(value)} for email field "{where}"'
    return None


def _offset(zone: str | None) -> timedelta:
    if not zone or zone.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    return (-1 if zone[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes)


def _is_twenty_datetime(text: str) -> bool:
    """Whether Twenty reads ``text`` as a date-time (ISO, ``20240115``, ``January 15, 2024``)."""
    value = text.strip()
    try:
        match = _DT_ISO.fullmatch(value) or _DT_BASIC.fullmatch(value)
        if match:
            y, mo, d, h, mi, s, _, zone = match.groups()
            moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        else:
            named = _DT_MONTH_FIRST.fullmatch(value)
            if named:
                month_name, day, year = named.group(1), named.group(2), named.group(3)
            else:
                named = _DT_DAY_FIRST.fullmatch(value)
                if named is None:
                    return False
                day, month_name, year = named.group(1), named.group(2), named.group(3)
            month = _MONTHS.get(month_name.lower())
            hour, minute, second, meridiem, zone = named.groups()[3:]
            hours = int(hour or 0)
            if month is None or (meridiem and not 1 <= hours <= 12):
                return False
            if meridiem:
                hours = hours % 12 + (12 if meridiem.lower() == "pm" else 0)
            moment = datetime(int(year), month, int(day), hours, int(minute or 0), int(second or 0))
        _ = moment - _offset(zone)  # Twenty converts to UTC: that instant must exist too
    except (ValueError, OverflowError):
        return False
    return True


def _date_ok(text: str) -> bool:
    match = _DATE_RE.fullmatch(text)
    if match is None:
        return False
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True


def _blocknote_ok(value: Any) -> bool:
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


def _scalar_check(ftype: str, where: str, options: Collection[str] = ()) -> Callable[[Any], Check]:
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
            return rule, f'Invalid {word} value {_js(value)} for field "{where}"'
        return None

    def numeric(value: Any) -> Check:
        if _number(value) is None:
            return "invalid_number", f'Invalid number value NaN for field "{where}"'
        return None

    def boolean(value: Any) -> Check:
        if isinstance(value, bool):
            return None
        return "invalid_boolean", f'Invalid boolean value {_js(value)} for field "{where}"'

    def uuid_value(value: Any) -> Check:
        if isinstance(value, str) and _UUID_RE.fullmatch(value):
            return None
        return "invalid_uuid", f'Invalid UUID value {_js(value)} for field "{where}"'

    def day(value: Any) -> Check:
        if isinstance(value, str) and _date_ok(value):
            return None
        return "invalid_date", (
            f"Invalid value {_js(value)} for date field \"{where}\". Expected format: 'YYYY-MM-DD'"
        )

    def moment(value: Any) -> Check:
        if isinstance(value, str) and _is_twenty_datetime(value):
            return None
        return "invalid_datetime", (
            f'Invalid value {_js(value)} for date-time field "{where}". '
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
                    f'Invalid value {_js(item)} for multi select field "{where}"'
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
        return "invalid_json", f'Invalid object value {_js(value)} for field "{where}"'

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


# --------------------------------------------------------------------------- phones
class _PhoneError(Exception):
    """Twenty's phone transform refused a value: (sub-field at fault, rule, message)."""

    def __init__(self, sub: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.sub, self.rule, self.message = sub, rule, message


def _strip_plus(code: str) -> str:
    return code[1:] if code.startswith("+") else code


def _check_codes(country: str | None, calling: str | None) -> int | None:
    """Twenty's country/calling code checks; the calling code's number when one is given."""
    import phonenumbers

    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        raise _PhoneError(
            "primaryPhoneCountryCode", "invalid_country_code", f"Invalid country code {country}"
        )
    if not calling:
        return None
    digits = _strip_plus(calling)
    code = int(digits) if re.fullmatch(r"[0-9]{1,6}", digits) else 0
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        raise _PhoneError(
            "primaryPhoneCallingCode", "invalid_calling_code", f"Invalid calling code {calling}"
        )
    if country and country not in regions:
        raise _PhoneError(
            "primaryPhoneCountryCode",
            "conflicting_phone_codes",
            "Provided country code and calling code are conflicting",
        )
    return code


def _twenty_phone(
    number: str, country: str | None, calling: str | None
) -> tuple[str, str | None, str]:
    """What Twenty stores for one phone input: (national number, country, calling code).

    Mirrors Twenty's phone transform (libphonenumber, calling code +1 when the number has
    neither ``+`` nor a country).

    Raises:
        _PhoneError: Twenty's refusal, with its message.
    """
    import phonenumbers

    _check_codes(country, calling)
    text = number.strip()
    invalid = _PhoneError(
        "primaryPhoneNumber", "invalid_phone", f"Provided phone number is invalid {number}"
    )
    try:
        if text.startswith("+"):
            parsed = phonenumbers.parse(text, None)
        elif country:
            parsed = phonenumbers.parse(text, country)
        else:
            code = _strip_plus(calling) if calling else "1"
            parsed = phonenumbers.parse(f"+{code}{text}", None)
    except phonenumbers.NumberParseException:
        raise invalid from None
    national = phonenumbers.national_significant_number(parsed)
    if not 2 <= len(national) <= 17:
        raise invalid
    inferred = phonenumbers.region_code_for_number(parsed)
    if inferred in (None, "ZZ", "001"):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(parsed.country_code or 0, ())
        inferred = country if country in regions else None
    if inferred and country and inferred != country:
        raise _PhoneError(
            "primaryPhoneNumber",
            "conflicting_phone_codes",
            "Provided and inferred country code are conflicting",
        )
    if calling and _strip_plus(calling) != str(parsed.country_code):
        raise _PhoneError(
            "primaryPhoneNumber",
            "conflicting_phone_codes",
            "Provided and inferred calling code are conflicting",
        )
    return national, country or inferred, calling or f"+{parsed.country_code}"


_PhoneVerdict = tuple[str, str | None, str] | _PhoneError | None


def _phone_verdict(number: Any, country: str | None, calling: str | None) -> _PhoneVerdict:
    try:
        return _twenty_phone(str(number), country, calling)
    except _PhoneError as exc:
        return exc


def _codes_verdict(_: Any, country: str | None, calling: str | None) -> _PhoneVerdict:
    """A phone without a number: only its codes are checked."""
    try:
        _check_codes(country, calling)
    except _PhoneError as exc:
        return exc
    return None


@dataclass(frozen=True)
class _Region:
    """What the fast phone path needs to know about one (country, calling code) pair."""

    code: int
    single: bool  # the calling code has one region: Twenty infers exactly the country
    avoid: str  # numbers starting like this take the exact path (IDD, national prefix)


def _region_info(country: str, calling: str | None) -> _Region | None:
    """The fast path's facts for a pair, or None when its numbers take the exact path."""
    import phonenumbers

    try:
        _check_codes(country, calling)
    except _PhoneError:
        return None
    meta = phonenumbers.PhoneMetadata.metadata_for_region(country)
    if meta is None or not meta.country_code:
        return None
    if calling and _strip_plus(calling) != str(meta.country_code):
        return None  # "0044" names +44 but Twenty compares the text: the exact path decides
    avoid = [str(meta.country_code)]
    for pattern in (meta.international_prefix, meta.national_prefix_for_parsing):
        if pattern:
            if re.match(pattern, ""):
                return None  # every number could be changed by the prefix rules
            avoid.append(f"(?:{pattern})")
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ())
    return _Region(meta.country_code, len(regions) == 1, "^(?:" + "|".join(avoid) + ")")


def _regex_mask(series: pd.Series[Any], pattern: str) -> np.ndarray[Any, Any] | None:
    """Cells of a text column matching ``pattern`` (RE2 through pyarrow); None if it cannot."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(series if _is_text(series) else series.astype("str"), type=pa.string())
        found = pc.match_substring_regex(array, pattern).fill_null(False)
        mask: np.ndarray[Any, Any] = found.to_numpy(zero_copy_only=False).astype(bool)
        return mask
    except (ImportError, ValueError, TypeError, NotImplementedError):
        return None
    except Exception as exc:  # pyarrow's ArrowInvalid: a pattern RE2 does not support
        if type(exc).__name__.startswith("Arrow"):
            return None
        raise


_Desc = tuple[str, frozenset[int]]
_PHONE_TYPES = words(
    "premium_rate toll_free shared_cost voip personal_number pager uan voicemail fixed_line mobile"
)


@functools.cache
def _region_patterns(code: int) -> tuple[tuple[str, str | None, _Desc, tuple[_Desc, ...]], ...]:
    """Per region of a calling code, in libphonenumber's order: leading digits and patterns."""
    import phonenumbers

    def desc(item: Any) -> _Desc:
        return item.national_number_pattern, frozenset(item.possible_length or ())

    out = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if (
            meta is None
            or meta.general_desc is None
            or not meta.general_desc.national_number_pattern
        ):
            return ()  # non-geographic numbers: the exact path decides
        types = tuple(
            desc(item)
            for item in (getattr(meta, name) for name in _PHONE_TYPES)
            if item is not None and item.national_number_pattern
        )
        out.append((region, meta.leading_digits, desc(meta.general_desc), types))
    return tuple(out)


def _infer_regions(texts: pd.Series[Any], code: int) -> np.ndarray[Any, Any] | None:
    """The region libphonenumber infers for each national number of a shared calling code.

    Vectorised ``region_code_for_number``: regions in order; one with leading digits takes
    the numbers starting with them, another the numbers valid for it (general pattern and
    one type's, with their lengths). None when a pattern cannot run vectorised.
    """
    patterns = _region_patterns(code)
    if not patterns:
        return None
    texts = texts.reset_index(drop=True)
    lengths = texts.str.len().to_numpy(dtype=np.int64)
    found = np.full(len(texts), None, dtype=object)
    open_rows = np.arange(len(texts))

    def matching(rows: np.ndarray[Any, Any], item: _Desc) -> np.ndarray[Any, Any] | None:
        pattern, allowed = item
        fits = np.isin(lengths[rows], list(allowed)) if allowed else np.ones(len(rows), bool)
        hit = _regex_mask(texts.iloc[rows[fits]], f"^(?:{pattern})$")
        if hit is None:
            return None
        fits[np.flatnonzero(fits)] = hit
        return fits

    for region, leading, general, types in patterns:
        if not len(open_rows):
            break
        if leading:
            taken = _regex_mask(texts.iloc[open_rows], f"^(?:{leading})")
        else:
            taken = matching(open_rows, general)
            if taken is not None and taken.any():
                valid = np.zeros(len(open_rows), dtype=bool)
                for item in types:
                    rest = np.flatnonzero(taken & ~valid)
                    hit = matching(open_rows[rest], item)
                    if hit is None:
                        return None
                    valid[rest[hit]] = True
                taken = valid
        if taken is None:
            return None
        found[open_rows[taken]] = region
        open_rows = open_rows[~taken]
    return found


def _fast_phones(
    numbers: pd.Series[Any], countries: pd.Series[Any], callings: pd.Series[Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Rows whose phone Twenty accepts, and rows where it infers another country.

    Decided without parsing each number: one of 4-15 digits, not starting with 0, with a
    valid country and that country's calling code (or none), that does not start like
    the country's international or national prefix or its calling code, parses to itself
    in that country. Twenty then infers the country: the given one when the calling code
    has one region, else by the numbers' patterns (:func:`_infer_regions`), and refuses a
    different one. Other rows: the exact path.
    """
    ok = np.zeros(len(numbers), dtype=bool)
    conflict = np.zeros(len(numbers), dtype=bool)
    shape = _regex_mask(numbers, r"^[1-9][0-9]{3,14}$")
    if shape is None or not shape.any():
        return ok, conflict
    # Positions are index labels here: the frames validated have a RangeIndex.
    pairs = pd.DataFrame({"c": countries, "k": callings})[shape].fillna("")
    groups: dict[Any, Any] = pairs.groupby(["c", "k"], sort=False).groups
    for (country_code, calling_code), group in groups.items():
        country, calling = str(country_code), str(calling_code)
        info = _region_info(country, calling or None) if country else None
        if info is None:
            continue
        where = np.asarray(group, dtype=np.int64)
        texts = numbers.iloc[where]
        avoided = _regex_mask(texts, info.avoid)
        if avoided is None:
            continue
        where, texts = where[~avoided], texts[~avoided]
        if info.single:
            ok[where] = True
            continue
        regions = _infer_regions(texts, info.code)
        if regions is None:
            continue
        agree = np.fromiter((r is None or r == country for r in regions), dtype=bool)
        ok[where[agree]] = True
        conflict[where[~agree]] = True
    return ok, conflict


# --------------------------------------------------------------------------- scanning
_UNSENDABLE: Any = object()


def _sent(value: Any) -> Any:
    """The JSON value a cell becomes in the payload (MISSING when empty)."""
    try:
        return to_json_value(value)
    except ValueError:
        return value  # an infinite number: the checks refuse it
    except TypeError:
        return _UNSENDABLE


def _verdict(check: Callable[[Any], Check], value: Any) -> Check:
    sent = _sent(value)
    if sent is _UNSENDABLE:
        return "unsendable", f"a {type(value).__name__} value cannot be sent to Twenty"
    return None if sent is MISSING else check(sent)


@dataclass
class _Hits:
    """Failing cells of one column: positions, rules and messages (first hit per cell)."""

    parts: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(
        default_factory=list
    )

    def add(self, positions: Any, rules: Any, messages: Any) -> None:
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions):
            count = len(positions)
            rules = np.full(count, rules, dtype=object) if isinstance(rules, str) else rules
            messages = (
                np.full(count, messages, dtype=object) if isinstance(messages, str) else messages
            )
            self.parts.append((positions, np.asarray(rules, object), np.asarray(messages, object)))

    def extend(self, other: _Hits) -> None:
        self.parts.extend(other.parts)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"pos": np.array([], np.int64), "rule": [], "message": []})
        frame = pd.DataFrame(
            {
                "pos": np.concatenate([p[0] for p in self.parts]),
                "rule": np.concatenate([p[1] for p in self.parts]),
                "message": np.concatenate([p[2] for p in self.parts]),
            }
        )
        return frame.drop_duplicates("pos").sort_values("pos", kind="stable")


def _is_text(series: pd.Series[Any]) -> bool:
    return isinstance(series.dtype, pd.StringDtype)


def _scan_text(
    texts: pd.Series[Any],
    positions: np.ndarray[Any, Any],
    check: Callable[[Any], Check],
    fast: Callable[[pd.Series[Any]], np.ndarray[Any, Any]] | None,
    hits: _Hits,
) -> None:
    """Check text cells: vectorised acceptance first, the rest once per distinct value."""
    present = texts.notna().to_numpy(dtype=bool)
    rest = present & ~fast(texts) if fast is not None else present
    if not rest.any():
        return
    codes, uniques = pd.factorize(texts[rest])
    verdicts = [check(str(value)) for value in uniques]
    bad = np.array([v is not None for v in verdicts] + [False], dtype=bool)
    failing = bad[codes]
    if failing.any():
        rules = np.array([v[0] if v else None for v in verdicts] + [None], dtype=object)
        messages = np.array([v[1] if v else None for v in verdicts] + [None], dtype=object)
        picked = codes[failing]
        hits.add(positions[np.flatnonzero(rest)[failing]], rules[picked], messages[picked])


def _scan(
    series: pd.Series[Any],
    check: Callable[[Any], Check],
    fast: Callable[[pd.Series[Any]], np.ndarray[Any, Any]] | None = None,
) -> _Hits:
    """Check every non-empty cell of a column as Twenty checks the value it is sent as."""
    hits = _Hits()
    n = len(series)
    if _is_text(series):
        _scan_text(series.reset_index(drop=True), np.arange(n), check, fast, hits)
        return hits
    kind = series.dtype.kind
    if kind in "iufb" and not isinstance(series.dtype, pd.CategoricalDtype):
        _scan_plain(series, check, hits)
        return hits
    values = series.to_numpy(dtype=object)
    present = ~pd.isna(values)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
    if is_text.any():
        texts = pd.Series(values[is_text], dtype="str")
        _scan_text(texts, np.flatnonzero(is_text), check, fast, hits)
    others = np.flatnonzero(present & ~is_text)
    cache: dict[tuple[type, Any], Check] = {}
    found: list[tuple[int, str, str]] = []
    for position in others.tolist():
        value = values[position]
        try:
            key = _freeze(value)
            verdict = cache[key] if key in cache else cache.setdefault(key, _verdict(check, value))
        except TypeError:  # an array or another unhashable cell
            verdict = _verdict(check, value)
        if verdict is not None:
            found.append((position, verdict[0], verdict[1]))
    if found:
        hits.add([f[0] for f in found], [f[1] for f in found], [f[2] for f in found])
    return hits


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a cell, types included (``1``, ``1.0`` and ``True`` differ).

    Raises:
        TypeError: the cell holds something unhashable other than lists and dicts.
    """
    kind = type(value)
    if kind is list or kind is tuple:
        return kind, tuple(_freeze(item) for item in value)
    if kind is dict:
        return kind, tuple((key, _freeze(item)) for key, item in value.items())
    hash(value)
    return kind, value


def _scan_plain(series: pd.Series[Any], check: Callable[[Any], Check], hits: _Hits) -> None:
    """Numbers and booleans: every finite value gets the same verdict; messages per value."""
    present = series.notna().to_numpy(dtype=bool)
    if not present.any():
        return
    values = series.to_numpy(dtype=object)
    finite = present.copy()
    if series.dtype.kind == "f":
        finite &= np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))
    groups = [finite, present & ~finite]
    for mask in groups:
        positions = np.flatnonzero(mask)
        if not len(positions):
            continue
        if mask is finite and _verdict(check, values[positions[0]]) is None:
            continue
        codes, uniques = pd.factorize(values[positions])
        verdicts = [_verdict(check, value) for value in uniques]
        bad = np.array([v is not None for v in verdicts], dtype=bool)[codes]
        hits.add(
            positions[bad],
            np.array([v[0] if v else None for v in verdicts], dtype=object)[codes][bad],
            np.array([v[1] if v else None for v in verdicts], dtype=object)[codes][bad],
        )


def _as_text(series: pd.Series[Any]) -> tuple[pd.Series[Any], np.ndarray[Any, Any]]:
    """A column as text (non-text cells empty) and the mask of its non-text, non-empty cells."""
    if _is_text(series):
        return series.reset_index(drop=True), np.zeros(len(series), dtype=bool)
    values = series.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    other = ~is_text & ~pd.isna(values)
    kept = values.copy()
    kept[~is_text] = None
    return pd.Series(kept, dtype="str"), other


def _all_ok(texts: pd.Series[Any]) -> np.ndarray[Any, Any]:
    return np.ones(len(texts), dtype=bool)


def _regex_fast(pattern: str) -> Callable[[pd.Series[Any]], np.ndarray[Any, Any]]:
    def fast(texts: pd.Series[Any]) -> np.ndarray[Any, Any]:
        found = _regex_mask(texts, pattern)
        return found if found is not None else np.zeros(len(texts), dtype=bool)

    return fast


def _parsed_fast(pattern: str, fmt: str) -> Callable[[pd.Series[Any]], np.ndarray[Any, Any]]:
    """Text of a canonical date shape that pandas parses (calendar-valid) is accepted."""

    def fast(texts: pd.Series[Any]) -> np.ndarray[Any, Any]:
        shaped = _regex_mask(texts, pattern)
        if shaped is None or not shaped.any():
            return np.zeros(len(texts), dtype=bool)
        parsed = pd.to_datetime(texts[shaped], format=fmt, errors="coerce")
        shaped[np.flatnonzero(shaped)] = parsed.notna().to_numpy(dtype=bool)
        return shaped

    return fast


# --------------------------------------------------------------------------- paths
@dataclass(frozen=True)
class _Path:
    """One column of the frame: the field it writes and the composite part, if any."""

    path: str
    field: FieldSchema
    sub: str | None

    @property
    def is_join(self) -> bool:
        return self.path == self.field.join_column

    @property
    def value_type(self) -> str:
        if self.is_join:
            return "UUID"
        if self.sub is None:
            return self.field.type
        return _SUB_TYPES.get((self.field.type, self.sub), "TEXT")

    @property
    def is_required(self) -> bool:
        # Composite fields are never refused as a whole: their parts default to null.
        return self.field.is_required and self.field.type not in COMPOSITE_SUBFIELDS


def _resolve_paths(columns: list[str], obj: ObjectSchema) -> dict[str, _Path]:
    writable = {path: f for f in obj.fields.values() for path in f.paths()}
    paths: dict[str, _Path] = {}
    unknown: list[str] = []
    for column in columns:
        if column == _ROW or column.startswith(_REF):
            continue
        f = writable.get(column)
        if f is None:
            unknown.append(column)
            continue
        sub = column.split(".", 1)[1] if f.type in COMPOSITE_SUBFIELDS else None
        paths[column] = _Path(column, f, sub)
    if unknown:
        raise MappingError(
            f"{obj.name_plural} has no writable field path {unknown}; Twenty refuses every row "
            f'with them (Object {obj.name_singular} doesn\'t have any "{unknown[0]}" field.). '
            f"Drop these columns or fix the field map. Writable paths: "
            f"{', '.join(obj.writable_paths())}"
        )
    return paths


def _required_paths(obj: ObjectSchema) -> list[_Path]:
    out = []
    for f in obj.fields.values():
        if f.is_writable and f.is_required and f.type not in COMPOSITE_SUBFIELDS:
            out.append(_Path(f.paths()[0], f, None))
    return out


def _options(p: _Path) -> list[str] | None:
    if p.sub is None and p.field.type in ("SELECT", "RATING"):
        return p.field.option_values
    if p.field.type == "ACTOR" and p.sub == "source":
        from twenty_migrate.convert import ACTOR_SOURCES  # convert imports phonenumbers

        return list(ACTOR_SOURCES)
    return None


def _ref_check(where: str) -> Callable[[Any], Check]:
    """A ``refs`` column: ``_row`` ids of an earlier step, or ``twenty:<id>``."""
    import uuid

    def check(value: Any) -> Check:
        if isinstance(value, str) and value.startswith(_EXISTING_PREFIX):
            try:
                uuid.UUID(value[len(_EXISTING_PREFIX) :])
            except ValueError:
                return "invalid_uuid", (
                    f"{value!r} starts with 'twenty:' but is not followed by a Twenty record id"
                )
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            return "invalid_ref", f"{where} holds _row ids of an earlier step, not {value!r}"
        return None

    return check


def _column_check(
    p: _Path, refs: Collection[str]
) -> tuple[Callable[[Any], Check], Callable[[pd.Series[Any]], np.ndarray[Any, Any]] | None]:
    """The value check of a column, and a vectorised sufficient condition for text cells."""
    ftype, name, where = p.field.type, p.field.name, p.path
    if p.is_join:
        if where in refs:
            return _ref_check(where), None
        return _scalar_check("UUID", where), _regex_fast(f"^{_UUID}$")
    if name == "id" and p.sub is None:

        def record_id(value: Any) -> Check:
            if isinstance(value, str) and _UUID_RE.fullmatch(value):
                return None
            return "invalid_uuid", f'Value "{value}" is not a valid UUID'

        return record_id, _regex_fast(f"^{_UUID}$")
    if p.sub is None:
        check = _scalar_check(ftype, where, p.field.option_values)
        if ftype == "TEXT" and p.is_required:
            return _required_text(check, where), _regex_fast(r"^.")
        fast = {
            "TEXT": _all_ok,
            "SELECT": _all_ok,
            "RATING": _all_ok,
            "UUID": _regex_fast(f"^{_UUID}$"),
            "NUMERIC": _regex_fast(r"^[+-]?[0-9]{1,15}(?:\.[0-9]{0,15})?$"),
            "DATE": _parsed_fast(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d"),
            "DATE_TIME": _parsed_fast(_FAST_DATETIME, "ISO8601"),
        }.get(ftype)
        return check, fast
    sub = p.sub
    if ftype == "EMAILS" and sub == "additionalEmails":
        return _email_list_check(where), None
    if ftype == "LINKS" and sub == "primaryLinkUrl":
        return (lambda v: None if isinstance(v, str) else _composite_error(name)), _all_ok
    if ftype == "LINKS" and sub == "secondaryLinks":
        return _links_list_check(name), None
    if ftype == "ACTOR":

        def source(value: Any) -> Check:
            if isinstance(value, str):
                return None  # checked against the sources by GX (in-set)
            return "not_in_options", f'Invalid value {_js(value)} for field "{where}"'

        return source, _all_ok
    if ftype == "RICH_TEXT_V2":
        rich = (
            f'Invalid rich text v2 value {_COMPOSITE_MARK} for field "{name}" - Should be an object'
        )

        def body(value: Any) -> Check:
            if sub == "blocknote" and (value == "" or _blocknote_ok(value)):
                return None
            if sub == "markdown" and isinstance(value, str):
                return None
            return "invalid_rich_text", rich

        return body, (_all_ok if sub == "markdown" else None)
    if ftype == "CURRENCY" and sub == "currencyCode":
        return _currency_check(where), None
    vtype = _SUB_TYPES.get((ftype, sub), "TEXT")
    return _scalar_check(vtype, where), (_all_ok if vtype == "TEXT" else None)


def _required_text(check: Callable[[Any], Check], where: str) -> Callable[[Any], Check]:
    def required(value: Any) -> Check:
        if value == "":  # Twenty stores "" as null
            return "required", f"Field {where} is not nullable and has no default value."
        return check(value)

    return required


def _currency_check(where: str) -> Callable[[Any], Check]:
    def check(value: Any) -> Check:
        if not isinstance(value, str):
            return _text_error(value, where)
        if value and value not in CURRENCY_CODES:
            return "unknown_currency", (
                f'Unknown currency code {_js(value)} for field "{where}": Twenty stores it '
                "but shows amounts only in ISO 4217 currencies (USD, EUR, GBP, ...)"
            )
        return None

    return check


def _email_list_check(where: str) -> Callable[[Any], Check]:
    def check(value: Any) -> Check:
        if not isinstance(value, list):
            return "invalid_email", f'Invalid string value {_js(value)} for email field "{where}"'
        for item in value:
            failed = _email_check(item, where)
            if failed is not None:
                return failed
        return None

    return check


def _links_list_check(name: str) -> Callable[[Any], Check]:
    def check(value: Any) -> Check:
        if not isinstance(value, list):
            return _composite_error(name)
        for item in value:
            if not isinstance(item, dict) or set(item) - {"url", "label"}:
                return _composite_error(name)
            if any(v is not None and not isinstance(v, str) for v in item.values()):
                return _composite_error(name)
        return None

    return check


def _composite_value(frame: pd.DataFrame, name: str, position: int) -> dict[str, Any]:
    """The value of a composite field in one row's payload (its non-empty parts)."""
    value: dict[str, Any] = {}
    for column in frame.columns:
        if column.startswith(name + ".") and column.count(".") == 1:
            sent = _sent(frame[column].iat[position])
            if sent is not MISSING:
                value[column.split(".", 1)[1]] = sent
    return value


# --------------------------------------------------------------------------- composites
_PHONE_SUBS = ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode")
_PHONE_ITEM_KEYS = frozenset({"number", "countryCode", "callingCode"})


_PhoneFailures = dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]]


def _judge_phones(
    number: pd.Series[Any],
    country: pd.Series[Any],
    calling: pd.Series[Any],
    usable: np.ndarray[Any, Any],
    *,
    blank_is_empty: bool,
    want_keys: bool,
) -> tuple[_PhoneFailures, np.ndarray[Any, Any] | None]:
    """Twenty's verdict on phone triples (text columns, RangeIndex): the fast path first,
    then once per distinct triple. Returns per sub-field (positions, rules, messages) of
    the refused rows, and the stored triples when asked (none on the fast path then)."""
    n = len(number)
    filled = number.str.strip() if blank_is_empty else number
    has_number = (filled.str.len() > 0).fillna(False).to_numpy(dtype=bool) & usable
    failures: dict[str, list[tuple[Any, Any, Any]]] = {}
    fast = np.zeros(n, dtype=bool)
    if not want_keys and has_number.any():
        fast, conflict = _fast_phones(number.where(has_number), country, calling)
        where = np.flatnonzero(conflict)
        failures.setdefault("primaryPhoneNumber", []).append(
            (
                where,
                np.full(len(where), "conflicting_phone_codes", dtype=object),
                np.full(len(where), "Provided and inferred country code are conflicting", object),
            )
        )
        fast |= conflict
    keys = np.full(n, None, dtype=object) if want_keys else None
    parts = []
    for text in (number, country, calling):
        values = text.to_numpy(dtype=object)
        values[text.isna().to_numpy(dtype=bool)] = None
        parts.append(values)
    has_code = ((country.fillna("") != "") | (calling.fillna("") != "")).to_numpy(dtype=bool)
    rest = has_number & ~fast
    codes_only = ~has_number & usable & has_code
    for mask, judge in ((rest, _phone_verdict), (codes_only, _codes_verdict)):
        positions = np.flatnonzero(mask)
        if not len(positions):
            continue
        triples = pd.Series(list(zip(*(p[positions] for p in parts), strict=True)), dtype=object)
        codes, uniques = pd.factorize(triples)
        verdicts = [judge(*triple) for triple in uniques]
        errors = [v if isinstance(v, _PhoneError) else None for v in verdicts]
        failing = np.array([e is not None for e in errors], dtype=bool)[codes]
        rules = np.array([e.rule if e else None for e in errors], dtype=object)
        messages = np.array([e.message if e else None for e in errors], dtype=object)
        for sub in _PHONE_SUBS:
            at = np.array([e is not None and e.sub == sub for e in errors], dtype=bool)[codes]
            if at.any():
                failures.setdefault(sub, []).append(
                    (positions[at], rules[codes[at]], messages[codes[at]])
                )
        if keys is not None and judge is _phone_verdict:
            kept = zip(positions[~failing].tolist(), codes[~failing].tolist(), strict=True)
            for position, code in kept:
                keys[position] = verdicts[code]
    joined: _PhoneFailures = {}
    for sub, found in failures.items():
        joined[sub] = (
            np.concatenate([part[0] for part in found]),
            np.concatenate([part[1] for part in found]),
            np.concatenate([part[2] for part in found]),
        )
    return joined, keys


def _scan_phones(
    frame: pd.DataFrame, name: str, *, want_keys: bool
) -> tuple[dict[str, _Hits], pd.DataFrame | None]:
    """Hits per phones column, and the stored (number, country, calling) when asked."""
    n = len(frame)
    hits: dict[str, _Hits] = {}
    texts: dict[str, pd.Series[Any]] = {}
    bad = np.zeros(n, dtype=bool)
    for sub in _PHONE_SUBS:
        column = f"{name}.{sub}"
        if column in frame.columns:
            texts[sub], other = _as_text(frame[column])
            if other.any():
                message = f'Invalid object value {_COMPOSITE_MARK} for field "{name}"'
                hits.setdefault(column, _Hits()).add(
                    np.flatnonzero(other & ~bad), "invalid_composite", message
                )
                bad |= other
        else:
            texts[sub] = pd.Series([None] * n, dtype="str")
    failures, keys = _judge_phones(
        texts["primaryPhoneNumber"],
        texts["primaryPhoneCountryCode"],
        texts["primaryPhoneCallingCode"],
        ~bad,
        blank_is_empty=True,
        want_keys=want_keys,
    )
    for sub, (positions, rules, messages) in failures.items():
        hits.setdefault(f"{name}.{sub}", _Hits()).add(positions, rules, messages)
    column = f"{name}.additionalPhones"
    if column in frame.columns:
        hits.setdefault(column, _Hits()).extend(_scan_phone_lists(frame[column], name))
    if keys is None:
        return hits, None
    stored = pd.DataFrame(
        [k if k is not None else (None, None, None) for k in keys],
        columns=[f"{name}.{sub}" for sub in _PHONE_SUBS],
    )
    return hits, stored


def _scan_phone_lists(series: pd.Series[Any], name: str) -> _Hits:
    """``additionalPhones`` cells: every item judged like a primary phone, all at once.

    Twenty refuses a cell at its first bad item, so each row gets its first failing item.
    """
    values = series.to_numpy(dtype=object)
    found: list[tuple[int, int, str, str]] = []  # (position, item, rule, message)
    items: list[tuple[int, int, Any, Any, Any]] = []
    composite = _composite_error(name)
    assert composite is not None
    for position in np.flatnonzero(~pd.isna(values)).tolist():
        value = values[position]
        if type(value) is not list:
            value = _sent(value)
            if value is _UNSENDABLE or not isinstance(value, list):
                found.append((position, -1, *composite))
                continue
        for index, item in enumerate(value):
            parts = _phone_item(item)
            if parts is None:
                found.append((position, index, *composite))
                break
            items.append((position, index, *parts))
    if items:
        table = pd.DataFrame(items, columns=["pos", "item", "n", "c", "k"])
        failures, _ = _judge_phones(
            table["n"].astype("str"),
            table["c"].astype("str"),
            table["k"].astype("str"),
            np.ones(len(table), dtype=bool),
            blank_is_empty=False,
            want_keys=False,
        )
        for where, rules, messages in failures.values():
            rows = table.iloc[where]
            found.extend(zip(rows["pos"], rows["item"], rules, messages, strict=True))
    hits = _Hits()
    if found:
        # The first failing item of each cell: that is where Twenty stops.
        frame = pd.DataFrame(found, columns=["pos", "item", "rule", "message"])
        frame = frame.sort_values(["pos", "item"], kind="stable").drop_duplicates("pos")
        hits.add(frame["pos"], frame["rule"].to_numpy(object), frame["message"].to_numpy(object))
    return hits


def _phone_item(item: Any) -> tuple[Any, Any, Any] | None:
    """(number, countryCode, callingCode) of one additional phone, or None when malformed."""
    if type(item) is not dict:
        item = _sent(item)
    if not isinstance(item, dict) or set(item) - _PHONE_ITEM_KEYS:
        return None
    parts = []
    for key in ("number", "countryCode", "callingCode"):
        part = item.get(key)
        if part is not None and type(part) is not str:
            part = _sent(part)
            part = None if part is MISSING else part
            if part is not None and not isinstance(part, str):
                return None
        parts.append(part)
    return parts[0], parts[1], parts[2]


def _scan_email(series: pd.Series[Any], where: str) -> tuple[_Hits, pd.Series[Any]]:
    """Hits of a primary email column, and the addresses as Twenty stores them."""
    texts, other = _as_text(series)
    lowered = texts.str.strip().str.lower()
    fast = _regex_mask(lowered, _FAST_EMAIL)
    ok = fast if fast is not None else np.zeros(len(texts), dtype=bool)
    keys = lowered.where(ok).to_numpy(dtype=object)
    hits = _Hits()
    rest = texts.notna().to_numpy(dtype=bool) & ~ok
    if rest.any():
        codes, uniques = pd.factorize(texts[rest])
        stored: list[str | None] = []
        failing: list[bool] = []
        for value in uniques:
            try:
                stored.append(_twenty_email(str(value)))
                failing.append(False)
            except ValueError:
                stored.append(None)
                failing.append(True)
        positions = np.flatnonzero(rest)
        keys[positions] = np.array(stored, dtype=object)[codes]
        bad = np.array(failing, dtype=bool)[codes]
        values = np.asarray(uniques, dtype=object)[codes][bad]
        hits.add(
            positions[bad],
            "invalid_email",
            np.array(
                [f'Invalid string value {_js(v)} for email field "{where}"' for v in values],
                dtype=object,
            ),
        )
    if other.any():
        hits.extend(_scan(series.where(other, None), lambda v: _email_check(v, where)))
    return hits, pd.Series(keys, dtype="str")


def _link_keys(series: pd.Series[Any]) -> pd.Series[Any]:
    """Links as Twenty compares them: scheme and host lower-cased, one trailing ``/`` off.

    The host is lower-cased even without a scheme, so every pair Twenty could see as
    equal is caught.
    """
    from twenty_migrate.convert import extract

    texts, _ = _as_text(series)
    parts = extract(
        texts.str.strip(), r"(?s)^(?P<s>[a-zA-Z][a-zA-Z0-9+.-]*://)?(?P<h>[^/?#]*)(?P<r>.*)$"
    )
    joined = parts["s"].fillna("").str.lower() + parts["h"].fillna("").str.lower()
    joined = joined + parts["r"].fillna("")
    joined = joined.str.replace(r"/$", "", regex=True)
    return joined.where(texts.notna() & (joined != ""))


def _plain_keys(series: pd.Series[Any]) -> pd.Series[Any]:
    """Values of a scalar unique field as Twenty compares them (text "" is null)."""
    if _is_text(series):
        texts = series.reset_index(drop=True)
        return texts.where(texts != "")

    def key(value: Any) -> Any:
        sent = _sent(value)
        if sent is MISSING or sent == "" or sent is _UNSENDABLE:
            return None
        if isinstance(sent, int | float) and not isinstance(sent, bool):
            return float(sent)
        return sent if isinstance(sent, str | bool) else json.dumps(sent, sort_keys=True)

    values = series.to_numpy(dtype=object)
    return pd.Series([key(v) for v in values], dtype=object)


# --------------------------------------------------------------------------- preparation
@dataclass
class _Prepared:
    """The rows (RangeIndex), their paths, and what each check found."""

    data: pd.DataFrame
    obj: ObjectSchema
    paths: dict[str, _Path]
    refs: frozenset[str]
    hits: dict[str, pd.DataFrame] = field(default_factory=dict)
    keys: dict[str, pd.Series[Any]] = field(default_factory=dict)
    groups: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def rows(self) -> np.ndarray[Any, Any]:
        rows: np.ndarray[Any, Any] = self.data[_ROW].to_numpy(dtype=object)
        return rows


def _unique_groups(obj: ObjectSchema, paths: Collection[str]) -> list[tuple[str, ...]]:
    groups = [g for g in obj.unique_keys if all(p in paths for p in g)]
    if "id" in paths and ("id",) not in groups:
        groups.insert(0, ("id",))
    return groups


def _prepare(data: pd.DataFrame, obj: ObjectSchema, refs: Collection[str]) -> _Prepared:
    paths = _resolve_paths([str(c) for c in data.columns], obj)
    prepared = _Prepared(data, obj, paths, frozenset(refs))
    prepared.groups = _unique_groups(obj, paths)
    unique_paths = {p for g in prepared.groups for p in g}
    hits: dict[str, _Hits] = {}
    done: set[str] = set()
    for p in paths.values():
        if p.field.type == "PHONES" and p.field.name not in done:
            done.add(p.field.name)
            want = any(q.startswith(p.field.name + ".") for q in unique_paths)
            found, stored = _scan_phones(data, p.field.name, want_keys=want)
            for column, column_hits in found.items():
                hits.setdefault(column, _Hits()).extend(column_hits)
            if stored is not None:
                for column in stored.columns:
                    prepared.keys[column] = stored[column]
        if p.field.type == "PHONES":
            continue
        series = data[p.path]
        if p.field.type == "EMAILS" and p.sub == "primaryEmail":
            found_email, keys = _scan_email(series, p.path)
            hits.setdefault(p.path, _Hits()).extend(found_email)
            if p.path in unique_paths:
                prepared.keys[p.path] = keys
            continue
        check, fast = _column_check(p, prepared.refs)
        hits.setdefault(p.path, _Hits()).extend(_scan(series, check, fast))
        if p.path in unique_paths:
            if p.field.type == "LINKS":
                prepared.keys[p.path] = _link_keys(series)
            elif p.path == "id":
                prepared.keys[p.path] = _plain_keys(series).str.lower()
            else:
                prepared.keys[p.path] = _plain_keys(series)
    prepared.hits = {path: found.frame() for path, found in hits.items()}
    return prepared


def _check_column(prepared: _Prepared, path: str) -> Any:
    found = prepared.hits.get(path)
    codes = np.full(len(prepared.data), -1, dtype=np.int16)
    rules: list[str] = ["invalid"]
    if found is not None and not found.empty:
        rule_codes, uniques = pd.factorize(found["rule"])
        codes[found["pos"].to_numpy(dtype=np.int64)] = rule_codes
        rules = [str(rule) for rule in uniques]
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(rules))


# --------------------------------------------------------------------------- the suite
_DESCRIBE = {
    "TEXT": "text",
    "NUMBER": "a number",
    "NUMERIC": "a number or numeric text",
    "POSITION": "a number",
    "BOOLEAN": "true or false",
    "UUID": "a UUID",
    "DATE": "a date YYYY-MM-DD",
    "DATE_TIME": "a date-time Twenty reads",
    "SELECT": "text",
    "RATING": "text",
    "MULTI_SELECT": "option values",
    "ARRAY": "a list of text",
    "RAW_JSON": "a JSON object or list",
    "EMAILS": "email addresses",
    "PHONES": "a phone number Twenty parses, with its country and calling code",
    "LINKS": "a link",
    "CURRENCY": "an amount in an ISO 4217 currency",
    "RICH_TEXT_V2": "markdown or a BlockNote document",
    "ACTOR": "a source Twenty knows",
}


def _gx() -> Any:
    """great_expectations, imported quietly (its imports raise deprecation warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import great_expectations as gx
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ConfigError(
                "validation needs great_expectations: pip install 'great-expectations>=1.13'"
            ) from exc
    return gx


def _meta(kind: str, column: str, **extra: Any) -> dict[str, Any]:
    return {_SUITE_MARK: {"kind": kind, "column": column, **extra}}


def _frame_of(mapped: MappedFrame | pd.DataFrame) -> pd.DataFrame:
    data = mapped if isinstance(mapped, pd.DataFrame) else getattr(mapped, "data", None)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"expected a MappedFrame (from FieldMap.apply) or a DataFrame, not "
            f"{type(mapped).__name__}"
        )
    if _ROW not in data.columns:
        raise MappingError(
            "the rows need a `_row` column (a stable source-row id): clean.add_row_ids(df), "
            "or map with FieldMap.apply, which adds it"
        )
    if data[_ROW].isna().any() or data[_ROW].duplicated().any():
        dupes = data.loc[data[_ROW].duplicated(), _ROW].head(5).tolist()
        raise MappingError(f"`_row` must be unique and never empty; repeated or empty: {dupes}")
    return data


def build_suite(
    mapped: MappedFrame | pd.DataFrame, object_schema: ObjectSchema, *, name: str | None = None
) -> Any:
    """The great_expectations suite of Twenty's checks for these columns of ``object_schema``.

    One expectation per column that Twenty checks (``_check.<path>`` columns must be empty,
    filled in by :func:`validate`), required fields not null, select values in their
    options, and unique keys unique within the file (``_key.<path>`` columns: the values
    as Twenty compares them). Add your own expectations and pass the suite to
    :func:`validate`.

    Args:
        mapped: The mapped rows (a MappedFrame or a DataFrame of ``_row`` + field paths).
        object_schema: The object written to, from ``schema.object(...)``.
        name: The suite's name (default ``twenty_migrate.<object>``).

    Returns:
        A ``great_expectations.ExpectationSuite``.

    Raises:
        MappingError: a column is not a writable field path of the object.

    Example:
        suite = tm.build_suite(mapped, people)
        suite.add_expectation(gx.expectations.ExpectColumnValuesToMatchRegex(
            column="emails.primaryEmail", regex=r"@(?!gmail\\.com$)"))
        report = tm.validate(mapped, people, suite=suite)
    """
    gx = _gx()
    _batch_definition()  # suites need an active context
    frame = _frame_of(mapped)
    paths = _resolve_paths([str(c) for c in frame.columns], object_schema)
    suite = gx.ExpectationSuite(
        name=name or f"twenty_migrate.{object_schema.name_plural}",
        meta={_SUITE_MARK: {"object": object_schema.name_plural, "paths": list(paths)}},
    )
    expect = gx.expectations
    for p in paths.values():
        what = "a record id" if p.is_join or p.path == "id" else _DESCRIBE.get(p.field.type, "")
        suite.add_expectation(
            expect.ExpectColumnValuesToBeNull(
                column=CHECK_PREFIX + p.path,
                description=f"Twenty accepts every {p.path} value ({what})",
                meta=_meta("check", p.path),
            )
        )
    for p in _required_paths(object_schema):
        suite.add_expectation(
            expect.ExpectColumnValuesToNotBeNull(
                column=p.path,
                description=f"{p.path} is required (not nullable, no default value)",
                meta=_meta("required", p.path),
            )
        )
    for p in paths.values():
        options = _options(p)
        if options is not None:
            suite.add_expectation(
                expect.ExpectColumnValuesToBeInSet(
                    column=p.path,
                    value_set=options,
                    description=f"{p.path} holds option values of {p.field.name}",
                    meta=_meta("options", p.path),
                )
            )
    for group in _unique_groups(object_schema, paths):
        label = ", ".join(group)
        description = f"{label} is unique within the file (Twenty keeps one record per value)"
        if len(group) == 1:
            expectation = expect.ExpectColumnValuesToBeUnique(
                column=KEY_PREFIX + group[0],
                description=description,
                meta=_meta("unique", group[0], group=list(group)),
            )
        else:
            expectation = expect.ExpectCompoundColumnsToBeUnique(
                column_list=[KEY_PREFIX + p for p in group],
                ignore_row_if="any_value_is_missing",
                description=description,
                meta=_meta("unique", group[0], group=list(group)),
            )
        suite.add_expectation(expectation)
    return suite


_GX_LOCK = threading.Lock()
_GX_STATE: dict[str, Any] = {}


def _batch_definition() -> Any:
    """The whole-dataframe batch definition of this process's ephemeral GX context.

    Made once: suites need an active context, and GX keeps the last one made current.
    """
    with _GX_LOCK:
        if "batch" not in _GX_STATE:
            gx = _gx()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from great_expectations.data_context.types.base import ProgressBarsConfig

                previous = _current_context()
                context = gx.get_context(mode="ephemeral")
                if previous is not None:  # leave the user's own GX context current
                    _set_context(previous)
                context.variables.progress_bars = ProgressBarsConfig(globally=False)
                source = context.data_sources.add_pandas("twenty_migrate")
                asset = source.add_dataframe_asset("rows")
                _GX_STATE["batch"] = asset.add_batch_definition_whole_dataframe("all rows")
        return _GX_STATE["batch"]


def _current_context() -> Any:
    """The GX context the user made current, if any."""
    try:
        from great_expectations.data_context.data_context.context_factory import project_manager

        return project_manager.get_current_project()
    except Exception:  # none yet (DataContextRequiredError), or another GX layout
        return None


def _set_context(context: Any) -> None:
    from great_expectations.data_context.data_context.context_factory import project_manager

    project_manager.set_project(context)


def _run_suite(frame: pd.DataFrame, suite: Any) -> Any:
    """Run ``suite`` on ``frame`` with GX."""
    definition = _batch_definition()
    with _GX_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GX's own deprecation noise is not the user's
        batch = definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format=RESULT_FORMAT)


def _suite_columns(suite: Any) -> list[str]:
    names: list[str] = []
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if isinstance(kwargs.get(key), str):
                names.append(kwargs[key])
        names.extend(str(c) for c in kwargs.get("column_list") or ())
    return list(dict.fromkeys(names))


def _gx_frame(prepared: _Prepared, suite: Any) -> pd.DataFrame:
    """``_row`` and the columns the suite reads (GX hashes whatever it is given)."""
    data = prepared.data
    required = {p.path for p in _required_paths(prepared.obj)}
    columns: dict[str, Any] = {_ROW: data[_ROW]}
    for name in _suite_columns(suite):
        if name.startswith(CHECK_PREFIX) and name[len(CHECK_PREFIX) :] in prepared.paths:
            columns[name] = _check_column(prepared, name[len(CHECK_PREFIX) :])
        elif name.startswith(KEY_PREFIX) and name[len(KEY_PREFIX) :] in prepared.keys:
            # Categorical: GX hashes the frame it is given, and codes hash fast.
            codes, uniques = pd.factorize(prepared.keys[name[len(KEY_PREFIX) :]])
            columns[name] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(uniques))
        elif name in prepared.paths and _options(prepared.paths[name]) is not None:
            columns[name] = _as_text(data[name])[0]  # non-text cells have their own check
        elif name in data.columns:
            columns[name] = data[name]
        elif name in required:
            columns[name] = np.full(len(data), None, dtype=object)
        else:
            raise ConfigError(
                f"the suite expects a column {name!r} that these rows do not have; build "
                "the suite for this frame with build_suite(mapped, object_schema)"
            )
    return pd.DataFrame(columns, index=pd.RangeIndex(len(data)))


# --------------------------------------------------------------------------- failures
def _exception(info: Any) -> str | None:
    """GX's exception message for an expectation that could not run, if any."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _part(
    positions: Any, column: str | None, rule: Any, value: Any, message: Any, severity: str
) -> pd.DataFrame:
    positions = np.asarray(positions, dtype=np.int64)
    count = len(positions)
    return pd.DataFrame(
        {
            "pos": positions,
            "column": np.full(count, column, dtype=object),
            "rule": rule if not isinstance(rule, str) else np.full(count, rule, dtype=object),
            "value": pd.array(list(value) if not isinstance(value, str) else [value] * count,
                              dtype=object),
            "message": message
            if not isinstance(message, str)
            else np.full(count, message, dtype=object),
            "severity": severity,
        }
    )  # fmt: skip


def _cells(prepared: _Prepared, column: str, positions: np.ndarray[Any, Any]) -> list[Any]:
    if column not in prepared.data.columns:
        return [None] * len(positions)
    values: list[Any] = prepared.data[column].iloc[positions].to_numpy(dtype=object).tolist()
    return values


def _from_results(prepared: _Prepared, result: Any) -> list[pd.DataFrame]:
    """One failure per unexpected row of each expectation."""
    parts: list[pd.DataFrame] = []
    for outcome in result.results:
        config = outcome.expectation_config
        problem = _exception(outcome.exception_info)
        column = config.kwargs.get("column") or ", ".join(config.kwargs.get("column_list") or [])
        if problem is not None:
            raise ConfigError(f"the expectation {config.type} on {column!r} cannot run: {problem}")
        found = outcome.result or {}
        positions = found.get("unexpected_index_list")
        if outcome.success and not found.get("unexpected_count"):
            continue
        mine = (config.meta or {}).get(_SUITE_MARK)
        if mine is None:
            parts.append(_user_failures(prepared, config, outcome.success, found, column))
            continue
        kind, path = mine["kind"], mine["column"]
        positions = np.asarray(positions or [], dtype=np.int64)
        if kind == "check":
            hits = prepared.hits[path].set_index("pos").loc[positions]
            parts.append(
                _part(
                    positions,
                    path,
                    hits["rule"].to_numpy(object),
                    _cells(prepared, path, positions),
                    hits["message"].to_numpy(object),
                    "error",
                )
            )
        elif kind == "required":
            message = f"Field {path} is not nullable and has no default value."
            parts.append(_part(positions, path, "required", [None] * len(positions), message,
                               "error"))  # fmt: skip
        elif kind == "options":
            values = _cells(prepared, path, positions)
            messages = [f'Invalid value {_js(v)} for field "{path}"' for v in values]
            parts.append(_part(positions, path, "not_in_options", values, messages, "error"))
        elif kind == "unique":
            parts.append(_duplicates(prepared, list(mine["group"]), positions))
    return parts


def _user_failures(
    prepared: _Prepared, config: Any, success: bool, found: dict[str, Any], column: str
) -> pd.DataFrame:
    """Failures of an expectation added to the suite by the user."""
    severity = "error" if str(getattr(config.severity, "value", "critical")) == "critical" else ""
    severity = "warning" if success or not severity else severity
    rule = str((config.meta or {}).get("rule") or config.type)
    settings = {k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id")}
    message = config.description or f"fails {config.type}({_js(settings)})"
    positions = found.get("unexpected_index_list")
    if positions is None:  # a table-level expectation: no row to name
        observed = found.get("observed_value")
        frame = _part([-1], column or None, rule, [observed], message, severity)
        return frame
    positions = np.asarray(positions, dtype=np.int64)
    values = found.get("unexpected_list") or _cells(prepared, column, positions)
    if len(values) != len(positions) or (values and isinstance(values[0], dict)):
        values = _cells(prepared, column.split(", ")[0], positions)
    return _part(positions, column or None, rule, values, message, severity)


def _duplicates(
    prepared: _Prepared, group: list[str], positions: np.ndarray[Any, Any]
) -> pd.DataFrame:
    """Rows sharing a unique key, each naming the other rows."""
    keys = pd.DataFrame({p: prepared.keys[p].iloc[positions].to_numpy(object) for p in group})
    rows = prepared.rows[positions]
    codes = keys.groupby(list(group), sort=False, dropna=False).ngroup().to_numpy()
    others: dict[int, list[Any]] = {}
    for code, row in zip(codes.tolist(), rows.tolist(), strict=True):
        others.setdefault(code, []).append(row)
    label = ", ".join(group)
    shown = keys.iloc[:, 0].to_numpy(object) if len(group) == 1 else keys.to_numpy(object).tolist()
    messages = []
    for code, key in zip(codes.tolist(), shown, strict=True):
        on = others[code]
        listed = ", ".join(map(str, on[:10])) + (", ..." if len(on) > 10 else "")
        messages.append(
            f"A duplicate entry was detected: {label} {_js(key)} is on {len(on)} rows of this "
            f"file (_row {listed}). Keep one: Twenty refuses the second record in one call "
            "and overwrites the first from a later call"
        )
    values = _cells(prepared, group[0], positions)
    return _part(positions, group[0], "duplicate_in_file", values, messages, "error")


# --------------------------------------------------------------------------- Twenty's records
def _selection(paths: Collection[str]) -> str:
    heads: dict[str, list[str]] = {}
    for path in paths:
        head, _, sub = path.partition(".")
        heads.setdefault(head, [])
        if sub:
            heads[head].append(sub)
    parts = [h if not subs else f"{h} {{ {' '.join(subs)} }}" for h, subs in heads.items()]
    return " ".join(["id", *(p for p in parts if p != "id")])


def _record_value(record: Mapping[str, Any], path: str) -> Any:
    head, _, sub = path.partition(".")
    value = record.get(head)
    return (value or {}).get(sub) if sub else value


def _look_up(
    client: Any, obj: ObjectSchema, group: tuple[str, ...], keys: list[Any]
) -> dict[Any, str]:
    """Records of ``obj`` holding these key values (soft-deleted ones too): key -> id."""
    head, _, sub = group[0].partition(".")
    firsts = list(dict.fromkeys(k[0] for k in keys))
    found: dict[Any, str] = {}
    for start in range(0, len(firsts), LOOKUP_BATCH):
        chunk = firsts[start : start + LOOKUP_BATCH]
        condition = {"in": chunk}
        where = {head: {sub: condition}} if sub else {head: condition}
        for record in client.iter_records(
            obj.name_plural, filter=where, fields=_selection(group), with_deleted=True
        ):
            key = tuple(_record_value(record, p) for p in group)
            found[key] = str(record["id"])
    return found


def _given(spec: Any, group: tuple[str, ...], keyer: Callable[[Any], Any]) -> dict[Any, Any]:
    """A user's existing values (a collection, or a mapping value -> record id) as keys."""
    items = spec.items() if isinstance(spec, Mapping) else ((v, None) for v in spec)
    out: dict[Any, Any] = {}
    for value, record_id in items:
        key = tuple(value) if len(group) > 1 and isinstance(value, list | tuple) else (value,)
        out[tuple(keyer(k) for k in key)] = record_id
    return out


def _keyer(prepared: _Prepared, path: str) -> Callable[[Any], Any]:
    p = prepared.paths.get(path)
    if p is not None and p.field.type == "EMAILS":

        def email(value: Any) -> Any:
            try:
                return _twenty_email(str(value))
            except ValueError:
                return value

        return email
    if p is not None and p.field.type == "LINKS":
        return lambda value: _link_keys(pd.Series([value], dtype=object)).iloc[0]
    if path == "id":
        return lambda value: str(value).lower()
    return lambda value: value


def _existing_failures(prepared: _Prepared, existing: Any, upsert: bool) -> list[pd.DataFrame]:
    """Rows whose unique keys Twenty already holds, and join ids Twenty does not hold."""
    client = existing if hasattr(existing, "iter_records") else None
    given: Mapping[Any, Any] = existing if isinstance(existing, Mapping) else {}
    obj, n = prepared.obj, len(prepared.data)
    matched: list[list[tuple[tuple[str, ...], str | None]]] = [[] for _ in range(n)]
    for group in prepared.groups:
        keys = pd.DataFrame({p: prepared.keys[p].to_numpy(object) for p in group})
        present = keys.notna().all(axis=1).to_numpy(dtype=bool)
        if not present.any():
            continue
        tuples = list(keys[present].itertuples(index=False, name=None))
        if client is not None:
            found = _look_up(client, obj, group, list(dict.fromkeys(tuples)))
        else:
            spec = given.get(", ".join(group), given.get(group if len(group) > 1 else group[0]))
            if spec is None:
                continue
            found = _given(spec, group, _keyer(prepared, group[0]))
        for position, key in zip(np.flatnonzero(present).tolist(), tuples, strict=True):
            if key in found:
                matched[position].append((group, found[key]))
    return [_matches(prepared, matched, upsert), *_missing_targets(prepared, client, given)]


def _matches(
    prepared: _Prepared,
    matched: list[list[tuple[tuple[str, ...], str | None]]],
    upsert: bool,
) -> pd.DataFrame:
    """exists_in_twenty (update on upsert, refusal on create) and upsert conflicts."""
    singular = prepared.obj.name_singular
    positions: list[int] = []
    columns: list[str] = []
    rules: list[str] = []
    messages: list[str] = []
    severities: list[str] = []
    for position, found in enumerate(matched):
        if not found:
            continue
        ids = sorted({record_id for _, record_id in found if record_id is not None})
        names = ", ".join(dict.fromkeys(group[0].split(".")[0] for group, _ in found))
        which = f" {', '.join(ids)}" if ids else ""
        if len(ids) > 1 and upsert:
            rule, severity = "upsert_conflict", "error"
            message = (
                f"Multiple records found with the same unique field values for {names}. "
                "Cannot determine which record to update."
            )
        elif upsert:
            rule, severity = "exists_in_twenty", "warning"
            message = (
                f"{names}: the {singular} record{which} in Twenty has this value; "
                "the import updates it"
            )
        else:
            rule, severity = "exists_in_twenty", "error"
            message = (
                f"A duplicate entry was detected: the {singular} record{which} in Twenty has "
                f"this {names}; import with upsert to update it, or drop the row"
            )
        positions.append(position)
        columns.append(found[0][0][0])
        rules.append(rule)
        messages.append(message)
        severities.append(severity)
    where = np.array(positions, dtype=np.int64)
    values = [prepared.data[c].iat[p] for c, p in zip(columns, positions, strict=True)]
    frame = _part(where, None, np.array(rules, dtype=object), values,
                  np.array(messages, dtype=object), "")  # fmt: skip
    frame["column"] = np.array(columns, dtype=object)
    frame["severity"] = np.array(severities, dtype=object)
    return frame


def _missing_targets(
    prepared: _Prepared, client: Any, given: Mapping[Any, Any]
) -> list[pd.DataFrame]:
    """Join ids that point to no record of the target object."""
    parts: list[pd.DataFrame] = []
    relations = prepared.obj.relations
    for path, p in prepared.paths.items():
        if not p.is_join or (client is None and path not in given):
            continue
        target = relations.get(path)
        if target is None:
            continue
        cells = prepared.data[path].to_numpy(dtype=object)
        ids = np.full(len(cells), None, dtype=object)
        for position, cell in enumerate(cells.tolist()):
            if isinstance(cell, str):
                text = cell[len(_EXISTING_PREFIX) :] if cell.startswith(_EXISTING_PREFIX) else cell
                if (path not in prepared.refs or cell.startswith(_EXISTING_PREFIX)) and (
                    _UUID_RE.fullmatch(text)
                ):
                    ids[position] = text
        wanted = [i for i in dict.fromkeys(ids.tolist()) if i is not None]
        if not wanted:
            continue
        if client is not None:
            known = {str(r["id"]) for r in client.find_by_ids(target, wanted, fields="id")}
        else:
            known = {str(i) for i in given[path]}
        missing = np.array([i is not None and i not in known for i in ids.tolist()], dtype=bool)
        positions = np.flatnonzero(missing)
        messages = [
            f'Invalid value {_js(ids[i])} for field "{path}": no {target} record with this id '
            "exists."
            for i in positions.tolist()
        ]
        values = _cells(prepared, path, positions)
        parts.append(_part(positions, path, "relation_target_missing", values, messages, "error"))
    return parts


# --------------------------------------------------------------------------- folding in
def _positions(prepared: _Prepared, rows: pd.Series[Any]) -> np.ndarray[Any, Any]:
    index = pd.Index(prepared.data[_ROW])
    positions: np.ndarray[Any, Any] = index.get_indexer(rows)
    return positions


def _problem_failures(prepared: _Prepared, problems: pd.DataFrame | None) -> list[pd.DataFrame]:
    """Values the field map could not convert (errors) and its warnings."""
    if problems is None or problems.empty:
        return []
    positions = _positions(prepared, problems[_ROW])
    messages = [
        f"{m} (source column {c!r})"
        for m, c in zip(problems["message"], problems["column"], strict=True)
    ]
    frame = _part(positions, None, problems["rule"].to_numpy(object), problems["value"], messages,
                  "")  # fmt: skip
    frame["column"] = problems["field"].to_numpy(object)
    frame["severity"] = problems["severity"].to_numpy(object)
    return [frame[positions >= 0]]


def _relation_failures(prepared: _Prepared, relations: Any) -> list[pd.DataFrame]:
    """Natural keys the relation resolver found no record for, or several."""
    problems = getattr(relations, "problems", relations)
    if problems is None or len(problems) == 0:
        return []
    obj = prepared.obj
    mine = problems[problems["object"].isin([obj.name_plural, obj.name_singular])]
    if mine.empty:
        return []
    positions = _positions(prepared, mine[_ROW])
    rules = np.where(mine["status"] == "ambiguous", "ambiguous_relation", "unresolved_relation")
    messages = [
        f"{m} (candidates: {c})" if isinstance(c, str) and c else str(m)
        for m, c in zip(mine["message"], mine["candidates"], strict=True)
    ]
    frame = _part(positions, None, rules.astype(object), mine["key"], messages, "error")
    frame["column"] = mine["column"].to_numpy(object)
    return [frame[positions >= 0]]


def _assemble(prepared: _Prepared, parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    marked = frame["message"].astype(str).str.contains(_COMPOSITE_MARK, regex=False)
    positions = frame["pos"].to_numpy(dtype=np.int64)
    for index in np.flatnonzero(marked.to_numpy(dtype=bool)).tolist():
        name = str(frame.at[index, "column"]).split(".")[0]
        whole = _js(_composite_value(prepared.data, name, int(positions[index])))
        frame.at[index, "message"] = str(frame.at[index, "message"]).replace(_COMPOSITE_MARK, whole)
    order = {c: i for i, c in enumerate(prepared.data.columns)}
    frame["_order"] = frame["column"].map(lambda c: order.get(c, len(order)))
    frame["_pos"] = frame["pos"].where(frame["pos"] >= 0, len(prepared.data))
    frame = frame.sort_values(["_pos", "_order"], kind="stable").reset_index(drop=True)
    rows = prepared.rows
    positions = frame["pos"].to_numpy(dtype=np.int64)
    named = [rows[p] if p >= 0 else None for p in positions.tolist()]
    frame[_ROW] = pd.Series(named, dtype=object if None in named else prepared.data[_ROW].dtype)
    return frame[FAILURE_COLUMNS]


# --------------------------------------------------------------------------- the report
_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.error{background:#fbd5d5} td.warning{background:#fdf3c7}
.ok{color:#17703a} .bad{color:#b42318}
"""


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """What :func:`validate` found: every failing cell, and the rows split by them.

    Attributes:
        data: The rows validated (as given, with ``_row``).
        failures: One row per failing cell: ``_row, column, rule, value, message,
            severity``; ``_row`` is empty for a failure of the whole table.
        suite: The great_expectations suite that ran.
        object_name: The Twenty object (``"people"``).
        gx_result: GX's ``ExpectationSuiteValidationResult``.
    """

    data: pd.DataFrame
    failures: pd.DataFrame
    suite: Any
    object_name: str
    gx_result: Any = None

    @property
    def errors(self) -> pd.DataFrame:
        """The failures of severity ``error``."""
        return self.failures[self.failures["severity"] == "error"]

    @property
    def ok(self) -> bool:
        """Whether no failure is an error (Twenty refuses none of the rows)."""
        return self.errors.empty

    @property
    def _bad_rows(self) -> pd.Series[Any]:
        return self.data[_ROW].isin(self.errors[_ROW].dropna().unique())

    @property
    def valid(self) -> pd.DataFrame:
        """The rows without errors (warnings allowed): the ones to import."""
        return self.data[~self._bad_rows.to_numpy(dtype=bool)]

    @property
    def invalid(self) -> pd.DataFrame:
        """The rows with at least one error: the ones to fix."""
        return self.data[self._bad_rows.to_numpy(dtype=bool)]

    def summary(self) -> pd.DataFrame:
        """Failures per column and rule: rows, severity, an example value and message."""
        columns = ["column", "rule", "severity", "rows", "example", "message"]
        if self.failures.empty:
            return pd.DataFrame(columns=columns)
        frame = self.failures.assign(column=self.failures["column"].fillna("(table)"))
        grouped = frame.groupby(["column", "rule", "severity"], sort=False, dropna=False)
        summary = grouped.agg(
            rows=(_ROW, "size"), example=("value", "first"), message=("message", "first")
        ).reset_index()
        summary["_error"] = summary["severity"] != "error"
        summary = summary.sort_values(["_error", "rows"], ascending=[True, False], kind="stable")
        return summary[columns].reset_index(drop=True)

    def _counts(self) -> tuple[int, int, int]:
        errors = int((self.failures["severity"] == "error").sum())
        return errors, len(self.failures) - errors, int(self._bad_rows.sum())

    def __repr__(self) -> str:
        errors, warnings_, bad = self._counts()
        return (
            f"ValidationReport({self.object_name}: {len(self.data)} rows, {bad} invalid; "
            f"{errors} errors, {warnings_} warnings)"
        )

    def describe(self) -> str:
        """A readable summary: counts, then one line per column and rule."""
        lines = [repr(self)]
        for row in self.summary().itertuples(index=False):
            lines.append(
                f"  {row.severity:<7} {row.column} {row.rule}: {row.rows} rows, "
                f"e.g. {_js(_plain(row.example))}: {row.message}"
            )
        return "\n".join(lines)

    def raise_for_failures(self) -> ValidationReport:
        """Raise :class:`ValidationFailed` when any row has an error; else return the report."""
        if self.ok:
            return self
        _, _, bad = self._counts()
        raise ValidationFailed(
            f"{bad} of {len(self.data)} {self.object_name} rows fail validation; import "
            f"report.valid or fix report.invalid.\n{self.describe()}",
            report=self,
        )

    # ------------------------------------------------------------------ HTML
    def _cells_html(self, limit: int) -> str:
        """The failing rows, failing cells highlighted, their messages as tooltips."""
        if self.failures.empty:
            return ""
        shown = self.failures[self.failures[_ROW].notna()]
        rows = list(dict.fromkeys(shown[_ROW].tolist()))[:limit]
        shown = shown[shown[_ROW].isin(rows)]
        columns = [c for c in self.data.columns if c in set(shown["column"])]
        data = self.data[self.data[_ROW].isin(rows)].set_index(_ROW)
        marks: dict[tuple[Any, str], tuple[str, str]] = {}
        for row, column, severity, message in zip(
            shown[_ROW], shown["column"], shown["severity"], shown["message"], strict=True
        ):
            level, text = marks.get((row, str(column)), ("warning", ""))
            level = "error" if "error" in (level, severity) else "warning"
            marks[row, str(column)] = (level, (text + "\n" if text else "") + str(message))
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [_ROW, *columns])
        body = []
        for row in rows:
            cells = [f"<td>{html.escape(str(row))}</td>"]
            for column in columns:
                value = data.at[row, column] if row in data.index else None
                level, text = marks.get((row, column), ("", ""))
                attrs = f' class="{level}" title="{html.escape(text)}"' if level else ""
                cells.append(f"<td{attrs}>{html.escape(_text(value))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table><tr>{head}</tr>{''.join(body)}</table>"

    def _repr_html_(self) -> str:
        errors, _, _ = self._counts()
        status = '<b class="ok">ok</b>' if self.ok else f'<b class="bad">{errors} errors</b>'
        summary = self.summary().to_html(index=False, escape=True)
        cells = self._cells_html(20)
        more = "<p>Failing rows (hover a cell for Twenty's message):</p>" + cells if cells else ""
        return f"<p>{html.escape(repr(self))} {status}</p>{summary}{more}"

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write a self-contained HTML report (summary, failing cells, failures, the suite).

        GX's Data Docs pages load their styles and scripts from CDNs; this file works
        offline and is safe to send (every value is escaped).
        """
        target = Path(path)
        failures = self.failures.head(HTML_MAX_ROWS)
        note = (
            f"<p>The first {HTML_MAX_ROWS} of {len(self.failures)} failures; "
            "report.failures has them all.</p>"
            if len(self.failures) > HTML_MAX_ROWS
            else ""
        )
        expectations = []
        for outcome in getattr(self.gx_result, "results", []) or []:
            config = outcome.expectation_config
            found = outcome.result or {}
            expectations.append(
                {
                    "expectation": config.type,
                    "column": config.kwargs.get("column")
                    or ", ".join(config.kwargs.get("column_list") or []),
                    "description": config.description or "",
                    "success": bool(outcome.success),
                    "unexpected": found.get("unexpected_count", ""),
                }
            )
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(repr(self))}</title><style>{_STYLE}</style></head><body>",
            f"<h1>Validation of {html.escape(self.object_name)}</h1>",
            f"<p>{html.escape(repr(self))}</p><h2>Summary</h2>",
            self.summary().to_html(index=False, escape=True),
            "<h2>Failing rows</h2>",
            self._cells_html(200) or "<p>None.</p>",
            "<h2>Failures</h2>",
            note,
            failures.to_html(index=False, escape=True, na_rep=""),
            f"<h2>Suite {html.escape(str(getattr(self.suite, 'name', '')))}</h2>",
            pd.DataFrame(expectations).to_html(index=False, escape=True),
            "</body></html>",
        ]
        target.write_text("".join(parts), encoding="utf-8")
        return target


def _plain(value: Any) -> Any:
    sent = _sent(value)
    return None if sent is MISSING or sent is _UNSENDABLE else sent


def _text(value: Any) -> str:
    sent = _plain(value)
    if sent is None:
        return ""
    return sent if isinstance(sent, str) else json.dumps(sent, ensure_ascii=False)


# --------------------------------------------------------------------------- validate
def validate(
    mapped: MappedFrame | pd.DataFrame,
    object_schema: ObjectSchema,
    *,
    suite: Any = None,
    existing: Any = None,
    relations: Any = None,
    refs: Mapping[str, str] | Collection[str] | None = None,
    upsert: bool = True,
) -> ValidationReport:
    """Check rows against everything Twenty checks on write, before any call.

    Args:
        mapped: A MappedFrame (from ``FieldMap.apply``; its conversion problems are
            included) or a DataFrame of ``_row`` + field paths (``_ref.*`` columns are
            ignored: resolve them before planning).
        object_schema: The object written to, from ``schema.object(...)``.
        suite: A suite from :func:`build_suite`, with your own expectations added; a suite
            of only your own expectations runs together with Twenty's checks.
        existing: Records already in Twenty, to report rows whose unique keys they hold:
            a client (looked up 60 values per call, soft-deleted records included; one
            call per 60 distinct values, so for a large file pass the values of an export
            instead) or a mapping ``{"emails.primaryEmail": {values}}`` (or ``{value:
            record id}``, which also finds upsert conflicts). A join column in the mapping
            (``{"companyId": {ids}}``) lists the target ids that exist; with a client, join
            ids are looked up too.
        relations: The relation resolver's problems (or its ``ResolvedRelations``), folded
            in as ``unresolved_relation`` / ``ambiguous_relation`` errors.
        refs: Join columns that hold ``_row`` ids of an earlier step (the plan's ``refs``);
            taken from ``relations`` when it is a ``ResolvedRelations``.
        upsert: Whether the import upserts (the default): a row matching an existing record
            updates it (warning ``exists_in_twenty``); with False it is refused (error).

    Returns:
        A :class:`ValidationReport`.

    Raises:
        MappingError: a column is not a writable field path, or ``_row`` is missing or
            repeated.
        ConfigError: the suite reads a column the rows do not have, or cannot run.

    Example:
        report = tm.validate(mapped, schema.object("people"), existing=client)
        report.summary()
        plan = tm.build_plan(report.valid, "people", key="emails.primaryEmail")
    """
    original = _frame_of(mapped)
    data = original.reset_index(drop=True)
    if refs is None and relations is not None and hasattr(relations, "refs"):
        refs = relations.refs.get(object_schema.name_plural) or {}
    prepared = _prepare(data, object_schema, list(refs or ()))
    own = build_suite(data, object_schema)
    if suite is None:
        suite = own
    elif _SUITE_MARK not in (suite.meta or {}):
        for expectation in suite.expectations:
            copy = expectation.copy(deep=True)
            copy.id = None
            own.add_expectation(copy)
        suite = own
    result = _run_suite(_gx_frame(prepared, suite), suite)
    parts = _from_results(prepared, result)
    if not isinstance(mapped, pd.DataFrame):
        parts.extend(_problem_failures(prepared, getattr(mapped, "problems", None)))
    if relations is not None:
        parts.extend(_relation_failures(prepared, relations))
    if existing is not None:
        parts.extend(_existing_failures(prepared, existing, upsert))
    failures = _assemble(prepared, parts)
    return ValidationReport(original, failures, suite, object_schema.name_plural, result)
