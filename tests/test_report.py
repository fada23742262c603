"""The migration report handed to the client: complete, escaped, offline, key-free."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import twenty_migrate as tm
from twenty_migrate.plan.plan import build_plan
from twenty_migrate.ui.demo import sample_spec
from twenty_migrate.ui.report import MAX_LISTED_ROWS, MigrationReport, migration_report

SCRIPT = "<script>alert(1)</script>"


def _people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(1, n + 1),
            "name.firstName": [f"Ada{i}" for i in range(n)],
            "emails.primaryEmail": [f"ada{i}@example.com" for i in range(n)],
        }
    )


def test_report_of_a_run_counts_outcomes_and_escapes_every_value(importer, client, tmp_path):
    people = _people(6)
    people.loc[2, "emails.primaryEmail"] = f"{SCRIPT}not-an-email"
    people.loc[3, "name.firstName"] = SCRIPT
    result = importer.run(build_plan(people, "people", key="emails.primaryEmail"))

    report = migration_report(result.run_id, runs_dir=importer.runs_dir, title=SCRIPT)
    assert isinstance(report, MigrationReport)
    assert report.totals() == {
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
        "pending": 0,
    }
    assert report.failed_rows["_row"].tolist() == [3]
    assert SCRIPT in report.failed_rows["error"].iloc[0]
    page = report.html
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert result.run_id in page and "Not verified against Twenty" in page
    # Self-contained: no stylesheet, script, image or font fetched from anywhere.
    assert not re.search(r"<link|src=|href=|@import|url\(", page)
    assert client.__dict__ and "api_key" not in page
    saved = report.save(tmp_path / "out" / "report.html")
    assert saved.read_text(encoding="utf-8") == page
    assert str(report).startswith(f"Migration report {SCRIPT!r}: 5 created, 1 failed")
    assert report._repr_html_() in page
    with pytest.raises(ValueError, match="HTML"):
        report.save(tmp_path / "report.pdf")


def test_report_of_a_prepared_and_verified_migration(client, sandbox, importer, tmp_path):
    prepared = sample_spec().prepare(client, check_existing=False)
    assert prepared.plan is not None and not prepared.excluded.empty
    result = importer.run(prepared.plan)

    report = tm.migration_report([result], prepared=prepared, client=client)
    assert report.verification is not None and report.verification.reconciled
    by_object = report.by_object().set_index("object")
    counts = prepared.counts().set_index("object")
    for obj in counts.index:
        assert by_object.loc[obj, "left_out"] == counts.loc[obj, "left_out"]
        assert by_object.loc[obj, "read"] == counts.loc[obj, "rows"]
    assert report.totals()["left_out"] == len(prepared.excluded)
    page = report.html
    listed = prepared.excluded.head(MAX_LISTED_ROWS)
    for reason in listed["reason"].unique():
        assert _escaped(reason) in page
    assert f"{len(prepared.excluded)} rows left out; the first {len(listed)}" in page
    for rule in prepared.failures["rule"].unique():
        assert _escaped(str(rule)) in page
    assert "Reconciliation with Twenty" in page and "Relation coverage" in page
    assert "Reconciled with Twenty" in page
    assert sandbox.api_key not in page
    path = report.save(tmp_path / "report.html")
    assert sandbox.api_key.encode() not in path.read_bytes()


def test_report_needs_a_run(tmp_path):
    with pytest.raises(ValueError, match="at least one run"):
        migration_report([], runs_dir=tmp_path)


def _escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_report_command_writes_the_html_of_runs(importer, tmp_path, capsys):
    from twenty_migrate.ui.cli import main

    first = importer.run(build_plan(_people(3), "people", key="emails.primaryEmail"))
    runs = str(importer.runs_dir)
    output = tmp_path / "client" / "report.html"
    assert main(["report", first.run_id, "--runs-dir", runs, "-o", str(output)]) == 0
    printed = capsys.readouterr().out
    assert f"Report for the client: {output}" in printed and "3 created" in printed
    assert first.run_id in output.read_text(encoding="utf-8")
    # Default place: beside the first run's journal.
    assert main(["report", first.run_id, "--runs-dir", runs]) == 0
    assert (importer.runs_dir / first.run_id / "report.html").is_file()
    assert main(["report", "no-such-run", "--runs-dir", runs]) == 2
    assert "twenty-migrate runs" in capsys.readouterr().err


def test_report_command_with_spec_and_verify(importer, client, tmp_path, capsys, monkeypatch):
    from contextlib import nullcontext

    from twenty_migrate.ui import cli
    from twenty_migrate.ui.demo import sample_data_dir

    prepared = sample_spec().prepare(client, check_existing=False)
    result = importer.run(prepared.plan)
    monkeypatch.setattr(cli, "_connect_from_env", lambda args: nullcontext(client))
    output = tmp_path / "report.html"
    argv = ["report", result.run_id, "--runs-dir", str(importer.runs_dir), "-o", str(output)]
    spec = str(sample_data_dir() / "migration.json")
    assert cli.main([*argv, "--spec", spec, "--verify"]) == 0
    assert "reconciled with Twenty" in capsys.readouterr().out
    page = output.read_text(encoding="utf-8")
    assert "Reconciliation with Twenty" in page
    assert f"{len(prepared.excluded)} rows left out" in page
