"""Record owners: workspace members served by the sandbox, and source users mapped to them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import twenty_migrate as tm
from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.pipeline.spec import MigrationSpec
from twenty_migrate.relations.owners import (
    OWNER_UNMATCHED,
    fetch_members,
    load_user_map,
    salesforce_id18,
    suggest_user_map,
)
from twenty_migrate.relations.resolve import resolve_relations
from twenty_migrate.run.importer import Importer
from twenty_migrate.sandbox import Sandbox, sandbox_profile
from twenty_migrate.twenty.errors import ConfigError

MEMBERS = [
    {"name": {"firstName": "Jane", "lastName": "Cooper"}, "userEmail": "jane.cooper@acme.example"},
    {"name": {"firstName": "Zoë", "lastName": "Müller"}, "userEmail": "zoe@acme.example"},
    {"name": {"firstName": "Bob", "lastName": "Stone"}, "userEmail": "bob@acme.example"},
]
#: One Salesforce user in its two spellings, and another whose 15-char id differs only in case.
BOB_15, BOB_18 = "005A0000001AbCd", "005A0000001AbCdIAK"
JANE_15 = "005A0000001ABCD"


@pytest.fixture
def sandbox(clock, twenty_version) -> Sandbox:
    """A sandbox whose workspace has this test's three members."""
    return Sandbox(twenty_version=twenty_version, clock=clock, sleep=clock.sleep, members=MEMBERS)


# --------------------------------------------------------------------------- the sandbox
def test_the_sandbox_serves_its_members_over_rest_and_graphql(sandbox):
    with sandbox.client() as http:
        rest = http.get("/rest/workspaceMembers").json()["data"]["workspaceMembers"]
        query = (
            "{ workspaceMembers { edges { node { id userEmail name { firstName lastName } } } } }"
        )
        edges = http.post("/graphql", json={"query": query}).json()["data"]["workspaceMembers"]
    graphql = [edge["node"] for edge in edges["edges"]]
    for records in (rest, graphql):
        assert sorted(r["userEmail"] for r in records) == sorted(m["userEmail"] for m in MEMBERS)
        zoe = next(r for r in records if r["userEmail"] == "zoe@acme.example")
        assert zoe["name"] == {"firstName": "Zoë", "lastName": "Müller"}
        assert len(zoe["id"]) == 36
    assert {r["id"] for r in rest} == {r["id"] for r in graphql}


def test_members_default_to_three_and_can_be_none(twenty_version):
    default = Sandbox(twenty_version=twenty_version, throttle=False)
    assert default.engine.count("workspaceMembers") == 3
    empty = Sandbox(twenty_version=twenty_version, throttle=False, members=[])
    assert empty.engine.count("workspaceMembers") == 0
    # Ids derive from the email: the same members get the same ids in every sandbox.
    again = Sandbox(twenty_version=twenty_version, throttle=False, members=MEMBERS)
    first = Sandbox(twenty_version=twenty_version, throttle=False, members=MEMBERS)
    ids = [{r["id"] for r in s.engine.all_records("workspaceMember")} for s in (again, first)]
    assert ids[0] == ids[1]


def test_a_member_without_an_email_is_refused_with_what_to_write():
    with pytest.raises(ValueError, match="needs a 'userEmail'"):
        Sandbox(members=[{"name": {"firstName": "No", "lastName": "Mail"}}])
    with pytest.raises(ValueError, match="given twice"):
        Sandbox(members=[MEMBERS[0], dict(MEMBERS[0])])


def test_owner_relations_follow_the_release(schema, sandbox):
    assert schema.object("companies").relations["accountOwnerId"] == "workspaceMember"
    assert schema.object("tasks").relations["assigneeId"] == "workspaceMember"
    opportunity = schema.object("opportunities").relations
    assert ("ownerId" in opportunity) is sandbox.profile.opportunity_owner
    older = Sandbox(profile=sandbox_profile("1").replace(opportunity_owner=False))
    assert "ownedOpportunities" not in {
        f.name for f in older.registry.by_singular("workspaceMember").fields.values()
    }
    assert "owner" not in older.registry.by_singular("opportunity").fields


# --------------------------------------------------------------------------- the map
def test_salesforce_ids_compare_in_their_18_character_form():
    assert salesforce_id18("0015000000VALDt") == "0015000000VALDtAAP"  # Salesforce's example
    assert salesforce_id18("0015000000valdtaap") == "0015000000VALDtAAP"  # case restored
    assert salesforce_id18(BOB_15) == BOB_18
    assert salesforce_id18(JANE_15) != BOB_18
    assert salesforce_id18("Jane Cooper") is None
    assert salesforce_id18("administrators1") is None  # 15 letters, not an id


def test_suggestions_match_by_email_then_name_and_say_what_to_fill_in():
    values = pd.Series(
        [
            "JANE.COOPER@acme.example",
            "Muller Zoe",
            "bob.stone@oldcrm.example",
            BOB_15,
            "Derek Unknown",
            None,
            "Muller Zoe",
        ]
    )
    suggested = suggest_user_map(values, MEMBERS).set_index("source")
    assert list(suggested.columns) == ["member_email", "reason", "confidence"]
    assert len(suggested) == 5  # distinct values, blanks left out
    assert suggested.loc["JANE.COOPER@acme.example", "member_email"] == "jane.cooper@acme.example"
    assert suggested.loc["JANE.COOPER@acme.example", "confidence"] == 1.0
    assert suggested.loc["Muller Zoe", "member_email"] == "zoe@acme.example"
    assert suggested.loc["Muller Zoe", "reason"] == "same name"
    assert suggested.loc["bob.stone@oldcrm.example", "member_email"] == "bob@acme.example"
    assert suggested.loc["bob.stone@oldcrm.example", "confidence"] < 1.0
    assert pd.isna(suggested.loc[BOB_15, "member_email"])
    assert "Salesforce user id" in suggested.loc[BOB_15, "reason"]
    assert pd.isna(suggested.loc["Derek Unknown", "member_email"])


def test_a_filled_in_suggestion_loads_as_a_user_map(tmp_path):
    suggested = suggest_user_map([BOB_15, "Jane Cooper", "Nobody Here"], MEMBERS)
    suggested.loc[suggested["source"] == BOB_15, "member_email"] = "Bob@Acme.example"
    path = tmp_path / "users.csv"
    suggested.to_csv(path, index=False)
    loaded = load_user_map(path)
    assert list(loaded.columns) == ["source", "member_email"]
    assert dict(zip(loaded["source"], loaded["member_email"], strict=True)) == {
        BOB_15: "bob@acme.example",
        "Jane Cooper": "jane.cooper@acme.example",
    }  # the row left blank is no entry
    assert len(load_user_map({BOB_18: "bob@acme.example"})) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("user,email\nx,y@z.example\n", r"needs the columns \['source', 'member_email'\]"),
        ("source,member_email\nJane,not-an-email\n", r"row 2: member_email 'not-an-email'"),
        (
            f"source,member_email\n{BOB_15},bob@acme.example\n{BOB_18},jane@acme.example\n",
            "mapped twice",
        ),
    ],
)
def test_a_bad_user_map_says_what_to_write(tmp_path, content, message):
    path = tmp_path / "users.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_user_map(path)


def test_a_missing_user_map_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no user map at .*users.csv.*source,member_email"):
        load_user_map(tmp_path / "users.csv")


def test_the_public_names():
    assert tm.fetch_members is fetch_members
    assert tm.suggest_user_map is suggest_user_map
    assert tm.load_user_map is load_user_map


# --------------------------------------------------------------------------- resolution
def test_fetch_members_lists_the_workspace(client):
    members = fetch_members(client)
    assert list(members.columns) == ["id", "email", "firstName", "lastName", "name"]
    assert set(members["email"]) == {m["userEmail"] for m in MEMBERS}
    assert "Zoë Müller" in set(members["name"])


def test_the_user_map_comes_first_and_an_unmatched_owner_is_only_a_warning(client, schema):
    tasks = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4, 5, 6],
            "title": ["a", "b", "c", "d", "e", "f"],
            "_ref.assigneeId": [
                BOB_15,
                BOB_18,
                JANE_15,
                "005A0000009ZzZz",
                "Zoe Muller",
                "Bob S. (BOB@acme.example)",
            ],
        }
    )
    user_map = {BOB_18: "bob@acme.example", JANE_15: "jane.cooper@acme.example"}
    rel = resolve_relations({"tasks": tasks}, schema, client=client, user_map=user_map)
    ids = fetch_members(client).set_index("email")["id"]
    assignees = rel.frames["tasks"].set_index("_row")["assigneeId"]
    assert assignees[1] == assignees[2] == tm.existing_ref(ids["bob@acme.example"])
    assert assignees[3] == tm.existing_ref(ids["jane.cooper@acme.example"])
    assert assignees[5] == tm.existing_ref(ids["zoe@acme.example"])
    assert assignees[6] == tm.existing_ref(ids["bob@acme.example"])  # the email in the text
    assert pd.isna(assignees[4])
    problem = rel.problems.set_index("_row").loc[4]
    assert problem["status"] == OWNER_UNMATCHED
    assert "user map" in problem["message"]
    counts = rel.counts.set_index("column").loc["assigneeId"]
    assert (counts["in_twenty"], counts["missing"]) == (5, 1)


def _write_export(folder, *, user_map: str, strict_owners: bool = False) -> MigrationSpec:
    """Companies with a ``Company Owner`` (email or name) and tasks with a Salesforce
    ``OwnerId``, their mappings, the user map and the spec, all in ``folder``."""
    pd.DataFrame(
        {
            "Account Name": ["Alpha", "Beta", "Gamma", "Delta"],
            "Company Owner": ["jane.cooper@ACME.example", "Muller Zoe", "Derek Unknown", ""],
        }
    ).to_csv(folder / "companies.csv", index=False)
    pd.DataFrame(
        {
            "Subject": ["Call", "Email", "Demo", "Visit"],
            "OwnerId": [BOB_15, BOB_18, JANE_15, "005A0000009ZzZz"],
        }
    ).to_csv(folder / "tasks.csv", index=False)
    FieldMap("companies", {"Account Name": "name", "Company Owner": "_ref.accountOwnerId"}).save(
        folder / "companies.mapping.json"
    )
    FieldMap("tasks", {"Subject": "title", "OwnerId": "_ref.assigneeId"}).save(
        folder / "tasks.mapping.json"
    )
    (folder / "users.csv").write_text(user_map, encoding="utf-8")
    spec = {
        "format": "twenty_migrate.migration",
        "version": 1,
        "name": "owners",
        "sources": [
            {"object": "companies", "file": "companies.csv", "mapping": "companies.mapping.json"},
            {"object": "tasks", "file": "tasks.csv", "mapping": "tasks.mapping.json"},
        ],
        "user_map": "users.csv",
        "strict_owners": strict_owners,
    }
    (folder / "migration.json").write_text(json.dumps(spec), encoding="utf-8")
    return MigrationSpec.load(folder / "migration.json")


USERS_CSV = f"source,member_email\n{BOB_18},bob@acme.example\n{JANE_15},Jane.Cooper@acme.example\n"


def test_owners_land_on_the_right_members_and_an_unknown_one_stays_empty(
    client, tmp_path, twenty_version
):
    folder = tmp_path / "export"
    folder.mkdir()
    spec = _write_export(folder, user_map=USERS_CSV)
    assert spec.to_dict()["user_map"] == "users.csv"
    prepared = spec.prepare(client)
    assert prepared.excluded.empty, prepared.excluded.to_string()
    warnings = prepared.failures[prepared.failures["rule"] == "unmatched_owner"]
    assert set(warnings["severity"]) == {"warning"}
    assert sorted(warnings["value"]) == ["005A0000009ZzZz", "Derek Unknown"]

    result = Importer(client, runs_dir=tmp_path / "runs", progress=None).run(prepared.plan)
    assert result.status == "completed" and result.failed == 0
    ids = fetch_members(client).set_index("email")["id"]
    companies = {
        r["name"]: r["accountOwnerId"]
        for r in client.iter_records("companies", fields="id name accountOwnerId")
    }
    assert companies == {
        "Alpha": ids["jane.cooper@acme.example"],
        "Beta": ids["zoe@acme.example"],
        "Gamma": None,  # kept, with the owner empty
        "Delta": None,
    }
    read = client.iter_records("tasks", fields="id title assigneeId")
    tasks = {r["title"]: r["assigneeId"] for r in read}
    assert tasks == {
        "Call": ids["bob@acme.example"],
        "Email": ids["bob@acme.example"],
        "Demo": ids["jane.cooper@acme.example"],  # the same id as Bob's but for case
        "Visit": None,
    }


def test_strict_owners_leave_out_the_records_whose_owner_is_unmatched(client, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    prepared = _write_export(folder, user_map=USERS_CSV, strict_owners=True).prepare(client)
    excluded = prepared.excluded.set_index("object")
    assert excluded.loc["companies", "reason"].startswith("accountOwnerId:")
    assert excluded.loc["tasks", "reason"].startswith("assigneeId:")
    assert len(prepared.excluded) == 2
    planned = {s.object: len(s) for s in prepared.plan.steps}
    assert planned == {"companies": 3, "tasks": 3}


def test_a_bad_user_map_in_the_spec_stops_prepare_with_a_clear_error(client, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    spec = _write_export(folder, user_map="Owner ID;Email\n005;x\n")
    expected = r"users.csv needs the columns \['source', 'member_email'\]"
    with pytest.raises(ConfigError, match=expected):
        spec.prepare(client)
    (folder / "users.csv").unlink()
    with pytest.raises(ConfigError, match="no user map at"):
        spec.prepare(client)
