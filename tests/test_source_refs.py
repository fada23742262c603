"""Relations by the source system's ids: Salesforce ids, resolution in the run, across runs
and in Twenty, task targets by key prefix, and what an unresolved id costs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_cli import served_sandbox  # noqa: F401  (a fixture: the sandbox over HTTP)

from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.pipeline.migration import plan_migration, preflight
from twenty_migrate.pipeline.spec import MigrationSpec
from twenty_migrate.plan.record_ids import derive_id
from twenty_migrate.relations.resolve import resolve_relations
from twenty_migrate.relations.source_refs import source_key
from twenty_migrate.run.importer import Importer
from twenty_migrate.twenty.errors import ConfigError, MappingError
from twenty_migrate.twenty.schema import fetch_schema
from twenty_migrate.values.salesforce import (
    is_salesforce_id,
    salesforce_id15,
    salesforce_id18,
    salesforce_object_for_id,
)

# --------------------------------------------------------------------------- Salesforce ids
# 15-character ids and their 18-character forms, the checksum worked out by hand from
# Salesforce's rule (one letter per 5 characters: bit i set when character i is upper-case).
ACME = "0015g00000AbCdE"  # chunks 0015g | 00000 | AbCdE -> A, A, 1+4+16=21 -> V
ACME18 = ACME + "AAV"
GLOBEX = "0015g00000XyZwQ"  # X, Z, Q upper: 1+4+16=21 -> V
GLOBEX18 = GLOBEX + "AAV"
INITECH = "0015g00000PQRst"  # P, Q, R upper: 1+2+4=7 -> H
INITECH18 = INITECH + "AAH"
ADA, BOB, CAROL, DAN = (f"0035g00000Per{c}a" for c in "ABCD")  # chunk 3 "Per?a": P, ? -> 1+8
DEAL1, DEAL2 = "0065g00000Opp1a", "0065g00000Opp2a"  # chunk 3 "Opp?a": O -> 1 -> B


def test_fifteen_and_eighteen_character_ids_are_one_record():
    assert salesforce_id18(ACME) == ACME18
    assert salesforce_id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # Salesforce's example
    assert salesforce_id18(ACME18) == ACME18
    assert salesforce_id18(ACME18.upper()) == ACME18  # the checksum gives the case back
    assert salesforce_id18(ACME18.lower()) == ACME18
    assert salesforce_id15(ACME18) == ACME
    assert source_key(ACME) == source_key(f" {ACME18} ")
    # 15-character ids are case-sensitive: another case is another record.
    assert source_key(ACME) != source_key(ACME.lower())
    assert salesforce_id18(ADA) == ADA + "AAJ"
    assert salesforce_id18(DEAL1) == DEAL1 + "AAB"


def test_what_is_not_a_salesforce_id():
    assert not is_salesforce_id("12345")  # a HubSpot record id
    assert not is_salesforce_id("0015g00000AbCdE-x")
    assert not is_salesforce_id(None)
    assert not is_salesforce_id(ACME + "AA9")  # not a checksum character
    assert source_key("12345.0") == "12345"  # a spreadsheet's float
    assert source_key(12345.0) == "12345"
    assert source_key("  ") is None


def test_the_object_an_id_names_is_told_by_its_key_prefix():
    assert salesforce_object_for_id(ACME) == "companies"
    assert salesforce_object_for_id(ADA + "AAJ") == "people"
    assert salesforce_object_for_id("00Q5g00000LeadAa") is None  # 16 characters: no id
    assert salesforce_object_for_id("00Q5g00000LeadA") == "people"
    assert salesforce_object_for_id(DEAL1) == "opportunities"
    assert salesforce_object_for_id("00T5g00000TaskA") == "tasks"
    assert salesforce_object_for_id("a015g00000CustA") is None  # a custom object
    assert salesforce_object_for_id("12345") is None


# --------------------------------------------------------------------------- mapping
def test_a_field_map_keeps_its_source_id_and_saves_it(tmp_path):
    fmap = FieldMap("companies", {"Name": "name"}, source_id="Id", store_source_id=True)
    fmap = fmap.with_column("Website", "domainName").without("Website")
    assert fmap.source_id == "Id" and fmap.source_id_field == "sourceId"
    again = FieldMap.load(fmap.save(tmp_path / "accounts.mapping.json"))
    assert again == fmap
    plain = FieldMap("companies", {"Name": "name"})
    assert "source_id" not in plain.to_dict()  # files without one are unchanged
    with pytest.raises(MappingError, match="store_source_id needs source_id"):
        FieldMap("companies", {"Name": "name"}, store_source_id=True)


def test_source_ids_and_references_are_carried_by_the_mapping(schema):
    df = pd.DataFrame(
        {
            "_row": [1, 2],
            "Subject": ["Call", "Mail"],
            "Id": [" 00T5g00000TaskA", ""],
            "WhoId": [ADA, None],
            "WhatId": [DEAL1, ACME],
        }
    )
    fmap = FieldMap(
        "tasks",
        {"Subject": "title", "WhoId": "_sourceref.targets", "WhatId": "_sourceref.targets"},
        source_id="Id",
    )
    data = fmap.apply(df, schema.object("tasks")).data
    assert data["_source_id"].tolist() == ["00T5g00000TaskA", None]
    assert data["_sourceref.targets"].tolist() == [f"{ADA};{DEAL1}", ACME]
    with pytest.raises(MappingError, match="source_id 'Nope'"):
        FieldMap("tasks", {"Subject": "title"}, source_id="Nope").apply(df, schema.object("tasks"))
    with pytest.raises(MappingError, match="no relation with join column"):
        FieldMap("people", {"WhoId": "_sourceref.nopeId"}).resolve(schema.object("people"))


# --------------------------------------------------------------------------- a Salesforce export
def _salesforce_export(folder: Path, *, store: bool = False) -> MigrationSpec:
    """Accounts, Contacts, Opportunities and Tasks as Salesforce exports them, linked by
    their ids (some 15-, some 18-character), with their field maps and a spec."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "Account.csv": pd.DataFrame(
            {"Id": [ACME18, GLOBEX, INITECH18], "Name": ["Acme", "Globex", "Initech"]}
        ),
        "Contact.csv": pd.DataFrame(
            {
                "Id": [ADA, BOB, CAROL, DAN],
                "FirstName": ["Ada", "Bob", "Carol", "Dan"],
                "LastName": ["Lovelace", "Stone", "Reyes", "Orphan"],
                "Email": ["ada@acme.com", "bob@globex.com", "carol@initech.com", "dan@x.com"],
                # 15 for an 18-character Id, 18 for a 15, and an id found nowhere
                "AccountId": [ACME, GLOBEX18, INITECH, "0015g00000NoNeA"],
            }
        ),
        "Opportunity.csv": pd.DataFrame(
            {"Id": [DEAL1, DEAL2], "Name": ["Big deal", "Small deal"], "AccountId": [ACME, GLOBEX]}
        ),
        "Task.csv": pd.DataFrame(
            {
                "Id": ["00T5g00000TaskA", "00T5g00000TaskB", "00T5g00000TaskC"],
                "Subject": ["Call Ada", "Send proposal", "Chase"],
                "WhoId": [ADA, "", CAROL],
                "WhatId": [ACME18, DEAL1, "0065g00000GoneA"],
            }
        ),
    }
    for name, frame in files.items():
        frame.to_csv(folder / name, index=False)
    maps = {
        "companies": FieldMap("companies", {"Name": "name"}, source_id="Id"),
        "people": FieldMap(
            "people",
            {
                "FirstName": "name.firstName",
                "LastName": "name.lastName",
                "Email": "emails.primaryEmail",
                "AccountId": "_sourceref.companyId",
            },
            source_id="Id",
        ),
        "opportunities": FieldMap(
            "opportunities", {"Name": "name", "AccountId": "_sourceref.companyId"}, source_id="Id"
        ),
        "tasks": FieldMap(
            "tasks",
            {"Subject": "title", "WhoId": "_sourceref.targets", "WhatId": "_sourceref.targets"},
            source_id="Id",
        ),
    }
    sources = []
    for (obj, fmap), file in zip(maps.items(), files, strict=True):
        fmap.save(folder / f"{obj}.mapping.json")
        sources.append({"object": obj, "file": file, "mapping": f"{obj}.mapping.json"})
    spec = {"format": "twenty_migrate.migration", "version": 1, "name": "sf", "sources": sources}
    if store:
        spec["store_source_id"] = "sourceId"
    (folder / "migration.json").write_text(json.dumps(spec), encoding="utf-8")
    return MigrationSpec.load(folder / "migration.json")


def _landed(sandbox) -> dict[str, dict]:
    engine = sandbox.engine
    companies = {r["name"]: r["id"] for r in engine.all_records("company")}
    people = {
        r["name"]["firstName"]: {"id": r["id"], "companyId": r["companyId"]}
        for r in engine.all_records("person")
    }
    deals = {
        r["name"]: {"id": r["id"], "companyId": r["companyId"]}
        for r in engine.all_records("opportunity")
    }
    tasks = {r["title"]: r["id"] for r in engine.all_records("task")}
    targets: dict[str, set[tuple[str, str]]] = {}
    for t in engine.all_records("taskTarget"):
        title = next(k for k, v in tasks.items() if v == t["taskId"])
        for join, value in t.items():
            if join.endswith("Id") and join not in ("id", "taskId") and value:
                targets.setdefault(title, set()).add((join, value))
    return {
        "companies": companies,
        "people": people,
        "deals": deals,
        "tasks": tasks,
        "targets": targets,
    }


def _join(schema, name: str) -> str:
    """taskTarget's join column to ``name`` (personId on 1.x, targetPersonId on 2.x)."""
    holder = schema.object("taskTarget")
    return next(j for j, t in holder.relations.items() if t == name)


def test_a_salesforce_export_lands_with_every_relation(client, sandbox, schema, tmp_path):
    spec = _salesforce_export(tmp_path / "sf")
    runs = tmp_path / "runs"
    prepared = spec.prepare(client, runs_dir=runs)
    problems = prepared.relations.problems
    # The id found nowhere is reported, and its record kept with the link empty.
    assert set(zip(problems["object"], problems["key"], problems["status"], strict=True)) == {
        ("people", "0015g00000NoNeA", "missing"),
        ("tasks", "0065g00000GoneA", "missing"),
    }
    counts = prepared.relations.counts.set_index(["object", "column"])
    assert counts.loc[("people", "companyId"), "in_run"] == 3
    assert counts.loc[("people", "companyId"), "missing"] == 1
    assert counts.loc[("tasks", "_sourceref.targets"), "in_run"] == 4
    assert prepared.plan is not None and prepared.excluded.empty

    result = Importer(client, runs_dir=runs, progress=None).run(prepared.plan)
    assert result.status == "completed" and result.failed == 0
    landed = _landed(sandbox)
    companies, people, deals = landed["companies"], landed["people"], landed["deals"]
    assert people["Ada"]["companyId"] == companies["Acme"]
    assert people["Bob"]["companyId"] == companies["Globex"]
    assert people["Carol"]["companyId"] == companies["Initech"]
    assert people["Dan"]["companyId"] is None  # kept, unlinked
    assert deals["Big deal"]["companyId"] == companies["Acme"]
    assert deals["Small deal"]["companyId"] == companies["Globex"]
    person, company, deal = (
        _join(schema, "person"),
        _join(schema, "company"),
        _join(schema, "opportunity"),
    )
    assert landed["targets"] == {
        "Call Ada": {(person, people["Ada"]["id"]), (company, companies["Acme"])},
        "Send proposal": {(deal, deals["Big deal"]["id"])},
        "Chase": {(person, people["Carol"]["id"])},
    }
    # Each row landed on the record its source id names.
    assert companies["Acme"] == derive_id("sf", "companies", f'source:"{ACME18}"')

    # A second run of the same files finds every record again: nothing is created twice.
    again = Importer(client, runs_dir=runs, progress=None).run(
        spec.prepare(client, runs_dir=runs).plan, only_changed=False
    )
    assert again.failed == 0
    assert again.rows["status"].isin(["updated", "unchanged"]).all()
    assert _landed(sandbox) == landed
    sizes = {"company": 3, "person": 4, "opportunity": 2, "task": 3, "taskTarget": 4}
    assert {obj: sandbox.engine.count(obj) for obj in sizes} == sizes
    # And a recurring run (only what changed is sent) finds nothing to send.
    recurring = Importer(client, runs_dir=runs, progress=None).run(
        spec.prepare(client, runs_dir=runs).plan
    )
    assert set(recurring.rows["status"]) == {"unchanged"}
    assert {obj: sandbox.engine.count(obj) for obj in sizes} == sizes


def test_a_later_file_links_to_records_of_an_earlier_run(client, sandbox, schema, tmp_path):
    first = _salesforce_export(tmp_path / "sf")
    runs = tmp_path / "runs"
    importer = Importer(client, runs_dir=runs, progress=None)
    assert importer.run(first.prepare(client, runs_dir=runs).plan).failed == 0
    before = _landed(sandbox)

    # Next week: only new contacts and tasks, naming accounts and deals by their ids
    # (one in the other length), in the same migration.
    later = tmp_path / "later"
    later.mkdir()
    pd.DataFrame(
        {
            "Id": ["0035g00000NewAa"],
            "FirstName": ["Eve"],
            "LastName": ["Late"],
            "Email": ["eve@globex.com"],
            "AccountId": [GLOBEX18],
        }
    ).to_csv(later / "Contact.csv", index=False)
    pd.DataFrame(
        {"Id": ["00T5g00000TaskD"], "Subject": ["Renewal"], "WhoId": [ADA], "WhatId": [DEAL2]}
    ).to_csv(later / "Task.csv", index=False)
    for obj in ("people", "tasks"):
        (later / f"{obj}.mapping.json").write_text(
            (tmp_path / "sf" / f"{obj}.mapping.json").read_text()
        )
    sources = [
        {"object": "people", "file": "Contact.csv", "mapping": "people.mapping.json"},
        {"object": "tasks", "file": "Task.csv", "mapping": "tasks.mapping.json"},
    ]
    spec = MigrationSpec.from_dict(
        {"format": "twenty_migrate.migration", "version": 1, "name": "sf", "sources": sources},
        later,
    )
    prepared = spec.prepare(client, runs_dir=runs)
    assert prepared.relations.ok, prepared.relations.problems.to_string()
    counts = prepared.relations.counts.set_index(["object", "column"])
    assert counts.loc[("people", "companyId"), "in_twenty"] == 1
    assert counts.loc[("tasks", "_sourceref.targets"), "in_twenty"] == 2
    result = importer.run(prepared.plan)
    assert result.failed == 0
    after = _landed(sandbox)
    assert after["companies"] == before["companies"]  # nothing created twice
    assert sandbox.engine.count("company") == 3 and sandbox.engine.count("person") == 5
    assert after["people"]["Eve"]["companyId"] == before["companies"]["Globex"]
    assert after["targets"]["Renewal"] == {
        (_join(schema, "person"), before["people"]["Ada"]["id"]),
        (_join(schema, "opportunity"), before["deals"]["Small deal"]["id"]),
    }
    # Without the journals the same ids are found in Twenty by their derived record ids.
    found = spec.prepare(client, runs_dir=tmp_path / "elsewhere")
    assert found.relations.ok
    rows = found.plan.steps[0].records
    assert rows["companyId"].tolist() == [f"twenty:{before['companies']['Globex']}"]


def test_source_ids_stored_in_a_unique_field_link_another_migration(client, sandbox, tmp_path):
    spec = _salesforce_export(tmp_path / "sf", store=True)
    schema = fetch_schema(client)
    with pytest.raises(ConfigError, match="no field 'sourceId'"):
        spec.prepare(client, schema=schema, runs_dir=tmp_path / "runs")
    report = spec.preflight(schema)
    assert {(i.object, i.field, i.unique) for i in report.items} == {
        (obj, "sourceId", True) for obj in ("companies", "people", "opportunities", "tasks")
    }
    schema = report.apply(client)
    assert schema.object("companies").fields["sourceId"].is_unique
    prepared = spec.prepare(client, schema=schema, runs_dir=tmp_path / "runs")
    importer = Importer(client, runs_dir=tmp_path / "runs", progress=None)
    assert importer.run(prepared.plan).failed == 0
    stored = {r["name"]: r["sourceId"] for r in sandbox.engine.all_records("company")}
    assert stored == {"Acme": ACME18, "Globex": GLOBEX18, "Initech": INITECH18}

    # A later export writes the accounts' ids in 15 characters: other derived ids, but the
    # unique field holds the same 18-character id, so Twenty updates the same records.
    accounts = pd.read_csv(tmp_path / "sf" / "Account.csv", dtype=str)
    accounts["Id"] = [ACME, GLOBEX, INITECH]
    accounts.to_csv(tmp_path / "sf" / "Account.csv", index=False)
    again = importer.run(spec.prepare(client, schema=schema, runs_dir=tmp_path / "runs").plan)
    assert again.failed == 0
    assert sandbox.engine.count("company") == 3
    assert {r["name"]: r["sourceId"] for r in sandbox.engine.all_records("company")} == stored

    # Another migration (other derived ids, no shared journal) finds them by that field.
    contacts = pd.DataFrame(
        {"_row": [1], "LastName": ["Kay"], "AccountId": [GLOBEX18]}  # the other length
    )
    fmap = FieldMap("people", {"LastName": "name.lastName", "AccountId": "_sourceref.companyId"})
    rel = resolve_relations(
        {"people": fmap.apply(contacts, schema.object("people"))},
        schema,
        client=client,
        migration="another",
        runs_dir=tmp_path / "none",
    )
    globex = next(r["id"] for r in sandbox.engine.all_records("company") if r["name"] == "Globex")
    assert rel.frames["people"]["companyId"].tolist() == [f"twenty:{globex}"]
    assert rel.counts.iloc[0]["in_twenty"] == 1


def test_preflight_creates_the_source_id_field_unique(client):
    schema = fetch_schema(client)
    fmap = FieldMap("companies", {"Name": "name"}, source_id="Id", store_source_id="salesforceId")
    report = preflight(schema, [fmap])
    assert [(i.field, i.detail, i.unique) for i in report.items] == [("salesforceId", "TEXT", True)]
    assert "unique" in str(report)
    schema = report.apply(client)
    created = schema.object("companies").fields["salesforceId"]
    assert created.type == "TEXT" and created.is_unique
    assert preflight(schema, [fmap]).ok


# --------------------------------------------------------------------------- in memory
def test_without_a_client_ids_resolve_in_the_run_and_the_rest_is_reported(schema):
    companies = FieldMap("companies", {"Name": "name"}, source_id="Id").apply(
        pd.DataFrame({"_row": ["a1", "a2"], "Id": ["123", "456"], "Name": ["Acme", "Globex"]}),
        schema.object("companies"),
    )
    deals = FieldMap(
        "opportunities",
        {"Name": "name", "Organization - ID": "_sourceref.companyId"},
        source_id="ID",
    ).apply(
        pd.DataFrame(
            {
                "_row": [1, 2, 3],
                "ID": ["9", "8", "7"],
                "Name": ["A", "B", "C"],
                # Pipedrive ids, one read as a float by a spreadsheet
                "Organization - ID": [123.0, "456", "999"],
            }
        ),
        schema.object("opportunities"),
    )
    tasks = pd.DataFrame(
        {
            "_row": ["t1"],
            "title": ["Follow up"],
            "_sourceref.targets": ["123, 9 ; 000"],  # a company, a deal, nothing
        }
    )
    rel = resolve_relations(
        {"companies": companies, "opportunities": deals, "tasks": tasks}, schema
    )
    assert rel.frames["opportunities"]["companyId"].tolist() == ["a1", "a2", None]
    assert "_source_id" in rel.frames["opportunities"].columns
    missing = rel.problems.set_index("key")
    assert missing.loc["999", "status"] == "missing"
    assert "no companies with source id 999 in this run" in missing.loc["999", "message"]
    assert "no client" in missing.loc["999", "message"]
    assert missing.loc["000", "column"] == "_sourceref.targets"
    targets = rel.frames["taskTargets"]
    assert len(targets) == 2 and targets["_row"].str.endswith("s").all()
    plan = plan_migration(rel, schema, name="pipedrive")
    step = next(s for s in plan.steps if s.object == "companies")
    assert step.source_key == "_source_id"
    assert "_source_id" not in step.records.columns
    assert step.source_ids() == ["123", "456"]


def test_an_id_two_rows_share_is_ambiguous_and_a_wrong_kind_of_id_is_said(schema):
    people = FieldMap("people", {"Last": "name.lastName"}, source_id="Id").apply(
        pd.DataFrame({"_row": [1, 2], "Id": [ADA, ADA + "AAJ"], "Last": ["A", "B"]}),
        schema.object("people"),
    )
    tasks = pd.DataFrame(
        {"_row": ["t1"], "title": ["x"], "_sourceref.targets": [f"{ADA};00T5g00000TaskA"]}
    )
    rel = resolve_relations({"people": people, "tasks": tasks}, schema)
    problems = rel.problems.set_index("key")
    assert problems.loc[ADA, "status"] == "ambiguous"
    assert "_row 1, _row 2" in problems.loc[ADA, "candidates"]
    assert "Salesforce Task id" in problems.loc["00T5g00000TaskA", "message"]


def test_natural_keys_come_first_and_source_ids_fill_the_rest(schema):
    companies = FieldMap("companies", {"Name": "name"}, source_id="Record ID").apply(
        pd.DataFrame({"_row": ["c1", "c2"], "Record ID": ["11", "22"], "Name": ["Acme", "Globex"]}),
        schema.object("companies"),
    )
    people = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "name.lastName": ["A", "B", "C"],
            "_ref.companyId": ["Acme", None, None],
            # HubSpot lists several associated companies in one cell: the first is linked
            "_sourceref.companyId": ["22", "22;11", None],
        }
    )
    rel = resolve_relations({"companies": companies, "people": people}, schema)
    assert rel.frames["people"]["companyId"].tolist() == ["c1", "c2", None]
    assert rel.refs["people"] == {"companyId": "companies"}
    counts = rel.counts.set_index("column")
    assert counts["in_run"].tolist() == [1, 2]
    assert not any(c.startswith("_") and c != "_row" for c in rel.frames["people"].columns)
    empty = people.assign(**{"_sourceref.companyId": None})
    assert resolve_relations({"companies": companies, "people": empty}, schema).ok


def test_a_targets_column_with_no_ids_makes_no_targets(schema):
    tasks = pd.DataFrame({"_row": ["t1"], "title": ["x"], "_sourceref.targets": [None]})
    rel = resolve_relations({"tasks": tasks}, schema)
    assert rel.ok and len(rel.frames["taskTargets"]) == 0
    assert rel.counts.iloc[0]["keys"] == 0


def test_the_mapping_editor_keeps_the_source_id(schema):
    from twenty_migrate.widgets import MappingEditor

    df = pd.DataFrame({"Id": [ACME], "Name": ["Acme"]})
    base = FieldMap("companies", {"Name": "name"}, source_id="Id", store_source_id=True)
    edited = MappingEditor(df, schema.object("companies"), base).field_map
    assert (edited.source_id, edited.source_id_field) == ("Id", "sourceId")
    assert "source id: Id, stored in sourceId" in repr(edited)


@pytest.mark.usefixtures("served_sandbox")
def test_the_cli_creates_the_source_id_fields_and_imports(tmp_path, capsys):
    from twenty_migrate.ui.cli import main

    spec = _salesforce_export(tmp_path / "sf", store=True)
    args = ["import", str(spec.base_dir / "migration.json"), "--runs-dir", str(tmp_path / "r")]
    assert main([*args, "--no-progress"]) == 2
    assert "--create-missing" in capsys.readouterr().err
    assert main([*args, "--no-progress", "--create-missing"]) == 0
    out = capsys.readouterr().out
    assert "no field 'sourceId'; create it as TEXT (unique)" in out
    assert "0 failed" in out
