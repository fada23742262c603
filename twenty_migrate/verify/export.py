"""Read records back from Twenty, export what a run did, and roll a run back.

Everything here starts from one of two sources of truth: the workspace itself
(:func:`fetch_records`) or a run's journal (``<runs_dir>/<run_id>/journal.sqlite``):

* :func:`write_log` writes one line per source row (``_row``, object, Twenty id, status,
  Twenty's error message, attempts, timings) as CSV, JSONL, Excel or Parquet;
* :func:`write_fixme` writes only the failed rows, and the rows imported with a bad
  optional cell emptied, in their original source columns plus ``_row``, ``_object`` and
  ``_error``, ready to correct and re-import (:func:`read_fixme` reads such a file back);
* :func:`run_summary` / :func:`write_summary` give counts, duration, calls and the most
  common failure messages;
* :func:`reconcile` checks that every record a run landed is in Twenty, once, and
  :func:`relation_coverage` counts the records that carry each of their links, and
  :func:`verify_run` does both in one pass and says how many calls it spent (all in
  :mod:`twenty_migrate.verify.verify`, re-exported here);
* :func:`rollback` deletes exactly the records a run created and records what it did in the
  same journal, so a second rollback never repeats work.

Spreadsheet files (CSV and XLSX) are protected against formula injection: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab, CR or LF gets a leading ``'`` (undone by
:func:`restore_formulas` and :func:`read_fixme`). Every file is written under a temporary
name in the target directory and then moved into place, so a half-written file never
remains. Nothing here writes the API key. :func:`rollback` and :class:`RollbackResult` live
in :mod:`twenty_migrate.verify.rollbacks` and are re-exported here.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.runs import ROW_COLUMNS
from twenty_migrate.values.payloads import CELLS_EMPTIED_COLUMN, flatten
from twenty_migrate.verify.rollbacks import (
    RollbackResult,
    RunRef,
    open_run,
    rollback,
    rollback_history,
    rollback_states,
)
from twenty_migrate.verify.verify import (
    COVERAGE_COLUMNS,
    RECONCILE_COLUMNS,
    Verification,
    reconcile,
    relation_coverage,
    verify_run,
)

if TYPE_CHECKING:
    pass

__all__ = [
    "COVERAGE_COLUMNS",
    "RECONCILE_COLUMNS",
    "RollbackResult",
    "Verification",
    "fixme_frame",
    "format_summary",
    "log_frame",
    "neutralize_formulas",
    "open_run",
    "read_fixme",
    "reconcile",
    "relation_coverage",
    "restore_formulas",
    "rollback",
    "run_summary",
    "verify_run",
    "write_fixme",
    "write_frame",
    "write_log",
    "write_summary",
]

FileFormat = Literal["csv", "jsonl", "xlsx", "parquet"]

#: File suffix -> format, for every writer that infers its format from the path.
FORMAT_BY_SUFFIX: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Formats opened by spreadsheet programs, where text cells are neutralised.
SPREADSHEET_FORMATS: frozenset[str] = frozenset({"csv", "xlsx"})
#: Leading characters that make a spreadsheet cell a formula (OWASP "CSV injection"); LF
#: too, because XML (XLSX) turns a stored CR into LF when the file is read back.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
#: UTF-8 with a byte-order mark, so Excel reads accents right; pandas strips the mark.
CSV_ENCODING = "utf-8-sig"
#: Columns of the per-row log, in this order (others the journal offers follow): the
#: journal's row columns up to ``finished_at``, the source row id first.
LOG_COLUMNS = (
    "_row",
    "object",
    *ROW_COLUMNS[ROW_COLUMNS.index("twenty_id") : ROW_COLUMNS.index("finished_at") + 1],
)
#: Control characters an XLSX cell cannot hold (openpyxl refuses them); tab, LF, CR are fine.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Journal columns kept out of the per-row log (internal bookkeeping).
_INTERNAL_COLUMNS = ("sent_id", "step", "payload", "source")
#: Columns a fix-me file adds to the source columns.
_FIXME_EXTRA = ("_row", "_object", "_error")
#: Source columns a fix-me file does not repeat (the emptied cells go to ``_error``).
_FIXME_SKIPPED = (*_FIXME_EXTRA, CELLS_EMPTIED_COLUMN)
#: Most frequent failure messages kept in a run summary.
TOP_FAILURES = 10


# --------------------------------------------------------------------------- reading


# --------------------------------------------------------------------------- writing


def write_frame(
    frame: pd.DataFrame, path: str | os.PathLike[str], format: str | None = None
) -> Path:
    """Write a DataFrame as CSV, JSONL, XLSX or Parquet, atomically.

    CSV and XLSX cells that would start a formula are prefixed with ``'``; JSONL and Parquet
    keep values as they are (they are data, not spreadsheets).

    Args:
        frame: What to write (the index is not written).
        path: Target file; its parent directory is created if needed.
        format: ``"csv"``, ``"jsonl"``, ``"xlsx"`` or ``"parquet"``; inferred from the suffix
            when ``None``.

    Returns:
        The path written.
    """
    target = Path(path)
    fmt = _resolve_format(target, format)
    out = frame
    if fmt == "xlsx":
        out = _excel_safe(out)  # first: dropping a control character may expose a "="
    elif fmt == "parquet":
        out = _parquet_safe(out)
    if fmt in SPREADSHEET_FORMATS:
        out = neutralize_formulas(out)

    def write(tmp: Path) -> None:
        if fmt == "csv":
            # CRLF rows (RFC 4180): cells holding a bare CR or LF get quoted.
            out.to_csv(tmp, index=False, encoding=CSV_ENCODING, lineterminator="\r\n")
        elif fmt == "jsonl":
            out.to_json(tmp, orient="records", lines=True, force_ascii=False, date_format="iso")
        elif fmt == "xlsx":
            out.to_excel(tmp, index=False, engine="openpyxl")
        else:
            out.to_parquet(tmp, index=False, engine="pyarrow")

    _atomic_write(target, write)
    return target


def _resolve_format(path: Path, format: str | None) -> FileFormat:
    if format is not None:
        key = format.lower().lstrip(".")
        for fmt in FORMAT_BY_SUFFIX.values():
            if key == fmt:
                return fmt
        if f".{key}" in FORMAT_BY_SUFFIX:
            return FORMAT_BY_SUFFIX[f".{key}"]
        raise ValueError(f"Unknown format {format!r}; use one of csv, jsonl, xlsx, parquet.")
    fmt_or_none = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt_or_none is None:
        raise ValueError(
            f"Cannot infer the format of {path.name!r}: use a .csv, .jsonl, .xlsx or .parquet "
            "suffix, or pass format=."
        )
    return fmt_or_none


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same directory, then rename over the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keep the real suffix last: pandas picks the Excel writer by extension.
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells (and headers) a spreadsheet would run as a formula.

    The escape is reversible (:func:`restore_formulas`): a value that already starts with
    quotes followed by a formula character gets one more quote.
    """
    out = frame.copy()
    out.columns = [_escape(c) if isinstance(c, str) else c for c in out.columns]
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(_escape, na_action="ignore").astype(object)
    return out


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralize_formulas` (for files read back from CSV or XLSX)."""
    out = frame.copy()
    out.columns = [_unescape(c) if isinstance(c, str) else c for c in out.columns]
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(_unescape, na_action="ignore")
    return out


def _escape(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    body = value.lstrip("'")
    return "'" + value if body[:1] and body[0] in FORMULA_PREFIXES else value


def _unescape(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith("'"):
        return value
    body = value.lstrip("'")
    return value[1:] if body[:1] and body[0] in FORMULA_PREFIXES else value


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop control characters XLSX cannot store; lists and dicts become JSON text."""

    def clean(value: Any) -> Any:
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, str):
            return _XLSX_ILLEGAL.sub("", value)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(timezone.utc).replace(tzinfo=None)  # XLSX has no zones
        return value

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.tz_convert(None)
        elif series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(clean, na_action="ignore")
    return out


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing types (a source column with numbers and text) become text."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype != object:
            continue
        kinds = {type(v) for v in series.dropna()}
        if len(kinds) > 1 or kinds & {dict}:
            out[column] = series.map(
                lambda v: v if isinstance(v, str) else json.dumps(v, default=str),
                na_action="ignore",
            )
    return out


# --------------------------------------------------------------------------- run journals


def log_frame(run: RunRef, *, runs_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The per-row log of a run as a DataFrame (what :func:`write_log` writes)."""
    with open_run(run, runs_dir) as journal:
        rows = journal.rows_frame()
        states = rollback_states(journal)
    rows = rows.drop(columns=[c for c in _INTERNAL_COLUMNS if c in rows.columns])
    if states:
        rows["rollback"] = [
            states.get((o, t)) if s == "created" else None
            for o, t, s in zip(rows["object"], rows["twenty_id"], rows["status"], strict=True)
        ]
    first = [c for c in LOG_COLUMNS if c in rows.columns]
    return rows[first + [c for c in rows.columns if c not in first]].reset_index(drop=True)


def write_log(
    run: RunRef,
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    runs_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write a run's per-row outcomes, one line per source row, to a file.

    Columns: ``_row`` (source row id), ``object``, ``twenty_id``, ``status``
    (created/updated/unchanged/failed/pending), ``error`` (Twenty's message), ``error_code``,
    ``attempts``, ``batch_id``, ``first_sent_at``, ``finished_at``, ``duration_ms``, and
    ``rollback`` once the run has been rolled back.

    Args:
        run: A :class:`RunJournal`, a run id (with ``runs_dir``) or a run directory.
        path: A ``.csv``, ``.jsonl``, ``.xlsx`` or ``.parquet`` file.
        format: Overrides the format inferred from the suffix.
        runs_dir: Where runs live when ``run`` is an id.

    Returns:
        The path written.

    Example:
        >>> write_log(result.run_id, "out/people_log.xlsx")
    """
    return write_frame(log_frame(run, runs_dir=runs_dir), path, format)


def fixme_frame(run: RunRef, *, runs_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Rows to correct in their original source columns, plus ``_row``, ``_object``,
    ``_error``: the failed rows (Twenty's message), and the rows imported with a bad
    optional cell emptied (which cells, their values and why)."""
    with open_run(run, runs_dir) as journal:
        rows = journal.rows_frame(payload=True, source=True)
        order = _source_columns(journal)
    emptied = rows["source"].map(
        lambda v: v.get(CELLS_EMPTIED_COLUMN) if isinstance(v, dict) else None
    )
    wanted = (rows["status"] == "failed") | emptied.map(lambda v: isinstance(v, str) and bool(v))
    records: list[dict[str, Any]] = []
    for row, cells in zip(rows[wanted].to_dict("records"), emptied[wanted], strict=True):
        values = row["source"]
        if not isinstance(values, dict):
            # No source kept: fall back to the payload that was sent, flattened.
            values = flatten(row["payload"]) if isinstance(row["payload"], dict) else {}
        record: dict[str, Any] = {"_row": row["_row"]}
        record.update((str(k), v) for k, v in values.items() if k not in _FIXME_SKIPPED)
        record["_object"] = row["object"]
        errors = [row["error"]] if row["status"] == "failed" and row["error"] else []
        if isinstance(cells, str) and cells:
            errors.append(f"imported without: {cells}")
        record["_error"] = "; ".join(errors) or row["error"]
        records.append(record)
    if not records:
        return pd.DataFrame(columns=list(_FIXME_EXTRA))
    frame = pd.DataFrame.from_records(records)
    # The journal stores each row's source with sorted keys: restore the file's order.
    ordered = [c for cols in order.values() for c in cols if c in frame.columns]
    middle = list(dict.fromkeys(ordered + [str(c) for c in frame.columns]))
    middle = [c for c in middle if c not in _FIXME_SKIPPED]
    return frame[["_row", *middle, "_object", "_error"]]


def _source_columns(journal: RunJournal) -> dict[str, list[str]]:
    """Source column order per object, from the plan kept in the journal."""
    try:
        conn = sqlite3.connect(str(journal.path))
        try:
            row = conn.execute("SELECT plan FROM run").fetchone()
        finally:
            conn.close()
        steps = json.loads(row[0]).get("steps", []) if row else []
    except (sqlite3.Error, ValueError, AttributeError):
        return {}
    out: dict[str, list[str]] = {}
    for step in steps:
        source = step.get("source") or {}
        columns = source.get("columns") or step.get("columns") or []
        out.setdefault(str(step.get("object")), []).extend(str(c) for c in columns)
    return out


def write_fixme(
    run: RunRef, path: str | os.PathLike[str], *, runs_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Write the rows to correct, in their original columns, to correct and re-import.

    These are the failed rows and the rows imported with a bad optional cell emptied. The
    file has ``_row`` first, the source columns as they were read, then ``_object`` and
    ``_error`` (Twenty's message, or the cells emptied: column, value and reason).
    :func:`read_fixme` reads it back and undoes the formula protection, so corrected rows
    can go through the same pipeline again.

    Args:
        run: A :class:`RunJournal`, a run id (with ``runs_dir``) or a run directory.
        path: A ``.csv`` or ``.xlsx`` file.
        runs_dir: Where runs live when ``run`` is an id.

    Returns:
        The path written.
    """
    return write_frame(fixme_frame(run, runs_dir=runs_dir), path)


def read_fixme(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a fix-me file (or any file :func:`write_frame` wrote) back into a DataFrame.

    Text read from CSV or XLSX has its formula protection removed.
    """
    source = Path(path)
    fmt = _resolve_format(source, None)
    if fmt == "jsonl":
        return pd.read_json(source, orient="records", lines=True)
    if fmt == "parquet":
        return pd.read_parquet(source)
    if fmt == "csv":
        frame = pd.read_csv(source, encoding=CSV_ENCODING)
    else:
        frame = pd.read_excel(source, engine="openpyxl")
    return restore_formulas(frame)


# --------------------------------------------------------------------------- summaries


def run_summary(run: RunRef, *, runs_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What a run did, as a JSON-safe dict.

    Keys: ``run_id, name, kind, status, created_at, started_at, finished_at, duration_s,
    calls, throttled, retried, rows, counts`` (object -> status -> n), ``totals``
    (status -> n), ``batches`` (status -> n), ``top_failures`` (``[{"message", "count"}]``,
    most common first) and ``rollbacks`` (one entry per rollback of the run).
    """
    with open_run(run, runs_dir) as journal:
        summary = journal.summary()
        rows = journal.rows_frame()
        history = rollback_history(journal)
    for internal in ("fingerprint", "path", "base_url", "schema_version"):
        summary.pop(internal, None)
    failed = rows.loc[rows["status"] == "failed", "error"].fillna("(no message)")
    messages = Counter(str(m) for m in failed)
    summary["top_failures"] = [
        {"message": m, "count": n} for m, n in messages.most_common(TOP_FAILURES)
    ]
    summary["rollbacks"] = history
    safe: dict[str, Any] = json.loads(json.dumps(summary, default=str))
    return safe


def format_summary(summary: dict[str, Any]) -> str:
    """A :func:`run_summary` dict as a few lines of plain text."""
    lines = [f"Run {summary['run_id']}: {summary.get('status') or 'unknown'}"]
    if summary.get("duration_s") is not None:
        lines.append(f"  duration: {float(summary['duration_s']):.1f} s")
    totals = {s: n for s, n in summary.get("totals", {}).items() if n}
    lines.append(f"  rows: {summary.get('rows', 0)} " + _counts_text(totals))
    for obj, statuses in summary.get("counts", {}).items():
        counts = {s: n for s, n in statuses.items() if n}
        lines.append(f"  {obj}: " + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none"))
    lines.append(
        "  calls: {}, throttled: {}, retried: {}".format(
            *(summary.get(k, "?") for k in ("calls", "throttled", "retried"))
        )
    )
    if summary.get("top_failures"):
        lines.append("  most common failures:")
        lines += [f"    {f['count']} x {f['message']}" for f in summary["top_failures"]]
    for rb in summary.get("rollbacks", []):
        kind = "destroy" if rb.get("destroy") else "soft delete"
        lines.append(
            f"  rollback {rb.get('rollback_id')} ({kind}): {rb.get('deleted')} deleted, "
            f"{rb.get('skipped')} already done, {rb.get('missing')} missing, "
            f"{rb.get('failed')} failed"
        )
    return "\n".join(lines) + "\n"


def _counts_text(counts: dict[str, Any]) -> str:
    return "(" + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none") + ")"


def write_summary(
    run: RunRef, path: str | os.PathLike[str], *, runs_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Write :func:`run_summary` as JSON (``.json``) or as plain text (any other suffix)."""
    summary = run_summary(run, runs_dir=runs_dir)
    target = Path(path)
    if target.suffix.lower() == ".json":
        text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    else:
        text = format_summary(summary)
    _atomic_write(target, lambda tmp: _write_text(tmp, text))
    return target


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
