"""The Excel and JSON readers behind :func:`~twenty_migrate.load`.

Each reader turns a file into a frame of text, the way the module doc of
:mod:`twenty_migrate.loading.load` describes: Excel cells written as Excel shows them (openpyxl
for ``.xlsx``/``.xlsm``, xlrd for ``.xls``, both imported when first used), JSON records
flattened into dotted columns. Header cells are cleaned the same way for every format,
text files included (:func:`_clean_headers`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from twenty_migrate.loading.header_row import find_header_row

#: Keys of a JSON object whose array holds the records.
RECORD_KEYS = ("records", "data", "results", "items", "rows")
_ZERO_PADDED = re.compile(r"^0+$")
_EMPTY = ""


# --------------------------------------------------------------------------- headers
def _clean_headers(header: Sequence[str], notes: list[str]) -> tuple[list[str], list[int]]:
    """Trimmed, unique names; positions of blank headers (to drop if their column is empty)."""
    names = [str(h).strip().strip("\ufeff\u200b").strip() for h in header]
    blank = [i for i, n in enumerate(names) if not n]
    for i in blank:
        names[i] = f"column_{i + 1}"
    originals = list(names)
    taken: set[str] = set()
    for i, name in enumerate(originals):
        if name in taken:
            n = 2
            while f"{name} ({n})" in taken or f"{name} ({n})" in originals[i + 1 :]:
                n += 1
            names[i] = f"{name} ({n})"
            notes.append(
                f"header {name!r} repeats: column {i + 1} renamed {names[i]!r}; the mapping "
                "suggestion leaves it unmapped, as the copy may hold other data"
            )
        taken.add(names[i])
    return names, blank


def duplicate_headers(names: Sequence[str], notes: Sequence[str]) -> dict[str, str]:
    """Renamed copy -> the header it repeats, read back from :func:`_clean_headers` notes."""
    out: dict[str, str] = {}
    for note in notes:
        match = _RENAMED.match(note)
        if match and match["new"] in names:
            out[match["new"]] = match["old"]
    return out


_RENAMED = re.compile(r"^header '(?P<old>.*)' repeats: column \d+ renamed '(?P<new>.*)';")


# --------------------------------------------------------------------------- excel
def _module(name: str) -> Any:
    """Import a reader lazily (openpyxl and xlrd ship no type information)."""
    return importlib.import_module(name)


def _pick_sheet(names: Sequence[str], sheet: str | int | None, file: Path) -> str:
    if not names:
        raise ValueError(f"{file.name} has no sheets")
    if sheet is None:
        return names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if -len(names) <= sheet < len(names):
            return names[sheet]
    elif isinstance(sheet, str):
        if sheet in names:
            return sheet
        folded = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
        if len(folded) == 1:
            return folded[0]
    listed = ", ".join(repr(n) for n in names)
    raise ValueError(f"{file.name} has no sheet {sheet!r}; its sheets are {listed}. Pass sheet=")


def _open_xlsx(file: Path) -> Any:
    openpyxl = _module("openpyxl")
    try:
        # From bytes: openpyxl judges a file by its name and refuses an .xlsx named .xls.
        return openpyxl.load_workbook(io.BytesIO(file.read_bytes()), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike
        raise ValueError(
            f"cannot read {file.name} as an Excel workbook ({type(exc).__name__}: {exc}). "
            "Open it in Excel and save it again as .xlsx (or as CSV UTF-8)"
        ) from None


def _xlsx_rows(file: Path, sheet: str | int | None) -> tuple[list[list[str]], str]:
    workbook = _open_xlsx(file)
    try:
        name = _pick_sheet(workbook.sheetnames, sheet, file)
        worksheet = workbook[name]
        if hasattr(worksheet, "reset_dimensions"):
            worksheet.reset_dimensions()  # some writers store a wrong sheet size
        rows = [
            [_excel_text(cell.value, getattr(cell, "number_format", None)) for cell in row]
            for row in worksheet.iter_rows()
        ]
    finally:
        workbook.close()
    return rows, name


def _open_xls(file: Path) -> Any:
    xlrd = _module("xlrd")
    try:
        return xlrd.open_workbook(file, on_demand=True)
    except Exception as exc:  # xlrd raises its own and struct errors on damaged files
        raise ValueError(
            f"cannot read {file.name} as an Excel 97-2003 workbook ({exc}). Open it in Excel "
            "and save it as .xlsx (or as CSV UTF-8)"
        ) from None


def _xls_rows(file: Path, sheet: str | int | None) -> tuple[list[list[str]], str]:
    xlrd = _module("xlrd")
    book = _open_xls(file)
    try:
        name = _pick_sheet(book.sheet_names(), sheet, file)
        worksheet = book.sheet_by_name(name)
        rows = []
        for index in range(worksheet.nrows):
            cells = []
            for cell in worksheet.row(index):
                value: Any = cell.value
                if cell.ctype == xlrd.XL_CELL_DATE:
                    value = _xls_date(value, book.datemode)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    value = bool(value)
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    value = xlrd.error_text_from_code.get(value, "#ERR")
                cells.append(_excel_text(value, None))
            rows.append(cells)
    finally:
        book.release_resources()
    return rows, name


def _xls_date(value: float, datemode: int) -> Any:
    if 0 <= value < 1:  # a time of day
        return (dt.datetime(2000, 1, 1) + dt.timedelta(days=value)).time()
    return _module("xlrd").xldate.xldate_as_datetime(value, datemode)


def _excel_text(value: Any, number_format: str | None) -> str:
    """A cell as Excel shows it: whole numbers without ``.0``, dates in ISO form."""
    if value is None:
        return _EMPTY
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if isinstance(value, float) and not (value.is_integer() and abs(value) < 1e15):
            return repr(value)
        text = str(int(value))
        if number_format and _ZERO_PADDED.match(number_format) and value >= 0:
            text = text.zfill(len(number_format))
        return text
    if isinstance(value, dt.datetime):
        value = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        shows_time = bool(number_format) and "h" in str(number_format).lower()
        if value.time() == dt.time(0) and not shows_time:
            return str(value.date().isoformat())
        return str(value.isoformat())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0).isoformat()
    return str(value)


def _rows_frame(
    rows: list[list[str]], header_row: int | None, name: str, notes: list[str]
) -> tuple[pd.DataFrame, list[int]]:
    if header_row is not None:
        start = int(header_row) - 1
        if start >= len(rows) or not any(rows[start]):
            raise ValueError(f"{name}: row {header_row} is empty, so it cannot be the header")
    else:
        found = find_header_row(rows)
        if found is None:
            raise ValueError(f"{name} is empty: the sheet has no header row. Pick another sheet")
        start = found
    body = rows[start + 1 :]
    width = max([len(rows[start]), *(len(r) for r in body)])
    header = list(rows[start]) + [_EMPTY] * (width - len(rows[start]))
    names, blank = _clean_headers(header, notes)
    columns = [[r[i] if i < len(r) else _EMPTY for r in body] for i in range(width)]
    frame = pd.DataFrame(
        {n: pd.array(col, dtype="str") for n, col in zip(names, columns, strict=True)},
        index=pd.RangeIndex(len(body)),
    )
    return frame, blank


# --------------------------------------------------------------------------- json
def _json_frame(
    file: Path, kind: str, text: str, notes: list[str]
) -> tuple[pd.DataFrame, list[int], list[int]]:
    """The records of a JSON (``kind`` "json") or JSON Lines file's decoded ``text`` as a
    frame, blank header positions, and each record's 1-based position."""
    if not text.strip():
        raise ValueError(f"{file.name} is empty: there are no records to read")
    positions: list[int]
    if kind == "json":
        try:
            parsed = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise _json_error(file, exc) from None
            kind = "jsonl"  # several values one after the other: JSON Lines
        else:
            records = _records_of(parsed, file)
            positions = list(range(1, len(records) + 1))
    if kind == "jsonl":
        records, positions = [], []
        for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 is text
            if not line.strip():
                continue
            try:
                records.append(json.loads(line, parse_float=Decimal))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{file.name} line {number} is not valid JSON ({exc.msg}, column "
                    f"{exc.colno}); JSON Lines needs one object per line"
                ) from None
            positions.append(number)
    rows: list[dict[str, str]] = []
    for position, record in zip(positions, records, strict=True):
        if not isinstance(record, dict):
            raise ValueError(
                f"{file.name} record {position} is a {type(record).__name__}, not an object; "
                "every record must be an object of field: value pairs"
            )
        rows.append(dict(_flatten(record)))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    names, blank = _clean_headers(columns, notes)
    frame = pd.DataFrame(
        {
            n: pd.array([row.get(c, _EMPTY) for row in rows], dtype="str")
            for n, c in zip(names, columns, strict=True)
        },
        index=pd.RangeIndex(len(rows)),
    )
    return frame, blank, positions


def _json_error(file: Path, exc: json.JSONDecodeError) -> ValueError:
    return ValueError(
        f"{file.name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
        "Fix the file, or export it again"
    )


def _records_of(parsed: Any, file: Path) -> list[Any]:
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, dict):
        for key in RECORD_KEYS:
            if isinstance(parsed.get(key), list):
                return list(parsed[key])
        keys = list(parsed)[:10]
        raise ValueError(
            f"{file.name} holds one JSON object with keys {keys}, not a list of records; "
            f"expected an array of objects, an object with a {' / '.join(RECORD_KEYS)} array, "
            "or JSON Lines"
        )
    raise ValueError(f"{file.name} holds a single {type(parsed).__name__}, not records")


def _flatten(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{name}.")
        else:
            yield name, _json_text(value)


def _json_text(value: Any) -> str:
    if value is None or value == {}:
        return _EMPTY
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
