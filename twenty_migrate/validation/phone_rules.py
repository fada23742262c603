"""Twenty's phone transform, and the PHONES columns checked with it: :func:`scan_phones`.

:func:`_twenty_phone` mirrors what Twenty does to a phone (libphonenumber, its country
and calling code checks, its messages). Most numbers of a large column are decided
vectorised (:func:`_fast_phones`); the others are parsed once per distinct (number,
country, calling code). phonenumbers is imported inside the functions.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.validation.scan import UNSENDABLE, Hits, as_text, regex_mask, sent_value
from twenty_migrate.values.parsing import words
from twenty_migrate.values.payloads import MISSING
from twenty_migrate.values.rules import COMPOSITE_MARK, composite_error
from twenty_migrate.values.twenty_phones import (
    _check_codes,
    _PhoneError,
    _strip_plus,
    _twenty_phone,
)

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


# --------------------------------------------------------------------------- the fast path
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
        hit = regex_mask(texts.iloc[rows[fits]], f"^(?:{pattern})$")
        if hit is None:
            return None
        fits[np.flatnonzero(fits)] = hit
        return fits

    for region, leading, general, types in patterns:
        if not len(open_rows):
            break
        if leading:
            taken = regex_mask(texts.iloc[open_rows], f"^(?:{leading})")
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
    shape = regex_mask(numbers, r"^[1-9][0-9]{3,14}$")
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
        avoided = regex_mask(texts, info.avoid)
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


# --------------------------------------------------------------------------- columns
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


def scan_phones(
    frame: pd.DataFrame, name: str, *, want_keys: bool
) -> tuple[dict[str, Hits], pd.DataFrame | None]:
    """Hits per phones column, and the stored (number, country, calling) when asked."""
    n = len(frame)
    hits: dict[str, Hits] = {}
    texts: dict[str, pd.Series[Any]] = {}
    bad = np.zeros(n, dtype=bool)
    for sub in _PHONE_SUBS:
        column = f"{name}.{sub}"
        if column in frame.columns:
            texts[sub], other = as_text(frame[column])
            if other.any():
                message = f'Invalid object value {COMPOSITE_MARK} for field "{name}"'
                hits.setdefault(column, Hits()).add(
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
        hits.setdefault(f"{name}.{sub}", Hits()).add(positions, rules, messages)
    column = f"{name}.additionalPhones"
    if column in frame.columns:
        hits.setdefault(column, Hits()).extend(_scan_phone_lists(frame[column], name))
    if keys is None:
        return hits, None
    stored = pd.DataFrame(
        [k if k is not None else (None, None, None) for k in keys],
        columns=[f"{name}.{sub}" for sub in _PHONE_SUBS],
    )
    return hits, stored


def _scan_phone_lists(series: pd.Series[Any], name: str) -> Hits:
    """``additionalPhones`` cells: every item judged like a primary phone, all at once.

    Twenty refuses a cell at its first bad item, so each row gets its first failing item.
    """
    values = series.to_numpy(dtype=object)
    found: list[tuple[int, int, str, str]] = []  # (position, item, rule, message)
    items: list[tuple[int, int, Any, Any, Any]] = []
    composite = composite_error(name)
    assert composite is not None
    for position in np.flatnonzero(~pd.isna(values)).tolist():
        value = values[position]
        if type(value) is not list:
            value = sent_value(value)
            if value is UNSENDABLE or not isinstance(value, list):
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
    hits = Hits()
    if found:
        # The first failing item of each cell: that is where Twenty stops.
        frame = pd.DataFrame(found, columns=["pos", "item", "rule", "message"])
        frame = frame.sort_values(["pos", "item"], kind="stable").drop_duplicates("pos")
        hits.add(frame["pos"], frame["rule"].to_numpy(object), frame["message"].to_numpy(object))
    return hits


def _phone_item(item: Any) -> tuple[Any, Any, Any] | None:
    """(number, countryCode, callingCode) of one additional phone, or None when malformed."""
    if type(item) is not dict:
        item = sent_value(item)
    if not isinstance(item, dict) or set(item) - _PHONE_ITEM_KEYS:
        return None
    parts = []
    for key in ("number", "countryCode", "callingCode"):
        part = item.get(key)
        if part is not None and type(part) is not str:
            part = sent_value(part)
            part = None if part is MISSING else part
            if part is not None and not isinstance(part, str):
                return None
        parts.append(part)
    return parts[0], parts[1], parts[2]
