"""A bad optional cell costs the cell, not the row; ``strict`` sets the row aside."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.pipeline.exclusions import keep_valid
from twenty_migrate.pipeline.spec import MigrationSpec
from twenty_migrate.relations.resolve import ResolvedRelations
from twenty_migrate.run.importer import Importer
from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.ui.cli import main
from twenty_migrate.validation.cell_actions import (
    ACTION_CELL,
    ACTION_NONE,
    ACTION_ROW,
    empty_cells,
    failure_actions,
)
from twenty_migrate.verify.export import fixme_frame

COLUMNS = ["_row", "column", "rule", "value", "message", "severity"]


def failures(*rows: tuple[object, object, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(row, column, rule, "x", f"{rule} in {column}", sev) for row, column, rule, sev in rows],
        columns=COLUMNS,
    )


def test_what_each_failure_costs(schema):
    people = schema.object("people")
    found = failures(
        (1, "phones.primaryPhoneNumber", "invalid_phone", "error"),  # optional: the cell
        (2, "linkedinLink.primaryLinkUrl", "invalid_link", "error"),
        (3, "companyId", "unresolved_relation", "error"),  # an optional link
        (4, "emails.primaryEmail", "invalid_email", "error"),  # unique: the row
        (5, "city", "duplicate_in_file", "error"),  # a rule about the record
        (6, "city", "required", "error"),
        (None, None, "expect_table_row_count", "error"),  # the whole table
        (7, "city", "exists_in_twenty", "warning"),  # a warning costs nothing
    )
    assert failure_actions(found, people).tolist() == [
        ACTION_CELL,
        ACTION_CELL,
        ACTION_CELL,
        ACTION_ROW,
        ACTION_ROW,
        ACTION_ROW,
        ACTION_ROW,
        ACTION_NONE,
    ]
    # Strict: every row Twenty would refuse; it takes a record without an unmade link.
    strict = failure_actions(found, people, strict=True).tolist()
    assert strict == [ACTION_ROW, ACTION_ROW, ACTION_CELL] + [ACTION_ROW] * 4 + [ACTION_NONE]


def test_a_phone_is_emptied_whole_and_only_in_its_row():
    frame = pd.DataFrame(
        {
            "_row": [1, 2],
            "phones.primaryPhoneNumber": ["12", "4155550134"],
            "phones.primaryPhoneCountryCode": ["XX", "US"],
            "phones.primaryPhoneCallingCode": [None, "+1"],
            "city": ["Paris", "Oslo"],
        }
    )
    bad = failures((1, "phones.primaryPhoneCountryCode", "invalid_country_code", "error"))
    bad["action"] = ACTION_CELL
    emptied = empty_cells(frame, bad)
    assert emptied.iloc[0].tolist() == [1, None, None, None, "Paris"]
    assert emptied.iloc[1].tolist() == [2, "4155550134", "US", "+1", "Oslo"]
    assert frame["phones.primaryPhoneNumber"].tolist() == ["12", "4155550134"]  # a copy


def test_keep_valid_empties_optional_cells_and_strict_sets_the_rows_aside():
    people = pd.DataFrame(
        {"_row": [1, 2, 3], "city": ["Oslo", 42, "Rome"], "jobTitle": ["CEO", "CTO", None]}
    )
    rel = ResolvedRelations(
        frames={"people": people}, refs={}, problems=pd.DataFrame(), counts=pd.DataFrame()
    )
    found = failures(
        (2, "city", "invalid_text", "error"), (3, "emails.primaryEmail", "invalid_email", "error")
    )
    found["action"] = [ACTION_CELL, ACTION_ROW]
    reports = {"people": SimpleNamespace(failures=found)}
    frames, excluded = keep_valid(rel, reports)
    assert frames["people"]["_row"].tolist() == [1, 2]
    assert frames["people"]["city"].tolist() == ["Oslo", None]
    assert excluded["_row"].tolist() == [3]
    frames, excluded = keep_valid(rel, reports, strict=True)
    assert frames["people"]["_row"].tolist() == [1]
    assert excluded["_row"].tolist() == [2, 3]
    assert excluded["reason"].tolist()[0] == "city: invalid_text in city"


# --------------------------------------------------------------------------- end to end
PEOPLE = pd.DataFrame(
    {
        "Contact ID": ["C1", "C2", "C3", "C4", "C5"],
        "First Name": ["Ada", "Bo", "Cy", "Di", "Ed"],
        "Email": ["ada@example.com", "bo@example.com", "cy@example.com", "di@example.com", "x@"],
        "Other Email": ["ada@work.example", "not an email", None, None, None],
        "Phone": ["+44 20 7946 0958", "(415) 555-0134", "call me", "(555) 555-5555", None],
        "LinkedIn": ["linkedin.com/in/ada", None, None, "ask Jane", None],
    }
)
MAPPING = {
    "First Name": "name.firstName",
    "Email": "emails.primaryEmail",
    "Other Email": "emails.additionalEmails",
    "Phone": "phones.primaryPhoneNumber",
    "LinkedIn": "linkedinLink.primaryLinkUrl",
}


def write_spec(folder, **settings) -> MigrationSpec:
    PEOPLE.to_csv(folder / "people.csv", index=False)
    FieldMap("people", MAPPING).save(folder / "people.mapping.json")
    spec = {
        "format": "twenty_migrate.migration",
        "version": 1,
        "name": "cells",
        "sources": [
            {
                "object": "people",
                "file": "people.csv",
                "mapping": "people.mapping.json",
                "source_id": "Contact ID",
            }
        ],
        **settings,
    }
    path = folder / "migration.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return MigrationSpec.load(path)


def test_bad_optional_cells_are_imported_empty_and_listed_to_fix(client, sandbox, tmp_path):
    spec = write_spec(tmp_path)
    prepared = spec.prepare(client)
    # Only the bad primary email (a unique key of people) costs its row.
    assert prepared.excluded["_row"].tolist() == [5]
    emptied = prepared.cells_emptied
    assert sorted(zip(emptied["_row"], emptied["column"], strict=True)) == [
        (2, "emails.additionalEmails"),
        (3, "phones.primaryPhoneNumber"),
        (4, "linkedinLink.primaryLinkUrl"),
    ]
    assert set(emptied["action"]) == {"cell emptied"}
    assert {"object", "_row", "column", "value", "message"} <= set(emptied.columns)
    actions = prepared.failures.set_index("_row")["action"]
    assert actions[5] == "row set aside"

    result = Importer(client, runs_dir=tmp_path / "runs", progress=None).run(prepared.plan)
    assert result.created == 4 and result.failed == 0
    stored = {p["name"]["firstName"]: p for p in sandbox.engine.all_records("person")}
    assert set(stored) == {"Ada", "Bo", "Cy", "Di"}
    assert stored["Bo"]["emails"]["additionalEmails"] in (None, [])
    assert stored["Bo"]["phones"]["primaryPhoneNumber"] == "4155550134"
    assert not stored["Cy"]["phones"]["primaryPhoneNumber"]
    # A fictional 555 number is no valid number, but Twenty stores it: so does the client.
    assert stored["Di"]["phones"]["primaryPhoneNumber"] == "5555555555"
    assert not stored["Di"]["linkedinLink"]["primaryLinkUrl"]
    assert stored["Ada"]["linkedinLink"]["primaryLinkUrl"]

    fixme = fixme_frame(result.run_id, runs_dir=tmp_path / "runs").set_index("_row")
    assert sorted(fixme.index) == [2, 3, 4]
    assert fixme.loc[3, "Phone"] == "call me" and fixme.loc[3, "_object"] == "people"
    assert "phones.primaryPhoneNumber" in fixme.loc[3, "_error"]
    assert "call me" in fixme.loc[3, "_error"]
    assert "_cells_emptied" not in fixme.columns


def test_strict_sets_every_bad_row_aside(client, sandbox, tmp_path):
    spec = write_spec(tmp_path, strict=True)
    assert spec.strict and spec.to_dict()["strict"] is True
    prepared = spec.prepare(client)
    assert sorted(prepared.excluded["_row"]) == [2, 3, 4, 5]
    assert prepared.cells_emptied.empty
    errors = prepared.failures[prepared.failures["severity"] == "error"]
    assert set(errors["action"]) == {"row set aside"}
    result = Importer(client, runs_dir=tmp_path / "runs", progress=None).run(prepared.plan)
    assert result.created == 1
    assert [p["name"]["firstName"] for p in sandbox.engine.all_records("person")] == ["Ada"]


def test_the_strict_setting_must_be_a_boolean(tmp_path):
    with pytest.raises(ConfigError, match="'strict' in the migration spec must be true or false"):
        write_spec(tmp_path, strict="yes")


def test_the_cli_switches_a_validation_to_strict(client, tmp_path, monkeypatch, capsys):
    import contextlib

    import twenty_migrate.ui.cli as cli

    write_spec(tmp_path)
    # The command's own connection, answered by this test's sandbox.
    monkeypatch.setattr(cli, "_connect_from_env", lambda args: contextlib.nullcontext(client))
    spec = str(tmp_path / "migration.json")
    assert main(["validate", spec, "-o", str(tmp_path / "loose")]) == 1  # row 5 is left out
    loose = capsys.readouterr().out
    assert main(["validate", spec, "--strict", "-o", str(tmp_path / "strict")]) == 1
    strict = capsys.readouterr().out
    assert "1 rows left out of the plan" in loose and "4 rows left out of the plan" in strict
    failures = pd.read_csv(tmp_path / "loose" / "failures.csv")
    assert set(failures["action"]) == {"cell emptied", "row set aside"}
