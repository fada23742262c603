"""The cleaning helpers' machinery: their log, and a function applied to a column's text.

:class:`CleaningLog` is re-exported by :mod:`twenty_migrate.clean.frame`, whose helpers use
:func:`map_strings` and :func:`_transform` to change only the cells that need it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Column holding the stable source-row id, added first and kept by every stage.
ROW_COLUMN = "_row"
LOG_COLUMNS = ["_row", "column", "rule", "before", "after", "note"]
_ZERO_WIDTH = "\u200b\u2060\ufeff"
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")


class CleaningLog:
    """What the cleaning helpers changed, one row per changed cell or dropped row.

    Blank cells that become null are left out: they are not a change worth reviewing.

    Example:
        log = CleaningLog()
        df = strip_whitespace(df, log=log)
        log.to_frame()   # _row, column, rule, before, after, note
        log.summary()    # rule, column, rows
    """

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def record(
        self,
        rule: str,
        column: str,
        rows: Sequence[Hashable] | pd.Index[Any] | pd.Series[Any],
        before: Sequence[Any] | pd.Series[Any],
        after: Sequence[Any] | pd.Series[Any],
        note: str | Sequence[str | None] | None = None,
    ) -> None:
        """Add one entry per row; ``rows``, ``before`` and ``after`` have the same length."""
        row_values = list(rows)
        if not row_values:
            return
        notes = [note] * len(row_values) if note is None or isinstance(note, str) else list(note)
        part = pd.DataFrame(
            {
                "_row": pd.array(row_values, dtype=object),
                "column": column,
                "rule": rule,
                "before": pd.array(list(before), dtype=object),
                "after": pd.array(list(after), dtype=object),
                "note": pd.array(notes, dtype=object),
            }
        )
        self._parts.append(part)

    def to_frame(self) -> pd.DataFrame:
        """All entries, in the order they were recorded."""
        if not self._parts:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in LOG_COLUMNS})
        return pd.concat(self._parts, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Number of changed cells per rule and column."""
        frame = self.to_frame()
        return frame.groupby(["rule", "column"], sort=False).size().reset_index(name="rows")

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def __repr__(self) -> str:
        return f"CleaningLog({len(self)} changes)"

    def _repr_html_(self) -> str:
        return f"<p>{len(self)} changes</p>" + self.summary().to_html(index=False)


# --------------------------------------------------------------------------- internals
def _row_ids(df: pd.DataFrame) -> pd.Series[Any]:
    if ROW_COLUMN in df.columns:
        return df[ROW_COLUMN]
    return pd.Series(df.index, index=df.index)


def _text_columns(df: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise KeyError(f"columns not in the DataFrame: {missing}; it has {list(df.columns)}")
        return list(columns)
    return [
        str(c)
        for c in df.columns
        if not str(c).startswith("_")
        and (pd.api.types.is_string_dtype(df[c].dtype) or df[c].dtype == object)
    ]


def _string_mask(series: pd.Series[Any], values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        return series.notna().to_numpy()
    return np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))


def _rebuild(
    series: pd.Series[Any], values: np.ndarray[Any, Any], new: Any = None
) -> pd.Series[Any]:
    """``values`` as a column like ``series``: text columns stay text when they can.

    ``new`` may list the values that replaced the column's text (checked instead of every
    cell: the others are the column's own text or empties).
    """
    dtype: Any = object
    text_dtype = series.dtype != object and pd.api.types.is_string_dtype(series.dtype)
    if text_dtype and all(
        v is None or isinstance(v, str) for v in (values if new is None else new)
    ):
        dtype = series.dtype
    rebuilt: pd.Series[Any] = pd.Series(values, index=series.index, name=series.name, dtype=dtype)
    return rebuilt


Suspect = str | Callable[["pd.Series[Any]"], "pd.Series[Any]"]


def _suspects(series: pd.Series[Any], is_str: np.ndarray[Any, Any], suspect: Suspect) -> Any:
    """Which string cells might change: a vectorised pre-check that spares the Python loop."""
    if callable(suspect):
        found = suspect(series)
    elif series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        found = series.str.contains(suspect, regex=True)
    else:
        pattern = re.compile(suspect)
        found = series.map(lambda v: isinstance(v, str) and pattern.search(v) is not None)
    return is_str & found.fillna(False).to_numpy(dtype=bool)


def map_strings(
    series: pd.Series[Any], func: Callable[[str], Any], suspect: Suspect | None = None
) -> tuple[pd.Series[Any], np.ndarray[Any, Any]]:
    """Apply ``func`` to the string cells of ``series``, once per distinct value.

    Returns the new series and a boolean mask of the cells that changed. Cells that are not
    strings (numbers, dates, empties) are left as they are. ``suspect`` (a regex valid in
    Python and RE2, or a function of the series) names the cells ``func`` might change;
    the others are skipped.
    """
    values = series.to_numpy(dtype=object)
    is_str = _string_mask(series, values)
    if suspect is not None and is_str.any():
        is_str = _suspects(series, is_str, suspect)
    changed = np.zeros(len(values), dtype=bool)
    if not is_str.any():
        return series, changed
    codes, uniques = pd.factorize(values[is_str])
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [func(u) for u in uniques]
    differs = np.fromiter(
        (m != u for m, u in zip(mapped, uniques, strict=True)), dtype=bool, count=len(uniques)
    )
    if not differs.any():
        return series, changed
    new_values = values.copy()
    new_values[is_str] = mapped[codes]
    changed[is_str] = differs[codes]
    return _rebuild(series, new_values, mapped[differs]), changed


def _blank_to_null(
    before: pd.Series[Any], after: pd.Series[Any], changed: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """The changed cells that held blank text (empty, spaces only) and are now null."""
    nulled = np.flatnonzero(changed & after.isna().to_numpy(dtype=bool))
    blank = np.zeros(len(changed), dtype=bool)
    if len(nulled):
        values = before.to_numpy(dtype=object)[nulled]
        blank[nulled] = [
            isinstance(v, str) and not _ZERO_WIDTH_RE.sub("", v).strip() for v in values
        ]
    return blank


def _transform(
    df: pd.DataFrame,
    columns: Sequence[str],
    func: Callable[[str], Any],
    rule: str,
    log: CleaningLog | None,
    suspect: Suspect | None = None,
) -> pd.DataFrame:
    out = df.copy(deep=False)
    rows = _row_ids(df)
    for column in columns:
        before = df[column]
        after, changed = map_strings(before, func, suspect)
        if changed.any():
            out[column] = after
            if log is not None:
                logged = changed & ~_blank_to_null(before, after, changed)
                log.record(rule, column, rows[logged], before[logged], after[logged])
    return out


def _auto_columns(df: pd.DataFrame, pattern: re.Pattern[str]) -> list[str]:
    return [c for c in _text_columns(df, None) if pattern.search(c)]
