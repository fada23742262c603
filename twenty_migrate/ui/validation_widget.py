"""The validation widget: the failing cells with their values and messages, and fixes.

Exported by :mod:`twenty_migrate.widgets` as :class:`ValidationViewer`. Like Twenty's own
CSV import (a failing cell coloured, its reason beside it), each failing cell shows its
value, a line under it saying what is wrong, and the same text as a tooltip. A value can be
corrected in place: the row is validated again and the failures, the table and the report
follow; the corrected rows are ``viewer.data`` for the next stage.
"""

from __future__ import annotations

import dataclasses
import html
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.ui.widget_base import (
    _ERROR_STYLE,
    _WARNING_STYLE,
    _cell,
    _ipywidgets,
    _message,
    _say,
    _shown,
    _Widget,
)

if TYPE_CHECKING:
    from twenty_migrate.twenty.schema import ObjectSchema

#: Rows a table shows at most (the rest are counted).
MAX_ROWS_SHOWN = 200
#: The line under a failing value: small, dark red, so it reads as the cell's note.
_PROBLEM_STYLE = "font-size:85%;color:#842029;white-space:pre-wrap"
ROW = "_row"


class ValidationViewer(_Widget):
    """The invalid rows as a table, failing cells highlighted with their messages, and fixes.

    Each failing cell shows its value and, under it, ``rule: message`` (also its tooltip);
    errors are red, warnings yellow. Failures of columns not in the table (``_ref.*``)
    are listed, with their values, under "other problems".

    To correct a value, pick the failing cell in "Fix", type the new value and press Apply
    (or call :meth:`correct`): the row is validated again, alone, and its failures replace
    the old ones. Rules across rows (``duplicate_in_file``) only see that row then: run
    ``tm.validate(viewer.data, ...)`` once more before planning.

    Args:
        report: Anything with ``failures`` (``_row, column, rule, value, message,
            severity``) and ``invalid`` (``_row`` + field-path columns) DataFrames, such
            as a ValidationReport; its ``data`` (all rows) when it has one.
        object_schema: The object validated: corrections are checked with
            ``tm.validate(rows, object_schema)``.
        validator: Instead of ``object_schema``, how to validate corrected rows: called
            with a DataFrame of rows, returns a report (pass ``existing=`` this way).
        max_rows: Rows shown at most.

    Attributes:
        rule: The filter Dropdown (``"all"`` or a rule).
        table: The HTML widget holding the table.
        cell: The Dropdown of failing cells to correct (value: ``(row, column)``).
        new_value: The Text box of the corrected value.
        data: The rows, with every correction applied.
        report: The report, updated by each correction when it is a dataclass.
    """

    def __init__(
        self,
        report: Any,
        *,
        object_schema: ObjectSchema | None = None,
        validator: Callable[[pd.DataFrame], Any] | None = None,
        max_rows: int = MAX_ROWS_SHOWN,
    ) -> None:
        w = _ipywidgets()
        self.report = report
        self.max_rows = max_rows
        if validator is None and object_schema is not None:
            validator = _schema_validator(object_schema)
        self.validator = validator
        self.failures: pd.DataFrame = _with_severity(report.failures)
        self.invalid: pd.DataFrame = report.invalid
        data = getattr(report, "data", None)
        self.data: pd.DataFrame = (data if isinstance(data, pd.DataFrame) else self.invalid).copy()
        self.rule = w.Dropdown(options=["all"], value="all", description="Rule")
        self.counts = w.HTML()
        self.table = w.HTML()
        self.rule.observe(lambda _: setattr(self.table, "value", self.html()), names="value")
        self.cell = w.Dropdown(description="Fix", layout=w.Layout(width="36em"))
        self.new_value = w.Text(description="New value", layout=w.Layout(width="36em"))
        self.apply_button = w.Button(description="Apply", button_style="primary")
        self.output = w.Output()
        self.cell.observe(lambda _: self._fill_value(), names="value")
        self.apply_button.on_click(lambda _: self.apply())
        fix = w.HBox([self.cell, self.new_value, self.apply_button])
        self.widget = w.VBox([self.counts, self.rule, self.table, fix, self.output])
        self._refresh()

    def __repr__(self) -> str:
        rows = self.failures[ROW].nunique()
        return f"ValidationViewer({len(self.failures)} failures in {rows} rows)"

    # ------------------------------------------------------------------ display
    def counts_frame(self) -> pd.DataFrame:
        """Per rule: severity, failing cells and rows."""
        grouped = self.failures.groupby(["rule", "severity"], sort=True)
        counts = grouped.agg(cells=(ROW, "size"), rows=(ROW, "nunique")).reset_index()
        return counts.sort_values(["cells", "rule"], ascending=[False, True], kind="stable")

    def counts_html(self) -> str:
        """The per-rule counts as an HTML table."""
        if self.failures.empty:
            return "<p>No failures: every row is valid.</p>"
        return self.counts_frame().to_html(index=False, escape=True)

    def html(self, rule: str | None = None) -> str:
        """The table for ``rule`` (default: the dropdown's), failing cells highlighted."""
        rule = self.rule.value if rule is None else rule
        failures = self.failures if rule == "all" else self.failures[self.failures["rule"] == rule]
        shown = [str(c) for c in self.invalid.columns]
        by_cell: dict[tuple[Any, str], list[tuple[str, str]]] = {}
        other: dict[Any, list[str]] = {}
        for record in failures.to_dict("records"):
            row, column = record[ROW], str(record["column"])
            text = f"{record['rule']}: {_cell(record['message'])}"
            if column in shown:
                by_cell.setdefault((row, column), []).append((text, str(record["severity"])))
            else:
                value = _shown(record["value"])
                other.setdefault(row, []).append(f"{column} = {value!r}: {text}")
        failing = set(failures[ROW].tolist())
        rows = self.invalid[self.invalid[ROW].isin(failing)]
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [*shown, "other problems"])
        body = []
        for record in rows.head(self.max_rows).to_dict("records"):
            cells = []
            for column in shown:
                value = html.escape(_shown(record[column]))
                problems = by_cell.get((record[ROW], column))
                if problems:
                    cells.append(_failing_cell(value, problems))
                else:
                    cells.append(f"<td>{value}</td>")
            extra = html.escape("; ".join(other.get(record[ROW], [])))
            cells.append(f'<td style="{_PROBLEM_STYLE}">{extra}</td>')
            body.append("<tr>" + "".join(cells) + "</tr>")
        note = ""
        if len(rows) > self.max_rows:
            note = f"<p>Showing {self.max_rows} of {len(rows)} rows; see report.failures.</p>"
        caption = f"<p>{len(rows)} rows with {len(failures)} failures ({html.escape(rule)})</p>"
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        return caption + note + table

    def _refresh(self) -> None:
        rules = sorted(str(r) for r in self.failures["rule"].dropna().unique())
        current = self.rule.value if self.rule.value in rules else "all"
        self.rule.options = ["all", *rules]
        self.rule.value = current
        self.counts.value = self.counts_html()
        self.table.value = self.html()
        columns = {str(c) for c in self.data.columns} - {ROW}
        choices: list[tuple[str, tuple[Any, str]]] = []
        for record in self.failures.to_dict("records"):
            key = (record[ROW], str(record["column"]))
            if key[1] in columns and key not in [k for _, k in choices]:
                label = f"row {key[0]} · {key[1]} = {_shown(record['value'])!r}: {record['rule']}"
                choices.append((label, key))
        self.cell.options = choices
        self.cell.value = choices[0][1] if choices else None
        self._fill_value()

    def _fill_value(self) -> None:
        if self.cell.value is None:
            self.new_value.value = ""
            return
        self.new_value.value = _cell(self._current(*self.cell.value))

    def _current(self, row: Any, column: str) -> Any:
        values = self.data.loc[self.data[ROW] == row, column]
        return values.iloc[0] if len(values) else None

    # ------------------------------------------------------------------ corrections
    def apply(self) -> pd.DataFrame | None:
        """What Apply does: correct the chosen cell with the typed value, and say how it went."""
        if self.cell.value is None:
            _say(self.output, "Nothing to correct: pick a failing cell in Fix.")
            return None
        row, column = self.cell.value
        value = _typed(self.new_value.value, self._current(row, column))
        try:
            problems = self.correct(row, column, value)
        except Exception as exc:  # shown in the widget: the user reads it there
            _say(self.output, f"Not corrected. {_message(exc)}")
            return None
        if problems.empty:
            _say(self.output, f"Row {row}: {column} corrected; the row is valid now.")
        else:
            lines = [f"  {p.column} {p.rule}: {p.message}" for p in problems.itertuples()]
            text = f"Row {row}: {column} corrected; still {len(problems)} problems:\n"
            _say(self.output, text + "\n".join(lines))
        return problems

    def correct(self, row: Any, column: str, value: Any) -> pd.DataFrame:
        """Set ``column`` of the row ``_row == row`` to ``value`` and validate that row again.

        Updates :attr:`data`, :attr:`failures`, :attr:`invalid`, :attr:`report` and the
        tables.

        Returns:
            The row's failures now (empty when it is valid).

        Raises:
            ConfigError: No such row or column, or the viewer has no way to validate (pass
                ``object_schema=`` or ``validator=``).
        """
        if self.validator is None:
            raise ConfigError(
                "ValidationViewer cannot check a correction: pass object_schema= (or "
                "validator=) when creating it"
            )
        if column == ROW or column not in self.data.columns:
            raise ConfigError(f"no column {column!r} to correct; columns: {_names(self.data)}")
        at = (self.data[ROW] == row).to_numpy(dtype=bool)
        if not at.any():
            raise ConfigError(f"no row with {ROW} {row!r}")
        data = self.data.copy()
        data[column] = data[column].astype(object)
        data.loc[at, column] = pd.Series(
            [value] * int(at.sum()), index=data.index[at], dtype=object
        )
        checked = _with_severity(self.validator(data[at].reset_index(drop=True)).failures)
        problems: pd.DataFrame = checked[checked[ROW] == row].reset_index(drop=True)
        others = self.failures[self.failures[ROW] != row]
        parts = [f for f in (others, problems) if not f.empty]
        failures = pd.concat(parts, ignore_index=True) if parts else self.failures.iloc[0:0]
        failures = failures.sort_values(ROW, kind="stable").reset_index(drop=True)
        shown = set(self.invalid[ROW].tolist()) | {row}
        failing = set(failures[ROW].tolist()) & shown
        self.data, self.failures = data, failures
        self.invalid = data[data[ROW].isin(failing)][list(self.invalid.columns)]
        self.report = _updated(self.report, data=data, failures=failures, invalid=self.invalid)
        self._refresh()
        return problems


def _failing_cell(value: str, problems: list[tuple[str, str]]) -> str:
    style = _ERROR_STYLE
    if all(severity == "warning" for _, severity in problems):
        style = _WARNING_STYLE
    text = "\n".join(t for t, _ in problems)
    title = html.escape(text, quote=True)
    note = f'<div class="twenty-cell-problem" style="{_PROBLEM_STYLE}">{html.escape(text)}</div>'
    return f'<td style="{style}" title="{title}"><div>{value}</div>{note}</td>'


def _with_severity(failures: pd.DataFrame) -> pd.DataFrame:
    return failures if "severity" in failures else failures.assign(severity="error")


def _schema_validator(object_schema: ObjectSchema) -> Callable[[pd.DataFrame], Any]:
    def check(rows: pd.DataFrame) -> Any:
        from twenty_migrate.validation.validate import validate

        return validate(rows, object_schema)

    return check


def _typed(text: str, current: Any) -> Any:
    """The typed text as the kind of value the cell held: blank is empty, a number stays one."""
    text = text.strip()
    if not text:
        return None
    if isinstance(current, bool):
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text
    if isinstance(current, numbers.Number) and current == current:  # not NaN
        try:
            number = float(text)
        except ValueError:
            return text
        return (
            int(number) if isinstance(current, numbers.Integral) and number.is_integer() else number
        )
    return text


def _names(frame: pd.DataFrame) -> str:
    return ", ".join(str(c) for c in frame.columns if c != ROW)


def _updated(report: Any, **values: Any) -> Any:
    """``report`` with the fields it has among ``values`` replaced (a dataclass), else as is."""
    if not dataclasses.is_dataclass(report) or isinstance(report, type):
        return report
    fields = {f.name for f in dataclasses.fields(report) if f.init}
    return dataclasses.replace(report, **{k: v for k, v in values.items() if k in fields})
