"""Widgets a person works in: readable previews, failing values with their reasons,
corrections in place, wrapping progress, Unicode emails, and a notice that is not red."""

from __future__ import annotations

import sys
import types

import pandas as pd
import pytest

from tests.test_widgets import FakeReport, Table, fake_report, output_text
from twenty_migrate.plan.plan import build_plan
from twenty_migrate.twenty.notices import show_notice
from twenty_migrate.ui import widget_base as _widget_base
from twenty_migrate.ui.widget_base import _WRAP_CSS, unicode_email
from twenty_migrate.validation.validate import validate
from twenty_migrate.widgets import (
    SANDBOX_NOTICE,
    ConnectionForm,
    ImportRunner,
    TestBatchReview,
    ValidationViewer,
)


# --------------------------------------------------------------------------- notices
def test_the_sandbox_notice_is_an_information_not_an_error():
    form = ConnectionForm()
    form.use_sandbox.value = True
    form.connect_button.click()
    assert form.client is not None
    notice = form.notice.value
    assert html_text(notice) == SANDBOX_NOTICE
    assert "#e7f1ff" in notice and "#084298" in notice  # blue, as an info box
    assert "#f8d7da" not in notice and "red" not in notice
    form.close()


def test_without_the_sandbox_no_notice_is_shown():
    form = ConnectionForm()
    form.connect_button.click()  # no settings: not connected
    assert form.client is None and form.notice.value == ""


def test_a_notice_goes_to_stderr_outside_a_notebook(capsys):
    show_notice("using the local sandbox")
    out, err = capsys.readouterr()
    assert err == "using the local sandbox\n" and out == ""


def test_a_notice_is_a_blue_box_in_a_notebook(monkeypatch, capsys):
    shown = []

    class ZMQInteractiveShell:  # what a Jupyter kernel runs
        pass

    fake_ipython = types.SimpleNamespace(get_ipython=ZMQInteractiveShell)
    display = types.SimpleNamespace(display=shown.append, HTML=lambda text: ("html", text))
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.setattr(_widget_base.importlib, "import_module", lambda name: display)
    show_notice("using <the> local sandbox")
    assert capsys.readouterr().err == ""
    [(kind, text)] = shown
    assert kind == "html" and "#e7f1ff" in text and "using &lt;the&gt; local sandbox" in text


# --------------------------------------------------------------------------- emails
@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("admin@xn--ls8h.la", "admin@xn--ls8h.la (admin@💩.la)"),
        ("jo@xn--mnchen-3ya.de", "jo@xn--mnchen-3ya.de (jo@münchen.de)"),
        ("jo@mail.xn--mnchen-3ya.de", "jo@mail.xn--mnchen-3ya.de (jo@mail.münchen.de)"),
        ("jo@example.com", "jo@example.com"),
        ("xn--ls8h", "xn--ls8h"),  # not an email
        ("jo@xn--zz.com", "jo@xn--zz.com"),  # not valid punycode: shown as it is
    ],
)
def test_punycode_emails_are_shown_in_unicode_too(address, shown):
    assert unicode_email(address) == shown


# --------------------------------------------------------------------------- test batch
def people(n: int, emails: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(1, n + 1),
            "name.firstName": [f"First{i}" for i in range(1, n + 1)],
            "name.lastName": [f"Last{i}" for i in range(1, n + 1)],
            "emails.primaryEmail": emails or [f"p{i}@example.com" for i in range(1, n + 1)],
            "jobTitle": ["CEO"] * n,
        }
    )


def test_the_preview_is_a_table_of_field_paths(client, importer):
    emails = ["admin@xn--ls8h.la", "b@example.com", "c@example.com"]
    plan = build_plan(people(3, emails), "people", key="emails.primaryEmail")
    review = TestBatchReview(client, plan, n=2, importer=importer)
    payloads = review.preview()
    assert payloads[0]["emails"] == {"primaryEmail": "admin@xn--ls8h.la"}  # sent as is
    header, *rows = Table(review.view.value).texts()
    assert header == [
        "_row",
        "name.firstName",
        "name.lastName",
        "emails.primaryEmail",
        "jobTitle",
    ]
    assert rows == [
        ["1", "First1", "Last1", "admin@xn--ls8h.la (admin@💩.la)", "CEO"],
        ["2", "First2", "Last2", "b@example.com", "CEO"],
    ]
    assert "<pre>" not in review.view.value and "{" not in review.view.value
    assert "twenty-test-batch-view" in review.view._dom_classes


def test_the_preview_gives_a_field_missing_in_a_record_an_empty_cell(client, importer):
    frame = people(2)
    frame["jobTitle"] = ["CEO", None]
    plan = build_plan(frame, "people", key="emails.primaryEmail")
    review = TestBatchReview(client, plan, n=2, importer=importer)
    review.preview_button.click()
    header, *rows = Table(review.view.value).texts()
    assert header[-1] == "jobTitle" and [r[-1] for r in rows] == ["CEO", ""]


# --------------------------------------------------------------------------- progress
def test_long_progress_lines_wrap(client, importer):
    plan = build_plan(people(2), "people", key="emails.primaryEmail")
    runner = ImportRunner(client, plan, importer=importer)
    assert "twenty-wrap" in runner.counts._dom_classes
    assert "twenty-wrap" in runner.output._dom_classes
    styles = [c.value for c in runner.widget.children if getattr(c, "value", None) == _WRAP_CSS]
    assert styles and "white-space:pre-wrap" in _WRAP_CSS
    review = TestBatchReview(client, plan, n=1, importer=importer)
    assert "twenty-wrap" in review.status._dom_classes


# --------------------------------------------------------------------------- validation
class FakeValidator:
    """Validates rows like the fake report: an email needs an @ followed by a dot."""

    def __init__(self) -> None:
        self.seen: list[pd.DataFrame] = []

    def __call__(self, rows: pd.DataFrame) -> FakeReport:
        self.seen.append(rows)
        failures = []
        for record in rows.to_dict("records"):
            email = record["emails.primaryEmail"]
            if not (isinstance(email, str) and "." in email.partition("@")[2]):
                message = f"Invalid email {email!r}"
                cell = (record["_row"], "emails.primaryEmail", "invalid_email", email)
                failures.append((*cell, message, "error"))
        frame = pd.DataFrame(
            failures, columns=["_row", "column", "rule", "value", "message", "severity"]
        )
        return FakeReport(frame, rows[rows["_row"].isin(frame["_row"])])


def test_each_failing_cell_shows_its_value_and_its_message():
    viewer = ValidationViewer(fake_report())
    rows = Table(viewer.table.value).rows[1:]
    email = rows[0][2]
    assert email[0] == "ann@invalid_email: Invalid email 'ann@'"  # value, then the reason
    assert email[1]["title"] == "invalid_email: Invalid email 'ann@'"  # and as a tooltip
    assert 'class="twenty-cell-problem"' in viewer.table.value


def test_a_correction_is_validated_again_and_updates_the_viewer():
    validator = FakeValidator()
    viewer = ValidationViewer(fake_report(), validator=validator)
    assert [label for label, _ in viewer.cell.options] == [
        "row 2 · emails.primaryEmail = 'ann@': invalid_email",
        "row 5 · name.firstName = '<b>Bob</b>': html_in_text",
        "row 7 · name.firstName = '': required",
        "row 7 · emails.primaryEmail = 'c@x': invalid_email",
    ]
    assert viewer.new_value.value == "ann@"  # the chosen cell's value, ready to edit

    problems = viewer.correct(2, "emails.primaryEmail", "ann@x.com")
    assert problems.empty
    assert list(validator.seen[-1]["_row"]) == [2]  # only that row was validated again
    assert viewer.data.loc[viewer.data["_row"] == 2, "emails.primaryEmail"].tolist() == [
        "ann@x.com"
    ]
    assert 2 not in set(viewer.failures["_row"]) and len(viewer.failures) == 4
    assert [r[0][0] for r in Table(viewer.table.value).rows[1:]] == ["5", "7"]
    assert viewer.report.failures is viewer.failures  # the report follows
    assert list(viewer.report.invalid["_row"]) == [5, 7]
    assert repr(viewer) == "ValidationViewer(4 failures in 2 rows)"
    assert viewer.counts_frame().set_index("rule").loc["invalid_email", "cells"] == 1


def test_a_correction_that_is_still_wrong_keeps_the_row_with_its_new_problem():
    viewer = ValidationViewer(fake_report(), validator=FakeValidator())
    problems = viewer.correct(7, "emails.primaryEmail", "c@still")
    assert problems[["_row", "rule", "value"]].values.tolist() == [[7, "invalid_email", "c@still"]]
    # Row 7's other failures came from the old report; its revalidation replaces them all.
    assert set(viewer.failures[viewer.failures["_row"] == 7]["rule"]) == {"invalid_email"}
    assert "c@still" in viewer.table.value


def test_apply_corrects_the_chosen_cell_from_the_typed_text():
    viewer = ValidationViewer(fake_report(), validator=FakeValidator())
    viewer.cell.value = (7, "emails.primaryEmail")
    assert viewer.new_value.value == "c@x"
    viewer.new_value.value = "  c@x.org "
    viewer.apply_button.click()
    assert "Row 7: emails.primaryEmail corrected; the row is valid now." in output_text(
        viewer.output
    )
    assert viewer.data.loc[viewer.data["_row"] == 7, "emails.primaryEmail"].item() == "c@x.org"
    assert (7, "emails.primaryEmail") not in [key for _, key in viewer.cell.options]


def test_apply_says_what_is_still_wrong():
    viewer = ValidationViewer(fake_report(), validator=FakeValidator())
    viewer.new_value.value = "still-bad"
    viewer.apply_button.click()
    text = output_text(viewer.output)
    assert text.startswith("Row 2: emails.primaryEmail corrected; still 1 problems:")
    assert "invalid_email: Invalid email 'still-bad'" in text


def test_corrections_need_a_way_to_validate_and_a_real_cell():
    viewer = ValidationViewer(fake_report())
    with pytest.raises(Exception, match="pass object_schema="):
        viewer.correct(2, "emails.primaryEmail", "a@b.co")
    viewer.apply_button.click()
    assert output_text(viewer.output).startswith("Not corrected. ConfigError:")
    viewer = ValidationViewer(fake_report(), validator=FakeValidator())
    with pytest.raises(Exception, match="no row with _row 99"):
        viewer.correct(99, "emails.primaryEmail", "a@b.co")
    with pytest.raises(Exception, match="no column 'phone'"):
        viewer.correct(2, "phone", "1")
    with pytest.raises(Exception, match="no column '_row'"):
        viewer.correct(2, "_row", 3)
    empty = fake_report()
    viewer = ValidationViewer(FakeReport(empty.failures.iloc[0:0], empty.invalid.iloc[0:0]))
    viewer.apply_button.click()
    assert output_text(viewer.output).startswith("Nothing to correct")


def test_correcting_a_real_validation_report(schema):
    people_schema = schema.object("people")
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "name.firstName": ["Ann", "Bob", "Cy"],
            "emails.primaryEmail": ["ann@example.com", "bob@", "cy@xn--ls8h.la"],
        }
    )
    report = validate(frame, people_schema)
    assert list(report.invalid["_row"]) == [2]
    viewer = ValidationViewer(report, object_schema=people_schema)
    assert viewer.cell.value == (2, "emails.primaryEmail")
    viewer.new_value.value = "bob@example.com"
    viewer.apply_button.click()
    assert viewer.failures.empty and viewer.report.ok and viewer.report.invalid.empty
    assert list(viewer.report.valid["_row"]) == [1, 2, 3]  # ready for the next stage
    assert viewer.data["emails.primaryEmail"].tolist()[1] == "bob@example.com"
    assert viewer.data["emails.primaryEmail"].tolist()[2] == "cy@xn--ls8h.la"  # unchanged


def test_the_viewer_shows_punycode_emails_in_unicode_too():
    report = fake_report()
    report.invalid.loc[0, "emails.primaryEmail"] = "ann@xn--ls8h.la"
    viewer = ValidationViewer(report)
    assert "ann@xn--ls8h.la (ann@💩.la)" in viewer.table.value


def html_text(markup: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", markup))
