"""Read a client's files into a DataFrame of text, each row tagged with a stable ``_row`` id.

:func:`load` reads CSV/TSV/TXT, Excel (``.xlsx``/``.xlsm`` with openpyxl, ``.xls`` with
xlrd) and JSON (an array of objects, ``{"records": [...]}`` or ``{"data": [...]}``, JSON
Lines). Every cell comes back as text, spelled as in the file: ``"N/A"``, ``"007"`` and
``"0035g0000zgWJcP5"`` stay what they are, empty cells are ``""``. Excel cells are written
the way Excel shows them: whole numbers without ``.0`` (zero-padded when the cell's number
format says so), dates and times in ISO form (``2024-09-18``, ``2024-09-18T17:33:00``),
booleans as ``TRUE``/``FALSE``. Nested JSON objects become dotted columns
(``address.city``); JSON arrays stay JSON text.

**Row ids.** ``_row`` is the data-row number in file order: the first row under the header
is 1 (``row_id_start``). Blank rows are dropped but keep their numbers, so ``_row`` n is
row n + 1 of the sheet in Excel or a spreadsheet app (header on row 1), and record n of a
CSV (a quoted cell with line breaks spans several lines of a text editor but is one
record). In JSON Lines ``_row`` is the line number. The same file always gives the same
ids, so a fix-me file points back at the rows to correct. With ``source=True`` the ids
name the file too (``"people.xlsx:12"``), so rows of several files can be merged
(:func:`load_many`). A file that already has a ``_row`` column (a fix-me file) keeps it.

**Detection.** The encoding is read from a byte-order mark (UTF-8, UTF-16, UTF-32), else
the file is UTF-8 when all of it decodes as UTF-8, else Windows-1252 (Latin-1 when the
file holds bytes Windows-1252 does not define). The delimiter is one of ``, ; TAB |``:
:class:`csv.Sniffer` proposes, and a sample must then split into the same number of
fields on most rows. Pass ``encoding=`` or ``delimiter=`` to override either.

**Headers.** The header is the first row, unless a title or notes sit above the table:
then the first row that reads like a header (several labels, as wide as the table; only
short rows above it) is used, and the note says so and how to choose another
(``header_row=``). ``df.attrs["header_row"]`` is the row (line) used. Header cells are
trimmed. A blank header becomes ``column_<n>`` (n is the 1-based position) or, when its
column is empty too, is dropped; a repeated header gets ``" (2)"``, ``" (3)"`` ...
appended (``Email``, ``Email (2)``), listed in ``df.attrs["duplicate_headers"]`` (copy ->
header), and the mapping suggestion leaves such copies unmapped. What was renamed, dropped
or guessed is logged on ``twenty_migrate.loading.load`` and listed in ``df.attrs["notes"]``.

Example:
    df = load("sample_data/people.csv")                 # _row, Contact ID, First Name, ...
    leads = load("sample_data/people.xlsx", sheet="Leads")
    both = load_many(["sample_data/people.csv", "sample_data/people.xlsx"],
                     rename={"E-mail": "Email"})         # _row "people.csv:1", ...
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.loading.encodings import (
    _check_codec,
    _decode_error,
    _decoded_json,
    detect_encoding,
)
from twenty_migrate.loading.header_row import SCAN_ROWS, find_header_row
from twenty_migrate.loading.readers import (
    _EMPTY,
    _clean_headers,
    _json_frame,
    _open_xls,
    _open_xlsx,
    _rows_frame,
    _xls_rows,
    _xlsx_rows,
    duplicate_headers,
)
from twenty_migrate.loading.readers import RECORD_KEYS as RECORD_KEYS  # still importable from here
from twenty_migrate.values.payloads import ROW_COLUMN

__all__ = [
    "DELIMITERS",
    "SOURCE_COLUMN",
    "SUPPORTED_EXTENSIONS",
    "detect_delimiter",
    "detect_encoding",
    "list_sheets",
    "load",
    "load_many",
]

logger = logging.getLogger("twenty_migrate.loading.load")

#: Column naming the file a row came from (added by ``source=`` and :func:`load_many`).
SOURCE_COLUMN = "_source"
#: Delimiters :func:`detect_delimiter` chooses from.
DELIMITERS = (",", ";", "\t", "|")
#: Readable extensions and the reader each one gets (the content decides for Excel files).
SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".csv": "text",
    ".tsv": "text",
    ".tab": "text",
    ".txt": "text",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: Bytes read to guess the delimiter and parse the header.
SAMPLE_BYTES = 256 * 1024
#: Bytes handed to csv.Sniffer (its guess is slow on large samples).
SNIFF_CHARS = 32 * 1024
#: Share of sample rows that must split into as many fields as the header.
CONSISTENT_SHARE = 0.9
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LINE_END = re.compile(r"\r\n|\r|\n")


# --------------------------------------------------------------------------- public API
def load(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
    row_id_start: int = 1,
    source: bool | str = False,
) -> pd.DataFrame:
    """Read a CSV, TSV, TXT, XLSX, XLS, JSON or JSON Lines file as text, with ``_row`` ids.

    Args:
        path: The file. The extension picks the reader; Excel files are recognised by their
            content, so an ``.xls`` that is really an ``.xlsx`` still reads.
        sheet: Excel only: a sheet name (case-insensitive if no exact match) or a 0-based
            position. Default: the first sheet.
        encoding: Text files: skip detection and decode with this codec (``"cp1252"``).
        delimiter: Text files: skip detection and split on this string.
        header_row: 1-based row (line) of the header. Default: the first line of a text
            file, the first non-empty row of a sheet, or the first row that reads like a
            header below a title or notes (the note in ``df.attrs["notes"]`` says which).
        row_id_start: ``_row`` of the first data row.
        source: Tag the rows with their file: ``_row`` becomes ``"<label>:<n>"`` and a
            ``_source`` column holds the label (``True``: the file name; a string: that).

    Returns:
        ``_row`` (int, or str with ``source``), then the file's columns, all text. The
        file's encoding, delimiter, sheet and notes are in ``df.attrs``.

    Raises:
        FileNotFoundError: No such file.
        ValueError: An unsupported extension, an empty file, text that does not decode,
            rows with more fields than the header, a missing sheet (the message lists the
            sheets), malformed JSON. The message says what to do.

    Example:
        >>> df = load("sample_data/people.xlsx", sheet="Leads")  # doctest: +SKIP
        >>> df[["_row", "Badge ID"]].head(2)                    # doctest: +SKIP
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no such file: {file}" + _near_files(file))
    if header_row is not None and int(header_row) < 1:
        raise ValueError(f"header_row is 1-based (the first row is 1), not {header_row!r}")
    kind = _kind(file)
    if sheet is not None and kind not in ("xlsx", "xls"):
        raise ValueError(f"{file.name} is not an Excel workbook, so it has no sheets; drop sheet=")
    notes: list[str] = []
    attrs: dict[Hashable, Any] = {"path": str(file), "format": kind}
    positions = None
    if kind == "text":
        frame, blank = _read_text(file, encoding, delimiter, header_row, notes, attrs)
    elif kind in ("xlsx", "xls"):
        if encoding is not None or delimiter is not None:
            raise ValueError(f"{file.name} is an Excel workbook: drop encoding= and delimiter=")
        rows, attrs["sheet"] = _xlsx_rows(file, sheet) if kind == "xlsx" else _xls_rows(file, sheet)
        frame, blank = _rows_frame(rows, header_row, file.name, notes)
        attrs["header_row"] = header_row or _rows_header(rows)
        if header_row is None and attrs["header_row"] > 1 + _blank_top(rows):
            notes.append(_header_note(attrs["header_row"], "row"))
    else:
        if delimiter is not None:
            raise ValueError(f"{file.name} is JSON: drop delimiter=")
        frame, blank, positions = _json_frame(file, kind, _decoded_json(file, encoding), notes)
    frame = _with_ids(frame, blank, int(row_id_start), notes, positions)
    if source:
        label = file.name if source is True else str(source)
        frame = _tag_source(frame, label)
    for note in notes:
        if "empty rows dropped" not in note:  # usual (trailing blank lines): logged as info
            logger.warning("%s: %s", file.name, note)
    attrs["notes"] = notes
    attrs["duplicate_headers"] = duplicate_headers(list(map(str, frame.columns)), notes)
    frame.attrs = attrs
    return frame


def load_many(
    paths: Iterable[str | os.PathLike[str]],
    *,
    sheets: Mapping[str, str | int] | None = None,
    rename: Mapping[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Read several files into one frame, ids unique across files (``"people.xlsx:12"``).

    Each file is read with :func:`load` and ``source`` set to its name (its path when two
    files share a name), then ``rename`` is applied so the files' headers agree, and the
    frames are stacked. A column missing from a file is ``""`` for that file's rows.

    Args:
        paths: The files, in the order their rows should come.
        sheets: Sheet per Excel file, keyed by file name or path as given.
        rename: Old header -> new header, applied to every file (``{"E-mail": "Email"}``).
        encoding: Passed to :func:`load` for text files.
        delimiter: Passed to :func:`load` for text files.

    Returns:
        ``_row`` (``"<file>:<n>"``), ``_source`` (the file), then every column, all text.

    Example:
        >>> people = load_many(["people.csv", "people.xlsx"], sheets={"people.xlsx": "Leads"},
        ...                    rename={"E-mail": "Email", "Tel.": "Phone"})  # doctest: +SKIP
    """
    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("load_many needs at least one file")
    names = [f.name for f in files]
    labels = [f.name if names.count(f.name) == 1 else os.fspath(f) for f in files]
    if len(set(labels)) != len(labels):
        raise ValueError(f"the same file is listed twice: {sorted(labels)}")
    frames = []
    for file, label in zip(files, labels, strict=True):
        chosen = None
        if sheets:
            chosen = sheets.get(label, sheets.get(file.name, sheets.get(os.fspath(file))))
        kind = _kind(file)
        excel = kind in ("xlsx", "xls")
        frame = load(
            file,
            sheet=chosen if excel else None,
            encoding=None if excel else encoding,
            delimiter=delimiter if kind == "text" else None,
            source=label,
        )
        if rename:
            frame = frame.rename(columns=dict(rename))
            repeated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
            if repeated:
                raise ValueError(
                    f"after rename, {file.name} has the columns {repeated} twice; rename only "
                    "one of each pair"
                )
        frames.append(frame)
    merged = pd.concat(frames, ignore_index=True, sort=False)
    text = [c for c in merged.columns if c not in (ROW_COLUMN, SOURCE_COLUMN)]
    if text and merged[text].isna().to_numpy().any():
        merged[text] = merged[text].fillna(_EMPTY)
    merged.attrs = {
        "paths": [str(f) for f in files],
        "notes": [n for f in frames for n in f.attrs.get("notes", [])],
    }
    return merged


def list_sheets(path: str | os.PathLike[str]) -> list[str]:
    """The sheet names of an Excel workbook, in order."""
    file = Path(path)
    kind = _kind(file)
    if kind == "xlsx":
        workbook = _open_xlsx(file)
        try:
            return list(workbook.sheetnames)
        finally:
            workbook.close()
    if kind == "xls":
        book = _open_xls(file)
        try:
            return list(book.sheet_names())
        finally:
            book.release_resources()
    raise ValueError(f"{file.name} is not an Excel workbook, so it has no sheets")


def detect_delimiter(sample: str, *, prefer: str | None = None, complete: bool = True) -> str:
    """The delimiter among ``, ; TAB |`` that splits ``sample`` into consistent rows.

    :class:`csv.Sniffer` proposes one; it is kept when at least 90% of the sample's rows
    have as many fields as the header (two or more). Otherwise the most consistent
    candidate wins (``prefer`` first on a tie, then the one with more columns). A sample
    no candidate splits is one column: ``","``.

    Args:
        sample: The start of the file, decoded.
        prefer: The delimiter the extension suggests (``"\\t"`` for ``.tsv``).
        complete: False when the sample was cut, so its last row may be partial.
    """
    scores = {d: _consistency(sample, d, complete) for d in DELIMITERS}
    sniffed: str | None
    try:
        sniffed = csv.Sniffer().sniff(sample[:SNIFF_CHARS], "".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores and scores[sniffed][0] >= CONSISTENT_SHARE and scores[sniffed][1] >= 2:
        if prefer in scores and scores[prefer] >= scores[sniffed] and prefer != sniffed:
            return prefer
        return sniffed
    ranked = sorted(
        (d for d in DELIMITERS if scores[d][1] >= 2),
        key=lambda d: (scores[d][0], d == prefer, scores[d][1]),
        reverse=True,
    )
    return ranked[0] if ranked else ","


# --------------------------------------------------------------------------- kinds
def _kind(file: Path) -> str:
    suffix = file.suffix.lower()
    kind = SUPPORTED_EXTENSIONS.get(suffix)
    if kind is None:
        known = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise ValueError(
            f"cannot read {file.name}: {suffix or 'no extension'} is not a supported format "
            f"({known}). Save it as CSV or XLSX, or rename it if the extension is wrong."
        )
    with open(file, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_ZIP_MAGIC) and kind in ("xlsx", "xls", "text"):
        return "xlsx"
    if head.startswith(_OLE_MAGIC) and kind in ("xlsx", "xls", "text"):
        return "xls"
    if kind in ("xlsx", "xls"):
        start = head.lstrip(codecs.BOM_UTF8).lstrip()
        if start.startswith(b"<"):
            raise ValueError(
                f"{file.name} is a web page (HTML) named like an Excel file, as some CRMs "
                "export; open it in Excel and save it as .xlsx, or read it with pd.read_html"
            )
        if head:
            return "text"  # some tools write tab-separated text under an .xls name
    return kind


def _near_files(file: Path) -> str:
    folder = file.parent if str(file.parent) else Path(".")
    if not folder.is_dir():
        return ""
    near = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS)
    return f"; files there: {near[:20]}" if near else ""


# --------------------------------------------------------------------------- text files
def _read_text(
    file: Path,
    encoding: str | None,
    delimiter: str | None,
    header_row: int | None,
    notes: list[str],
    attrs: dict[Hashable, Any],
) -> tuple[pd.DataFrame, list[int]]:
    if encoding is None:
        encoding = detect_encoding(file)
        if encoding in ("cp1252", "latin-1"):
            notes.append(
                f"not UTF-8: read as {encoding}; if accented letters look wrong, pass the "
                "file's encoding= (for example 'mac_roman' or 'cp1250')"
            )
    else:
        _check_codec(encoding)
    with open(file, "rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
        complete = not handle.read(1)
    try:
        sample = codecs.getincrementaldecoder(encoding)().decode(raw, final=complete)
    except UnicodeDecodeError as exc:
        raise _decode_error(file, encoding, exc) from None
    text = sample.lstrip("\ufeff")
    prefer = "\t" if file.suffix.lower() in (".tsv", ".tab") else None
    sniffed = None
    if header_row is None:
        header_row, sniffed = _text_header_row(text, delimiter, prefer, complete)
        if header_row > 1:
            notes.append(_header_note(header_row, "line"))
    attrs["header_row"] = int(header_row)
    skip = int(header_row) - 1
    body = _after_lines(text, skip)
    if not body.strip():
        raise ValueError(
            f"{file.name} is empty"
            + (f" below line {skip}" if skip else "")
            + ": there is no header row to read. Check that the export finished, or the "
            "header_row"
        )
    if delimiter is None:
        delimiter = sniffed or detect_delimiter(body, prefer=prefer, complete=complete)
    elif not delimiter or "\n" in delimiter or "\r" in delimiter or '"' in delimiter:
        raise ValueError(f"delimiter must be a character such as ',' or ';', not {delimiter!r}")
    header = next(csv.reader(io.StringIO(body), delimiter=delimiter), [])
    names, blank = _clean_headers(header, notes)
    attrs.update(encoding=encoding, delimiter=delimiter)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                file,
                sep=delimiter,
                encoding=encoding,
                engine="c",
                dtype=str,
                na_filter=False,
                keep_default_na=False,
                skip_blank_lines=False,
                header=0,
                names=names,
                index_col=False,
                skiprows=skip or None,
                quotechar='"',
                doublequote=True,
            )
    except UnicodeDecodeError as exc:
        raise _decode_error(file, encoding, exc) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise ValueError(
            f"{file.name}: some rows have more fields than the header ({len(names)} with "
            f"delimiter {delimiter!r}): {exc}. Check the delimiter (pass delimiter=) and that "
            "cells containing it are quoted"
        ) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{file.name} is empty: there is no header row to read") from None
    return frame, blank


def _rows_header(rows: list[list[str]]) -> int:
    """The 1-based sheet row :func:`find_header_row` picks (1 for an empty sheet)."""
    index = find_header_row(rows)
    return 1 if index is None else index + 1


def _blank_top(rows: list[list[str]]) -> int:
    """Blank rows above the first filled one (skipped silently, as always)."""
    return next((i for i, r in enumerate(rows) if any(str(c).strip() for c in r)), 0)


def _text_header_row(
    text: str, delimiter: str | None, prefer: str | None, complete: bool
) -> tuple[int, str | None]:
    """The 1-based line of the header: the first, unless a title or notes sit above it;
    and the delimiter detected on the way when the header is the first line."""
    sniffed = None if delimiter else detect_delimiter(text, prefer=prefer, complete=complete)
    candidates = [delimiter or sniffed or ","]
    if not delimiter:
        candidates += [d for d in DELIMITERS if d != candidates[0]]
    best: tuple[int, int] | None = None  # (header cells, line)
    for candidate in candidates:
        rows, ends = _first_records(text, candidate)
        index = find_header_row(rows)
        if index is None:
            continue
        cells = sum(1 for c in rows[index] if c.strip())
        if index == 0 and cells >= 2 and candidate == candidates[0]:
            return 1, sniffed  # the usual file: the header on the first line
        line = ends[index - 1] + 1 if index else 1
        if index and (best is None or cells > best[0]):
            best = (cells, line)
    return (best[1], None) if best else (1, sniffed)


def _first_records(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The first records of ``text`` and the line each one ends on."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    ends: list[int] = []
    try:
        for row in reader:
            rows.append(row)
            ends.append(reader.line_num)
            if len(rows) >= SCAN_ROWS:
                break
    except csv.Error:
        pass  # a broken quote further down: judge by the rows read so far
    return rows, ends


def _header_note(row: int, unit: str) -> str:
    return (
        f"the header is on {unit} {row}: the {unit}s above it look like a title or notes "
        f"and are skipped; _row 1 is the first {unit} under the header. If that is wrong, "
        f"pass header_row=<the header's {unit} number>"
    )


def _after_lines(text: str, n: int) -> str:
    """``text`` without its first ``n`` lines (line ends as pandas counts them)."""
    if n == 0:
        return text
    for number, end in enumerate(_LINE_END.finditer(text), 1):
        if number == n:
            return text[end.end() :]
    return ""


def _consistency(sample: str, delimiter: str, complete: bool) -> tuple[float, int]:
    """(share of rows with the header's field count, header field count)."""
    try:
        records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
    except csv.Error:
        return 0.0, 0
    if not records:
        return 0.0, 0
    width = len(records[0])
    rows = records[1:] if complete else records[1:-1]
    if not rows:
        return (1.0 if width >= 2 else 0.0), width
    same = sum(1 for r in rows if len(r) == width)
    return same / len(rows), width


# --------------------------------------------------------------------------- ids
def _with_ids(
    frame: pd.DataFrame,
    blank: list[int],
    start: int,
    notes: list[str],
    positions: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Add ``_row`` (or keep the file's), drop empty rows and empty unnamed columns."""
    columns = list(frame.columns)
    empty_cols = [columns[i] for i in blank if not (frame[columns[i]] != _EMPTY).any()]
    for i in blank:
        if columns[i] not in empty_cols:
            notes.append(f"column {i + 1} has no header: named {columns[i]!r}")
    if empty_cols:
        frame = frame.drop(columns=empty_cols)
    if ROW_COLUMN in frame.columns:
        frame = _keep_row_ids(frame)
    else:
        from twenty_migrate.clean.frame import add_row_ids  # lazily: clean loads phonenumbers

        frame = add_row_ids(frame, start=start)
        if positions is not None:
            frame[ROW_COLUMN] = np.asarray(positions, dtype=np.int64) + (start - 1)
    text = [c for c in frame.columns if c != ROW_COLUMN]
    if text:
        filled = np.zeros(len(frame), dtype=bool)
        for column in text:
            filled |= (frame[column] != _EMPTY).to_numpy(dtype=bool)
        if not filled.all():
            dropped = int((~filled).sum())
            logger.info("%d empty rows dropped (their _row numbers are skipped)", dropped)
            notes.append(f"{dropped} empty rows dropped (their _row numbers are skipped)")
            frame = frame.loc[filled].reset_index(drop=True)
    return frame


def _keep_row_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """A file with its own ``_row`` (a fix-me file): keep it, as int where every id is one."""
    ids = frame[ROW_COLUMN].astype(str).str.strip()
    if (ids == _EMPTY).any() or ids.duplicated().any():
        raise ValueError(
            "the file has a _row column with empty or repeated ids; _row must identify each "
            "row. Rename that column if it is not twenty_migrate's row id"
        )
    out = frame.copy(deep=False)
    if ids.str.fullmatch(r"-?\d{1,18}").all():
        out[ROW_COLUMN] = ids.astype(np.int64)
    else:
        out[ROW_COLUMN] = ids
    return out[[ROW_COLUMN, *[c for c in frame.columns if c != ROW_COLUMN]]]


def _tag_source(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    out = frame.copy(deep=False)
    ids = out[ROW_COLUMN].astype(str)
    out[ROW_COLUMN] = pd.array((label + ":" + ids).tolist(), dtype="str")
    out[SOURCE_COLUMN] = pd.array([label] * len(out), dtype="str")
    rest = [c for c in out.columns if c not in (ROW_COLUMN, SOURCE_COLUMN)]
    return out[[ROW_COLUMN, SOURCE_COLUMN, *rest]]
