"""Multi-object plans, task/note targets, the preflight, and the sample migration end to end."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import pytest

from twenty_migrate.clean import frame as clean
from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.mapping.suggest import suggest_mapping
from twenty_migrate.pipeline.migration import (
    FieldSpec,
    RelationCycleError,
    plan_migration,
    preflight,
)
from twenty_migrate.plan.plan import ImportPlan
from twenty_migrate.plan.steps import ObjectStep, existing_ref
from twenty_migrate.relations.resolve import _company_key, resolve_relations
from twenty_migrate.sandbox import Sandbox, sample_id
from twenty_migrate.twenty.errors import SchemaError
from twenty_migrate.twenty.schema import WorkspaceSchema, fetch_schema
from twenty_migrate.ui import demo


@dataclass
class PreparedSample:
    raw: pd.DataFrame
    records: pd.DataFrame


def prepare_sample(file: str, object_schema, key: str) -> PreparedSample:
    """One sample file cleaned, mapped as suggested and de-duplicated by ``key``."""
    cleaned = clean.clean_frame(demo.load_sample(file))
    records = suggest_mapping(cleaned, object_schema).apply(cleaned, object_schema).data
    if key and key in records.columns:
        records = clean.drop_duplicate_rows(records, key)
    return PreparedSample(cleaned, records)


@pytest.fixture
def sandbox(clock, twenty_version) -> Sandbox:
    return Sandbox.with_sample_data(twenty_version=twenty_version, clock=clock, sleep=clock.sleep)


def twenty_ids(result, obj: str) -> dict[str, str]:
    rows = result.rows[result.rows["object"] == obj]
    return {str(r): str(t) for r, t in zip(rows["_row"], rows["twenty_id"], strict=True)}


def stored(client, obj: str, fields: str) -> dict[str, dict]:
    return {r["id"]: r for r in client.iter_records(obj, fields=fields)}


# --------------------------------------------------------------------------- plans
def test_existing_records_are_linked_end_to_end(schema, client, importer, tmp_path):
    companies = pd.DataFrame({"_row": [1], "name": ["Brand New Ltd"]})
    people = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "emails.primaryEmail": ["a@new.example", "b@new.example", "c@new.example"],
            "_ref.companyId": ["Acme", "brand new", "Nowhere Inc"],
        }
    )
    rel = resolve_relations({"people": people, "companies": companies}, schema, client=client)
    plan = plan_migration(rel, schema)
    assert [s.object for s in plan.steps] == ["companies", "people"]
    assert plan.steps[1].key == "emails.primaryEmail"
    loaded = ImportPlan.load(plan.save(tmp_path / "plan.json"))  # the CLI's way in

    result = importer.run(loaded)

    assert result.failed == 0
    new_company = twenty_ids(result, "companies")["1"]
    people_ids = twenty_ids(result, "people")
    records = stored(client, "people", "id companyId")
    assert records[people_ids["1"]]["companyId"] == sample_id("company", 0)
    assert records[people_ids["2"]]["companyId"] == new_company
    assert records[people_ids["3"]]["companyId"] is None
    assert list(rel.problems["key"]) == ["Nowhere Inc"]


def test_tasks_and_notes_with_targets_end_to_end(schema, client, importer):
    companies = pd.DataFrame({"_row": [1], "name": ["Northwind Traders Ltd"]})
    people = pd.DataFrame({"_row": [1], "emails.primaryEmail": ["jo@northwind.example"]})
    tasks = pd.DataFrame({"_row": [1, 2], "title": ["Call Jo", "Send deck"]})
    notes = pd.DataFrame({"_row": [1], "title": ["Met at the fair"]})
    rel = resolve_relations(
        {"tasks": tasks, "notes": notes, "people": people, "companies": companies},
        schema,
        client=client,
        targets={
            "tasks": pd.Series(["jo@northwind.example; Northwind Traders", "Acme | Ghost Ltd"]),
            "notes": pd.Series(["Hooli"]),
        },
    )
    plan = plan_migration(rel, schema)
    assert [s.object for s in plan.steps] == [
        "companies",
        "people",
        "tasks",
        "notes",
        "taskTargets",
        "noteTargets",
    ]

    result = importer.run(plan)

    assert result.failed == 0
    task_ids = {v: k for k, v in twenty_ids(result, "tasks").items()}
    company = twenty_ids(result, "companies")["1"]
    person = twenty_ids(result, "people")["1"]
    # personId / companyId, or targetPersonId / targetCompanyId: as the release names them
    columns = {target: column for column, target in schema.object("taskTargets").relations.items()}
    person_id, company_id = columns["person"], columns["company"]
    links = {
        (task_ids[t["taskId"]], t[person_id], t[company_id])
        for t in stored(client, "taskTargets", f"id taskId {person_id} {company_id}").values()
    }
    assert links == {
        ("1", person, None),
        ("1", None, company),
        ("2", None, sample_id("company", 0)),
    }
    note_company = {t: c for c, t in schema.object("noteTargets").relations.items()}["company"]
    (note_target,) = stored(client, "noteTargets", f"id noteId {note_company}").values()
    assert note_target[note_company] == sample_id("company", 4)
    assert note_target["noteId"] == twenty_ids(result, "notes")["1"]
    assert list(rel.problems["key"]) == ["Ghost Ltd"]


def make_projects(client, *, back_relation: bool = False) -> WorkspaceSchema:
    """A custom object ``projects`` with a relation ``owner`` to people."""
    schema = fetch_schema(client)
    fields = {"projects": {"owner": FieldSpec("RELATION", target="people")}}
    if back_relation:
        fields["people"] = {"mainProject": FieldSpec("RELATION", target="projects")}
    report = preflight(schema, fields=fields)
    return report.apply(client)


def test_plan_orders_a_custom_object_after_the_people_it_points_to(client, importer):
    schema = make_projects(client)
    assert schema.object("projects").relations == {"ownerId": "person"}
    frames = {
        "projects": pd.DataFrame(
            {"_row": [1, 2], "name": ["Apollo", "Gemini"], "_ref.ownerId": ["jo@x.example", "x"]}
        ),
        "tasks": pd.DataFrame({"_row": [1], "title": ["Kick-off"]}),
        "people": pd.DataFrame(
            {"_row": [5], "emails.primaryEmail": ["jo@x.example"], "_ref.companyId": ["Acme"]}
        ),
        "companies": pd.DataFrame({"_row": [9], "name": ["Initech"]}),
    }
    rel = resolve_relations(frames, schema, client=client)
    plan = plan_migration(rel, schema)
    assert [s.object for s in plan.steps] == ["companies", "people", "tasks", "projects"]

    result = importer.run(plan)

    assert result.failed == 0
    projects = stored(client, "projects", "id name ownerId")
    owner = {p["name"]: p["ownerId"] for p in projects.values()}
    assert owner == {"Apollo": twenty_ids(result, "people")["5"], "Gemini": None}


def test_a_cycle_is_refused_naming_it(client):
    schema = make_projects(client, back_relation=True)
    frames = {
        "people": pd.DataFrame(
            {"_row": [1], "emails.primaryEmail": ["jo@x.example"], "_ref.mainProjectId": ["Apollo"]}
        ),
        "projects": pd.DataFrame(
            {"_row": [1], "name": ["Apollo"], "_ref.ownerId": ["jo@x.example"]}
        ),
    }
    rel = resolve_relations(frames, schema)
    with pytest.raises(RelationCycleError) as caught:
        plan_migration(rel, schema)
    assert caught.value.cycle == ["people", "projects", "people"]
    assert "people.mainProjectId -> projects, projects.ownerId -> people" in str(caught.value)
    assert "set it afterwards" in str(caught.value)

    # A relation to records already in Twenty is no edge: no cycle then.
    frames["people"]["_ref.mainProjectId"] = None
    frames["people"]["mainProjectId"] = ["3f2a9c1b-0d4e-4a1b-9c8d-7e6f5a4b3c2d"]
    plan = plan_migration(resolve_relations(frames, schema), schema)
    assert [s.object for s in plan.steps] == ["people", "projects"]


def test_steps_are_ordered_and_self_references_refused():
    companies = ObjectStep("companies", pd.DataFrame({"_row": [1], "name": ["A"]}))
    people = ObjectStep(
        "people", pd.DataFrame({"_row": [1], "companyId": [1]}), refs={"companyId": "companies"}
    )
    deals = ObjectStep(
        "opportunities",
        pd.DataFrame(
            {
                "_row": [1],
                "pointOfContactId": [1],
                "companyId": [existing_ref(sample_id("company", 0))],
            }
        ),
        refs={"pointOfContactId": "people", "companyId": "companies"},
    )
    plan = plan_migration([deals, people, companies])
    assert [s.object for s in plan.steps] == ["companies", "people", "opportunities"]
    parent = ObjectStep(
        "companies",
        pd.DataFrame({"_row": [1, 2], "parentId": [None, 1]}),
        refs={"parentId": "companies"},
    )
    with pytest.raises(RelationCycleError, match=r"companies.parentId -> companies"):
        plan_migration([parent])


def test_plan_migration_refuses_unresolved_frames(schema):
    frames = {"people": pd.DataFrame({"_row": [1], "_ref.companyId": ["Acme"]})}
    with pytest.raises(ValueError, match="resolve_relations"):
        plan_migration(frames, schema)
    with pytest.raises(ValueError, match="schema"):
        plan_migration({"people": pd.DataFrame({"_row": [1]})})


def test_plan_migration_says_when_there_is_nothing_to_import(schema):
    # A plan has at least one step, so an empty plan is refused, with the reason.
    with pytest.raises(ValueError, match="at least one step"):
        ImportPlan([])
    empty = {
        "companies": pd.DataFrame({"_row": pd.Series([], dtype=object), "name": []}),
        "people": pd.DataFrame({"_row": pd.Series([], dtype=object)}),
    }
    said = r"nothing to import: every frame is empty \(companies, people\)\. Every row was left"
    with pytest.raises(ValueError, match=said):
        plan_migration(empty, schema)
    rel = resolve_relations(empty, schema)
    with pytest.raises(ValueError, match="nothing to import: every frame is empty"):
        plan_migration(rel, schema)
    with pytest.raises(ValueError, match="nothing to import: no frames given"):
        plan_migration({}, schema)
    with pytest.raises(ValueError, match="nothing to import: no steps given"):
        plan_migration([])
    # One object with rows is enough: the empty ones are simply not steps.
    plan = plan_migration(
        {**empty, "companies": pd.DataFrame({"_row": [1], "name": ["A"]})}, schema
    )
    assert [s.object for s in plan.steps] == ["companies"]


# --------------------------------------------------------------------------- preflight
def test_preflight_finds_missing_field_and_option_and_apply_creates_them(schema, client, importer):
    companies_map = FieldMap(
        "companies",
        {"Company": "name", "Industry": "industry"},
        {"industry": {"Software": "SOFTWARE", "Retail stores": "RETAIL", "Other": None}},
    )
    deals_map = FieldMap(
        "opportunities",
        {"Deal": "name", "Stage": "stage"},
        {"stage": {"Closed Lost": "CLOSED_LOST", "Won": "CUSTOMER"}},
    )
    report = preflight(schema, [companies_map, deals_map])

    assert not report.ok
    frame = report.to_frame()
    assert frame[["kind", "object", "field", "detail"]].values.tolist() == [
        ["field", "companies", "industry", "SELECT"],
        ["option", "companies", "industry", "SOFTWARE"],
        ["option", "companies", "industry", "RETAIL"],
        ["option", "opportunities", "stage", "CLOSED_LOST"],
    ]
    assert "Retail stores" in frame["label"].tolist()
    assert "<table" in report._repr_html_()
    with pytest.raises(Exception, match="no field 'industry'|has no writable field"):
        companies_map.apply(
            pd.DataFrame({"Company": ["A"], "Industry": ["Software"]}), schema.object("companies")
        )

    schema = report.apply(client)

    assert schema.object("companies").field("industry").option_values == ["SOFTWARE", "RETAIL"]
    assert "CLOSED_LOST" in schema.object("opportunities").field("stage").option_values
    assert preflight(schema, [companies_map, deals_map]).ok
    source = pd.DataFrame({"_row": [1], "Company": ["Umbra"], "Industry": ["software"]})
    deals = pd.DataFrame({"_row": [1], "Deal": ["Lost one"], "Stage": ["Closed Lost"]})
    plan = plan_migration(
        {
            "companies": companies_map.apply(source, schema.object("companies")).data,
            "opportunities": deals_map.apply(deals, schema.object("opportunities")).data,
        },
        schema,
    )
    result = importer.run(plan)
    assert result.failed == 0
    company = stored(client, "companies", "id name industry")[twenty_ids(result, "companies")["1"]]
    assert company["industry"] == "SOFTWARE"
    deal = stored(client, "opportunities", "id stage")[twenty_ids(result, "opportunities")["1"]]
    assert deal["stage"] == "CLOSED_LOST"


def test_preflight_of_frames_objects_and_bad_option_values(schema, client):
    frames = {
        "opportunities": pd.DataFrame(
            {"_row": [1, 2], "stage": ["NEW", "ON_HOLD"], "score": [1, 2]}
        )
    }
    report = preflight(
        schema,
        frames,
        fields={"projects": {"budget": "NUMBER"}},
        options={"tasks.status": {"WAITING": "Waiting", "on hold": "On hold"}},
        objects={"projects": "project"},
    )
    rows = report.to_frame()
    assert rows[["kind", "object", "field", "detail", "creatable"]].values.tolist() == [
        ["object", "projects", "", "", True],
        ["field", "opportunities", "score", "TEXT", True],
        ["field", "projects", "budget", "NUMBER", True],
        ["option", "opportunities", "stage", "ON_HOLD", True],
        ["option", "tasks", "status", "WAITING", True],
        ["option", "tasks", "status", "on hold", False],
    ]
    assert "'ON_HOLD'" in rows["message"].iloc[-1]
    with pytest.raises(SchemaError, match="UPPER_SNAKE_CASE"):
        report.apply(client)
    assert "projects" not in fetch_schema(client).objects  # nothing was created

    report = preflight(
        schema, fields={"projects": {"budget": "NUMBER"}}, options={"tasks.status": ["WAITING"]}
    )
    schema = report.apply(client)
    assert schema.object("projects").name_singular == "project"
    assert schema.object("projects").field("budget").type == "NUMBER"
    assert schema.object("tasks").field("status").option_values == [
        "TODO",
        "IN_PROGRESS",
        "DONE",
        "WAITING",
    ]


def test_preflight_asks_for_the_target_of_a_missing_relation(schema):
    fmap = FieldMap("people", {"Project": "_ref.projectId"})
    report = preflight(schema, fmap)
    (item,) = report.items
    assert (item.kind, item.field, item.creatable) == ("field", "project", False)
    assert "FieldSpec('RELATION', target=" in item.message
    assert "1 missing" in str(report)


# --------------------------------------------------------------------------- sample data
SAMPLE = (
    ("companies", "companies.csv", "domainName.primaryLinkUrl"),
    ("people", "people.csv", "emails.primaryEmail"),
    ("opportunities", "opportunities.csv", ""),
    ("tasks", "tasks.csv", ""),
    ("notes", "notes.csv", ""),
)


def test_the_sample_migration_imports_with_every_unresolved_relation_reported(
    sandbox, client, importer
):
    manifest = json.loads((demo.sample_data_dir() / "manifest.json").read_text())
    members = [
        {"name": dict(zip(("firstName", "lastName"), n.split(), strict=True)), "userEmail": e}
        for n, e in zip(
            manifest["workspace_members"], manifest["workspace_member_emails"], strict=True
        )
    ]
    sandbox.engine.create_many("workspaceMembers", members)
    schema = fetch_schema(client)
    prepared = {o: prepare_sample(f, schema.object(o), k) for o, f, k in SAMPLE}
    frames = {o: p.records for o, p in prepared.items()}
    related = {o: prepared[o].raw["Related To"] for o in ("tasks", "notes")}

    rel = resolve_relations(frames, schema, client=client, targets=related)
    plan = plan_migration(rel, schema, sources={o: p.raw for o, p in prepared.items()})
    result = importer.run(plan)

    assert result.failed == 0 and result.pending == 0
    assert [s.object for s in plan.steps] == [
        "companies",
        "people",
        "opportunities",
        "tasks",
        "notes",
        "taskTargets",
        "noteTargets",
    ]
    # Every key is accounted for, and exactly the unresolved ones are problems.
    counts = rel.counts
    settled = counts[["in_run", "in_twenty", "stubbed", "missing", "ambiguous", "ignored"]]
    assert (settled.sum(axis=1) == counts["keys"]).all()
    assert len(rel.problems) == int((counts["missing"] + counts["ambiguous"]).sum())
    assert rel.lookup_calls > 0
    # Every row naming a company never exported is reported, and left unlinked.
    missing = {_company_key(n) for n in manifest["missing_companies"]}
    for obj in ("people", "opportunities"):
        source = frames[obj]
        named = source.loc[
            source["_ref.companyId"].map(
                lambda k: isinstance(k, str) and _company_key(k) in missing
            ),
            "_row",
        ]
        assert len(named) > 30
        reported = rel.problems[
            (rel.problems["object"] == obj) & (rel.problems["column"] == "companyId")
        ]
        assert set(named) <= set(reported["_row"])
        assert rel.frames[obj].set_index("_row").loc[list(named), "companyId"].isna().all()
    # Owners are linked to members by name or email only when the name is a member's.
    assignees = rel.frames["tasks"].set_index("_row")["assigneeId"]
    owners = frames["tasks"].set_index("_row")["_ref.assigneeId"]
    assert assignees[owners == "Jane Cooper"].notna().all()
    assert assignees[owners.str.startswith("Derek", na=False)].isna().all()
    # No relation was guessed: each linked person's company has the name the person gave.
    company_rows = twenty_ids(result, "companies")
    name_of = {
        company_rows[str(r)]: n
        for r, n in zip(frames["companies"]["_row"], frames["companies"]["name"], strict=True)
    }
    people_rows = twenty_ids(result, "people")
    stored_people = stored(client, "people", "id companyId")
    keys = frames["people"].set_index("_row")["_ref.companyId"]
    linked = 0
    for row, twenty_id in people_rows.items():
        company = stored_people[twenty_id]["companyId"]
        if company is not None:
            linked += 1
            assert _company_key(name_of[company]) == _company_key(keys[int(row)])
    assert linked == int(
        counts.set_index(["object", "column"]).loc[("people", "companyId"), "in_run"]
    )
    # Targets in Twenty point to the records the sample named.
    join = {t: c for c, t in schema.object("taskTargets").relations.items() if t != "task"}
    columns = [join["person"], join["company"], join["opportunity"]]
    targets = stored(client, "taskTargets", " ".join(["id", "taskId", *columns]))
    assert len(targets) == len(rel.frames["taskTargets"]) > 300
    assert all(sum(t[k] is not None for k in columns) == 1 for t in targets.values())


def test_the_sample_missing_companies_can_become_stubs(client, importer):
    schema = fetch_schema(client)
    prepared = {o: prepare_sample(f, schema.object(o), k) for o, f, k in SAMPLE[:3]}
    manifest = json.loads((demo.sample_data_dir() / "manifest.json").read_text())

    rel = resolve_relations(
        {o: p.records for o, p in prepared.items()}, schema, client=client, create_missing=True
    )

    stubbed = set(rel.stubs["name"].map(_company_key))
    missing = {_company_key(n) for n in manifest["missing_companies"]}
    named = {
        _company_key(k)
        for o in ("people", "opportunities")
        for k in prepared[o].records["_ref.companyId"].dropna()
    }
    assert len(missing & named) > 40
    assert missing & named <= stubbed
    problems = rel.problems
    assert not ((problems["column"] == "companyId") & (problems["status"] == "missing")).any()
    assert (problems.loc[problems["column"] == "companyId", "status"] == "ambiguous").all()
    companies = rel.frames["companies"]
    assert companies["_row"].astype(str).str.startswith("stub-").sum() == len(rel.stubs)

    result = importer.run(plan_migration(rel, schema))

    assert result.failed == 0
    stub = rel.stubs.iloc[0]
    person_row = rel.frames["people"].loc[rel.frames["people"]["companyId"] == stub["_row"], "_row"]
    person = twenty_ids(result, "people")[str(person_row.iloc[0])]
    company_id = stored(client, "people", "id companyId")[person]["companyId"]
    assert stored(client, "companies", "id name")[company_id]["name"] == stub["name"]


def test_preflight_creates_a_new_object_for_a_mapping(schema, client, importer):
    fmap = FieldMap(
        "projects", {"Project": "name", "Budget": "budget.amountMicros", "Phase": "phase"}
    )
    report = preflight(schema, fmap, fields={"projects": {"phase": "SELECT"}})
    assert report.to_frame()[["kind", "field", "detail", "creatable"]].values.tolist() == [
        ["object", "", "", True],
        ["field", "budget", "CURRENCY", True],
        ["field", "phase", "SELECT", False],  # a select needs its options
    ]
    phase = FieldSpec("SELECT", label="Phase", options={"PLAN": "Planning", "SHIP": "Shipping"})
    schema = preflight(schema, fmap, fields={"projects": {"phase": phase}}).apply(client)

    projects = schema.object("projects")
    assert projects.field("budget").type == "CURRENCY"
    assert projects.field("phase").option_values == ["PLAN", "SHIP"]
    source = pd.DataFrame(
        {"_row": [1], "Project": ["Apollo"], "Budget": ["$1,000"], "Phase": ["planning"]}
    )
    result = importer.run(plan_migration({"projects": fmap.apply(source, projects).data}, schema))
    assert result.failed == 0
    (project,) = stored(client, "projects", "id name phase budget { amountMicros }").values()
    assert (project["name"], project["phase"]) == ("Apollo", "PLAN")
    assert project["budget"]["amountMicros"] == 1_000_000_000
