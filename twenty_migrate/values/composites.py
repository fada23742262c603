"""Converters for Twenty's composite fields (names, emails, phones, links, amounts).

Used by :meth:`twenty_migrate.mapping.field_map.FieldMap.apply`. Each takes the group of mapped
columns that feed one composite field and returns its sub-field columns. Rules shared by
emails, phones and links: a cell holding several values keeps the first as the primary one
and moves the others to the list part (reported as a warning); when the primary column is
empty but the list part has values, the first of them becomes the primary value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.twenty.schema import FieldSchema
from twenty_migrate.values import convert as cv
from twenty_migrate.values.parsing import (
    CURRENCY_CODES,
    EMAIL_RE,
    HONORIFICS,
    NAME_SUFFIXES,
    canonical_email,
    is_valid_email,
    settle_currency,
    split_full_name,
    words,
)
from twenty_migrate.values.phones import nanp_lookup, parse_phone, split_phones

__all__ = [
    "Parsed",
    "currency",
    "emails",
    "emails_column",
    "full_name",
    "links",
    "phones",
    "phones_column",
]


class Target(Protocol):
    """One mapped column: its source, the composite field and the sub-field it feeds."""

    @property
    def source(self) -> str: ...
    @property
    def field(self) -> FieldSchema | None: ...
    @property
    def sub(self) -> str | None: ...


#: Regions of the North American Numbering Plan, whose numbers take the fast phone path.
NANP_REGIONS = frozenset(
    words("US CA AG AI AS BB BM BS DM DO GD GU JM KN KY LC MP MS PR SX TC TT VC VG VI")
)
_NANP_RE = (
    r"^\s*(?:\+?1[\s.\-]*)?\(?(?P<area>[2-9]\d{2})\)?[\s.\-]*(?P<exchange>[2-9]\d{2})"
    r"[\s.\-]*(?P<line>\d{4})\s*$"
)


# --------------------------------------------------------------------------- parsing columns
def parse_email_cell(value: Any) -> tuple[list[str], list[str]]:
    """(valid canonical emails, invalid texts) in one cell, first address first."""
    whole = canonical_email(cv.text_value(value))
    if is_valid_email(whole):
        return [whole], []
    if whole.count("@") < 2:
        return [], [cv.text_value(value).strip()]
    valid: list[str] = []
    invalid: list[str] = []
    for part in re.split(r"[;,\s]+", cv.text_value(value)):
        if not part.strip():
            continue
        email = canonical_email(part)
        (valid if is_valid_email(email) else invalid).append(email if email else part)
    return valid, invalid


@dataclass
class Parsed:
    """A multi-value column parsed: the first value per row, plus the rare extras.

    ``first`` holds one value per row (None when empty or invalid); ``extras`` the further
    valid values of a cell, ``errors`` a message per cell with invalid parts, and ``notes``
    a message per cell whose value was kept with a change (a dropped phone extension).
    """

    first: np.ndarray[Any, Any]
    extras: dict[int, list[Any]] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)

    def absorb(self, positions: np.ndarray[Any, Any], cells: np.ndarray[Any, Any]) -> None:
        """Store per-row results ``(valid values, error, note)`` at ``positions``."""
        for position, cell in zip(positions.tolist(), cells, strict=True):
            values, error, note = cell
            if values:
                self.first[position] = values[0]
                if len(values) > 1:
                    self.extras[position] = list(values[1:])
            if error:
                self.errors[position] = error
            if note:
                self.notes[position] = note


def _email_cell(value: Any) -> tuple[list[str], str | None, None]:
    valid, invalid = parse_email_cell(value)
    error = f"{', '.join(map(repr, invalid))} is not a valid email address" if invalid else None
    return valid, error, None


def emails_column(series: pd.Series[Any]) -> Parsed:
    """Canonical emails of a column; plain valid addresses are handled vectorised."""
    parsed = Parsed(np.full(len(series), None, dtype=object))
    mask = cv.present(series)
    if not mask.any():
        return parsed
    fast = np.zeros(len(series), dtype=bool)
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        lowered = series.str.strip().str.lower()
        matched = lowered.str.fullmatch(EMAIL_RE.pattern).fillna(False)
        fast = matched.to_numpy(dtype=bool) & mask & (lowered.str.len() <= 254).to_numpy(dtype=bool)
        parsed.first[fast] = lowered.to_numpy(dtype=object)[fast]
    rest = mask & ~fast
    if rest.any():
        cells, _, _ = cv.per_unique(series[rest], _email_cell)
        parsed.absorb(np.flatnonzero(rest), cells)
    return parsed


def phones_column(series: pd.Series[Any], regions: np.ndarray[Any, Any], strict: bool) -> Parsed:
    """Phone numbers of a column as ``(number, country, calling code)`` tuples.

    A cell may hold several numbers (``"+1 212 555 0100 / +1 212 555 0107"``). North
    American numbers in their usual shapes take a vectorised path: their country and
    validity depend only on area code and exchange, so they are decided once per pair.
    """
    parsed = Parsed(np.full(len(series), None, dtype=object))
    mask = cv.present(series)
    if not mask.any():
        return parsed
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        texts = series
    else:
        values = series.to_numpy(dtype=object)
        texts = pd.Series([_phone_text(v) if mask[i] else None for i, v in enumerate(values)],
                          index=series.index, dtype="str")  # fmt: skip
    nanp = mask & np.isin(regions, list(NANP_REGIONS))
    fast = np.zeros(len(series), dtype=bool)
    if nanp.any():
        parts = cv.extract(texts[nanp], _NANP_RE)
        matched = parts["area"].notna().to_numpy(dtype=bool)
        if matched.any():
            parts = parts[matched]
            keys = (parts["area"] + parts["exchange"]).to_numpy(dtype=object)
            found = {key: nanp_lookup(key + "0000") for key in set(keys)}
            region_of = np.array([found[key][0] for key in keys], dtype=object)
            ok = np.array([found[key][1] for key in keys], dtype=bool)
            # Invalid numbers take the slow path, which also tries reading them as "+digits",
            # and else keeps them as Twenty does (ten digits in a NANP region: stored).
            positions = np.flatnonzero(nanp)[matched][ok]
            numbers = (parts["area"] + parts["exchange"] + parts["line"]).to_numpy(dtype=object)
            numbers = numbers[ok]
            parsed.first[positions] = cv.objects(
                zip(numbers, region_of[ok], ["+1"] * len(positions), strict=True), len(positions)
            )
            fast[positions] = True
    rest = mask & ~fast
    if rest.any():
        pairs = pd.Series(list(zip(texts[rest], regions[rest], strict=True)), dtype=object)
        codes, uniques = pd.factorize(pairs)
        cells = cv.objects(
            (_phone_cell(text, region, strict) for text, region in uniques), len(uniques)
        )
        parsed.absorb(np.flatnonzero(rest), cells[codes])
    return parsed


def _phone_cell(
    text: str, region: str, strict: bool
) -> tuple[list[tuple[str | None, str | None, str | None]], str | None, str | None]:
    results = [parse_phone(part, region, strict=strict) for part in split_phones(text)]
    if not results:
        return [], "not a phone number", None
    valid = [(r.number, r.country, r.calling_code) for r in results if r.valid]
    errors = "; ".join(r.error for r in results if r.error) or None
    extensions = [r.extension for r in results if r.valid and r.extension]
    note = f"extension {', '.join(extensions)} dropped" if extensions else None
    return valid, errors, note


def _phone_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return cv.text_value(value)


def _by_sub(group: Sequence[Target]) -> dict[str, list[Target]]:
    subs: dict[str, list[Target]] = {}
    for target in group:
        subs.setdefault(target.sub or "", []).append(target)
    return subs


def _name(group: Sequence[Target]) -> str:
    field = group[0].field
    assert field is not None
    return field.name


def _flags(values: Any, test: Any) -> np.ndarray[Any, Any]:
    return np.fromiter((test(v) for v in values), dtype=bool, count=len(values))


# --------------------------------------------------------------------------- names
def full_name(ctx: cv.Context, group: Sequence[Target]) -> dict[str, pd.Series[Any]]:
    """FULL_NAME: first/last name columns, a full-name column split, or both.

    With both, the first/last columns win and the full name fills the rows where both are
    empty. ``"Last, First"``, particles, suffixes and honorifics are handled
    (:func:`~twenty_migrate.values.parsing.split_full_name`); a dropped honorific is reported.
    """
    name, subs, index = _name(group), _by_sub(group), ctx.df.index
    first = cv.text(ctx, subs["firstName"][0].source) if "firstName" in subs else None
    last = cv.text(ctx, subs["lastName"][0].source) if "lastName" in subs else None
    if "" in subs:
        source = subs[""][0].source
        split_first, split_last, dropped = _split_names(ctx, source)
        use_split = np.ones(len(index), dtype=bool)
        for explicit in (first, last):
            if explicit is not None:
                use_split &= explicit.isna().to_numpy(dtype=bool)
        first = split_first if first is None else first.where(~use_split, split_first)
        last = split_last if last is None else last.where(~use_split, split_last)
        _report(
            ctx,
            {int(p): f"{dropped[p]!r} left out of the name" for p in np.flatnonzero(use_split)
             if dropped[p] is not None},
            source, name, "name_part_dropped", "warning",
        )  # fmt: skip
    out: dict[str, pd.Series[Any]] = {}
    if first is not None:
        out[f"{name}.firstName"] = first
    if last is not None:
        out[f"{name}.lastName"] = last
    return out


_SIMPLE_NAME_RE = r"^\s*(?P<first>[^\s,]+) (?P<last>[^\s,]+)\s*$"


def _split_names(
    ctx: cv.Context, source: str
) -> tuple[pd.Series[Any], pd.Series[Any], np.ndarray[Any, Any]]:
    """(first names, last names, dropped honorifics) of a full-name column.

    Plain two-word names are split vectorised; the rest go through ``split_full_name``.
    """
    series, index = ctx.df[source], ctx.df.index
    first = pd.Series(None, index=index, dtype="str")
    last = pd.Series(None, index=index, dtype="str")
    dropped = np.full(len(index), None, dtype=object)
    simple = np.zeros(len(index), dtype=bool)
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        parts = cv.extract(series, _SIMPLE_NAME_RE)
        simple = (
            parts["first"].notna()
            & ~parts["first"].str.lower().str.rstrip(".").isin(HONORIFICS)
            & ~parts["last"].str.lower().str.rstrip(".").isin(NAME_SUFFIXES)
        ).to_numpy(dtype=bool)
        first[simple] = parts["first"][simple]
        last[simple] = parts["last"][simple]
    rest = ~simple & cv.present(series)
    if rest.any():
        found, _, _ = cv.per_unique(series[rest], lambda v: split_full_name(cv.text_value(v)))
        first[rest] = [p[0] for p in found]
        last[rest] = [p[1] for p in found]
        dropped[rest] = [p[2] for p in found]
    return first, last, dropped


# --------------------------------------------------------------------------- lists
def _merge_lists(
    primary: np.ndarray[Any, Any], extras: dict[int, list[Any]], key: Any
) -> np.ndarray[Any, Any]:
    """Promote the first extra to an empty primary; drop extras equal to the primary."""
    additional = np.full(len(primary), None, dtype=object)
    for position, items in extras.items():
        if primary[position] is None and items:
            primary[position], items = items[0], items[1:]
        seen = {key(primary[position])} if primary[position] is not None else set()
        kept = []
        for item in items:
            if key(item) not in seen:
                seen.add(key(item))
                kept.append(item)
        additional[position] = kept or None
    return additional


def _report(
    ctx: cv.Context,
    messages: Mapping[int, str],
    source: str,
    path: str,
    rule: str,
    severity: str = "error",
) -> None:
    """Report the rows named in ``messages`` (position -> message)."""
    if not messages:
        return
    mask = np.zeros(len(ctx.df), dtype=bool)
    text = np.full(len(ctx.df), None, dtype=object)
    for position, message in messages.items():
        mask[position] = True
        text[position] = message
    raw = ctx.df[source].to_numpy(dtype=object)
    ctx.problems.add(mask, source, path, rule, raw, text, severity)


def _gather(
    ctx: cv.Context,
    group: Sequence[Target],
    primary_sub: str,
    list_sub: str,
    parse: Any,
) -> tuple[np.ndarray[Any, Any], dict[int, list[Any]]]:
    """First values of the primary column, and the list part from every other value."""
    name = _name(group)
    subs = _by_sub(group)
    primary = np.full(len(ctx.df), None, dtype=object)
    extras: dict[int, list[Any]] = {}
    for target in subs.get(primary_sub, []) + subs.get(list_sub, []):
        path = f"{name}.{target.sub}"
        parsed: Parsed = parse(target)
        _report(ctx, parsed.errors, target.source, path, f"invalid_{parse.kind}")
        _report(ctx, parsed.notes, target.source, path, parse.note_rule, "warning")
        if target.sub == primary_sub:
            primary = parsed.first
            moved = {
                position: f"several values in one cell; the first is kept, the others go to "
                f"{name}.{list_sub}"
                for position in parsed.extras
            }
            _report(ctx, moved, target.source, path, "extra_value_moved", "warning")
            for row_position, more in parsed.extras.items():
                extras.setdefault(row_position, []).extend(more)
        else:
            for position in np.flatnonzero(_flags(parsed.first, lambda v: v is not None)):
                row = int(position)
                extras.setdefault(row, []).append(parsed.first[row])
                extras[row].extend(parsed.extras.get(row, []))
    return primary, extras


class _EmailParser:
    kind = "email"
    note_rule = "email_changed"

    def __init__(self, ctx: cv.Context) -> None:
        self.ctx = ctx

    def __call__(self, target: Target) -> Parsed:
        return emails_column(self.ctx.df[target.source])


class _PhoneParser:
    kind = "phone"
    note_rule = "phone_extension_dropped"

    def __init__(
        self,
        ctx: cv.Context,
        regions: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
        strict: bool,
    ) -> None:
        self.ctx, self.strict = ctx, strict
        self.regions, self.origins = regions

    def __call__(self, target: Target) -> Parsed:
        parsed = phones_column(self.ctx.df[target.source], self.regions, self.strict)
        for position, error in parsed.errors.items():  # say which country the number was read in
            parsed.errors[position] = f"{error}; read in {self.origins[position]}"
        return parsed


def emails(ctx: cv.Context, group: Sequence[Target]) -> dict[str, pd.Series[Any]]:
    """EMAILS: canonical addresses (Twenty's normalisation); invalid ones reported."""
    name, index = _name(group), ctx.df.index
    primary, extras = _gather(ctx, group, "primaryEmail", "additionalEmails", _EmailParser(ctx))
    additional = _merge_lists(primary, extras, str)
    out = {f"{name}.primaryEmail": pd.Series(primary, index=index, dtype="str")}
    if "additionalEmails" in _by_sub(group) or extras:
        out[f"{name}.additionalEmails"] = pd.Series(additional, index=index, dtype=object)
    return out


# --------------------------------------------------------------------------- phones
def phones(
    ctx: cv.Context, group: Sequence[Target], spec: Mapping[str, Any]
) -> dict[str, pd.Series[Any]]:
    """PHONES: number, country code and calling code from libphonenumber.

    Numbers without ``+``/``00`` are read in the row's region: the ``region_column``
    transform or a column mapped to ``primaryPhoneCountryCode`` (country names or codes),
    else the ``region`` transform, else the record's address country, else
    ``default_region`` (:func:`~twenty_migrate.values.convert.phone_regions`). Every number
    Twenty would store is kept (fictional 555 numbers, unusual lengths); with the
    ``strict`` transform only numbers valid for their country are. Extensions are dropped
    and reported; numbers refused are reported, naming the country they were read in, and
    left out.
    """
    name, subs, index = _name(group), _by_sub(group), ctx.df.index
    country_target = subs.get("primaryPhoneCountryCode", [])
    country_source = country_target[0].source if country_target else None
    regions = cv.phone_regions(ctx, spec, country_source)
    parser = _PhoneParser(ctx, regions, bool(spec.get("strict", False)))
    primary, extras = _gather(ctx, group, "primaryPhoneNumber", "additionalPhones", parser)
    additional = _merge_lists(primary, extras, lambda p: p)
    firsts = [p if p is not None else (None, None, None) for p in primary]
    out = {
        f"{name}.{sub}": pd.Series([p[k] for p in firsts], index=index, dtype="str")
        for k, sub in enumerate(
            ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode")
        )
    }
    if "additionalPhones" in subs or extras:
        items = [
            [{"number": p[0], "countryCode": p[1], "callingCode": p[2]} for p in cell]
            if cell else None
            for cell in additional
        ]  # fmt: skip
        out[f"{name}.additionalPhones"] = pd.Series(items, index=index, dtype=object)
    return out


# --------------------------------------------------------------------------- links
def links(
    ctx: cv.Context, group: Sequence[Target], spec: Mapping[str, Any]
) -> dict[str, pd.Series[Any]]:
    """LINKS: URLs as Twenty stores them; texts without a host (emails, "NO WEBSITE") reported.

    ``handle_prefix`` turns a bare handle into a URL (``"https://www.linkedin.com/in/"``);
    ``scheme`` adds a scheme to links written without one.
    """
    name, subs, index = _name(group), _by_sub(group), ctx.df.index
    scheme, prefix = spec.get("scheme"), spec.get("handle_prefix")
    primary = np.full(len(index), None, dtype=object)
    extras: dict[int, list[str]] = {}
    out: dict[str, pd.Series[Any]] = {}
    for target in subs.get("primaryLinkUrl", []):
        results, errors, _ = cv.per_unique(
            ctx.df[target.source], lambda v: cv.links_cell(v, scheme, prefix)
        )
        cv.report_errors(ctx, target.source, f"{name}.primaryLinkUrl", "invalid_link", errors)
        primary[:] = results
    for target in subs.get("secondaryLinks", []):

        def several(value: Any) -> tuple[list[str], list[str]]:
            good: list[str] = []
            bad: list[str] = []
            for part in re.split(r"[\s;|]+", cv.text_value(value)):
                if part:
                    try:
                        good.append(cv.links_cell(part, scheme, prefix))
                    except ValueError:
                        bad.append(part)
            return good, bad

        cells, _, _ = cv.per_unique(ctx.df[target.source], several)
        errors = np.array(
            [f"{c[1]} are not links" if c and c[1] else None for c in cells], dtype=object
        )
        cv.report_errors(ctx, target.source, f"{name}.secondaryLinks", "invalid_link", errors)
        for position in np.flatnonzero(_flags(cells, lambda c: c is not None and c[0])):
            extras.setdefault(int(position), []).extend(cells[position][0])
    additional = _merge_lists(primary, extras, str)
    if "primaryLinkUrl" in subs or extras:
        out[f"{name}.primaryLinkUrl"] = pd.Series(primary, index=index, dtype="str")
    for target in subs.get("primaryLinkLabel", []):
        out[f"{name}.primaryLinkLabel"] = cv.text(ctx, target.source)
    if "secondaryLinks" in subs:
        items = [[{"url": u, "label": ""} for u in cell] if cell else None for cell in additional]
        out[f"{name}.secondaryLinks"] = pd.Series(items, index=index, dtype=object)
    return out


# --------------------------------------------------------------------------- money
def currency(
    ctx: cv.Context, group: Sequence[Target], spec: Mapping[str, Any]
) -> dict[str, pd.Series[Any]]:
    """CURRENCY: ``amountMicros`` (integer) and ``currencyCode``.

    The code comes from a column mapped to ``currencyCode``, else from the amount's own
    symbol or code (``"€1.200"``, ``"1,200 USD"``), else the ``currency`` transform, else
    the ``currency`` argument of apply. A cell and column naming different currencies is
    reported; the column wins.
    """
    name, subs, index = _name(group), _by_sub(group), ctx.df.index
    default = str(spec.get("currency") or ctx.currency).upper()
    if default not in CURRENCY_CODES:
        raise MappingError(f"currency {default!r} is not an ISO 4217 code Twenty knows")
    n = len(index)
    column_codes = np.full(n, None, dtype=object)
    if "currencyCode" in subs:
        source = subs["currencyCode"][0].source
        column_codes, errors = cv.currency_column(ctx, source, default)
        cv.report_errors(ctx, source, f"{name}.currencyCode", "invalid_currency", errors)
    out: dict[str, pd.Series[Any]] = {}
    if "amountMicros" not in subs:
        out[f"{name}.currencyCode"] = pd.Series(column_codes, index=index, dtype="str")
        return out
    source = subs["amountMicros"][0].source
    amounts, named, errors = cv.money_column(ctx, source, default, spec.get("decimal"))
    cv.report_errors(ctx, source, f"{name}.amountMicros", "invalid_amount", errors)
    has_amount = _flags(amounts, lambda a: a is not None)
    settled = [settle_currency(a, b, default) for a, b in zip(named, column_codes, strict=True)]
    conflict = has_amount & _flags(settled, lambda pair: pair[1])
    messages = np.array(
        [f"the amount says {a}, the currency column says {b}; {b} used"
         for a, b in zip(named, column_codes, strict=True)], dtype=object,
    )  # fmt: skip
    ctx.problems.add(
        conflict, source, f"{name}.currencyCode", "currency_conflict",
        ctx.df[source].to_numpy(dtype=object), messages, "warning",
    )  # fmt: skip
    codes = np.array([pair[0] for pair in settled], dtype=object)
    unknown = has_amount & _flags(codes, lambda code: code is None)
    ctx.problems.add(
        unknown, source, f"{name}.currencyCode", "invalid_currency",
        ctx.df[source].to_numpy(dtype=object),
        "the symbol is shared by several currencies; add a currency column or transform",
    )  # fmt: skip
    # Without an amount only a currency column's own value is kept (nothing is dropped).
    codes = np.array(
        [c if flag else col for c, col, flag in zip(codes, column_codes, has_amount, strict=True)],
        dtype=object,
    )
    out[f"{name}.amountMicros"] = pd.Series(amounts, index=index, dtype=object)
    out[f"{name}.currencyCode"] = pd.Series(codes, index=index, dtype="str")
    return out
