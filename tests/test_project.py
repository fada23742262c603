"""Migration specs: the sample migration prepared, imported with no rejection, re-run."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pandas as pd
import pytest

from twenty_migrate.pipeline.exclusions import keep_valid
from twenty_migrate.pipeline.spec import MigrationSpec, SourceSpec
from twenty_migrate.plan.steps import existing_ref
from twenty_migrate.relations.resolve import ResolvedRelations
from twenty_migrate.run.importer import Importer
from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.ui.demo import sample_data_dir, sample_spec


@pytest.fixture
def sample_copy(tmp_path_factory):
    """The sample export in a folder of its own, so a test may edit it (one per test)."""
    target = tmp_path_factory.mktemp("sample") / "client"
    shutil.copytree(sample_data_dir(), target)
    return target


def test_the_sample_migration_imports_with_no_rejection(client, sandbox, tmp_path):
    prepared = sample_spec().prepare(client)
    plan = prepared.plan
    assert [s.object for s in plan.steps] == [
        "companies",
        "people",
        "opportunities",
        "tasks",
        "notes",
        "taskTargets",
        "noteTargets",
    ]
    # Everything found before any write is in the report, row by row.
    failures = prepared.failures
    assert {"object", "_row", "column", "rule", "value", "message", "severity"} <= set(
        failures.columns
    )
    assert {"invalid_email", "duplicate_in_file"} & set(failures["rule"])
    # Both people files feed one object, their rows named by file.
    people_rows = set(prepared.mapped["people"].data["_row"])
    assert any(str(r).startswith("people.xlsx:") for r in people_rows)
    assert any(str(r).startswith("people.csv:") for r in people_rows)

    result = Importer(client, runs_dir=tmp_path, progress=None).run(plan)
    assert result.status == "completed"
    assert result.failed == 0, result.failures.head().to_string()
    assert result.pending == 0
    assert sandbox.engine.count("people") == len(plan.steps[1])
    # Every row read is either planned or left out with its reason.
    counts = prepared.counts().set_index("object")
    excluded = prepared.excluded
    assert excluded["reason"].str.len().gt(0).all()
    assert (counts["planned"] + counts["left_out"] == counts["rows"]).all()
    assert counts.loc["people", "rows"] == 2500 + 350  # both files, duplicates included


def test_in_file_duplicates_keep_the_first_row_and_say_which(client):
    prepared = sample_spec().prepare(client)
    duplicates = prepared.excluded[prepared.excluded["reason"].str.contains("same as another row")]
    assert len(duplicates) > 100
    planned = set(prepared.plan.steps[1].records["_row"])
    for reason in duplicates[duplicates["object"] == "people"]["reason"].head(20):
        survivor = reason.split("duplicate of _row ")[1].split(")")[0]
        assert (
            any(str(r) == survivor for r in planned)
            or survivor in prepared.excluded["_row"].astype(str).tolist()
        )


def test_strict_relations_leave_out_rows_with_unresolved_links(client):
    loose = sample_spec().prepare(client)
    strict_spec = MigrationSpec.from_dict(
        {**sample_spec().to_dict(), "strict_relations": True}, sample_data_dir()
    )
    strict = strict_spec.prepare(client)
    assert strict.plan.n_rows < loose.plan.n_rows
    reasons = strict.excluded["reason"]
    assert reasons.str.contains("companyId").sum() > reasons.str.contains("companyId").sum() - 1
    assert len(strict.excluded) > len(loose.excluded)


def test_a_rerun_on_an_edited_file_sends_only_what_changed(client, sandbox, sample_copy, tmp_path):
    spec = MigrationSpec.load(sample_copy / "migration.json")
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    first = importer.run(spec.prepare(client).plan)
    assert first.status == "completed" and first.failed == 0

    people_file = sample_copy / "people.csv"
    people = pd.read_csv(people_file, dtype=str, keep_default_na=False)
    target = people.index[people["Job Title"].str.len() > 0][0]
    people.loc[target, "Job Title"] = "Chief Migration Officer"
    people.to_csv(people_file, index=False)

    calls = client.stats.snapshot()["calls"]
    again = importer.run(spec.prepare(client, check_existing=False).plan, only_changed=True)
    assert again.status == "completed"
    statuses = again.rows["status"].value_counts().to_dict()
    assert statuses.get("updated") == 1, statuses
    assert set(statuses) == {"unchanged", "updated"}
    titles = [p.get("jobTitle") for p in sandbox.engine.all_records("person")]
    assert titles.count("Chief Migration Officer") == 1
    # One write; the other calls read the schema, look up keys missing from the files, and
    # check (one read per object) that the records of the first run are still there.
    assert client.stats.snapshot()["calls"] - calls < 20 + len(again.counts)


def test_spec_round_trips_and_refuses_bad_files(tmp_path):
    spec = MigrationSpec(
        name="acme",
        sources=(
            SourceSpec("companies", "accounts.csv", "companies.mapping.json"),
            SourceSpec("tasks", "tasks.xlsx", sheet="Tasks", targets="Regarding"),
        ),
        keys={"companies": "domainName.primaryLinkUrl"},
    )
    path = spec.save(tmp_path / "migration.json")
    assert MigrationSpec.is_spec_file(path)
    loaded = MigrationSpec.load(path)
    assert loaded == spec and loaded.base_dir == tmp_path
    assert loaded.path("accounts.csv") == tmp_path / "accounts.csv"

    (tmp_path / "plan.json").write_text(json.dumps({"format": "twenty_migrate.plan"}))
    assert not MigrationSpec.is_spec_file(tmp_path / "plan.json")
    with pytest.raises(ConfigError, match="not a migration spec"):
        MigrationSpec.load(tmp_path / "plan.json")
    with pytest.raises(ConfigError, match="no migration spec"):
        MigrationSpec.load(tmp_path / "missing.json")
    bad = {**spec.to_dict(), "sources": [{"object": "people", "fiel": "x.csv"}]}
    with pytest.raises(ConfigError, match="needs 'object' and 'file'.*'fiel'"):
        MigrationSpec.from_dict(bad)
    with pytest.raises(ConfigError, match="newer"):
        MigrationSpec.from_dict({**spec.to_dict(), "version": 99})
    with pytest.raises(ConfigError, match="at least one source"):
        MigrationSpec(name="x", sources=())


def test_a_missing_mapping_file_says_what_to_do(client, tmp_path):
    shutil.copy(sample_data_dir() / "companies.csv", tmp_path / "companies.csv")
    spec = MigrationSpec(
        name="x",
        sources=(SourceSpec("companies", "companies.csv", "nope.json"),),
        base_dir=tmp_path,
    )
    with pytest.raises(ConfigError, match="no mapping file .*FieldMap.save"):
        spec.prepare(client)


# --------------------------------------------------------------------------- keep_valid
TWENTY_ID = "0b7d2f4e-5c1a-4f7e-9a8b-3c2d1e0f9a8b"


def report(*failures: tuple[object, str, str, str]):
    """A validation report with these ``(_row, column, rule, severity)`` failures."""
    frame = pd.DataFrame(
        [
            (row, column, rule, None, f"{rule} in {column}", sev)
            for row, column, rule, sev in failures
        ],
        columns=["_row", "column", "rule", "value", "message", "severity"],
    )
    return SimpleNamespace(failures=frame)


def relations(**frames: pd.DataFrame) -> ResolvedRelations:
    refs = {
        "people": {"companyId": "companies"},
        "opportunities": {"pointOfContactId": "people", "companyId": "companies"},
        "taskTargets": {"taskId": "tasks", "personId": "people", "companyId": "companies"},
    }
    return ResolvedRelations(
        frames=frames,
        refs={k: v for k, v in refs.items() if k in frames},
        problems=pd.DataFrame(),
        counts=pd.DataFrame(),
    )


def test_keep_valid_leaves_out_invalid_rows_and_what_points_at_them():
    rel = relations(
        companies=pd.DataFrame({"_row": [1, 2, 3], "name": ["A", "B", "C"]}),
        people=pd.DataFrame(
            {"_row": ["p1", "p2", "p3", "p4"], "companyId": [1, 2, None, existing_ref(TWENTY_ID)]}
        ),
        opportunities=pd.DataFrame(
            {"_row": [10, 11, 12], "pointOfContactId": ["p2", "p3", "p1"], "companyId": [3] * 3}
        ),
    )
    reports = {
        "companies": report(
            (2, "domainName", "invalid_link", "error"), (2, "name", "required", "error")
        ),
        "people": report(("p3", "city", "too_long", "warning")),  # a warning keeps the row
        "opportunities": report(),
    }
    frames, excluded = keep_valid(rel, reports)

    assert list(excluded.columns) == ["object", "_row", "reason"]
    assert excluded[["object", "_row"]].values.tolist() == [
        ["companies", 2],
        ["people", "p2"],
        ["opportunities", 10],
    ]
    reasons = excluded["reason"].tolist()
    assert reasons[0] == "domainName: invalid_link in domainName (and 1 more)"
    assert reasons[1] == "companyId: points to companies row 2, which is left out"
    assert reasons[2] == "pointOfContactId: points to people row 'p2', which is left out"
    assert frames["companies"]["_row"].tolist() == [1, 3]
    # "twenty:<id>" names a record already in Twenty, not a row of this run.
    assert frames["people"]["_row"].tolist() == ["p1", "p3", "p4"]
    assert frames["opportunities"]["_row"].tolist() == [11, 12]
    assert frames["opportunities"].index.tolist() == [0, 1]
    # The input is not changed.
    assert len(rel.frames["companies"]) == 3


def test_keep_valid_leaves_out_unresolved_relations_only_when_strict():
    rel = relations(
        companies=pd.DataFrame({"_row": [1], "name": ["A"]}),
        people=pd.DataFrame({"_row": [1, 2], "companyId": [1, None]}),
    )
    reports = {
        "companies": report((1, "accountOwnerId", "ambiguous_relation", "error")),
        "people": report((2, "companyId", "unresolved_relation", "error")),
    }
    frames, excluded = keep_valid(rel, reports)
    assert excluded.empty and {k: len(v) for k, v in frames.items()} == {
        "companies": 1,
        "people": 2,
    }
    frames, excluded = keep_valid(rel, reports, strict_relations=True)
    assert set(zip(excluded["object"], excluded["_row"], strict=True)) == {
        ("companies", 1),
        ("people", 1),
        ("people", 2),
    }
    assert {k: len(v) for k, v in frames.items()} == {"companies": 0, "people": 0}


def test_a_task_waits_for_all_its_targets():
    rel = relations(
        companies=pd.DataFrame({"_row": [1, 2], "name": ["A", "B"]}),
        people=pd.DataFrame({"_row": [1], "companyId": [None]}),
        tasks=pd.DataFrame({"_row": [1, 2, 3], "title": ["x", "y", "z"]}),
        taskTargets=pd.DataFrame(
            {
                "_row": ["1:1", "1:2", "2:1", "3:1", "4:1"],
                "taskId": [1, 1, 2, 3, existing_ref(TWENTY_ID)],
                "personId": [1, None, None, 1, None],
                "companyId": [None, 2, 1, None, 2],
            },
            dtype=object,  # join columns hold _row ids and nulls, as resolve_relations makes them
        ),
    )
    reports = {
        "companies": report((2, "name", "required", "error")),
        "tasks": report((3, "dueAt", "invalid_date", "error")),
    }
    frames, excluded = keep_valid(rel, reports)

    keys = zip(excluded["object"], excluded["_row"], strict=True)
    left_out = dict(zip(keys, excluded["reason"], strict=True))
    # Task 1 is about company 2 (left out): that link is left out, then task 1 itself, so it
    # is imported later with both links, and so its link to person 1 waits too.
    assert left_out[("taskTargets", "1:2")].startswith("companyId: points to companies row 2")
    assert left_out[("tasks", 1)] == (
        "its taskTargets row '1:2' is left out (companyId: points to companies row 2, which is "
        "left out); it is imported later with all its links"
    )
    assert left_out[("taskTargets", "1:1")].startswith("taskId: points to tasks row 1")
    # Task 3 is invalid: its link goes with it.
    assert left_out[("taskTargets", "3:1")].startswith("taskId: points to tasks row 3")
    # A target of a task already in Twenty waits for its company, the task is not touched.
    assert ("taskTargets", "4:1") in left_out
    assert frames["tasks"]["_row"].tolist() == [2]
    assert frames["taskTargets"]["_row"].tolist() == ["2:1"]
    assert len(left_out) == len(excluded)  # each row once


def test_the_sample_plan_has_every_task_with_all_its_links(client):
    prepared = sample_spec().prepare(client, check_existing=False)
    planned = {step.object: set(step.records["_row"]) for step in prepared.plan.steps}
    for owner, holder, join in (
        ("tasks", "taskTargets", "taskId"),
        ("notes", "noteTargets", "noteId"),
    ):
        links = prepared.relations.frames[holder]
        for task, rows in links.groupby(join)["_row"]:
            if task in planned[owner]:
                assert set(rows) <= planned[holder], (owner, task)
    waiting = prepared.excluded[prepared.excluded["reason"].str.contains("with all its links")]
    assert set(waiting["object"]) == {"tasks", "notes"}


def test_a_spec_whose_rows_are_all_left_out_still_reports(client, tmp_path):
    (tmp_path / "people.csv").write_text("First Name,Email\nAda,not-an-email\nGrace,also@bad@x\n")
    spec = MigrationSpec(name="x", sources=(SourceSpec("people", "people.csv"),), base_dir=tmp_path)
    prepared = spec.prepare(client)
    assert prepared.plan is None and not prepared.ok
    assert len(prepared.excluded) == 2
    assert "0 rows planned" in prepared.summary()
    written = prepared.write_reports(tmp_path / "report")
    assert len(pd.read_csv(written / "failures.csv")) >= 2
