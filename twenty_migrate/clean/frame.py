"""Clean a DataFrame before mapping it: pure ``df -> df`` helpers, chainable with ``.pipe``.

Every helper returns a new DataFrame and never changes its input. Pass a
:class:`CleaningLog` as ``log=`` to see what changed, one row per changed cell
(``_row, column, rule, before, after, note``); :func:`drop_duplicate_rows` logs each row it
drops. A blank cell (empty, or only spaces) becoming null is not logged: a spreadsheet's
empty cells are not changes anyone needs to review. Values are normalised the way Twenty
stores them (twenty-api.md §3, §4.2), so keys computed on a cleaned frame match what Twenty
compares when it upserts.

Example:
    log = CleaningLog()
    df = (
        pd.read_csv("sample_data/people.csv", dtype=str)
        .pipe(add_row_ids)
        .pipe(strip_whitespace, log=log)
        .pipe(nullify_placeholders, log=log)
        .pipe(normalize_emails, ["Email"], log=log)
        .pipe(normalize_phones, ["Phone", "Mobile"], region_column="Country", log=log)
    )
    log.to_frame().head()

Each helper is idempotent: applying it twice gives the same frame as applying it once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from twenty_migrate.clean.core import (
    _ZERO_WIDTH,
    _ZERO_WIDTH_RE,
    ROW_COLUMN,
    CleaningLog,
    _auto_columns,
    _blank_to_null,
    _rebuild,
    _row_ids,
    _text_columns,
    _transform,
    map_strings,
)
from twenty_migrate.clean.duplicates import LEGAL_SUFFIXES, find_fuzzy_duplicates, name_key
from twenty_migrate.values.composites import phones_column
from twenty_migrate.values.countries import country_name
from twenty_migrate.values.parsing import canonical_email, canonical_link, domain_key
from twenty_migrate.values.phones import country_code

__all__ = [
    "DEFAULT_PLACEHOLDERS",
    "LEGAL_SUFFIXES",
    "CleaningLog",
    "add_row_ids",
    "clean_frame",
    "drop_duplicate_rows",
    "find_fuzzy_duplicates",
    "name_key",
    "normalize_case",
    "normalize_countries",
    "normalize_domains",
    "normalize_emails",
    "normalize_links",
    "normalize_phones",
    "nullify_placeholders",
    "strip_whitespace",
]

#: Cell texts that mean "no value" (compared case-insensitively, inner spaces collapsed).
DEFAULT_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "--none--",
        ".",
        "?",
        "n/a",
        "n.a.",
        "#n/a",
        "none",
        "null",
        "nil",
        "nan",
        "unknown",
        "tbd",
        "tba",
        "no website",
        "no phone",
        "no email",
        "not available",
        "#value!",
        "#ref!",
        "#name?",
        "#div/0!",
        "#null!",
        "#num!",
    }
)

#: Every character Python counts as whitespace, written out so RE2 (pyarrow) agrees.
_SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_ODD_SPACES = _SPACES.replace(" ", "") + _ZERO_WIDTH
#: Cells strip_whitespace might change: edge spaces, double spaces, odd spaces, empty.
_WHITESPACE_SUSPECT = f"^[{_SPACES}]|[{_SPACES}]$|  |[{_ODD_SPACES}]|^$"
_EMAIL_SUSPECT = r"[A-Z]|[^\x00-\x7f]|\s|<|(?i:mailto)"
_LINK_SUSPECT = r"[A-Z]|/$|[^\x00-\x7f]|:\d|\s"
_HSPACE_RE = re.compile(r"[^\S\n]+")
_SPACE_NEWLINE_RE = re.compile(r" ?\n ?")
_EMAIL_HEADER_RE = re.compile(r"e-?mail", re.I)
_PHONE_HEADER_RE = re.compile(r"phone|mobile|\btel\b|fax|\bcell", re.I)
_LINK_HEADER_RE = re.compile(r"website|\burl\b|\bweb\b|linkedin|domain|homepage|twitter", re.I)
_COUNTRY_HEADER_RE = re.compile(r"^\s*country\s*$", re.I)
_COUNTRY_COLUMN_RE = re.compile(r"^\s*country\s*$|addressCountry$", re.I)


# --------------------------------------------------------------------------- helpers
def add_row_ids(df: pd.DataFrame, start: int = 1, column: str = ROW_COLUMN) -> pd.DataFrame:
    """Add stable source-row ids (``start``, ``start + 1``, ...) as the first column.

    Raises:
        ValueError: the column exists already (ids are assigned once, right after loading).
    """
    if column in df.columns:
        raise ValueError(
            f"the DataFrame already has a {column!r} column; row ids are assigned once, right "
            "after loading, and kept by every later stage"
        )
    out = df.copy(deep=False)
    out.insert(0, column, np.arange(start, start + len(df), dtype=np.int64))
    return out


def collapse_whitespace(text: str) -> str:
    """Trim, turn non-breaking and other spaces into plain ones and collapse inner runs.

    Line breaks are kept (one per break, without spaces around it) so multi-line notes keep
    their paragraphs; zero-width characters are removed.
    """
    value = _ZERO_WIDTH_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    value = _SPACE_NEWLINE_RE.sub("\n", _HSPACE_RE.sub(" ", value))
    return value.strip()


def strip_whitespace(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    empty_to_null: bool = True,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Trim text cells, normalise non-breaking spaces and collapse inner runs of spaces.

    Args:
        df: the frame.
        columns: columns to clean; default every text column not starting with ``_``.
        empty_to_null: turn cells that end up empty into nulls.
        log: records each changed cell (except blank cells becoming null).
    """

    def clean(text: str) -> str | None:
        value = collapse_whitespace(text)
        return None if empty_to_null and not value else value

    return _transform(
        df, _text_columns(df, columns), clean, "strip_whitespace", log, _WHITESPACE_SUSPECT
    )


_WORD_START_RE = re.compile(r"(?:^|(?<=[\s\-/(])|(?<=\b[od]'))(\w)", re.I)


def _title(text: str) -> str:
    def upper(match: re.Match[str]) -> str:
        letter = match.group(1)
        # "ß".upper() is "SS": keep letters whose capital is not one character.
        return letter.upper() if len(letter.upper()) == 1 else letter

    return _WORD_START_RE.sub(upper, text.lower())


def normalize_case(
    df: pd.DataFrame,
    columns: Sequence[str],
    case: Literal["title", "lower", "upper"] = "title",
    *,
    only_uniform: bool = True,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Change the letter case of text cells (names, cities, titles).

    Args:
        df: the frame.
        columns: columns to change.
        case: ``"title"`` (``"JANE o'neil"`` -> ``"Jane O'Neil"``), ``"lower"`` or ``"upper"``.
        only_uniform: only change cells written all in upper or all in lower case, so a
            deliberate ``"McDonald"`` or ``"iPhone"`` is kept.
        log: records each changed cell.
    """
    convert: Callable[[str], str] = {"title": _title, "lower": str.lower, "upper": str.upper}[case]

    def change(text: str) -> str:
        if only_uniform and not (text.isupper() or text.islower()):
            return text
        return convert(text)

    return _transform(df, list(columns), change, "normalize_case", log)


def nullify_placeholders(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    placeholders: Collection[str] = DEFAULT_PLACEHOLDERS,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Turn placeholder texts ("N/A", "-", "none", "TBD", "NO WEBSITE", "") into nulls.

    Args:
        df: the frame.
        columns: columns to clean; default every text column not starting with ``_``.
        placeholders: texts meaning "no value", compared case-insensitively after trimming
            and collapsing spaces. Extend with ``DEFAULT_PLACEHOLDERS | {"see notes"}``.
        log: records each changed cell.
    """
    folded = {" ".join(p.split()).casefold() for p in placeholders}

    def nullify(text: str) -> str | None:
        return None if " ".join(text.split()).casefold() in folded else text

    def suspect(series: pd.Series[Any]) -> pd.Series[Any]:
        if series.dtype == object or not pd.api.types.is_string_dtype(series.dtype):
            return series.map(lambda v: isinstance(v, str) and nullify(v) is None)
        key = series.str.replace(f"[{_SPACES}]+", " ", regex=True).str.strip(" ").str.lower()
        # lower() is close to casefold(); the loop re-checks every suspect exactly.
        return key.isin(folded | {k.lower() for k in folded})

    return _transform(df, _text_columns(df, columns), nullify, "nullify_placeholder", log, suspect)


def normalize_emails(
    df: pd.DataFrame, columns: Sequence[str] | None = None, *, log: CleaningLog | None = None
) -> pd.DataFrame:
    """Normalise emails as Twenty stores them: trimmed, lower-cased, IDN domain in punycode.

    Also unwraps ``"Jane Doe <jane@x.com>"`` and ``"mailto:jane@x.com"``. Invalid addresses
    are left for validation to report. ``columns`` defaults to columns named like "email".
    """
    cols = list(columns) if columns is not None else _auto_columns(df, _EMAIL_HEADER_RE)
    return _transform(df, cols, canonical_email, "normalize_email", log, _EMAIL_SUSPECT)


def normalize_links(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    scheme: str | None = None,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Normalise URLs as Twenty does: scheme and host lower-cased, trailing ``/`` removed.

    Args:
        df: the frame.
        columns: columns to clean; default columns named like website/url/linkedin/domain.
        scheme: add this scheme (``"https"``) to links written without one; by default a
            missing scheme is kept, as Twenty keeps it.
        log: records each changed cell.
    """
    cols = list(columns) if columns is not None else _auto_columns(df, _LINK_HEADER_RE)
    suspect = _LINK_SUSPECT if scheme is None else None  # adding a scheme touches every link
    return _transform(
        df, cols, lambda text: canonical_link(text, scheme=scheme), "normalize_link", log, suspect
    )


def normalize_domains(
    df: pd.DataFrame,
    columns: Sequence[str],
    *,
    suffix: str | None = None,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Reduce URLs to bare domains for matching: ``"HTTPS://www.Acme.com/about"`` -> ``"acme.com"``.

    A value that holds no domain (``"www."``, ``"NO WEBSITE"``, ``"Acme Inc"``) becomes null
    and is logged with rule ``invalid_domain`` and the original value: kept as it was, two
    companies with the same non-domain would look like duplicates.

    Args:
        df: the frame.
        columns: columns holding URLs or domains.
        suffix: write the domains to new columns ``column + suffix`` (for example
            ``"_domain"``) and keep the originals; by default replace the cells.
        log: records each changed cell (``normalize_domain``) and each value that is not a
            domain (``invalid_domain``, also when writing to new columns).
    """
    out = df.copy(deep=False)
    rows = _row_ids(df)
    for column in columns:
        before = df[column]
        after, changed = map_strings(before, domain_key)
        target = column if suffix is None else column + suffix
        if suffix is not None or changed.any():
            out[target] = after
        if log is None or not changed.any():
            continue
        invalid = changed & after.isna().to_numpy(dtype=bool)
        invalid &= ~_blank_to_null(before, after, changed)
        reduced = changed & ~invalid & after.notna().to_numpy(dtype=bool)
        if suffix is None:
            log.record("normalize_domain", column, rows[reduced], before[reduced], after[reduced])
        log.record(
            "invalid_domain",
            target,
            rows[invalid],
            before[invalid],
            after[invalid],
            "not a domain name: left empty",
        )
    return out


def normalize_phones(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    default_region: str = "US",
    *,
    region_column: str | None = None,
    output: Literal["e164", "parts"] = "e164",
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Rewrite valid phone numbers in E.164 (``+14155552671``) or Twenty's three sub-fields.

    Numbers that do not parse as a valid number are left untouched for the mapping stage
    to report. An extension is dropped from the E.164 form and named in the log's note.

    Args:
        df: the frame.
        columns: phone columns; default columns named like phone/mobile/tel/fax.
        default_region: ISO country for numbers written without ``+`` or ``00``.
        region_column: a column of countries (``"France"``, ``"DE"``, ``"Deutschland"``)
            giving each row's region instead of ``default_region``.
        output: ``"e164"`` rewrites the cells; ``"parts"`` keeps them and adds the columns
            ``<column>.primaryPhoneNumber``, ``.primaryPhoneCountryCode`` and
            ``.primaryPhoneCallingCode``.
        log: records each changed cell.
    """
    cols = list(columns) if columns is not None else _auto_columns(df, _PHONE_HEADER_RE)
    regions = np.full(len(df), default_region.upper(), dtype=object)
    if region_column is not None:
        found, _ = map_strings(df[region_column], lambda v: country_code(v) or "")
        regions = np.array(
            [v if isinstance(v, str) and v else default_region.upper() for v in found],
            dtype=object,
        )
    out = df.copy(deep=False)
    rows = _row_ids(df)
    for column in cols:
        parsed = phones_column(df[column], regions, strict=True)
        # Only a cell holding exactly one valid number is rewritten.
        single = parsed.first.copy()
        for position in list(parsed.extras) + list(parsed.errors):
            single[position] = None
        if output == "parts":
            for index, sub in enumerate(("Number", "CountryCode", "CallingCode")):
                out[f"{column}.primaryPhone{sub}"] = pd.Series(
                    [p[index] if p else None for p in single], index=df.index, dtype="str"
                )
            continue
        values = df[column].to_numpy(dtype=object)
        new = np.array([f"{p[2]}{p[0]}" if p else None for p in single], dtype=object)
        changed = np.array(
            [n is not None and n != v for n, v in zip(new, values, strict=True)], dtype=bool
        )
        if not changed.any():
            continue
        merged = values.copy()
        merged[changed] = new[changed]
        out[column] = _rebuild(df[column], merged)
        if log is not None:
            notes = [parsed.notes.get(i) for i in range(len(df))]
            log.record(
                "normalize_phone",
                column,
                rows[changed],
                values[changed],
                new[changed],
                [n for n, flag in zip(notes, changed, strict=True) if flag],
            )
    return out


def normalize_countries(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    aliases: Mapping[str, str] | None = None,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Write countries as Twenty's address field names them: ``"USA"``, ``"U.S."``,
    ``"United States of America"`` -> ``"United States"``; ``"Deutschland"``, ``"DE"`` ->
    ``"Germany"``; ``"UK"``, ``"Great Britain"`` -> ``"United Kingdom"``.

    Twenty's address input stores the English (CLDR) country name it lists; ISO codes
    count in capitals only (a lower-case ``"no"`` is not Norway). A value not recognised is
    left as it is and logged with rule ``unknown_country``: it is never guessed.

    Args:
        df: the frame.
        columns: country columns; default columns named "Country" or ``*.addressCountry``.
        aliases: your own names -> a country name or code (``{"Bavaria": "Germany"}``).
        log: records each changed cell, and each value left because it is unknown.
    """
    cols = (
        _text_columns(df, columns) if columns is not None else _auto_columns(df, _COUNTRY_COLUMN_RE)
    )
    unknown: set[str] = set()

    def rename(text: str) -> str | None:
        if not text.strip():
            return None
        name = country_name(text, aliases)
        if name is None:
            unknown.add(text)
        return text if name is None else name

    out = _transform(df, cols, rename, "normalize_country", log)
    if log is not None and unknown:
        rows = _row_ids(df)
        for column in cols:
            left = df[column].isin(unknown).to_numpy(dtype=bool)
            note = "not a country name or code known to Twenty's list; left as it is"
            values = df[column][left]
            log.record("unknown_country", column, rows[left], values, values, note)
    return out


def _dedupe_value(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value


def drop_duplicate_rows(
    df: pd.DataFrame,
    key: str | Sequence[str],
    keep: Literal["first", "last"] = "first",
    *,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """Keep one row per key and log each dropped row with the ``_row`` it duplicates.

    Keys are compared after trimming, collapsing spaces and ignoring case (normalise emails
    or links first for Twenty's exact comparison). Rows with an empty key part are kept.

    Args:
        df: the frame.
        key: a column or columns that identify a record (``"Email"``).
        keep: which row of a group survives.
        log: records each dropped row (rule ``drop_duplicate``, note ``duplicate of _row N``).
    """
    columns = [key] if isinstance(key, str) else list(key)
    keys = pd.DataFrame({c: df[c].map(_dedupe_value) for c in columns}, index=df.index)
    complete = keys.notna().all(axis=1)
    dropped = keys.duplicated(keep=keep) & complete
    if not dropped.any():
        return df.copy(deep=False)
    if log is not None:
        rows = _row_ids(df)
        survivors = keys[complete & ~dropped].copy()
        survivors["_survivor"] = rows[complete & ~dropped]
        matched = keys[dropped].merge(survivors, how="left", on=columns)
        before = df.loc[dropped, columns].astype(object)
        values = before.iloc[:, 0] if len(columns) == 1 else before.apply(tuple, axis=1)
        log.record(
            "drop_duplicate",
            ", ".join(columns),
            rows[dropped],
            list(values),
            [None] * int(dropped.sum()),
            [f"duplicate of _row {s}" for s in matched["_survivor"]],
        )
    return df.loc[~dropped]


def clean_frame(
    df: pd.DataFrame,
    *,
    emails: Sequence[str] | None = None,
    phones: Sequence[str] | None = None,
    links: Sequence[str] | None = None,
    default_region: str = "US",
    region_column: str | None = "auto",
    placeholders: Collection[str] = DEFAULT_PLACEHOLDERS,
    dedupe_on: str | Sequence[str] | None = None,
    log: CleaningLog | None = None,
) -> pd.DataFrame:
    """The default cleaning pipeline.

    Adds ``_row`` (when missing), strips whitespace, nullifies placeholders, normalises
    emails, phones (E.164) and links, then optionally drops duplicate rows.

    Args:
        df: the raw frame, as loaded.
        emails: email columns; default columns named like "email" (``[]`` to skip).
        phones: phone columns; default columns named like phone/mobile/tel/fax.
        links: URL columns; default columns named like website/url/linkedin/domain.
        default_region: region for phone numbers written without a country code.
        region_column: column of countries giving each row's phone region; ``"auto"`` uses
            a column named "Country" when there is one, None uses ``default_region`` only.
        placeholders: texts meaning "no value".
        dedupe_on: drop later rows with the same value(s) in this column or columns.
        log: records every change.

    Example:
        log = CleaningLog()
        clean = clean_frame(pd.read_csv("sample_data/people.csv", dtype=str), log=log)
    """
    out = df if ROW_COLUMN in df.columns else add_row_ids(df)
    if region_column == "auto":
        region_column = next((str(c) for c in df.columns if _COUNTRY_HEADER_RE.match(str(c))), None)
    out = strip_whitespace(out, log=log)
    out = nullify_placeholders(out, placeholders=placeholders, log=log)
    out = normalize_emails(out, emails, log=log)
    out = normalize_phones(out, phones, default_region, region_column=region_column, log=log)
    out = normalize_links(out, links, log=log)
    if dedupe_on is not None:
        out = drop_duplicate_rows(out, dedupe_on, log=log)
    return out
