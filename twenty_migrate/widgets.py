"""Notebook widgets for each step of a migration (ipywidgets 8, imported when first used).

Each builder keeps its ipywidgets container in ``.widget`` and displays as it, so a cell
ending in the builder shows the form. Every button can be pressed from Python
(``form.connect_button.click()``), and the outcome is kept on attributes, so the widgets
work the same in a notebook, a script or a test.

* :class:`ConnectionForm`: workspace URL and API key (or the local sandbox) -> ``.client``.
* :class:`MappingEditor`: one dropdown per source column -> ``.field_map``, saved as JSON.
* :class:`ValidationViewer`: invalid rows with the failing cells highlighted, by rule.
* :class:`TestBatchReview`: the first rows' payloads, sent, read back and compared; then
  rolled back or kept.
* :class:`ImportRunner`: the whole import on a background thread with live counts, Pause
  and Resume.

Example:
    form = ConnectionForm()
    form                                      # fill in, press Connect
    editor = MappingEditor(df, tm.fetch_schema(form.client).object("people"))
    editor                                    # adjust, press Save
    runner = ImportRunner(form.client, plan)
    runner                                    # Start / Pause / Resume
"""

from __future__ import annotations

import html
import importlib
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.errors import REDACTED, TwentyMigrateError
from twenty_migrate.progress import INFO_KEYS

if TYPE_CHECKING:
    from twenty_migrate.client import TwentyClient
    from twenty_migrate.importer import Importer
    from twenty_migrate.mapping import FieldMap
    from twenty_migrate.outcomes import ImportResult
    from twenty_migrate.plan import ImportPlan
    from twenty_migrate.rollbacks import RollbackResult
    from twenty_migrate.sandbox import RunningServer, Sandbox
    from twenty_migrate.schema import ObjectSchema, WorkspaceSchema

__all__ = [
    "SKIP",
    "ConnectionForm",
    "ImportRunner",
    "MappingEditor",
    "TestBatchReview",
    "ValidationViewer",
]

#: Dropdown value of a source column that is not imported.
SKIP = "(skip)"
#: Rows a table shows at most (the rest are counted).
MAX_ROWS_SHOWN = 200
_ERROR_STYLE = "background:#f8d7da"
_WARNING_STYLE = "background:#fff3cd"


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        raise ImportError(
            "twenty_migrate.widgets needs ipywidgets 8: pip install 'ipywidgets>=8'"
        ) from None
    return ipywidgets


def _say(output: Any, text: str) -> None:
    """Replace an Output widget's content with ``text`` (works with or without a kernel)."""
    output.outputs = ({"output_type": "stream", "name": "stdout", "text": text.rstrip() + "\n"},)


def _message(exc: BaseException) -> str:
    """``"AuthenticationError: <Twenty's message>"``: the class, then what it says."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Widget:
    """Displays as its ``widget``."""

    widget: Any

    def _ipython_display_(self) -> None:
        display = importlib.import_module("IPython.display").display
        display(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# --------------------------------------------------------------------------- connection
class ConnectionForm(_Widget):
    """Workspace URL, API key and Connect; or a local sandbox with sample data.

    Blank fields fall back to ``TWENTY_API_URL`` / ``TWENTY_API_KEY`` (environment or
    ``.env``). The key is typed into a password box, handed to the client and then cleared
    from the box; it never appears in a repr or in the form's messages.

    Args:
        on_connect: Called with the new client after each successful Connect.
        serve_sandbox: With the sandbox box ticked, serve it over HTTP on 127.0.0.1
            (``.server.url``) instead of answering in process.

    Attributes:
        client: The connected :class:`~twenty_migrate.client.TwentyClient`, or None.
        schema: The workspace schema read on Connect, or None.
        sandbox: The sandbox started by the form, if any.
        error: The last connection error message, or None.
    """

    def __init__(
        self,
        on_connect: Callable[[TwentyClient], None] | None = None,
        *,
        serve_sandbox: bool = False,
    ) -> None:
        w = _ipywidgets()
        self.on_connect = on_connect
        self.serve_sandbox = serve_sandbox
        self.client: TwentyClient | None = None
        self.schema: WorkspaceSchema | None = None
        self.sandbox: Sandbox | None = None
        self.server: RunningServer | None = None
        self.error: str | None = None
        self.url = w.Text(description="URL", placeholder="https://api.twenty.com (or .env)")
        self.api_key = w.Password(description="API key", placeholder="from Settings > APIs")
        self.use_sandbox = w.Checkbox(description="Use the local sandbox", value=False)
        self.connect_button = w.Button(description="Connect", button_style="primary")
        self.output = w.Output()
        self.use_sandbox.observe(self._toggle, names="value")
        self.connect_button.on_click(lambda _: self.connect())
        self.widget = w.VBox(
            [self.url, self.api_key, self.use_sandbox, self.connect_button, self.output]
        )

    def __repr__(self) -> str:
        state = f"connected to {self.client.base_url}" if self.client else "not connected"
        return f"ConnectionForm({state})"

    def _toggle(self, change: Mapping[str, Any]) -> None:
        self.url.disabled = self.api_key.disabled = bool(change["new"])

    def connect(self) -> TwentyClient | None:
        """What the Connect button does: build the client, read the schema, report."""
        from twenty_migrate.client import TwentyClient
        from twenty_migrate.schema import fetch_schema

        _say(self.output, "Connecting...")
        self.error = None
        client: TwentyClient | None = None
        try:
            if self.use_sandbox.value:
                client = self._sandbox_client()
            else:
                client = TwentyClient(
                    base_url=self.url.value.strip() or None,
                    api_key=self.api_key.value.strip() or None,
                )
            schema = fetch_schema(client)
        except Exception as exc:  # shown in the form: a notebook user reads it there
            if client is not None:
                client.close()
            self.error = _message(exc)
            if self.api_key.value.strip():  # a key pasted into the URL box is echoed back
                self.error = self.error.replace(self.api_key.value.strip(), REDACTED)
            _say(self.output, f"Not connected. {self.error}")
            return None
        self.api_key.value = ""  # the client holds the key now
        self.client, self.schema = client, schema
        objects = [o for o in schema.objects.values() if not o.is_system]
        names = ", ".join(o.name_plural for o in objects[:8])
        more = ", ..." if len(objects) > 8 else ""
        _say(
            self.output,
            f"Connected to {client.base_url}: {len(objects)} objects ({names}{more}).",
        )
        if self.on_connect is not None:
            self.on_connect(client)
        return client

    def _sandbox_client(self) -> TwentyClient:
        from twenty_migrate.client import TwentyClient
        from twenty_migrate.sandbox import Sandbox

        if self.sandbox is None:
            self.sandbox = Sandbox.with_sample_data()
        if not self.serve_sandbox:
            return TwentyClient(
                base_url=self.sandbox.base_url,
                api_key=self.sandbox.api_key,
                transport=self.sandbox.transport(),
                env_file=None,
            )
        if self.server is None:
            self.server = self.sandbox.serve()
        self.url.value = self.server.url
        return TwentyClient(base_url=self.server.url, api_key=self.sandbox.api_key, env_file=None)

    def close(self) -> None:
        """Stop the served sandbox, if the form started one, and close the client."""
        if self.client is not None:
            self.client.close()
        if self.sandbox is not None:
            self.sandbox.close()
        self.server = None


# --------------------------------------------------------------------------- mapping
def _path_options(object_schema: ObjectSchema) -> list[tuple[str, str]]:
    """``(label, path)`` choices for a source column: skip, writable paths, ``_ref.*``."""
    from twenty_migrate.mapping import REF_PREFIX

    options = [(SKIP, SKIP)]
    for field in object_schema.fields.values():
        if field.type == "FULL_NAME" and field.is_writable:
            options.append((f"{field.name} (full name, split)", field.name))
        for path in field.paths():
            options.append((path, path))
        if field.join_column and field.relation_target:
            ref = REF_PREFIX + field.join_column
            options.append((f"{ref} ({field.relation_target} by name, email or domain)", ref))
    return options


class MappingEditor(_Widget):
    """One dropdown per source column, preselected with :func:`suggest_mapping`'s guess.

    Args:
        df: The (cleaned) source frame; columns starting with ``_`` are not offered.
        object_schema: The target object, ``schema.object("people")``.
        field_map: Start from this map instead of the suggestion.
        path: Default file for Save.

    Attributes:
        dropdowns: Source column -> its Dropdown (value: a path or ``SKIP``).
    """

    def __init__(
        self,
        df: pd.DataFrame,
        object_schema: ObjectSchema,
        field_map: FieldMap | None = None,
        *,
        path: str | None = None,
    ) -> None:
        from twenty_migrate.mapping import suggest_mapping

        w = _ipywidgets()
        self.object_schema = object_schema
        self.base = field_map if field_map is not None else suggest_mapping(df, object_schema)
        options = _path_options(object_schema)
        known = {value for _, value in options}
        options += [(p, p) for p in self.base.mapping.values() if p not in known]
        self.dropdowns: dict[str, Any] = {}
        rows = []
        for column in (str(c) for c in df.columns if not str(c).startswith("_")):
            dropdown = w.Dropdown(
                options=options,
                value=self.base.mapping.get(column, SKIP),
                layout=w.Layout(width="22em"),
            )
            self.dropdowns[column] = dropdown
            rows.append(
                w.HBox(
                    [
                        w.Label(column, layout=w.Layout(width="14em")),
                        dropdown,
                        w.Label(_samples(df[column]), layout=w.Layout(width="30em")),
                    ]
                )
            )
        default = path or f"{object_schema.name_plural}.mapping.json"
        self.save_path = w.Text(description="Save to", value=default)
        self.save_button = w.Button(description="Save", button_style="primary")
        self.save_button.on_click(lambda _: self.save())
        self.output = w.Output()
        notes = w.HTML(
            "<br>".join(html.escape(n) for n in self.base.notes),
            layout=w.Layout(max_height="8em", overflow="auto"),
        )
        save = w.HBox([self.save_path, self.save_button])
        self.widget = w.VBox([*rows, notes, save, self.output])

    def __repr__(self) -> str:
        return f"MappingEditor({self.base.object_name!r}, {len(self.field_map.mapping)} mapped)"

    @property
    def field_map(self) -> FieldMap:
        """The map as edited: the chosen paths, and the transforms they still use."""
        from twenty_migrate.mapping import FieldMap

        mapping = {c: d.value for c, d in self.dropdowns.items() if d.value != SKIP}
        used = set(mapping.values()) | {p.split(".")[0] for p in mapping.values()}
        transforms = {k: v for k, v in self.base.transforms.items() if k in used}
        return FieldMap(self.base.object_name, mapping, transforms, self.base.notes)

    def save(self, path: str | None = None) -> Path | None:
        """What Save does: check the map against the object, then write it as JSON."""
        if path is not None:
            self.save_path.value = path
        field_map = self.field_map
        try:
            field_map.resolve(self.object_schema)
            written = field_map.save(self.save_path.value.strip())
        except (TwentyMigrateError, OSError) as exc:
            _say(self.output, f"Not saved. {_message(exc)}")
            return None
        _say(self.output, f"Saved {len(field_map.mapping)} mapped columns to {written}.")
        return written


def _samples(column: pd.Series[Any], n: int = 3, width: int = 60) -> str:
    values = [str(v) for v in column.dropna().unique()[: n * 4] if str(v).strip()][:n]
    text = " · ".join(" ".join(v.split()) for v in values)
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- validation
class ValidationViewer(_Widget):
    """The invalid rows as a table, failing cells highlighted, filtered by rule.

    Args:
        report: Anything with ``failures`` (``_row, column, rule, value, message,
            severity``) and ``invalid`` (``_row`` + field-path columns) DataFrames, such
            as a ValidationReport.
        max_rows: Rows shown at most.

    Attributes:
        rule: The filter Dropdown (``"all"`` or a rule).
        table: The HTML widget holding the table.
    """

    def __init__(self, report: Any, *, max_rows: int = MAX_ROWS_SHOWN) -> None:
        w = _ipywidgets()
        self.report = report
        self.max_rows = max_rows
        failures = report.failures
        self.failures: pd.DataFrame = (
            failures if "severity" in failures else failures.assign(severity="error")
        )
        self.invalid: pd.DataFrame = report.invalid
        rules = sorted(str(r) for r in self.failures["rule"].dropna().unique())
        self.rule = w.Dropdown(options=["all", *rules], value="all", description="Rule")
        self.counts = w.HTML(self.counts_html())
        self.table = w.HTML(self.html())
        self.rule.observe(lambda _: setattr(self.table, "value", self.html()), names="value")
        self.widget = w.VBox([self.counts, self.rule, self.table])

    def __repr__(self) -> str:
        rows = self.failures["_row"].nunique()
        return f"ValidationViewer({len(self.failures)} failures in {rows} rows)"

    def counts_frame(self) -> pd.DataFrame:
        """Per rule: severity, failing cells and rows."""
        grouped = self.failures.groupby(["rule", "severity"], sort=True)
        counts = grouped.agg(cells=("_row", "size"), rows=("_row", "nunique")).reset_index()
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
            row, column = record["_row"], str(record["column"])
            text = f"{record['rule']}: {_cell(record['message'])}"
            if column in shown:
                by_cell.setdefault((row, column), []).append((text, str(record["severity"])))
            else:
                other.setdefault(row, []).append(f"{column}: {text}")
        failing = set(failures["_row"].tolist())
        rows = self.invalid[self.invalid["_row"].isin(failing)]
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [*shown, "other problems"])
        body = []
        for record in rows.head(self.max_rows).to_dict("records"):
            cells = []
            for column in shown:
                value = html.escape(_cell(record[column]))
                problems = by_cell.get((record["_row"], column))
                if problems:
                    style = _ERROR_STYLE
                    if all(severity == "warning" for _, severity in problems):
                        style = _WARNING_STYLE
                    title = html.escape("\n".join(t for t, _ in problems), quote=True)
                    cells.append(f'<td style="{style}" title="{title}">{value}</td>')
                else:
                    cells.append(f"<td>{value}</td>")
            extra = html.escape("; ".join(other.get(record["_row"], [])))
            cells.append(f"<td>{extra}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        note = ""
        if len(rows) > self.max_rows:
            note = f"<p>Showing {self.max_rows} of {len(rows)} rows; see report.failures.</p>"
        caption = f"<p>{len(rows)} rows with {len(failures)} failures ({html.escape(rule)})</p>"
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        return caption + note + table


# --------------------------------------------------------------------------- test batch
def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"name": {"firstName": "Ada"}}`` -> ``{"name.firstName": "Ada"}``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _same(sent: Any, stored: Any) -> bool:
    numbers = (int, float)
    if isinstance(sent, numbers) and isinstance(stored, numbers):
        return float(sent) == float(stored)
    return bool(sent == stored)


class TestBatchReview(_Widget):
    """Send the first ``n`` rows, read them back from Twenty, compare, then undo or keep.

    Args:
        client: A connected client.
        plan: The full plan; the test batch is its first step's first ``n`` rows. Kept
            test records are updated, not created again, by the full run.
        n: Rows in the test batch.
        importer: The importer to use (default ``Importer(client, progress=None)``).

    Attributes:
        state: ``"ready"``, ``"previewed"``, ``"sent"``, ``"rolled_back"``, ``"kept"`` or
            ``"error"``.
        payloads: What the test batch sends (after Preview or Send).
        result: The test batch's ImportResult (after Send).
        diff: ``_row, field, sent, stored, same`` per sent field (after Send).
        rollback_result: What Roll back did.
    """

    __test__ = False  # a class named Test* is not a pytest test class

    def __init__(
        self,
        client: TwentyClient,
        plan: ImportPlan,
        n: int = 10,
        importer: Importer | None = None,
    ) -> None:
        from twenty_migrate.importer import Importer

        w = _ipywidgets()
        self.client = client
        self.plan = plan
        self.n = int(n)
        self.importer = importer if importer is not None else Importer(client, progress=None)
        self.test_plan = plan.head(self.n)
        self.state = "ready"
        self.error: str | None = None
        self.payloads: list[dict[str, Any]] = []
        self.result: ImportResult | None = None
        self.diff: pd.DataFrame | None = None
        self.rollback_result: RollbackResult | None = None
        self.preview_button = w.Button(description="Preview")
        self.send_button = w.Button(description=f"Send {len(self.test_plan.steps[0])} rows")
        self.rollback_button = w.Button(description="Roll back", disabled=True)
        self.keep_button = w.Button(description="Keep", disabled=True)
        self.preview_button.on_click(lambda _: self.preview())
        self.send_button.on_click(lambda _: self.send())
        self.rollback_button.on_click(lambda _: self.roll_back())
        self.keep_button.on_click(lambda _: self.keep())
        self.status = w.Output()
        self.view = w.HTML()
        buttons = [self.preview_button, self.send_button, self.rollback_button, self.keep_button]
        self.widget = w.VBox([w.HBox(buttons), self.status, self.view])

    def __repr__(self) -> str:
        return f"TestBatchReview({self.test_plan.steps[0].object!r}, n={self.n}, {self.state})"

    def preview(self) -> list[dict[str, Any]]:
        """What Preview does: show the exact records the test batch sends."""
        step = self.test_plan.steps[0]
        self.payloads = step.to_payloads()
        text = json.dumps(
            [{"_row": r, **p} for r, p in zip(step.rows, self.payloads, strict=True)],
            indent=2,
            ensure_ascii=False,
        )
        self.view.value = f"<pre>{html.escape(text)}</pre>"
        _say(self.status, f"{len(self.payloads)} {step.object} records will be sent.")
        if self.state == "ready":
            self.state = "previewed"
        return self.payloads

    def send(self) -> ImportResult | None:
        """What Send does: run the test batch, read the records back, show the diff."""
        step = self.test_plan.steps[0]
        self.payloads = step.to_payloads()
        _say(self.status, f"Sending {len(step)} {step.object} records...")
        try:
            result = self.importer.run(self.plan, test_batch=self.n)
            rows = result.rows
            landed = rows[rows["twenty_id"].notna() & rows["status"].ne("failed")]
            ids = [str(i) for i in landed["twenty_id"]]
            stored = self.client.find_by_ids(step.object, ids, fields=None) if ids else []
        except Exception as exc:  # shown in the widget, kept on .error
            self.state, self.error = "error", _message(exc)
            _say(self.status, f"Test batch failed. {self.error}")
            return None
        by_id = {str(r.get("id")): _flatten(r) for r in stored}
        twenty_ids = dict(zip(landed["_row"], landed["twenty_id"], strict=True))
        lines = []
        for row, payload in zip(step.rows, self.payloads, strict=True):
            record = by_id.get(str(twenty_ids.get(row)))
            if record is None:
                continue
            for field, sent in _flatten(payload).items():
                value = record.get(field)
                lines.append((row, field, sent, value, _same(sent, value)))
        self.diff = pd.DataFrame(lines, columns=["_row", "field", "sent", "stored", "same"])
        self.result, self.state = result, "sent"
        self.send_button.disabled = True
        self.rollback_button.disabled = self.keep_button.disabled = False
        _say(self.status, result.summary())
        self.view.value = self._diff_html(result)
        return result

    def _diff_html(self, result: ImportResult) -> str:
        assert self.diff is not None
        body = []
        for row, field, sent, stored, same in self.diff.itertuples(index=False):
            style = "" if same else f' style="{_WARNING_STYLE}"'
            cells = [row, field, _cell(sent), _cell(stored), "yes" if same else "no"]
            body.append(
                f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
        head = "".join(f"<th>{c}</th>" for c in ("_row", "field", "sent", "stored", "same?"))
        changed = int((~self.diff["same"]).sum()) if len(self.diff) else 0
        text = f"<p>{len(self.diff)} fields read back; {changed} stored differently.</p>"
        text += f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        if len(result.failures):
            text += "<p>Refused by Twenty:</p>" + result.failures[["_row", "error"]].to_html(
                index=False
            )
        return text

    def roll_back(self) -> RollbackResult | None:
        """What Roll back does: delete the records this test batch created."""
        from twenty_migrate.rollbacks import rollback

        if self.result is None:
            _say(self.status, "Nothing to roll back: send the test batch first.")
            return None
        try:
            done = rollback(self.client, self.result.run_id, runs_dir=self.importer.runs_dir)
        except Exception as exc:  # shown in the widget, kept on .error
            self.error = _message(exc)
            _say(self.status, f"Roll back failed. {self.error}")
            return None
        self.rollback_result, self.state = done, "rolled_back"
        self.rollback_button.disabled = self.keep_button.disabled = True
        _say(self.status, done.summary())
        return done

    def keep(self) -> None:
        """What Keep does: leave the records; the full run updates them in place."""
        if self.result is None:
            _say(self.status, "Nothing to keep: send the test batch first.")
            return
        self.state = "kept"
        self.rollback_button.disabled = self.keep_button.disabled = True
        _say(
            self.status,
            f"Kept {self.result.created + self.result.updated} records (run "
            f"{self.result.run_id}); the full run updates them instead of creating them again.",
        )


# --------------------------------------------------------------------------- import
class _Paused(BaseException):
    """Raised inside the run, through the progress hook, to stop it like an interrupt."""


class _LiveCounts:
    """A Progress that keeps running counts per object and can stop the run on request."""

    def __init__(self, on_change: Callable[[], None], forward: Any = None) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, dict[str, int]] = {}
        self.totals: dict[str, int] = {}
        self.eta: dict[str, int] = {}
        self.on_change = on_change
        self.forward = forward
        self.stop_requested = threading.Event()

    def start(self, object: str, total: int) -> None:
        with self.lock:
            self.totals[object] = int(total)
            self.counts[object] = {}  # a resumed run reports its earlier counts again
        if self.forward is not None:
            self.forward.start(object, total)
        self.on_change()

    def update(self, object: str, **counts: int) -> None:
        with self.lock:
            tally = self.counts.setdefault(object, {})
            for key, value in counts.items():
                if key == "eta_s":  # the importer's estimate from the rate budget
                    self.eta[object] = int(value)
                else:
                    tally[key] = tally.get(key, 0) + int(value)
        if self.forward is not None:
            self.forward.update(object, **counts)
        self.on_change()
        if self.stop_requested.is_set():
            self.stop_requested.clear()  # raise once: the importer calls update again
            raise _Paused

    def close(self) -> None:
        if self.forward is not None:
            self.forward.close()
        self.on_change()

    def text(self) -> str:
        with self.lock:
            parts = []
            for obj, counts in self.counts.items():
                keys = ("created", "updated", "failed", "throttled")
                shown = ", ".join(f"{counts.get(k, 0)} {k}" for k in keys)
                done = sum(v for k, v in counts.items() if k not in INFO_KEYS)
                total = self.totals.get(obj, 0)
                eta = self.eta.get(obj)
                left = f", about {_duration(eta)} left" if eta and done < total else ""
                parts.append(f"{obj}: {done}/{total} rows ({shown}{left})")
        return "; ".join(parts) or "not started"


def _duration(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


class ImportRunner(_Widget):
    """Run a plan on a background thread with live counts, Pause and Resume.

    Pause lets the calls in flight finish and be journalled, sends nothing more, and
    leaves the run resumable; Resume finishes it with ``Importer.resume(run_id)``. Every
    row lands exactly once either way: rows are sent with the ids the journal gave them.

    Args:
        client: A connected client.
        plan: What to import.
        importer: The importer to use (default ``Importer(client, progress=None)``); its
            own progress display, if any, is kept alongside the live counts.

    Attributes:
        state: ``"ready"``, ``"running"``, ``"pausing"``, ``"paused"``, ``"done"``
            (every row settled), ``"stopped"`` (the run stopped by itself with rows
            pending; Resume continues) or ``"failed"``.
        run_id: The run, once started.
        result: The final ImportResult, once the run ended.
        error: The message of an error that ended the run.
    """

    def __init__(self, client: TwentyClient, plan: ImportPlan, importer: Importer | None = None):
        from twenty_migrate.importer import Importer

        w = _ipywidgets()
        self.client = client
        self.plan = plan
        self.importer = importer if importer is not None else Importer(client, progress=None)
        self.state = "ready"
        self.run_id: str | None = None
        self.result: ImportResult | None = None
        self.error: str | None = None
        self.thread: threading.Thread | None = None
        self.progress = _LiveCounts(self._show_counts)
        self.start_button = w.Button(description="Start", button_style="primary")
        self.pause_button = w.Button(description="Pause", disabled=True)
        self.resume_button = w.Button(description="Resume", disabled=True)
        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.pause())
        self.resume_button.on_click(lambda _: self.resume())
        self.counts = w.Label(value=f"{plan.n_rows} rows to import")
        self.output = w.Output()
        buttons = w.HBox([self.start_button, self.pause_button, self.resume_button])
        self.widget = w.VBox([buttons, self.counts, self.output])

    def __repr__(self) -> str:
        return f"ImportRunner({self.plan.label!r}, {self.state}, run_id={self.run_id!r})"

    def _show_counts(self) -> None:
        self.counts.value = self.progress.text()

    def start(self) -> None:
        """What Start does: run the plan on a background thread."""
        self._launch(lambda: self.importer.run(self.plan))

    def resume(self) -> None:
        """What Resume does: finish the paused (or stopped) run on a background thread."""
        run_id = self.run_id
        if run_id is None:
            _say(self.output, "Nothing to resume: press Start.")
            return
        self._launch(lambda: self.importer.resume(run_id))

    def pause(self) -> None:
        """What Pause does: ask the run to stop after the calls in flight."""
        if self.state != "running":
            return
        self.state = "pausing"
        self.pause_button.disabled = True
        _say(self.output, "Pausing after the calls in flight...")
        request_stop = getattr(self.importer, "request_stop", None)
        if callable(request_stop):
            request_stop()
        else:
            self.progress.stop_requested.set()

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the background thread to end (or ``timeout`` seconds); return the state."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.state

    def _launch(self, job: Callable[[], ImportResult]) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        self.state, self.error, self.result = "running", None, None
        self.progress.stop_requested.clear()
        self.start_button.disabled = self.resume_button.disabled = True
        self.pause_button.disabled = False
        _say(self.output, "Running...")
        self.thread = threading.Thread(
            target=self._work, args=(job,), name="twenty-import-runner", daemon=True
        )
        self.thread.start()

    def _work(self, job: Callable[[], ImportResult]) -> None:
        from twenty_migrate.progress import make_progress

        original = self.importer.progress
        self.progress.forward = None if original is None else make_progress(original)
        self.importer.progress = self.progress
        try:
            state, result = self._outcome(job)
        finally:
            self.importer.progress = original
        self._finish(state, result)

    def _outcome(self, job: Callable[[], ImportResult]) -> tuple[str, ImportResult | None]:
        try:
            result = job()
        except _Paused:
            run_id = self.importer.last_run_id
            if run_id is None or self._totals().get("pending", 1) != 0:
                return "paused", None
            # The pause came as the last call ended: let the importer close the run.
            return self._outcome(lambda: self.importer.resume(run_id))
        except Exception as exc:  # the run stays resumable; the widget shows why it ended
            self.error = _message(exc)
            return "failed", None
        if not result.pending:
            return "done", result
        return ("paused" if self.state == "pausing" else "stopped"), result

    def _finish(self, state: str, result: ImportResult | None) -> None:
        self.run_id = self.importer.last_run_id or self.run_id
        self.result = result
        if result is not None:
            text = result.summary()
        elif state == "paused":
            text = f"Paused run {self.run_id}. {self._pending_text()}Press Resume to finish it."
        else:
            text = f"The run stopped: {self.error}. Press Resume to try again."
        self._show_counts()
        self.pause_button.disabled = True
        self.resume_button.disabled = state == "done" or self.run_id is None
        self.start_button.disabled = True
        _say(self.output, text)
        self.state = state  # last: a waiting caller sees the widgets updated

    def _totals(self) -> dict[str, int]:
        """Rows per status of the current run, from its journal ({} if unreadable)."""
        from twenty_migrate.export import run_summary

        run_id = self.importer.last_run_id or self.run_id
        if run_id is None:
            return {}
        try:
            return dict(run_summary(run_id, runs_dir=self.importer.runs_dir)["totals"])
        except Exception:  # the counts are a nicety; the paused run itself is safe
            return {}

    def _pending_text(self) -> str:
        totals = self._totals()
        if not totals:
            return ""
        done = ", ".join(f"{totals.get(k, 0)} {k}" for k in ("created", "updated", "failed"))
        return f"{done}, {totals.get('pending', 0)} pending. "
