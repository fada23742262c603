"""Relations by natural key against the sandbox: this run first, then Twenty, never guessed."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import sandbox_client

from twenty_migrate.plan.steps import existing_ref
from twenty_migrate.relations.resolve import (
    COUNT_COLUMNS,
    PROBLEM_COLUMNS,
    TARGETS_COLUMN,
    ResolvedRelations,
    resolve_relations,
)
from twenty_migrate.sandbox import Sandbox, sample_id
from twenty_migrate.sandbox.profiles import sandbox_profile
from twenty_migrate.twenty.errors import SchemaError
from twenty_migrate.twenty.schema import fetch_schema


@pytest.fixture
def sandbox(clock) -> Sandbox:
    return Sandbox.with_sample_data(twenty_version="1", clock=clock, sleep=clock.sleep)


def companies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "name": ["Northwind Traders Ltd.", "Müller Maschinenbau GmbH", "Indigo Media S.A."],
            "domainName.primaryLinkUrl": ["https://northwind.example", None, "indigo.example"],
        }
    )


def people(refs: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": [f"p{i}" for i in range(len(refs))],
            "emails.primaryEmail": [f"p{i}@example.org" for i in range(len(refs))],
            "_ref.companyId": refs,
        }
    )


def problem(rel: ResolvedRelations, row) -> dict:
    rows = rel.problems[rel.problems["_row"] == row]
    assert len(rows) == 1, rel.problems
    return rows.iloc[0].to_dict()


def test_people_link_to_companies_of_this_run_by_name_variant_or_domain(schema):
    refs = [
        "NORTHWIND TRADERS LIMITED",
        "muller  maschinenbau",
        "Indigo Media",
        "www.indigo.example",
    ]
    rel = resolve_relations({"companies": companies(), "people": people(refs)}, schema)

    linked = rel.frames["people"]
    assert list(linked["companyId"]) == [1, 2, 3, 3]
    assert not [c for c in linked.columns if c.startswith("_ref.")]
    assert rel.refs == {"people": {"companyId": "companies"}}
    assert rel.ok and rel.lookup_calls == 0
    counts = rel.counts.set_index("column").loc["companyId"]
    assert (counts["keys"], counts["in_run"], counts["missing"]) == (4, 4, 0)
    assert list(rel.counts.columns) == COUNT_COLUMNS


def test_people_link_to_companies_already_in_twenty(schema, client):
    refs = ["ACME Inc.", "www.globex.com", "https://Initech.com/about", "Northwind Traders"]
    rel = resolve_relations(
        {"companies": companies(), "people": people(refs)}, schema, client=client
    )

    assert list(rel.frames["people"]["companyId"]) == [
        existing_ref(sample_id("company", 0)),
        existing_ref(sample_id("company", 1)),
        existing_ref(sample_id("company", 2)),
        1,  # this run comes first
    ]
    counts = rel.counts.set_index("column").loc["companyId"]
    assert (counts["in_run"], counts["in_twenty"]) == (1, 3)
    assert rel.lookup_calls == 2  # one domain lookup, one name lookup


def test_several_matches_are_ambiguous_and_never_picked(schema, client, sandbox):
    sandbox.engine.create_many(
        "companies",
        [
            {
                "name": "Twin Holdings Ltd",
                "domainName": {"primaryLinkUrl": "https://twin-a.example"},
            },
            {"name": "TWIN HOLDINGS", "domainName": {"primaryLinkUrl": "https://twin-b.example"}},
        ],
    )
    run = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "name": ["Kestrel AB", "Kestrel AB.", "Same Domain Inc", "Same Domain Inc."],
            "domainName.primaryLinkUrl": [
                "k1.example",
                "k2.example",
                "same.example",
                "same.example",
            ],
        }
    )
    rel = resolve_relations(
        {"companies": run, "people": people(["kestrel", "Twin Holdings", "same domain"])},
        schema,
        client=client,
    )

    in_run = problem(rel, "p0")
    assert in_run["status"] == "ambiguous"
    assert in_run["candidates"] == "_row 1, _row 2"
    assert "2 companies of this run match by name" in in_run["message"]
    in_twenty = problem(rel, "p1")
    assert in_twenty["status"] == "ambiguous"
    assert in_twenty["candidates"].count("twenty:") == 2
    assert list(rel.frames["people"]["companyId"])[:2] == [None, None]
    # Two rows with one domain become one record in Twenty: not ambiguous.
    assert rel.frames["people"]["companyId"].iloc[2] == 3
    assert list(rel.problems.columns) == PROBLEM_COLUMNS


def test_missing_parents_are_reported_with_no_guess(schema, client):
    refs = ["Nowhere Logistics Corp.", "Northwind", None, "Self-employed", "N/A"]
    rel = resolve_relations(
        {"companies": companies(), "people": people(refs)}, schema, client=client
    )

    assert list(rel.frames["people"]["companyId"]) == [None] * 5
    assert set(rel.problems["_row"]) == {"p0", "p1"}  # "Northwind" alone names no company
    missing = problem(rel, "p0")
    assert missing["status"] == "missing"
    assert missing["key"] == "Nowhere Logistics Corp."
    assert missing["message"] == "no companies in this run or in Twenty match by name"
    counts = rel.counts.set_index("column").loc["companyId"]
    assert (counts["keys"], counts["missing"], counts["ignored"]) == (4, 2, 2)

    offline = resolve_relations({"people": people(["Acme"])}, schema)
    assert "Twenty not searched: no client" in problem(offline, "p0")["message"]


def test_lookups_are_batched_60_keys_per_call(schema, client, sandbox):
    emails = [f"contact{i}@nowhere.example" for i in range(130)]
    deals = pd.DataFrame({"_row": range(130), "_ref.pointOfContactId": emails})
    client.object_names("people")  # metadata (not rate-limited) read before counting
    before = client.stats.snapshot()["calls"]

    rel = resolve_relations({"opportunities": deals}, schema, client=client)

    assert rel.lookup_calls == 3
    assert client.stats.snapshot()["calls"] - before == 3
    assert len(rel.problems) == 130
    calls = [r for r in sandbox.requests if r.path == "/graphql"][-3:]
    assert [r.root_fields for r in calls] == [("people",)] * 3

    names = pd.DataFrame(
        {"_row": range(130), "_ref.companyId": [f"Ghost {i} Ltd" for i in range(130)]}
    )
    assert resolve_relations({"people": names}, schema, client=client).lookup_calls == 3
    # A second look-up of the same keys in one call is free: keys are looked up once.
    twice = resolve_relations(
        {"people": names, "opportunities": names.copy()}, schema, client=client
    )
    assert twice.lookup_calls == 3


def test_opportunities_get_company_and_point_of_contact(schema, client):
    run_people = pd.DataFrame(
        {"_row": [10, 11], "emails.primaryEmail": ["jo@northwind.example", "al@indigo.example"]}
    )
    deals = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "name": ["Renewal", "Pilot", "Upsell"],
            "_ref.companyId": ["Northwind Traders", "Acme", "northwind.example"],
            "_ref.pointOfContactId": [
                "jo@northwind.example",
                "ada.lovelace@example.com",
                "x@y.example",
            ],
        }
    )
    rel = resolve_relations(
        {"companies": companies(), "people": run_people, "opportunities": deals},
        schema,
        client=client,
    )

    out = rel.frames["opportunities"]
    assert list(out["companyId"]) == [1, existing_ref(sample_id("company", 0)), 1]
    assert list(out["pointOfContactId"]) == [10, existing_ref(sample_id("person", 0)), None]
    assert rel.refs["opportunities"] == {"companyId": "companies", "pointOfContactId": "people"}
    assert problem(rel, 3)["column"] == "pointOfContactId"


def test_ids_mapped_directly_are_kept_as_existing_records(schema):
    frame = people(["Northwind Traders", "Unknown Co"])
    frame["companyId"] = [None, sample_id("company", 4)]
    rel = resolve_relations({"companies": companies(), "people": frame}, schema)
    assert list(rel.frames["people"]["companyId"]) == [1, existing_ref(sample_id("company", 4))]


def test_task_targets_from_related_to(schema, client):
    run_people = pd.DataFrame({"_row": [10], "emails.primaryEmail": ["jo@northwind.example"]})
    deals = pd.DataFrame({"_row": [7], "name": ["Indigo Media"]})  # also a company's name
    tasks = pd.DataFrame({"_row": [1, 2, 3, 4], "title": ["a", "b", "c", "d"]})
    related = pd.Series(
        [
            "JO@Northwind.example; Northwind Traders Ltd",
            "Acme | ada.lovelace@example.com",
            "Indigo Media",
            "nobody@nowhere.example",
        ]
    )
    rel = resolve_relations(
        {"companies": companies(), "people": run_people, "opportunities": deals, "tasks": tasks},
        schema,
        client=client,
        targets={"tasks": related},
    )

    targets = rel.frames["taskTargets"]
    assert list(targets["_row"]) == ["1:1", "1:2", "2:1", "2:2"]
    assert list(targets["taskId"]) == [1, 1, 2, 2]
    assert list(targets["personId"]) == [10, None, None, existing_ref(sample_id("person", 0))]
    assert list(targets["companyId"]) == [None, 1, existing_ref(sample_id("company", 0)), None]
    assert rel.refs["taskTargets"] == {
        "taskId": "tasks",
        "personId": "people",
        "companyId": "companies",
    }
    assert TARGETS_COLUMN not in rel.frames["tasks"].columns
    both = problem(rel, 3)
    assert (both["status"], both["column"]) == ("ambiguous", TARGETS_COLUMN)
    assert both["candidates"] == "companies _row 3; opportunities _row 7"
    assert problem(rel, 4)["status"] == "missing"


def test_workspace_members_by_email_or_full_name(schema, client, sandbox):
    sandbox.engine.create_many(
        "workspaceMembers",
        [
            {
                "name": {"firstName": "Jane", "lastName": "Cooper"},
                "userEmail": "jane.cooper@fernhill.io",
            },
            {
                "name": {"firstName": "Tom", "lastName": "Becker"},
                "userEmail": "tom.becker@fernhill.io",
            },
        ],
    )
    members = {m["userEmail"]: m["id"] for m in client.iter_records("workspaceMembers")}
    tasks = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "_ref.assigneeId": [
                "Cooper, Jane",
                "TOM.BECKER@fernhill.io",
                "J. Cooper",
                "Derek Olsen",
            ],
        }
    )
    rel = resolve_relations({"tasks": tasks}, schema, client=client)
    assert list(rel.frames["tasks"]["assigneeId"]) == [
        existing_ref(members["jane.cooper@fernhill.io"]),
        existing_ref(members["tom.becker@fernhill.io"]),
        None,
        None,
    ]
    assert rel.lookup_calls == 2  # the members are read once per matcher, not per key


def test_create_missing_adds_stub_companies_only_for_names(schema, client):
    refs = ["Nowhere Logistics Corp.", "NOWHERE LOGISTICS", "ghost.example", "Acme"]
    with pytest.raises(ValueError, match="needs a client"):
        resolve_relations({"people": people(refs)}, schema, create_missing=True)
    rel = resolve_relations(
        {"companies": companies(), "people": people(refs)},
        schema,
        client=client,
        create_missing=True,
    )

    stubs = rel.stubs.to_dict("records")
    assert stubs == [
        {
            "object": "companies",
            "_row": "stub-1",
            "name": "Nowhere Logistics Corp.",
            "keys": "Nowhere Logistics Corp., NOWHERE LOGISTICS",
            "rows": 2,
        }
    ]
    assert rel.frames["companies"]["_row"].iloc[-1] == "stub-1"
    assert rel.frames["companies"]["name"].iloc[-1] == "Nowhere Logistics Corp."
    linked = list(rel.frames["people"]["companyId"])
    assert linked[:2] == ["stub-1", "stub-1"]
    assert linked[3] == existing_ref(sample_id("company", 0))  # found in Twenty: no stub
    assert list(rel.problems["_row"]) == ["p2"]  # a domain is not a company's name
    assert rel.counts.set_index("column").loc["companyId", "stubbed"] == 2


def test_bad_input_says_what_to_do(schema):
    with pytest.raises(SchemaError, match="no field 'ownerId'"):
        resolve_relations({"people": pd.DataFrame({"_row": [1], "_ref.ownerId": ["x"]})}, schema)
    with pytest.raises(ValueError, match="_row"):
        resolve_relations({"people": pd.DataFrame({"_ref.companyId": ["x"]})}, schema)
    with pytest.raises(ValueError, match="no frame"):
        resolve_relations({"people": people(["x"])}, schema, targets={"tasks": pd.Series(["a"])})


def test_summary_and_html_name_the_relations(schema):
    rel = resolve_relations({"companies": companies(), "people": people(["Ghost"])}, schema)
    assert "people.companyId -> companies: 1 keys" in rel.summary()
    assert "<table" in rel._repr_html_()
    assert "problems=1" in repr(rel)


def test_targets_follow_the_workspace_naming_of_target_fields(clock):
    morph = Sandbox(
        profile=sandbox_profile("1").replace(target_model="morph"), clock=clock, sleep=clock.sleep
    )
    http = sandbox_client(morph, clock)
    schema = fetch_schema(http)
    notes = pd.DataFrame({"_row": [1], "title": ["Recap"]})
    rel = resolve_relations(
        {"notes": notes, "companies": companies()},
        schema,
        targets={"notes": pd.Series(["Indigo Media"])},
    )
    assert rel.refs["noteTargets"] == {"noteId": "notes", "targetCompanyId": "companies"}
    assert rel.frames["noteTargets"].to_dict("records") == [
        {"_row": "1:1", "noteId": 1, "targetCompanyId": 3}
    ]
