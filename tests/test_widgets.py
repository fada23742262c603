"""Notebook widgets driven from Python: connect, map, review validation, test batch, import."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from twenty_migrate.loading.load import load
from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.mapping.suggest import suggest_mapping
from twenty_migrate.plan.plan import ImportPlan, build_plan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.progress import NullProgress
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.schema import fetch_schema
from twenty_migrate.widgets import (
    SKIP,
    ConnectionForm,
    ImportRunner,
    MappingEditor,
    TestBatchReview,
    ValidationViewer,
)

ROOT = Path(__file__).resolve().parents[1]
SECRET = "tm-test-secret-key-0123456789abcdef"
WAIT = 30  # seconds a test waits for a background run before failing


def people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(1, n + 1),
            "name.firstName": [f"First{i}" for i in range(1, n + 1)],
            "name.lastName": [f"Last{i}" for i in range(1, n + 1)],
            "emails.primaryEmail": [f"p{i}@example.com" for i in range(1, n + 1)],
            "jobTitle": ["CEO"] * n,
        }
    )


def live_records(client: TwentyClient) -> list[dict]:
    return list(client.iter_records("people", fields="id emails { primaryEmail }"))


def assert_each_row_once(client: TwentyClient, frame: pd.DataFrame) -> None:
    emails = [r["emails"]["primaryEmail"] for r in live_records(client)]
    assert sorted(emails) == sorted(frame["emails.primaryEmail"])


class Table(HTMLParser):
    """Rows of the HTML tables in a string: cell texts and the attributes of each cell."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, dict[str, str | None]]]] = []
        self._cell: tuple[str, dict[str, str | None]] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ("", dict(attrs))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell = (self._cell[0] + data, self._cell[1])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell)
            self._cell = None

    def texts(self) -> list[list[str]]:
        return [[text for text, _ in row] for row in self.rows]


def output_text(output) -> str:
    return "".join(o.get("text", "") for o in output.outputs)


def test_importing_the_modules_does_not_import_heavy_libraries():
    code = (
        "import sys, twenty_migrate.widgets, twenty_migrate.loading.load\n"
        "heavy = {'ipywidgets', 'openpyxl', 'xlrd', 'phonenumbers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --------------------------------------------------------------------------- connection
def test_connection_form_with_the_local_sandbox():
    seen = []
    form = ConnectionForm(on_connect=seen.append)
    form.use_sandbox.value = True
    assert form.url.disabled and form.api_key.disabled
    form.connect_button.click()
    assert form.client is not None and seen == [form.client] and form.error is None
    assert form.client.object_names("people") == ("person", "people")
    text = output_text(form.output)
    assert text.startswith("Connected to http://sandbox.twenty.local: 5 objects (companies")
    assert form.sandbox is not None and form.schema is not None
    bundle = form._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    form.close()


def test_connection_form_never_shows_the_key():
    sandbox = Sandbox(twenty_version="1", api_key=SECRET)
    server = sandbox.serve()
    try:
        form = ConnectionForm()
        form.url.value = server.url
        form.api_key.value = SECRET
        assert SECRET not in repr(form.widget)  # typed but not yet sent
        form.connect_button.click()
        assert form.client is not None and form.client.base_url == server.url
        assert form.api_key.value == ""  # handed to the client, cleared from the box
        shown = [
            repr(form),
            str(form),
            repr(form.widget),
            json.dumps(form._repr_mimebundle_()),
            json.dumps(form.output.outputs),
            repr(form.client),
        ]
        assert all(SECRET not in text for text in shown)
        assert f"Connected to {server.url}: 5 objects" in output_text(form.output)
        form.client.close()
    finally:
        sandbox.close()


def test_connection_form_shows_twentys_message_on_a_bad_key():
    sandbox = Sandbox(twenty_version="1", api_key=SECRET)
    server = sandbox.serve()
    wrong = "tm-wrong-key-0123456789abcdefghij"
    try:
        form = ConnectionForm()
        form.url.value = server.url
        form.api_key.value = wrong
        form.connect_button.click()
        assert form.client is None
        text = output_text(form.output)
        assert text.startswith("Not connected. AuthenticationError: ")
        assert form.error is not None and form.error in text
        for secret in (SECRET, wrong):
            assert secret not in text and secret not in repr(form.widget)
    finally:
        sandbox.close()


def test_connection_form_never_echoes_a_key_pasted_into_the_url_box():
    form = ConnectionForm()
    form.url.value = SECRET
    form.api_key.value = SECRET
    form.connect_button.click()
    text = output_text(form.output)
    assert text.startswith("Not connected. ConfigError: The Twenty base URL '[redacted]'")
    assert SECRET not in text and SECRET not in (form.error or "")


def test_connection_form_without_settings_says_what_is_missing():
    form = ConnectionForm()
    form.connect_button.click()
    assert form.client is None
    assert output_text(form.output).startswith("Not connected. ConfigError: ")


def test_connection_form_can_serve_the_sandbox_over_http():
    form = ConnectionForm(serve_sandbox=True)
    form.use_sandbox.value = True
    try:
        form.connect_button.click()
        assert form.server is not None and form.url.value == form.server.url
        assert form.client is not None and form.client.base_url.startswith("http://127.0.0.1:")
    finally:
        form.close()


# --------------------------------------------------------------------------- mapping
@pytest.fixture
def people_schema(client):
    return fetch_schema(client).object("people")


def test_mapping_editor_starts_from_the_suggestion(people_schema):
    df = load(ROOT / "sample_data" / "people.csv")
    editor = MappingEditor(df, people_schema)
    suggested = suggest_mapping(df, people_schema)
    assert list(editor.dropdowns) == [c for c in df.columns if c != "_row"]
    for column, dropdown in editor.dropdowns.items():
        assert dropdown.value == suggested.mapping.get(column, SKIP)
    assert editor.field_map == suggested
    values = [value for _, value in editor.dropdowns["Email"].options]
    assert values[0] == SKIP
    assert {"name", "name.firstName", "emails.primaryEmail", "companyId", "_ref.companyId"} <= set(
        values
    )
    assert set(people_schema.writable_paths()) <= set(values)
    row = editor.widget.children[1 + list(editor.dropdowns).index("Email")]
    assert "daan.vandijk@helix-consulting.com" in row.children[2].value  # sample values
    review = editor.review.value  # the least sure suggestions come first, with reasons
    first, last = suggested.review()["column"].iloc[[0, -1]]
    assert review.index(f"<td>{first}</td>") < review.index(f"<td>{last}</td>")
    assert "Contact Owner" in review and "owner" in review


def test_mapping_editor_edits_and_saves(people_schema, tmp_path):
    df = load(ROOT / "sample_data" / "people.csv")
    editor = MappingEditor(df, people_schema)
    editor.dropdowns["LinkedIn"].value = SKIP
    editor.dropdowns["Contact Owner"].value = "jobTitle"  # clashes with Job Title
    target = tmp_path / "maps" / "people.json"
    assert editor.save(str(target)) is None
    assert "both map to 'jobTitle'" in output_text(editor.output) and not target.exists()
    editor.dropdowns["Job Title"].value = SKIP
    editor.save_button.click()
    saved = FieldMap.load(target)
    assert saved == editor.field_map
    assert saved.mapping["Contact Owner"] == "jobTitle" and "LinkedIn" not in saved.mapping
    assert "linkedinLink" not in saved.transforms and saved.transforms["phones"]
    assert output_text(editor.output).startswith(f"Saved 9 mapped columns to {target}")
    assert repr(editor) == "MappingEditor('people', 9 mapped)"


def test_mapping_editor_from_a_given_map_keeps_unknown_paths(people_schema):
    df = pd.DataFrame({"Mail": ["a@x.com"], "Score": ["3"]})
    given = FieldMap("people", {"Mail": "emails.primaryEmail", "Score": "leadScore"})
    editor = MappingEditor(df, people_schema, given)
    assert editor.dropdowns["Score"].value == "leadScore"  # a custom field to create first
    editor.save_button.click()
    assert "no writable field 'leadScore'" in output_text(editor.output)


# --------------------------------------------------------------------------- validation
@dataclass
class FakeReport:
    failures: pd.DataFrame
    invalid: pd.DataFrame


def fake_report() -> FakeReport:
    invalid = pd.DataFrame(
        {
            "_row": [2, 5, 7],
            "name.firstName": ["Ann", "<b>Bob</b>", None],
            "emails.primaryEmail": ["ann@", "bob@x.com", "c@x"],
        }
    )
    failures = pd.DataFrame(
        [
            (2, "emails.primaryEmail", "invalid_email", "ann@", "Invalid email 'ann@'", "error"),
            (5, "name.firstName", "html_in_text", "<b>Bob</b>", 'Looks like "HTML"', "warning"),
            (7, "name.firstName", "required", None, "name is required", "error"),
            (7, "emails.primaryEmail", "invalid_email", "c@x", "Invalid email 'c@x'", "error"),
            (7, "_ref.companyId", "unresolved_relation", "Acme", "no company Acme", "error"),
        ],
        columns=["_row", "column", "rule", "value", "message", "severity"],
    )
    return FakeReport(failures, invalid)


def test_validation_viewer_highlights_failing_cells():
    viewer = ValidationViewer(fake_report())
    assert viewer.rule.options == (
        "all",
        "html_in_text",
        "invalid_email",
        "required",
        "unresolved_relation",
    )
    counts = viewer.counts_frame().set_index("rule")
    assert counts.loc["invalid_email", "cells"] == 2 and counts.loc["invalid_email", "rows"] == 2
    table = Table(viewer.table.value)
    header, *rows = table.rows
    columns = ["_row", "name.firstName", "emails.primaryEmail", "other problems"]
    assert [t for t, _ in header] == columns
    # A failing cell shows its value, then the rule and message on a line under it.
    assert [[t for t, _ in r] for r in rows] == [
        ["2", "Ann", "ann@invalid_email: Invalid email 'ann@'", ""],
        ["5", '<b>Bob</b>html_in_text: Looks like "HTML"', "bob@x.com", ""],
        [
            "7",
            "required: name is required",
            "c@xinvalid_email: Invalid email 'c@x'",
            "_ref.companyId = 'Acme': unresolved_relation: no company Acme",
        ],
    ]
    assert '<div>ann@</div><div class="twenty-cell-problem"' in viewer.table.value
    ann_email = rows[0][2][1]
    assert ann_email["title"] == "invalid_email: Invalid email 'ann@'"
    assert "#f8d7da" in (ann_email["style"] or "")
    assert "#fff3cd" in (rows[1][1][1]["style"] or "")  # a warning
    assert "title" not in rows[0][1][1]  # a valid cell
    assert "&lt;b&gt;Bob&lt;/b&gt;" in viewer.table.value  # values are escaped
    assert "<table" in viewer.counts.value and "invalid_email" in viewer.counts.value
    assert repr(viewer) == "ValidationViewer(5 failures in 3 rows)"


def test_validation_viewer_filters_by_rule():
    viewer = ValidationViewer(fake_report())
    viewer.rule.value = "required"
    rows = Table(viewer.table.value).rows[1:]
    assert [[t for t, _ in r] for r in rows] == [["7", "required: name is required", "c@x", ""]]
    assert rows[0][1][1]["title"] == "required: name is required"
    assert "title" not in rows[0][2][1]  # its email failure belongs to another rule
    assert viewer.table.value.startswith("<p>1 rows with 1 failures (required)</p>")


def test_validation_viewer_limits_rows_and_handles_no_failures():
    report = fake_report()
    viewer = ValidationViewer(report, max_rows=1)
    assert len(Table(viewer.table.value).rows) == 2
    assert "Showing 1 of 3 rows" in viewer.table.value
    empty = FakeReport(report.failures.iloc[0:0], report.invalid.iloc[0:0])
    assert "No failures" in ValidationViewer(empty).counts.value


# --------------------------------------------------------------------------- test batch
def test_batch_review_previews_sends_compares_and_rolls_back(client, importer, sandbox):
    frame = people(30)
    frame.loc[2, "emails.primaryEmail"] = "P3@Example.COM"  # Twenty lower-cases it
    plan = build_plan(frame, "people", key="emails.primaryEmail")
    review = TestBatchReview(client, plan, n=5, importer=importer)
    review.preview_button.click()
    assert review.state == "previewed" and len(review.payloads) == 5
    assert review.payloads[0] == {
        "name": {"firstName": "First1", "lastName": "Last1"},
        "emails": {"primaryEmail": "p1@example.com"},
        "jobTitle": "CEO",
    }
    assert "First5" in review.view.value and "First6" not in review.view.value
    assert sandbox.requests == [] or all(r.path != "/graphql" for r in sandbox.requests)

    review.send_button.click()
    assert review.state == "sent" and review.result is not None
    assert review.result.kind == "test_batch" and review.result.created == 5
    assert len(live_records(client)) == 5
    diff = review.diff
    assert diff is not None and len(diff) == 5 * 4
    changed = diff[~diff["same"]]
    assert changed[["_row", "field", "sent", "stored"]].values.tolist() == [
        [3, "emails.primaryEmail", "P3@Example.COM", "p3@example.com"]
    ]
    assert "20 fields read back; 1 stored differently" in review.view.value
    assert review.send_button.disabled and not review.rollback_button.disabled

    review.rollback_button.click()
    assert review.state == "rolled_back" and review.rollback_result is not None
    assert review.rollback_result.deleted == 5 and live_records(client) == []
    assert review.rollback_button.disabled and review.keep_button.disabled


def test_batch_review_keep_then_the_full_run_lands_each_row_once(client, importer):
    frame = people(30)
    plan = build_plan(frame, "people", key="emails.primaryEmail")
    review = TestBatchReview(client, plan, n=5, importer=importer)
    review.keep_button.click()
    review.rollback_button.click()
    assert review.state == "ready"  # nothing sent yet, nothing to keep or roll back
    assert output_text(review.status) == "Nothing to roll back: send the test batch first.\n"
    review.send_button.click()
    review.keep_button.click()
    assert review.state == "kept"
    assert "the full run updates them" in output_text(review.status)
    result = importer.run(plan)
    assert result.status == "completed"
    assert_each_row_once(client, frame)


def test_batch_review_shows_refused_rows(client, importer):
    frame = people(4)
    frame.loc[1, "emails.primaryEmail"] = "not an email"
    review = TestBatchReview(client, build_plan(frame, "people"), n=4, importer=importer)
    review.send_button.click()
    assert review.state == "sent" and review.result is not None
    assert review.result.failed == 1 and review.result.created == 3
    assert "Refused by Twenty" in review.view.value
    assert set(review.diff["_row"]) == {1, 3, 4}


def test_batch_review_reports_a_run_level_error(client, importer):
    plan = ImportPlan([ObjectStep("unicorns", pd.DataFrame({"_row": [1], "name": ["x"]}))])
    review = TestBatchReview(client, plan, n=1, importer=importer)
    review.send_button.click()
    assert review.state == "error" and "unicorns" in (review.error or "")
    assert output_text(review.status).startswith("Test batch failed. SchemaError:")


# --------------------------------------------------------------------------- import runner
class GatedClient:
    """A client whose ``hold_at``-th create call waits until the test releases it."""

    def __init__(self, client: TwentyClient, hold_at: int) -> None:
        self._client = client
        self.hold_at = hold_at
        self.calls = 0
        self.lock = threading.Lock()
        self.reached = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_many(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            number = self.calls
        if number == self.hold_at:
            self.reached.set()
            assert self.release.wait(WAIT)
        return self._client.create_many(*args, **kwargs)


def test_import_runner_pauses_and_resumes_every_row_exactly_once(client, tmp_path, clock):
    frame = people(200)
    plan = build_plan(frame, "people", key="emails.primaryEmail", batch_size=20)
    gated = GatedClient(client, hold_at=3)
    importer = Importer(gated, runs_dir=tmp_path / "runs", progress=None, clock=clock)
    importer.max_in_flight = 1
    runner = ImportRunner(gated, plan, importer=importer)
    runner.start_button.click()
    assert gated.reached.wait(WAIT)
    assert runner.state == "running" and runner.start_button.disabled
    runner.pause_button.click()
    assert runner.state == "pausing"
    gated.release.set()
    assert runner.wait(WAIT) == "paused"
    assert len(live_records(client)) == 60  # the call in flight finished; nothing more sent
    # Without Importer.request_stop the pause interrupts the run (no result); with it, the
    # run returns an incomplete result. Either way the run is resumable.
    assert runner.result is None or runner.result.status == "incomplete"
    assert runner.run_id is not None
    assert runner.counts.value.startswith("people: 60/200 rows (60 created, 0 updated, 0 failed")
    assert "60 created, 0 updated, 0 failed, 140 pending" in output_text(runner.output)
    assert not runner.resume_button.disabled and runner.pause_button.disabled
    assert importer.progress is None  # the importer's own setting is restored
    journal = RunJournal.open(importer.runs_dir, runner.run_id)
    try:
        assert journal.info()["status"] in ("interrupted", "incomplete")
    finally:
        journal.close()

    runner.resume_button.click()
    assert runner.wait(WAIT) == "done"
    result = runner.result
    assert result is not None and result.status == "completed" and result.run_id == runner.run_id
    assert (result.created, result.failed, result.pending) == (200, 0, 0)
    assert result.rows["_row"].is_unique
    assert_each_row_once(client, frame)
    assert runner.counts.value.startswith("people: 200/200 rows (200 created")
    assert output_text(runner.output).startswith(f"Run {runner.run_id}: completed")
    assert runner.resume_button.disabled and runner.start_button.disabled


def test_a_pause_during_the_last_call_lets_the_run_finish(client, tmp_path, clock):
    frame = people(60)
    plan = build_plan(frame, "people", batch_size=20)
    gated = GatedClient(client, hold_at=3)
    importer = Importer(gated, runs_dir=tmp_path / "runs", progress=None, clock=clock)
    importer.max_in_flight = 1
    runner = ImportRunner(gated, plan, importer=importer)
    runner.start_button.click()
    assert gated.reached.wait(WAIT)
    runner.pause_button.click()
    gated.release.set()
    assert runner.wait(WAIT) == "done"
    assert runner.result is not None and runner.result.status == "completed"
    assert runner.result.created == 60
    assert_each_row_once(client, frame)


def test_import_runner_runs_to_the_end_and_keeps_the_importers_progress(client, tmp_path, clock):
    frame = people(50)
    shown = []

    class Recorder(NullProgress):
        def update(self, object, **counts):
            shown.append(counts)

    importer = Importer(client, runs_dir=tmp_path / "runs", progress=Recorder(), clock=clock)
    runner = ImportRunner(client, build_plan(frame, "people"), importer=importer)
    runner.pause()  # not running: nothing to pause
    runner.resume()  # nothing to resume yet
    assert "Nothing to resume" in output_text(runner.output)
    runner.start_button.click()
    assert runner.wait(WAIT) == "done"
    assert runner.result is not None and runner.result.created == 50
    assert sum(c.get("created", 0) for c in shown) == 50
    assert isinstance(importer.progress, Recorder)
    assert_each_row_once(client, frame)
    assert repr(runner).startswith("ImportRunner('people', done, run_id=")


def test_import_runner_reports_a_failed_start(client, importer):
    plan = ImportPlan([ObjectStep("unicorns", pd.DataFrame({"_row": [1], "name": ["x"]}))])
    runner = ImportRunner(client, plan, importer=importer)
    runner.start_button.click()
    assert runner.wait(WAIT) == "failed"
    assert "unicorns" in (runner.error or "")
    assert "The run stopped: SchemaError" in output_text(runner.output)


def test_import_runner_stops_by_itself_when_every_row_fails(client, importer):
    frame = people(60)
    frame["emails.primaryEmail"] = [f"bad{i}" for i in range(60)]
    runner = ImportRunner(client, build_plan(frame, "people", batch_size=10), importer=importer)
    runner.start_button.click()
    assert runner.wait(WAIT) == "stopped"
    result = runner.result
    assert result is not None and result.status == "incomplete"
    assert result.failed >= 20 and result.pending > 0 and result.created == 0
    assert "The cause is probably not the rows" in output_text(runner.output)
    assert not runner.resume_button.disabled


def test_widgets_display_as_their_container(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    viewer = ValidationViewer(fake_report())
    viewer._ipython_display_()
    assert shown == [viewer.widget]
