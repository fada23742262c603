"""Column converters used by :meth:`twenty_migrate.mapping.field_map.FieldMap.apply`.

Each converter turns one source column into the values of one Twenty field type, a whole
column at a time: text work is vectorised and everything else is computed once per
distinct value and spread back, so a million rows with repeating values cost little. Values
that cannot be converted become empty cells and are reported, never dropped silently.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.values.dates import parse_dates
from twenty_migrate.values.parsing import (
    canonical_link,
    currency_code,
    is_valid_link,
    option_key,
    parse_bool,
    parse_money,
    parse_number,
    split_list,
    words,
)
from twenty_migrate.values.phones import country_code

__all__ = ["ACTOR_SOURCES", "PROBLEM_COLUMNS", "Context", "OptionMatcher", "Problems"]

PROBLEM_COLUMNS = ["_row", "column", "field", "rule", "value", "message", "severity"]
#: ``createdBy.source`` values (twenty-api.md §4.2, newest list).
ACTOR_SOURCES = words("EMAIL CALENDAR WORKFLOW AGENT API IMPORT MANUAL SYSTEM WEBHOOK APPLICATION")
_HTML_RE = re.compile(r"<(?:br|p|div|/p|/div|b|strong|i|em|ul|li)\b[^>]*>|&(?:amp|lt|gt|nbsp);")


@dataclass
class Problems:
    """Collects the values a conversion could not handle, one row per cell."""

    rows: np.ndarray[Any, Any]
    parts: list[pd.DataFrame] = field(default_factory=list)

    def add(
        self,
        mask: np.ndarray[Any, Any],
        column: str,
        field_path: str,
        rule: str,
        values: np.ndarray[Any, Any] | pd.Series[Any],
        messages: np.ndarray[Any, Any] | str,
        severity: str = "error",
    ) -> None:
        """Report the cells where ``mask`` is true."""
        if not mask.any():
            return
        raw = np.asarray(values, dtype=object)
        text = messages if isinstance(messages, str) else np.asarray(messages, dtype=object)[mask]
        self.parts.append(
            pd.DataFrame(
                {
                    "_row": self.rows[mask],
                    "column": column,
                    "field": field_path,
                    "rule": rule,
                    "value": pd.array(list(raw[mask]), dtype=object),
                    "message": text,
                    "severity": severity,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        """Every problem, in the order found."""
        if not self.parts:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in PROBLEM_COLUMNS})
        return pd.concat(self.parts, ignore_index=True)[PROBLEM_COLUMNS]


@dataclass
class Context:
    """What every converter needs: the source frame, settings, and where to report."""

    df: pd.DataFrame
    problems: Problems
    default_region: str = "US"
    date_format: str | None = None
    currency: str = "USD"
    notes: list[str] = field(default_factory=list)
    #: Source columns mapped to an address's ``addressCountry`` (a hint for phone regions).
    address_countries: tuple[str, ...] = ()


# --------------------------------------------------------------------------- helpers
def present(series: pd.Series[Any]) -> np.ndarray[Any, Any]:
    """Cells holding a value: not null and not blank text."""
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        return (series.notna() & (series.str.strip() != "")).to_numpy(dtype=bool)
    values = series.to_numpy(dtype=object)
    return np.fromiter((not _empty(v) for v in values), dtype=bool, count=len(values))


def extract(series: pd.Series[Any], pattern: str) -> pd.DataFrame:
    """Named groups of ``pattern`` per cell (empty where it does not match).

    Uses pyarrow's RE2 engine on arrow-backed text, ten times faster than pandas' loop;
    the pattern must be valid in both engines.
    """
    names = list(re.compile(pattern).groupindex)
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        try:
            import pyarrow as pa
            import pyarrow.compute as pc

            found = pc.extract_regex(pa.array(series), pattern)
            columns = {
                name: pd.Series(
                    pc.struct_field(found, name).to_numpy(zero_copy_only=False),
                    index=series.index,
                    dtype="str",
                )
                for name in names
            }
            return pd.DataFrame(columns, index=series.index)
        except (ImportError, TypeError, ValueError, NotImplementedError):
            pass
    extracted: pd.DataFrame = series.astype("str").str.extract(pattern)
    return extracted


def objects(items: Iterable[Any], count: int) -> np.ndarray[Any, Any]:
    """A 1-D object array of ``items`` (lists and tuples stay single cells)."""
    return np.fromiter(items, dtype=object, count=count)


def _empty(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return value != value
    return isinstance(value, str) and not value.strip()


def per_unique(
    series: pd.Series[Any], func: Callable[[Any], Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``func`` applied once per distinct present value: (results, error messages, mask).

    ``func`` raises ``ValueError`` for a value it cannot convert; its message is kept.
    """
    mask = present(series)
    results = np.full(len(series), None, dtype=object)
    errors = np.full(len(series), None, dtype=object)
    if mask.any():
        values = series.to_numpy(dtype=object)[mask]
        codes, uniques = pd.factorize(values)
        out = np.empty(len(uniques), dtype=object)
        err = np.full(len(uniques), None, dtype=object)
        for index, value in enumerate(uniques):
            try:
                out[index] = func(value.strip() if isinstance(value, str) else value)
            except ValueError as exc:
                out[index] = None
                err[index] = str(exc)
        results[mask] = out[codes]
        errors[mask] = err[codes]
    return results, errors, mask


def to_series(
    values: np.ndarray[Any, Any], index: pd.Index[Any], dtype: Any = object
) -> pd.Series[Any]:
    """A result column aligned with the source rows."""
    series: pd.Series[Any] = pd.Series(values, index=index, dtype=dtype)
    return series


def text_value(value: Any) -> str:
    """A cell as text: spreadsheet numbers lose a ``.0``, timestamps become ISO."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- scalars
def text(ctx: Context, source: str) -> pd.Series[Any]:
    """TEXT: trimmed; blank becomes empty; numbers from spreadsheets lose a ``.0``."""
    series = ctx.df[source]
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        stripped = series.str.strip()
        return stripped.where(stripped != "", None)
    results, _, _ = per_unique(series, text_value)
    return to_series(results, series.index, "str")


def markdown(ctx: Context, source: str) -> pd.Series[Any]:
    """RICH_TEXT_V2 markdown: line breaks kept, simple HTML turned into text and line breaks."""

    def convert(value: Any) -> str:
        body = text_value(value).replace("\r\n", "\n").replace("\r", "\n")
        if _HTML_RE.search(body):
            body = re.sub(r"<br\s*/?>|</p>|</div>", "\n", body, flags=re.I)
            body = re.sub(r"<li\b[^>]*>", "\n- ", body, flags=re.I)
            body = re.sub(r"</?(?:b|strong)>", "**", body, flags=re.I)
            body = re.sub(r"</?(?:i|em)>", "_", body, flags=re.I)
            body = html.unescape(re.sub(r"<[^>]+>", "", body))
        return body.strip()

    return to_series(per_unique(ctx.df[source], convert)[0], ctx.df.index)


def report_errors(
    ctx: Context, source: str, path: str, rule: str, errors: np.ndarray[Any, Any]
) -> None:
    """Report the cells that carry an error message."""
    mask = np.fromiter((e is not None for e in errors), dtype=bool, count=len(errors))
    ctx.problems.add(mask, source, path, rule, ctx.df[source].to_numpy(dtype=object), errors)


_APPROX_RE = re.compile(
    r"^(?:~|≈|ca\.?|circa|approx\.?|approximately|about|around|>=?|<=?)\s*(.+?)$|^(.+?)\s*\+$",
    re.I,
)
_RANGE_RE = re.compile(r"^\d[\d.,]*\s*(?:-|–|to)\s*\d[\d.,]*$", re.I)


def number(ctx: Context, source: str, path: str, spec: Mapping[str, Any]) -> pd.Series[Any]:
    """NUMBER / NUMERIC / POSITION: ``"1,200"``, ``"12k"``, ``"1.200,5"`` (``decimal=","``).

    Approximations (``"~1,200"``, ``"approx. 50"``, ``"16+"``) keep their number and are
    reported as warnings; ranges (``"50-200"``) are reported as errors.
    """
    decimal = spec.get("decimal")

    def convert(value: Any) -> tuple[int | float, bool]:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        if isinstance(value, int | float | np.integer | np.floating):
            if not np.isfinite(value):
                raise ValueError(f"{value!r} is not a finite number")
            return _plain(Decimal(str(value))), False
        text = str(value)
        if _RANGE_RE.match(text):
            raise ValueError(f"{text!r} is a range; choose one number")
        approx = _APPROX_RE.match(text)
        if approx:
            text = approx.group(1) or approx.group(2)
        return _plain(parse_number(text, decimal=decimal)), approx is not None

    pairs, errors, _ = per_unique(ctx.df[source], convert)
    report_errors(ctx, source, path, "invalid_number", errors)
    approximate = np.fromiter((bool(p and p[1]) for p in pairs), dtype=bool, count=len(pairs))
    ctx.problems.add(
        approximate, source, path, "approximate_number", ctx.df[source].to_numpy(dtype=object),
        "an approximate number; its number was kept", "warning",
    )  # fmt: skip
    return to_series(np.array([p[0] if p else None for p in pairs], dtype=object), ctx.df.index)


def _plain(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def boolean(ctx: Context, source: str, path: str, spec: Mapping[str, Any]) -> pd.Series[Any]:
    """BOOLEAN: yes/no, true/false, 1/0, y/n, x; extra words via ``{"true": [...]}``."""
    extra_true = {str(word).casefold() for word in spec.get("true", ())}
    extra_false = {str(word).casefold() for word in spec.get("false", ())}

    def convert(value: Any) -> bool:
        folded = str(value).strip().casefold()
        if folded in extra_true:
            return True
        if folded in extra_false:
            return False
        return parse_bool(value)

    results, errors, _ = per_unique(ctx.df[source], convert)
    report_errors(ctx, source, path, "invalid_boolean", errors)
    return to_series(results, ctx.df.index, "boolean")


def dates(
    ctx: Context, source: str, path: str, kind: str, spec: Mapping[str, Any]
) -> pd.Series[Any]:
    """DATE (``YYYY-MM-DD``) and DATE_TIME (UTC ``YYYY-MM-DDTHH:mm:ssZ``)."""
    series = ctx.df[source]
    mask = present(series)
    values = np.full(len(series), None, dtype=object)
    if not mask.any():
        return to_series(values, series.index)
    raw = series.to_numpy(dtype=object)[mask]
    raw = np.array([v.strip() if isinstance(v, str) else v for v in raw], dtype=object)
    codes, uniques = pd.factorize(raw)
    parsed = parse_dates(
        list(uniques),
        kind="DATE_TIME" if kind == "DATE_TIME" else "DATE",
        date_format=spec.get("format", ctx.date_format),
        dayfirst=spec.get("dayfirst"),
        default_region=ctx.default_region,
        timezone=spec.get("timezone"),
    )
    ctx.notes.extend(f"{path} ({source}): {note}" for note in parsed.notes)
    values[mask] = np.array(parsed.values, dtype=object)[codes]
    errors = np.full(len(series), None, dtype=object)
    errors[mask] = np.array(parsed.errors, dtype=object)[codes]
    warnings = np.full(len(series), None, dtype=object)
    warnings[mask] = np.array(parsed.warnings, dtype=object)[codes]
    report_errors(ctx, source, path, "invalid_date", errors)
    has_warning = np.fromiter((w is not None for w in warnings), dtype=bool, count=len(warnings))
    ctx.problems.add(
        has_warning, source, path, "ambiguous_date", series.to_numpy(dtype=object), warnings,
        "warning",
    )  # fmt: skip
    return to_series(values, series.index)


def uuids(ctx: Context, source: str, path: str) -> pd.Series[Any]:
    """UUID and relation join columns (``companyId``): must be UUIDs."""

    def convert(value: Any) -> str:
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise ValueError(f"{value!r} is not a UUID") from None

    results, errors, _ = per_unique(ctx.df[source], convert)
    report_errors(ctx, source, path, "invalid_uuid", errors)
    return to_series(results, ctx.df.index)


def raw_json(ctx: Context, source: str, path: str) -> pd.Series[Any]:
    """RAW_JSON: a JSON object or list written as text."""

    def convert(value: Any) -> Any:
        try:
            loaded = json.loads(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not JSON") from None
        if not isinstance(loaded, dict | list):
            raise ValueError(f"{value!r} is not a JSON object or list")
        return loaded

    results, errors, _ = per_unique(ctx.df[source], convert)
    report_errors(ctx, source, path, "invalid_json", errors)
    return to_series(results, ctx.df.index)


def array(ctx: Context, source: str, path: str, spec: Mapping[str, Any]) -> pd.Series[Any]:
    """ARRAY: a JSON list or ``;``/``|``/``,``-separated text -> list of strings."""
    separator = spec.get("separator")
    results, _, _ = per_unique(ctx.df[source], lambda v: split_list(v, separator) or None)
    return to_series(results, ctx.df.index)


# --------------------------------------------------------------------------- selects
class OptionMatcher:
    """Finds the option value for a label; case, spacing, accents and punctuation forgiven.

    Explicit ``labels`` (label -> option value, or None for "leave empty") are checked first.
    """

    def __init__(
        self, field_path: str, options: list[str], option_labels: Mapping[str, str],
        labels: Mapping[str, str | None] | None = None,
    ) -> None:  # fmt: skip
        self.field_path = field_path
        self.options = options
        self.lookup: dict[str, str | None] = {}
        for value, label in option_labels.items():
            self.lookup.setdefault(option_key(label), value)
        for value in options:
            self.lookup[option_key(value)] = value
        self.explicit = {option_key(k): v for k, v in (labels or {}).items()}
        unknown = sorted({v for v in self.explicit.values() if v is not None} - set(options))
        if unknown:
            raise MappingError(
                f"transforms[{field_path!r}] maps labels to {unknown}, which are not options "
                f"of {field_path}; its options are {options}"
            )

    def __call__(self, label: Any) -> str | None:
        key = option_key(text_value(label))
        if key in self.explicit:
            return self.explicit[key]
        if key in self.lookup:
            return self.lookup[key]
        rating = re.fullmatch(r"(\d)(?:\.0)?(?:/5)?|([★*]{1,5})", str(label).strip())
        if rating and f"RATING_{rating.group(1) or len(rating.group(2))}" in self.options:
            return f"RATING_{rating.group(1) or len(rating.group(2))}"
        raise ValueError(
            f"{label!r} is not an option of {self.field_path} ({', '.join(self.options)}); "
            f"map it in transforms[{self.field_path!r}] = {{{str(label).strip()!r}: ...}}"
        )


def select(ctx: Context, source: str, path: str, matcher: OptionMatcher) -> pd.Series[Any]:
    """SELECT / RATING: labels -> option values; unknown labels reported."""
    results, errors, _ = per_unique(ctx.df[source], matcher)
    report_errors(ctx, source, path, "unknown_option", errors)
    return to_series(results, ctx.df.index)


def multi_select(
    ctx: Context, source: str, path: str, matcher: OptionMatcher, separator: str | None
) -> pd.Series[Any]:
    """MULTI_SELECT: each item of a list cell -> option value; unknown items reported."""

    def convert(value: Any) -> tuple[list[str] | None, str | None]:
        chosen: list[str] = []
        bad: list[str] = []
        for item in split_list(value, separator):
            try:
                option = matcher(item)
            except ValueError:
                bad.append(item)
                continue
            if option is not None and option not in chosen:
                chosen.append(option)
        message = None
        if bad:
            message = (
                f"{bad} are not options of {path} ({', '.join(matcher.options)}); the other "
                f"items are kept; map them in transforms[{path!r}]"
            )
        return chosen or None, message

    pairs, _, mask = per_unique(ctx.df[source], convert)
    values = objects((p[0] if p else None for p in pairs), len(pairs))
    errors = objects((p[1] if p else None for p in pairs), len(pairs))
    report_errors(ctx, source, path, "unknown_option", errors)
    return to_series(values, ctx.df.index)


# --------------------------------------------------------------------------- composites
def phone_regions(
    ctx: Context, spec: Mapping[str, Any], country_source: str | None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The region each row's numbers without ``+`` are read in, and where it came from.

    A column is taken only when it is clearly the phone's country: the ``region_column``
    transform, else the column mapped to ``primaryPhoneCountryCode`` (Twenty reads the
    number in that country: transform-phones-value.util.ts). Then the ``region``
    transform; then the record's address country when exactly one address country is
    mapped (a company's or person's numbers are mostly local); else the default region.
    A row whose column names no country Twenty knows takes the next hint.
    """
    default = str(spec.get("region") or ctx.default_region).upper()
    fallback = "the region transform" if spec.get("region") else "the default region"
    column = spec.get("region_column") or country_source
    if column is None and not spec.get("region") and len(ctx.address_countries) == 1:
        column = ctx.address_countries[0]
    n = len(ctx.df)
    regions = np.full(n, default, dtype=object)
    origins = np.full(n, f"{default}, {fallback}", dtype=object)
    if column is None:
        return regions, origins
    if column not in ctx.df.columns:
        raise MappingError(f"region_column {column!r} is not a column of the DataFrame")
    codes, _, _ = per_unique(ctx.df[column], lambda v: country_code(text_value(v)))
    found = np.array([c is not None for c in codes], dtype=bool)
    regions[found] = codes[found]
    origins[found] = [f"{c}, from column {column!r}" for c in codes[found]]
    return regions, origins


def links_cell(value: Any, scheme: str | None, handle_prefix: str | None) -> str:
    """One canonical link; raises ValueError when it has no plausible host."""
    raw = text_value(value).strip()
    if handle_prefix and not re.search(r"[./\s@]", raw):
        raw = handle_prefix + raw
    link = canonical_link(raw, scheme=scheme)
    if not is_valid_link(link):
        raise ValueError(f"{raw!r} is not a link (no web address found)")
    return link


def money_column(
    ctx: Context, source: str, default: str, decimal: str | None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(amountMicros, currency named in the cell, errors) per row."""

    def convert(value: Any) -> tuple[int, str | None]:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not an amount")
        if isinstance(value, int | float | np.integer | np.floating):
            if not np.isfinite(value):
                raise ValueError(f"{value!r} is not a finite amount")
            amount, code = Decimal(str(value)), None
        else:
            amount, code = parse_money(str(value), default=default, decimal=decimal)
        micros = (amount * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return int(micros), code

    pairs, errors, _ = per_unique(ctx.df[source], convert)
    amounts = np.array([p[0] if p else None for p in pairs], dtype=object)
    codes = np.array([p[1] if p else None for p in pairs], dtype=object)
    return amounts, codes, errors


def currency_column(
    ctx: Context, source: str, default: str
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(ISO code, error) per row of a currency column (``"usd"``, ``"€"``, ``"US Dollar"``)."""

    def convert(value: Any) -> str:
        code = currency_code(text_value(value), default)
        if code is None:
            raise ValueError(f"{value!r} is not a currency Twenty knows")
        return code

    results, errors, _ = per_unique(ctx.df[source], convert)
    return results, errors
