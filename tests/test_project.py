"""Migration specs: the sample migration prepared, imported with no rejection, re-run."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from twenty_migrate.client import TwentyClient
from twenty_migrate.demo import sample_data_dir, sample_spec
from twenty_migrate.errors import ConfigError
from twenty_migrate.importer import Importer
from twenty_migrate.project import MigrationSpec, SourceSpec
from twenty_migrate.sandbox import Sandbox


@pytest.fixture
def sandbox(fake_clock) -> Sandbox:
    return Sandbox(clock=fake_clock, sleep=fake_clock.sleep)


@pytest.fixture
def client(sandbox, fake_clock):
    with TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
        clock=fake_clock,
        sleep=fake_clock.sleep,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory):
    """The sample export in a folder of its own, so a test may edit it."""
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
    for obj in ("companies", "people", "opportunities", "tasks", "notes"):
        rows, planned, left = counts.loc[obj, ["rows", "planned", "left_out"]]
        duplicates = excluded[
            (excluded["object"] == obj) & excluded["reason"].str.contains("same as another row")
        ]
        assert planned + left == rows + len(duplicates), obj


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
    # One write; the other calls read the schema and look up keys missing from the files.
    assert client.stats.snapshot()["calls"] - calls < 20


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
