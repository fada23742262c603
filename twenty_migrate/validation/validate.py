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
the map's warnings, failures of an expectation that allows some with ``mostly``).

**What an error costs** (``action``): an error in an optional field costs the cell, not
the row (``cell emptied``: :attr:`ValidationReport.valid` has the row with that cell
empty); one in a required or unique field, or about the whole record, sets the row aside
(``row set aside``). ``validate(..., strict=True)`` sets aside every row Twenty would
refuse (:mod:`twenty_migrate.validation.cell_actions`).

**How.** A great_expectations suite (:func:`build_suite`) says every rule: GX's own
expectations where GX says it exactly (required fields not null, select values in the
options, unique keys unique on ``_key.<path>`` columns holding the values as Twenty
compares them, UUIDs and dates matching their shape, numbers finite), and Twenty's own
expectations (:mod:`twenty_migrate.validation.expectations`: emails, phones, links, currency codes,
the other types' checks) for the rest. GX runs the suite on an ephemeral context, made
the first time (importing GX takes seconds, so ``import twenty_migrate`` does not); its
unexpected rows are the failures, and the rule that failed names Twenty's message for
each of them. Add your own expectations to the suite and pass it back to :func:`validate`;
:meth:`ValidationReport.save_suite` writes it as GX's JSON, :func:`load_suite` reads it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.twenty.errors import ConfigError, ValidationFailed
from twenty_migrate.twenty.schema import ObjectSchema
from twenty_migrate.validation.cell_actions import (
    ACTION_CELL,
    ACTION_ROW,
    empty_cells,
    failure_actions,
)
from twenty_migrate.validation.columns import (
    ROW,
    Prepared,
    _column_check,
    composite_value,
    frame_of,
    prepare,
    required_paths,
)
from twenty_migrate.validation.failures import LOOKUP_BATCH as LOOKUP_BATCH  # re-exported
from twenty_migrate.validation.failures import (
    cell_values,
    duplicate_failures,
    existing_failures,
    failure_frame,
    problem_failures,
    relation_failures,
)
from twenty_migrate.validation.scan import UNSENDABLE, as_text, scan_column, sent_value
from twenty_migrate.validation.suites import (
    _SUITE_MARK,
    KEY_PREFIX,
    TEXT_PREFIX,
    _run_suite,
    _suite_columns,
    _twenty_expectations,
    build_suite,
    load_suite,
)
from twenty_migrate.values.payloads import MISSING
from twenty_migrate.values.rules import COMPOSITE_MARK, inspect_js

if TYPE_CHECKING:
    import os

    from twenty_migrate.mapping.mapped import MappedFrame

#: Columns of :attr:`ValidationReport.failures`; ``action`` says what the failure costs
#: (:mod:`~twenty_migrate.validation.cell_actions`): ``cell emptied``, ``row set aside``
#: or ``none``.
FAILURE_COLUMNS = ["_row", "column", "rule", "value", "message", "severity", "action"]
#: Failure rows written by :meth:`ValidationReport.to_html` (the frame has them all).
HTML_MAX_ROWS = 5000

__all__ = [
    "FAILURE_COLUMNS",
    "KEY_PREFIX",
    "ValidationReport",
    "build_suite",
    "load_suite",
    "validate",
]


def _gx_frame(prepared: Prepared, suite: Any) -> pd.DataFrame:
    """``_row`` and the columns the suite reads (GX hashes whatever it is given)."""
    data = prepared.data
    required = {p.path for p in required_paths(prepared.obj)}
    phone_parts = {
        f"{f.name}.{part}"
        for f in prepared.obj.fields.values()
        if f.type == "PHONES"
        for part in ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode")
    }
    columns: dict[str, Any] = {ROW: data[ROW]}
    for name in _suite_columns(suite):
        if name.startswith(KEY_PREFIX) and name[len(KEY_PREFIX) :] in prepared.keys:
            # Categorical: GX hashes the frame it is given, and codes hash fast.
            codes, uniques = pd.factorize(prepared.keys[name[len(KEY_PREFIX) :]])
            columns[name] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(uniques))
        elif name.startswith(TEXT_PREFIX) and name[len(TEXT_PREFIX) :] in data.columns:
            # Select values as text: other cells have their own check (not text)
            columns[name] = as_text(data[name[len(TEXT_PREFIX) :]])[0]
        elif name in data.columns:
            columns[name] = data[name]
        elif name in required or name in phone_parts:
            columns[name] = pd.Series([None] * len(data), dtype="str")
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


def _check_failures(
    prepared: Prepared, frame: pd.DataFrame, config: Any, positions: np.ndarray[Any, Any]
) -> pd.DataFrame:
    """Twenty's rule and message for each row GX found failing a value expectation.

    The rule that failed is asked again, on these rows only, which of their cells it
    refuses and with which of Twenty's messages.
    """
    path = str(config.meta[_SUITE_MARK]["column"])
    rows = frame.iloc[positions]
    found = _twenty_expectations().failing_cells(config.type, config.kwargs, rows)
    if found is None:  # GX's own expectation of a column: the check of its field type
        check, _ = _column_check(prepared.paths[path], prepared.refs)
        found = {path: scan_column(rows[path].reset_index(drop=True), check)}
    parts: list[pd.DataFrame] = []
    explained = np.zeros(len(positions), dtype=bool)
    for column, hits in found.items():
        cells = hits.frame()
        at = cells["pos"].to_numpy(dtype=np.int64)
        explained[at] = True
        where = positions[at]
        parts.append(
            failure_frame(where, column, cells["rule"].to_numpy(object),
                          cell_values(prepared, column, where),
                          cells["message"].to_numpy(object), "error")
        )  # fmt: skip
    if not explained.all():  # GX's verdict stands even where the rule finds nothing
        where = positions[~explained]
        column = path if path in prepared.data.columns else str(config.kwargs.get("column", path))
        parts.append(
            failure_frame(where, column, config.type, cell_values(prepared, column, where),
                          str(config.description or config.type), "error")
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def _from_results(prepared: Prepared, frame: pd.DataFrame, result: Any) -> list[pd.DataFrame]:
    """One failure per unexpected row of each expectation."""
    parts: list[pd.DataFrame] = []
    checks: list[pd.DataFrame] = []
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
            checks.append(_check_failures(prepared, frame, config, positions))
        elif kind == "required":
            message = f"Field {path} is not nullable and has no default value."
            parts.append(failure_frame(positions, path, "required", [None] * len(positions),
                                       message, "error"))  # fmt: skip
        elif kind == "options":
            values = cell_values(prepared, path, positions)
            messages = [f'Invalid value {inspect_js(v)} for field "{path}"' for v in values]
            parts.append(
                failure_frame(positions, path, "not_in_options", values, messages, "error")
            )
        elif kind == "unique":
            parts.append(duplicate_failures(prepared, list(mine["group"]), positions))
    if checks:  # one failure per cell: a date failing its shape fails its calendar too
        parts.append(pd.concat(checks, ignore_index=True).drop_duplicates(["pos", "column"]))
    return parts


def _user_failures(
    prepared: Prepared, config: Any, success: bool, found: dict[str, Any], column: str
) -> pd.DataFrame:
    """Failures of an expectation added to the suite by the user."""
    severity = "error" if str(getattr(config.severity, "value", "critical")) == "critical" else ""
    severity = "warning" if success or not severity else severity
    rule = str((config.meta or {}).get("rule") or config.type)
    settings = {k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id")}
    message = config.description or f"fails {config.type}({inspect_js(settings)})"
    positions = found.get("unexpected_index_list")
    if positions is None:  # a table-level expectation: no row to name
        observed = found.get("observed_value")
        frame = failure_frame([-1], column or None, rule, [observed], message, severity)
        return frame
    positions = np.asarray(positions, dtype=np.int64)
    values = found.get("unexpected_list") or cell_values(prepared, column, positions)
    if len(values) != len(positions) or (values and isinstance(values[0], dict)):
        values = cell_values(prepared, column.split(", ")[0], positions)
    return failure_frame(positions, column or None, rule, values, message, severity)


def _assemble(prepared: Prepared, parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS[:-1]})
    frame = pd.concat(parts, ignore_index=True)
    marked = frame["message"].astype(str).str.contains(COMPOSITE_MARK, regex=False)
    positions = frame["pos"].to_numpy(dtype=np.int64)
    for index in np.flatnonzero(marked.to_numpy(dtype=bool)).tolist():
        name = str(frame.at[index, "column"]).split(".")[0]
        whole = inspect_js(composite_value(prepared.data, name, int(positions[index])))
        frame.at[index, "message"] = str(frame.at[index, "message"]).replace(COMPOSITE_MARK, whole)
    order = {c: i for i, c in enumerate(prepared.data.columns)}
    frame["_order"] = frame["column"].map(lambda c: order.get(c, len(order)))
    frame["_pos"] = frame["pos"].where(frame["pos"] >= 0, len(prepared.data))
    frame = frame.sort_values(["_pos", "_order"], kind="stable").reset_index(drop=True)
    rows = prepared.rows
    positions = frame["pos"].to_numpy(dtype=np.int64)
    named = [rows[p] if p >= 0 else None for p in positions.tolist()]
    frame[ROW] = pd.Series(named, dtype=object if None in named else prepared.data[ROW].dtype)
    return frame[FAILURE_COLUMNS[:-1]]


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
            severity, action``; ``_row`` is empty for a failure of the whole table;
            ``action`` is what it costs: ``cell emptied``, ``row set aside`` or ``none``.
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
        return self.data[ROW].isin(self.errors[ROW].dropna().unique())

    @property
    def _aside_rows(self) -> pd.Series[Any]:
        if "action" not in self.failures.columns:  # failures put together by hand
            return self._bad_rows
        aside = self.failures[self.failures["action"] == ACTION_ROW]
        return self.data[ROW].isin(aside[ROW].dropna().unique())

    @property
    def valid(self) -> pd.DataFrame:
        """The rows to import: every row not set aside, its bad optional cells emptied
        (``action`` ``cell emptied``; with ``strict``, only the rows without errors)."""
        kept = self.data[~self._aside_rows.to_numpy(dtype=bool)]
        return empty_cells(kept, self.failures)

    @property
    def invalid(self) -> pd.DataFrame:
        """The rows with at least one error, as given: the ones to fix."""
        return self.data[self._bad_rows.to_numpy(dtype=bool)]

    @property
    def set_aside(self) -> pd.DataFrame:
        """The rows kept out of the import (``action`` ``row set aside``)."""
        return self.data[self._aside_rows.to_numpy(dtype=bool)]

    @property
    def cells_emptied(self) -> pd.DataFrame:
        """The failures whose cell is emptied while the row is imported."""
        if "action" not in self.failures.columns:
            return self.failures.iloc[0:0]
        return self.failures[self.failures["action"] == ACTION_CELL]

    def summary(self) -> pd.DataFrame:
        """Failures per column and rule: rows, severity, an example value and message."""
        columns = ["column", "rule", "severity", "rows", "example", "message"]
        if self.failures.empty:
            return pd.DataFrame(columns=columns)
        frame = self.failures.assign(column=self.failures["column"].fillna("(table)"))
        grouped = frame.groupby(["column", "rule", "severity"], sort=False, dropna=False)
        summary = grouped.agg(
            rows=(ROW, "size"), example=("value", "first"), message=("message", "first")
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
                f"e.g. {inspect_js(_plain(row.example))}: {row.message}"
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

    def save_suite(self, path: str | os.PathLike[str]) -> Path:
        """Write the suite that ran as GX's JSON (read it back with :func:`load_suite`).

        Edit it or add expectations, then ``tm.validate(mapped, obj, suite=load_suite(path))``.
        """
        target = Path(path)
        saved = self.suite.to_json_dict()
        target.write_text(json.dumps(saved, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return target

    # ------------------------------------------------------------------ HTML
    def _cells_html(self, limit: int) -> str:
        """The failing rows, failing cells highlighted, their messages as tooltips."""
        if self.failures.empty:
            return ""
        shown = self.failures[self.failures[ROW].notna()]
        rows = list(dict.fromkeys(shown[ROW].tolist()))[:limit]
        shown = shown[shown[ROW].isin(rows)]
        columns = [c for c in self.data.columns if c in set(shown["column"])]
        data = self.data[self.data[ROW].isin(rows)].set_index(ROW)
        marks: dict[tuple[Any, str], tuple[str, str]] = {}
        for row, column, severity, message in zip(
            shown[ROW], shown["column"], shown["severity"], shown["message"], strict=True
        ):
            level, text = marks.get((row, str(column)), ("warning", ""))
            level = "error" if "error" in (level, severity) else "warning"
            marks[row, str(column)] = (level, (text + "\n" if text else "") + str(message))
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [ROW, *columns])
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
    sent = sent_value(value)
    return None if sent is MISSING or sent is UNSENDABLE else sent


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
    strict: bool = False,
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
            in as ``unresolved_relation`` / ``ambiguous_relation`` errors, and owners no
            workspace member matches as ``unmatched_owner`` warnings.
        refs: Join columns that hold ``_row`` ids of an earlier step (the plan's ``refs``);
            taken from ``relations`` when it is a ``ResolvedRelations``.
        upsert: Whether the import upserts (the default): a row matching an existing record
            updates it (warning ``exists_in_twenty``); with False it is refused (error).
        strict: Every row Twenty would refuse is set aside: every error but an unmade
            relation (Twenty takes the record without the link). By default an error in an
            optional field only empties that cell (``action`` ``cell emptied``:
            :attr:`~ValidationReport.valid` has the row without it); errors in required or
            unique fields and about the whole record set the row aside
            (:mod:`twenty_migrate.validation.cell_actions`).

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
    original = frame_of(mapped)
    data = original.reset_index(drop=True)
    if refs is None and relations is not None and hasattr(relations, "refs"):
        refs = relations.refs.get(object_schema.name_plural) or {}
    prepared = prepare(data, object_schema, list(refs or ()))
    own = build_suite(data, object_schema, refs=prepared.refs)
    marked = (getattr(suite, "meta", None) or {}).get(_SUITE_MARK)
    if suite is None:
        suite = own
    elif marked is None or sorted(marked.get("refs") or ()) != sorted(prepared.refs):
        # The user's own expectations run with Twenty's checks for these join columns.
        for expectation in suite.expectations:
            if _SUITE_MARK in (expectation.meta or {}):
                continue
            copy = expectation.copy(deep=True)
            copy.id = None
            own.add_expectation(copy)
        suite = own
    frame = _gx_frame(prepared, suite)
    result = _run_suite(frame, suite)
    parts = _from_results(prepared, frame, result)
    if not isinstance(mapped, pd.DataFrame):
        parts.extend(problem_failures(prepared, getattr(mapped, "problems", None)))
    if relations is not None:
        parts.extend(relation_failures(prepared, relations))
    if existing is not None:
        parts.extend(existing_failures(prepared, existing, upsert))
    failures = _assemble(prepared, parts)
    failures["action"] = failure_actions(failures, object_schema, strict=strict)
    return ValidationReport(original, failures, suite, object_schema.name_plural, result)
