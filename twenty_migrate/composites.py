"""Converters for Twenty's composite fields (names, emails, phones, links, amounts).

Used by :meth:`twenty_migrate.mapping.FieldMap.apply`. Each takes the group of mapped
columns that feed one composite field and returns its sub-field columns. Rules shared by
emails, phones and links: a cell holding several values keeps the first as the primary one
and moves the others to the list part (reported as a warning); when the primary column is
empty but the list part has values, the first of them becomes the primary value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from twenty_migrate import convert as cv
from twenty_migrate.errors import MappingError
from twenty_migrate.schema import FieldSchema
from twenty_migrate.values import CURRENCY_CODES, settle_currency, split_full_name

__all__ = ["currency", "emails", "full_name", "links", "phones"]

Phone = tuple[str | None, str | None, str | None, str | None, str | None]


class Target(Protocol):
    """One mapped column: its source, the composite field and the sub-field it feeds."""

    @property
    def source(self) -> str: ...
    @property
    def field(self) -> FieldSchema | None: ...
    @property
    def sub(self) -> str | None: ...


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
    (:func:`~twenty_migrate.values.split_full_name`); a dropped honorific is reported.
    """
    name, subs, index = _name(group), _by_sub(group), ctx.df.index
    first = cv.text(ctx, subs["firstName"][0].source) if "firstName" in subs else None
    last = cv.text(ctx, subs["lastName"][0].source) if "lastName" in subs else None
    if "" in subs:
        source = subs[""][0].source
        parts, _, _ = cv.per_unique(ctx.df[source], lambda v: split_full_name(cv._text_value(v)))
        split_first = pd.Series([p[0] if p else None for p in parts], index=index, dtype="str")
        split_last = pd.Series([p[1] if p else None for p in parts], index=index, dtype="str")
        use_split = np.ones(len(index), dtype=bool)
        for explicit in (first, last):
            if explicit is not None:
                use_split &= explicit.isna().to_numpy(dtype=bool)
        first = split_first if first is None else first.where(~use_split, split_first)
        last = split_last if last is None else last.where(~use_split, split_last)
        dropped = np.array([p[2] if p else None for p in parts], dtype=object)
        mask = use_split & _flags(dropped, lambda d: d is not None)
        messages = np.array([f"{d!r} left out of the name" for d in dropped], dtype=object)
        ctx.problems.add(
            mask, source, name, "name_part_dropped", ctx.df[source].to_numpy(dtype=object),
            messages, "warning",
        )  # fmt: skip
    out: dict[str, pd.Series[Any]] = {}
    if first is not None:
        out[f"{name}.firstName"] = first
    if last is not None:
        out[f"{name}.lastName"] = last
    return out


# --------------------------------------------------------------------------- lists
def _merge_lists(
    primary: np.ndarray[Any, Any], extras: dict[int, list[Any]], key: Any
) -> np.ndarray[Any, Any]:
    """Promote the first extra to an empty primary; drop extras equal to the primary."""
    additional = np.full(len(primary), None, dtype=object)
    for position, items in extras.items():
        if primary[position] is None and items:
            primary[position], items = items[0], items[1:]
        seen = {primary[position]} if primary[position] is not None else set()
        kept = []
        for item in items:
            if key(item) not in seen:
                seen.add(key(item))
                kept.append(item)
        additional[position] = kept or None
    return additional


def emails(ctx: cv.Context, group: Sequence[Target]) -> dict[str, pd.Series[Any]]:
    """EMAILS: canonical addresses (Twenty's normalisation); invalid ones reported."""
    name, subs, index = _name(group), _by_sub(group), ctx.df.index
    primary = np.full(len(index), None, dtype=object)
    extras: dict[int, list[str]] = {}
    for target in subs.get("primaryEmail", []) + subs.get("additionalEmails", []):
        is_primary = target.sub == "primaryEmail"
        path = f"{name}.{target.sub}"
        cells = cv.emails_column(ctx.df[target.source])
        raw = ctx.df[target.source].to_numpy(dtype=object)
        bad = _flags(cells, lambda c: c is not None and bool(c[1]))
        messages = np.array(
            [f"{', '.join(map(repr, c[1]))} is not a valid email address" if c else None
             for c in cells], dtype=object,
        )  # fmt: skip
        ctx.problems.add(bad, target.source, path, "invalid_email", raw, messages)
        if is_primary:
            primary[:] = [c[0][0] if c and c[0] else None for c in cells]
            several = _flags(cells, lambda c: c is not None and len(c[0]) > 1)
            for position in np.flatnonzero(several):
                extras.setdefault(int(position), []).extend(cells[position][0][1:])
            ctx.problems.add(
                several, target.source, path, "extra_value_moved", raw,
                f"several addresses in one cell; the first is the primary email, the others "
                f"go to {name}.additionalEmails", "warning",
            )  # fmt: skip
        else:
            for position in np.flatnonzero(_flags(cells, lambda c: c is not None and c[0])):
                extras.setdefault(int(position), []).extend(cells[position][0])
    additional = _merge_lists(primary, extras, str)
    out = {f"{name}.primaryEmail": pd.Series(primary, index=index, dtype="str")}
    if "additionalEmails" in subs or extras:
        out[f"{name}.additionalEmails"] = pd.Series(additional, index=index, dtype=object)
    return out


# --------------------------------------------------------------------------- phones
def phones(
    ctx: cv.Context, group: Sequence[Target], spec: Mapping[str, Any]
) -> dict[str, pd.Series[Any]]:
    """PHONES: number, country code and calling code from libphonenumber.

    Numbers without ``+``/``00`` are read in the row's region: the ``region_column``
    transform or a column mapped to ``primaryPhoneCountryCode`` (country names or codes),
    else the ``region`` transform, else ``default_region``. Extensions are dropped and
    reported; invalid numbers are reported and left out.
    """
    name, subs, index = _name(group), _by_sub(group), ctx.df.index
    country_source = (
        subs["primaryPhoneCountryCode"][0].source if "primaryPhoneCountryCode" in subs else None
    )
    regions = cv.phone_regions(ctx, spec, country_source)
    strict = bool(spec.get("strict", True))
    n = len(index)
    number = np.full(n, None, dtype=object)
    country = np.full(n, None, dtype=object)
    calling = np.full(n, None, dtype=object)
    extras: dict[int, list[Phone]] = {}
    for target in subs.get("primaryPhoneNumber", []) + subs.get("additionalPhones", []):
        is_primary = target.sub == "primaryPhoneNumber"
        path = f"{name}.{target.sub}"
        cells = cv.phones_column(ctx.df[target.source], regions, strict)
        raw = ctx.df[target.source].to_numpy(dtype=object)
        errors = np.array(
            ["; ".join(p[4] for p in cell if p[4]) or None if cell else None for cell in cells],
            dtype=object,
        )
        cv.report_errors(ctx, target.source, path, "invalid_phone", errors)
        extension = _flags(cells, lambda c: c is not None and any(p[3] for p in c))
        ctx.problems.add(
            extension, target.source, path, "phone_extension_dropped", raw,
            "the extension was dropped (Twenty keeps no extension)", "warning",
        )  # fmt: skip
        valid = [[p for p in cell if p[4] is None] if cell else None for cell in cells]
        if is_primary:
            firsts = [v[0] if v else None for v in valid]
            number[:] = [p[0] if p else None for p in firsts]
            country[:] = [p[1] if p else None for p in firsts]
            calling[:] = [p[2] if p else None for p in firsts]
            several = _flags(valid, lambda v: v is not None and len(v) > 1)
            for row in np.flatnonzero(several):
                extras.setdefault(int(row), []).extend((valid[row] or [])[1:])
            ctx.problems.add(
                several, target.source, path, "extra_value_moved", raw,
                f"several numbers in one cell; the others go to {name}.additionalPhones",
                "warning",
            )  # fmt: skip
        else:
            for row in np.flatnonzero(_flags(valid, bool)):
                extras.setdefault(int(row), []).extend(valid[row] or [])
    for position, found in extras.items():
        if number[position] is None and found:
            number[position], country[position], calling[position] = found[0][:3]
            extras[position] = found[1:]
    additional = _merge_lists(number, extras, lambda p: p[0])
    out = {
        f"{name}.primaryPhoneNumber": pd.Series(number, index=index, dtype="str"),
        f"{name}.primaryPhoneCountryCode": pd.Series(country, index=index, dtype="str"),
        f"{name}.primaryPhoneCallingCode": pd.Series(calling, index=index, dtype="str"),
    }
    if "additionalPhones" in subs or extras:
        phone_items = [
            [{"number": p[0], "countryCode": p[1], "callingCode": p[2]} for p in cell]
            if cell else None
            for cell in additional
        ]  # fmt: skip
        out[f"{name}.additionalPhones"] = pd.Series(phone_items, index=index, dtype=object)
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
            for part in re.split(r"[\s;|]+", cv._text_value(value)):
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
    codes = np.array(
        [c if flag else None for c, flag in zip(codes, has_amount, strict=True)], dtype=object
    )
    out[f"{name}.amountMicros"] = pd.Series(amounts, index=index, dtype=object)
    out[f"{name}.currencyCode"] = pd.Series(codes, index=index, dtype="str")
    return out
