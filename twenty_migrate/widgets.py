"""Notebook widgets for each step of a migration (ipywidgets 8, imported when first used).

Each builder keeps its ipywidgets container in ``.widget`` and displays as it, so a cell
ending in the builder shows the form. Every button can be pressed from Python
(``form.connect_button.click()``), and the outcome is kept on attributes, so the widgets
work the same in a notebook, a script or a test.

* :class:`ConnectionForm`: workspace URL and API key (or the local sandbox) -> ``.client``.
* :class:`MappingEditor`: one dropdown per source column -> ``.field_map``, saved as JSON.
* :class:`ValidationViewer`: invalid rows, each failing cell with its value and message,
  by rule; a value corrected in place is validated again -> ``.data``.
* :class:`TestBatchReview`: the first rows' records (a table), sent, read back and
  compared; then rolled back or kept.
* :class:`ImportRunner`: the whole import on a background thread with live counts, Pause
  and Resume.

Neither sending widget starts a plan that is already running or done (the run journals
tell, across notebook re-runs) unless its "Run again" / "Send again" box is ticked.

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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.twenty.errors import REDACTED, TwentyMigrateError
from twenty_migrate.twenty.notices import notice_html
from twenty_migrate.ui.run_widgets import ImportRunner, TestBatchReview
from twenty_migrate.ui.validation_widget import MAX_ROWS_SHOWN, ValidationViewer
from twenty_migrate.ui.widget_base import _ipywidgets, _message, _say, _Widget

if TYPE_CHECKING:
    from twenty_migrate.mapping.field_map import FieldMap
    from twenty_migrate.sandbox import RunningServer, Sandbox
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.twenty.schema import ObjectSchema, WorkspaceSchema

__all__ = [
    "MAX_ROWS_SHOWN",
    "SANDBOX_NOTICE",
    "SKIP",
    "ConnectionForm",
    "ImportRunner",
    "MappingEditor",
    "TestBatchReview",
    "ValidationViewer",
]

#: Dropdown value of a source column that is not imported.
SKIP = "(skip)"
#: What the form says once connected to the sandbox: an information, shown in blue.
SANDBOX_NOTICE = (
    "Using the local sandbox: an emulator of Twenty with sample data, in this process; "
    "nothing leaves this machine. Untick the box and fill in the URL and API key to use "
    "your workspace."
)


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
        client: The connected :class:`~twenty_migrate.TwentyClient`, or None.
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
        self.notice = w.HTML()  # informational, in blue: not a problem
        self.use_sandbox.observe(self._toggle, names="value")
        self.connect_button.on_click(lambda _: self.connect())
        self.widget = w.VBox(
            [
                self.url,
                self.api_key,
                self.use_sandbox,
                self.connect_button,
                self.notice,
                self.output,
            ]
        )

    def __repr__(self) -> str:
        state = f"connected to {self.client.base_url}" if self.client else "not connected"
        return f"ConnectionForm({state})"

    def _toggle(self, change: Mapping[str, Any]) -> None:
        self.url.disabled = self.api_key.disabled = bool(change["new"])

    def connect(self) -> TwentyClient | None:
        """What the Connect button does: build the client, read the schema, report."""
        from twenty_migrate.twenty.client import TwentyClient
        from twenty_migrate.twenty.schema import fetch_schema

        _say(self.output, "Connecting...")
        self.error = None
        self.notice.value = ""
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
        if self.use_sandbox.value:
            self.notice.value = notice_html(SANDBOX_NOTICE)
        if self.on_connect is not None:
            self.on_connect(client)
        return client

    def _sandbox_client(self) -> TwentyClient:
        from twenty_migrate.sandbox import Sandbox
        from twenty_migrate.twenty.client import TwentyClient

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
    from twenty_migrate.values.payloads import REF_PREFIX

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
        from twenty_migrate.mapping.suggest import suggest_mapping

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
                        w.Label(_confidence_text(self.base, column), layout=w.Layout(width="6em")),
                    ]
                )
            )
        default = path or f"{object_schema.name_plural}.mapping.json"
        self.save_path = w.Text(description="Save to", value=default)
        self.save_button = w.Button(description="Save", button_style="primary")
        self.save_button.on_click(lambda _: self.save())
        self.output = w.Output()
        self.review = w.HTML(
            _review_html(self.base), layout=w.Layout(max_height="14em", overflow="auto")
        )
        save = w.HBox([self.save_path, self.save_button])
        self.widget = w.VBox([self.review, *rows, save, self.output])

    def __repr__(self) -> str:
        return f"MappingEditor({self.base.object_name!r}, {len(self.field_map.mapping)} mapped)"

    @property
    def field_map(self) -> FieldMap:
        """The map as edited: the chosen paths, and the transforms they still use."""
        from dataclasses import replace

        from twenty_migrate.mapping.suggestion import Suggestion

        mapping = {c: d.value for c, d in self.dropdowns.items() if d.value != SKIP}
        used = set(mapping.values()) | {p.split(".")[0] for p in mapping.values()}
        transforms = {k: v for k, v in self.base.transforms.items() if k in used}
        source_id = self.base.source_id if self.base.source_id not in mapping else None
        suggestions = []
        for suggestion in self.base.suggestions:
            chosen = mapping.get(suggestion.column)
            if suggestion.column in self.dropdowns and chosen != (
                suggestion.path if suggestion.status == "mapped" else None
            ):
                status = "mapped" if chosen else "unmapped"
                suggestion = Suggestion(
                    suggestion.column, chosen, "chosen in the mapping editor", 1.0, status
                )
            suggestions.append(suggestion)
        known = {s.column for s in suggestions}
        suggestions += [
            Suggestion(c, p, "chosen in the mapping editor", 1.0)
            for c, p in mapping.items()
            if c not in known
        ]
        return replace(
            self.base,
            mapping=mapping,
            transforms=transforms,
            source_id=source_id,
            suggestions=tuple(suggestions),
        )  # keeps store_source_id

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


#: Suggestions below this confidence are marked for a look in the mapping editor.
REVIEW_BELOW = 0.8


def _confidence_text(field_map: FieldMap, column: str) -> str:
    found = next((s for s in field_map.suggestions if s.column == column), None)
    if found is None:
        return ""
    return f"{found.confidence:.0%}" + (" check" if found.confidence < REVIEW_BELOW else "")


def _review_html(field_map: FieldMap) -> str:
    """The suggestion's decisions, least sure first, with their reasons."""
    ordered = sorted(field_map.suggestions, key=lambda s: s.confidence)  # as review() does
    if not ordered:
        return "<br>".join(html.escape(n) for n in field_map.notes)
    rows = []
    for item in ordered:
        target = item.path or "-"
        if item.status != "mapped":
            target = f"{item.status}: {target}"
        style = ' style="background:#fff3cd"' if item.confidence < REVIEW_BELOW else ""
        rows.append(
            f"<tr{style}><td>{html.escape(item.column)}</td>"
            f"<td>{html.escape(target)}</td><td>{item.confidence:.0%}</td>"
            f"<td>{html.escape(item.reason)}</td></tr>"
        )
    head = "<tr><th>column</th><th>suggested</th><th>confidence</th><th>why</th></tr>"
    return (
        "<p><b>Least sure first: check these before saving.</b></p>"
        f"<table>{head}{''.join(rows)}</table>"
    )


def _samples(column: pd.Series[Any], n: int = 3, width: int = 60) -> str:
    values = [str(v) for v in column.dropna().unique()[: n * 4] if str(v).strip()][:n]
    text = " · ".join(" ".join(v.split()) for v in values)
    return text if len(text) <= width else text[: width - 1] + "…"
