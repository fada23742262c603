"""Discovery: the metadata query follows the server's schema; traits are recorded and kept.

The 1.x shape is served by the sandbox; the 2.43 shape (no ``isCustom``, no
``totalCount``, ``applicationId`` / ``universalIdentifier`` / ``morphRelations``) by a
small fake ``/metadata`` endpoint that validates every query against a graphql-core
schema built from SDL mirroring npm ``twenty-client-sdk`` 2.43.0's metadata types.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pandas as pd
import pytest
from conftest import FakeClock, sandbox_client
from graphql import build_schema, execute, parse, specified_rules, validate
from graphql.validation import NoSchemaIntrospectionCustomRule

import twenty_migrate as tm
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILES, TwentyProfile
from twenty_migrate.twenty import queries as gql
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.discovery import (
    ServerTraits,
    cache_dir,
    rich_text_type_of,
    traits_path_for,
)
from twenty_migrate.twenty.errors import BadRequestError
from twenty_migrate.twenty.metadata import build_metadata_query
from twenty_migrate.twenty.schema import WorkspaceSchema, fetch_schema

SDL_2_43 = """
scalar JSON
scalar UUID
scalar ConnectionCursor
enum FieldMetadataType { ACTOR ADDRESS ARRAY BOOLEAN CURRENCY DATE DATE_TIME EMAILS FILES
  FULL_NAME LINKS MORPH_RELATION MULTI_SELECT NUMBER NUMERIC PHONES POSITION RATING RAW_JSON
  RELATION RICH_TEXT SELECT TEXT TS_VECTOR UUID }
enum RelationType { ONE_TO_MANY MANY_TO_ONE }
type Relation { type: RelationType! sourceObjectMetadata: Object! targetObjectMetadata: Object!
  sourceFieldMetadata: Field! targetFieldMetadata: Field! }
type Field { id: UUID! universalIdentifier: String! type: FieldMetadataType! name: String!
  label: String! description: String icon: String isActive: Boolean isSystem: Boolean
  isUIEditable: Boolean isNullable: Boolean isUnique: Boolean defaultValue: JSON options: JSON
  settings: JSON objectMetadataId: UUID! morphId: UUID applicationId: UUID!
  relation: Relation morphRelations: [Relation!] }
type Object { id: UUID! universalIdentifier: String! nameSingular: String! namePlural: String!
  labelSingular: String! labelPlural: String! description: String icon: String
  isRemote: Boolean! isActive: Boolean! isSystem: Boolean! isUIEditable: Boolean!
  applicationId: UUID! fieldsList: [Field!]! }
type PageInfo { hasNextPage: Boolean endCursor: ConnectionCursor }
type ObjectEdge { node: Object! cursor: ConnectionCursor! }
type ObjectConnection { pageInfo: PageInfo! edges: [ObjectEdge!]! }
input CursorPaging { first: Int after: ConnectionCursor }
input objectFilter { id: UUID }
type Query {
  objects(paging: CursorPaging! = {first: 10}, filter: objectFilter! = {}): ObjectConnection!
}
"""
STANDARD_APP = "0a0a0a0a-0000-4000-8000-000000000001"
CUSTOM_APP = "0b0b0b0b-0000-4000-8000-000000000002"


def _field(name: str, type_: str, app: str = STANDARD_APP, **extra: Any) -> dict[str, Any]:
    uid = f"20202020-0000-4000-8000-{abs(hash(name)) % 10**12:012d}"
    return {
        "id": f"f-{name}",
        "universalIdentifier": uid if app == STANDARD_APP else f"9f{name}",
        "type": type_,
        "name": name,
        "label": name.title(),
        "isActive": True,
        "isSystem": False,
        "isNullable": True,
        "isUnique": False,
        "objectMetadataId": "o",
        "applicationId": app,
        "relation": None,
        "morphRelations": None,
        **extra,
    }


def _object(singular: str, plural: str, fields: list[dict[str, Any]], **extra: Any) -> dict:
    app = extra.pop("app", STANDARD_APP)
    return {
        "id": f"o-{singular}",
        "universalIdentifier": f"20202020-{singular}" if app == STANDARD_APP else f"9{singular}",
        "nameSingular": singular,
        "namePlural": plural,
        "labelSingular": singular.title(),
        "labelPlural": plural.title(),
        "isRemote": False,
        "isActive": True,
        "isSystem": extra.pop("system", False),
        "isUIEditable": True,
        "applicationId": app,
        "fieldsList": [_field("id", "UUID"), *fields],
    }


def _morph(name: str, target: str) -> dict[str, Any]:
    relation = {
        "type": "MANY_TO_ONE",
        "sourceFieldMetadata": {"name": name},
        "targetObjectMetadata": {"id": f"o-{target}", "nameSingular": target, "namePlural": "x"},
        "targetFieldMetadata": {"id": "f", "name": "taskTargets"},
    }
    other = {**relation, "sourceFieldMetadata": {"name": "targetOther"}}
    return _field(
        name,
        "MORPH_RELATION",
        settings={"relationType": "MANY_TO_ONE", "joinColumnName": f"{name}Id"},
        morphRelations=[other, relation],
    )


OBJECTS_2_43 = [
    _object(
        "person",
        "people",
        [_field("name", "FULL_NAME"), _field("vip", "BOOLEAN", app=CUSTOM_APP)],
    ),
    _object("company", "companies", [_field("name", "TEXT")]),
    _object("task", "tasks", [_field("title", "TEXT"), _field("bodyV2", "RICH_TEXT")]),
    _object(
        "taskTarget",
        "taskTargets",
        [_morph("targetPerson", "person"), _morph("targetCompany", "company")],
        system=True,
    ),
    _object("pet", "pets", [_field("name", "TEXT", app=CUSTOM_APP)], app=CUSTOM_APP),
]


class FakeMetadata:
    """``/metadata`` of a 2.43 server: every query is validated against its schema first."""

    def __init__(self, *, introspection: bool = True, refuse: str | None = None) -> None:
        self.schema = build_schema(SDL_2_43)
        extra = [] if introspection else [NoSchemaIntrospectionCustomRule]
        self.rules = [*specified_rules, *extra]
        self.refuse = refuse
        self.queries: list[str] = []
        self.refusals: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/metadata", request.url.path
        query = json.loads(request.content)["query"]
        self.queries.append(query)
        document = parse(query)
        messages = [error.message for error in validate(self.schema, document, self.rules)]
        messages += [self.refuse] if self.refuse else []
        if messages:
            self.refusals += messages
            body = {
                "errors": [
                    {"message": m, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
                    for m in messages
                ]
            }
            return httpx.Response(200, json=body)
        root = {
            "objects": {
                "edges": [{"node": node, "cursor": node["id"]} for node in OBJECTS_2_43],
                "pageInfo": {"hasNextPage": False},
            }
        }
        result = execute(self.schema, document, root_value=root)
        assert not result.errors, result.errors
        return httpx.Response(200, json={"data": result.data})

    def client(self, **options: Any) -> TwentyClient:
        return TwentyClient(
            base_url="https://crm.example.com",
            api_key="fake-key-0123456789",
            transport=httpx.MockTransport(self.handle),
            env_file=None,
            **options,
        )


# --------------------------------------------------------------- the 1.x shape (sandbox)


def test_1x_metadata_keeps_is_custom_and_the_legacy_body_is_read_only(tmp_path):
    sandbox = Sandbox(twenty_version="1")
    client = sandbox_client(sandbox, FakeClock())
    schema = fetch_schema(client, cache=tmp_path / "schema.json")
    traits = client.traits
    assert "isCustom" in traits.metadata_fields["Object"]
    assert "isCustom" in traits.metadata_fields["Field"]
    assert traits.introspection is True
    assert traits.custom_rule == "isCustom"
    assert traits.metadata_shape == "1.x"
    assert traits.rich_text_type == "RICH_TEXT_V2" and traits.legacy_rich_text_type == "RICH_TEXT"
    assert traits.target_model == "plain"
    tasks = schema.object("tasks")
    assert tasks.field("body").is_read_only and not tasks.field("body").is_writable
    assert "bodyV2.markdown" in tasks.writable_paths()
    assert not any(path.startswith("body.") for path in tasks.writable_paths())
    assert schema.object("taskTargets").field("personId").relation_target == "person"
    # the legacy body is a scalar when reading, the v2 body a composite
    selection = client.default_fields("tasks")
    assert " body " in f" {selection} " and "bodyV2 { markdown blocknote }" in selection


def test_1x_custom_objects_and_fields_stay_custom():
    sandbox = Sandbox(twenty_version="1")
    client = sandbox_client(sandbox, FakeClock())
    client.metadata(
        'mutation { createOneObject(input: {object: {nameSingular: "pet", namePlural: "pets", '
        'labelSingular: "Pet", labelPlural: "Pets"}}) { id } }'
    )
    schema = fetch_schema(client)
    assert schema.object("pets").is_custom and not schema.object("people").is_custom


# --------------------------------------------------------------- the 2.43 shape (fake)


def _check_2_43(schema: WorkspaceSchema, traits: ServerTraits) -> None:
    assert "isCustom" not in traits.metadata_fields["Object"]
    assert "applicationId" in traits.metadata_fields["Field"]
    assert traits.custom_rule == "applicationId"
    assert traits.metadata_shape == "2.x"
    assert schema.object("pets").is_custom and not schema.object("people").is_custom
    people = schema.object("people")
    assert people.field("vip").is_custom and not people.field("name").is_custom
    assert traits.rich_text_type == "RICH_TEXT" and traits.legacy_rich_text_type is None
    body = schema.object("tasks").field("bodyV2")
    assert body.is_writable and body.paths() == ["bodyV2.markdown", "bodyV2.blocknote"]
    assert traits.target_model == "morph"
    targets = schema.object("taskTargets")
    assert targets.relations == {"targetPersonId": "person", "targetCompanyId": "company"}


def test_2_43_metadata_without_is_custom_is_read_with_a_query_it_accepts():
    fake = FakeMetadata()
    client = fake.client()
    schema = fetch_schema(client)
    assert fake.refusals == []  # no query ever named a field the server lacks
    assert len(fake.queries) == 2  # one introspection, one metadata query
    assert client.traits.introspection is True
    _check_2_43(schema, client.traits)


def test_introspection_refused_falls_back_to_dropping_refused_fields():
    fake = FakeMetadata(introspection=False)
    client = fake.client()
    schema = fetch_schema(client)
    assert client.traits.introspection is False
    assert any("introspection" in message for message in fake.refusals)
    dropped = [m for m in fake.refusals if m.startswith("Cannot query field")]
    assert dropped and all("isCustom" in m for m in dropped)
    assert len(fake.queries) == 3  # introspection, full query refused, trimmed query
    _check_2_43(schema, client.traits)


def test_a_saved_shape_is_used_then_rediscovered_when_the_server_changed():
    fake = FakeMetadata()
    client = fake.client()
    client.traits.metadata_fields = {
        "Object": ["id", "nameSingular", "namePlural", "isCustom", "fieldsList"],
        "Field": ["name", "type", "isCustom"],
    }
    schema = fetch_schema(client)
    assert "introspection" not in fake.queries[0]  # the saved shape went first
    assert len(fake.queries) == 3  # refused, introspection, accepted
    _check_2_43(schema, client.traits)
    fake.queries.clear()
    fetch_schema(client)
    assert len(fake.queries) == 1  # now known: one call


def test_the_fallback_gives_up_on_refusals_it_cannot_work_around():
    fake = FakeMetadata(introspection=False, refuse='Cannot query field "id" on type "Object".')
    with pytest.raises(tm.SchemaError, match="Object has no id"):
        fetch_schema(fake.client())
    assert len(fake.queries) <= 3
    again = FakeMetadata(refuse='Cannot query field "description" on type "Object".')
    with pytest.raises(BadRequestError, match="description"):  # refused once more: give up
        fetch_schema(again.client())
    assert len(again.queries) == 3
    other = FakeMetadata(refuse="Something else went wrong.")
    with pytest.raises(BadRequestError) as refused:
        fetch_schema(other.client())
    assert "Something else went wrong." in refused.value.messages


def test_the_query_builder_never_selects_what_the_server_lacks():
    query = build_metadata_query(
        {"Object": ["id", "nameSingular", "namePlural", "fieldsList"], "Field": ["name", "type"]}
    )
    assert "isCustom" not in query and "totalCount" not in query
    assert "relation" not in query  # no Relation fields known: no relation selection
    with pytest.raises(tm.SchemaError, match="TWENTY_API_URL"):
        build_metadata_query({"Object": ["id"], "Field": ["name", "type"]})


# --------------------------------------------------------------- rich text, either name


@pytest.mark.parametrize(
    ("types", "enum", "expected"),
    [
        (["RICH_TEXT", "RICH_TEXT_V2"], None, "RICH_TEXT_V2"),  # 1.x: legacy body + v2
        (["RICH_TEXT"], None, "RICH_TEXT"),  # since 1.20 (PR #18628)
        (["TEXT"], ["RICH_TEXT", "RICH_TEXT_V2"], "RICH_TEXT_V2"),
        (["TEXT"], ["RICH_TEXT"], "RICH_TEXT"),
        (["TEXT"], None, None),
    ],
)
def test_rich_text_type_under_either_name(types, enum, expected):
    assert rich_text_type_of(types, enum) == expected


@pytest.mark.parametrize("era", ["before 1.20", "since 1.20"])
def test_bodies_map_by_the_discovered_meaning(era):
    fields = [{"name": "title", "type": "TEXT"}, {"name": "bodyV2", "type": "RICH_TEXT"}]
    if era == "before 1.20":
        fields = [{"name": "body", "type": "RICH_TEXT"}, {**fields[1], "type": "RICH_TEXT_V2"}]
    node = {"nameSingular": "note", "namePlural": "notes", "fieldsList": fields}
    notes = WorkspaceSchema.from_metadata([node]).object("notes")
    assert "bodyV2.markdown" in notes.writable_paths()
    selection = gql.selection_for({"fields": fields}, typed_json=True)
    assert "bodyV2 { markdown blocknote }" in selection
    if era == "before 1.20":
        assert not notes.field("body").is_writable and selection.startswith("body ")


@pytest.mark.parametrize("twenty_version", ["1.x"])  # a 1.x cache: isCustom, RICH_TEXT_V2
def test_an_old_cache_file_without_a_server_section_still_loads(tmp_path, client):
    schema = fetch_schema(client)
    data = schema.to_dict()
    assert data["server"]["custom_rule"] == "isCustom"
    del data["server"]
    for spec in data["objects"]["tasks"]["fields"].values():
        spec.pop("is_read_only")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data, default=str))
    old = WorkspaceSchema.load(path)
    assert old.server is None
    assert not old.object("tasks").field("body").is_writable  # the legacy body, as before
    assert old.object("tasks").writable_paths() == schema.object("tasks").writable_paths()
    assert old.rich_text_type == "RICH_TEXT_V2"


def test_is_custom_without_application_ids():
    by_identifier = [
        {"nameSingular": "person", "namePlural": "people", "universalIdentifier": "20202020-a"},
        {"nameSingular": "pet", "namePlural": "pets", "universalIdentifier": "7c1e"},
    ]
    schema = WorkspaceSchema.from_metadata(by_identifier)
    assert schema.server is not None and schema.server.custom_rule == "universalIdentifier"
    assert schema.object("pets").is_custom and not schema.object("people").is_custom
    by_name = [{"nameSingular": "person", "namePlural": "people"}, {**by_identifier[1]}]
    del by_name[1]["universalIdentifier"]
    schema = WorkspaceSchema.from_metadata(by_name)
    assert schema.server is not None and schema.server.custom_rule == "standard names"
    assert schema.object("pets").is_custom and not schema.object("people").is_custom


# --------------------------------------------------------------- targets, per profile


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_target_model_follows_the_profile(profile: TwentyProfile):
    sandbox = Sandbox(profile=profile)
    client = sandbox_client(sandbox, FakeClock())
    schema = fetch_schema(client)
    assert client.traits.target_model == profile.target_model == schema.target_model
    join = "targetPersonId" if profile.target_model == "morph" else "personId"
    assert schema.object("taskTargets").relations[join] == "person"


# --------------------------------------------------------------- throttle style


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_throttle_style_is_recorded_from_the_first_429(profile: TwentyProfile, api, tmp_path):
    clock = FakeClock()
    sandbox = Sandbox(profile=profile, clock=clock, sleep=clock.sleep)
    client = sandbox_client(sandbox, clock, traits_path=tmp_path / "traits.json")
    assert client.traits.throttle_style is None
    sandbox.fail_next(status=429)
    if api == "graphql":
        list(client.iter_records("people", fields="id"))
    else:
        client.rest("GET", "people")
    assert client.stats.throttled == 1
    assert client.traits.throttle_style == profile.throttle_style
    assert ServerTraits.load(tmp_path / "traits.json").throttle_style == profile.throttle_style


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_throttle_style_from_a_spent_budget(profile: TwentyProfile):
    clock = FakeClock()
    sandbox = Sandbox(profile=profile, clock=clock, sleep=clock.sleep, short_limit=2)
    client = sandbox_client(sandbox, clock, rate_limit=None)
    for _ in range(4):
        client.rest("GET", "people")
    assert client.stats.throttled >= 1
    assert client.traits.throttle_style == profile.throttle_style


# --------------------------------------------------------------- where traits live


def test_traits_persist_per_workspace_and_never_hold_the_key(tmp_path, monkeypatch):
    key = "secret-key-do-not-leak-42"
    sandbox = Sandbox(twenty_version="1", api_key=key)
    first = sandbox_client(sandbox, FakeClock())
    assert first.traits_path is not None
    assert first.traits_path.is_relative_to(tmp_path / "cache")  # conftest's cache dir
    assert first.traits_path == traits_path_for(sandbox.base_url)
    assert key not in str(first.traits_path)
    fetch_schema(first, cache=tmp_path / "schema.json")
    first.traits.max_records = 60
    first.remember_traits()
    again = sandbox_client(sandbox, FakeClock())
    assert again.traits == first.traits
    assert again.traits.rich_text_type == "RICH_TEXT_V2" and again.traits.max_records == 60
    for path in (first.traits_path, tmp_path / "schema.json"):
        text = path.read_text()
        assert key not in text and key[-4:] not in text
    assert "server" in json.loads((tmp_path / "schema.json").read_text())
    assert "targets=plain" in repr(again) and key not in repr(again)
    in_memory = sandbox_client(sandbox, FakeClock(), traits_path=None)
    assert in_memory.traits == ServerTraits()
    monkeypatch.delenv("TWENTY_MIGRATE_CACHE_DIR")
    assert cache_dir().name == "twenty-migrate"


@pytest.mark.parametrize("twenty_version", ["1.x"])  # a 1.x cache: isCustom, RICH_TEXT_V2
def test_a_schema_cache_brings_its_server_section_back(tmp_path, client):
    client.traits.max_records = 200
    fetch_schema(client, cache=tmp_path / "schema.json")
    fresh = sandbox_client(Sandbox(twenty_version="1"), FakeClock(), traits_path=None)
    assert fresh.traits.rich_text_type is None
    loaded = fetch_schema(fresh, cache=tmp_path / "schema.json", refresh=False)
    assert loaded.server is not None and fresh.traits.custom_rule == "isCustom"
    assert fresh.traits.target_model == "plain" and fresh.traits.max_records == 200
    calibrated = sandbox_client(Sandbox(twenty_version="1"), FakeClock(), traits_path=None)
    calibrated.traits.max_records = 60
    calibrated.traits.throttle_style = "newest"  # learned after the cache was written
    fetch_schema(calibrated, cache=tmp_path / "schema.json", refresh=False)
    assert calibrated.traits.throttle_style == "newest" and calibrated.traits.max_records == 60


def test_connect_keeps_sandbox_traits_per_release(monkeypatch):
    monkeypatch.setenv("TWENTY_MIGRATE_SANDBOX", "1")
    client = tm.connect(env_file=None)
    assert client.sandbox is not None and client.traits_path is not None
    assert client.traits_path == traits_path_for(
        client.base_url, variant=client.sandbox.profile.name
    )
    assert client.traits_path != traits_path_for(client.base_url)
    fetch_schema(client)
    assert f"targets={client.sandbox.profile.target_model}" in repr(client)


def test_plan_describe_names_the_server_traits(client):
    plan = tm.build_plan(pd.DataFrame({"_row": [1], "name.firstName": ["Ada"]}), "people")
    fetch_schema(client)
    assert "server: cap=not calibrated" in plan.describe(server=client.traits)
    assert "server:" not in plan.describe()


def test_a_morph_field_finds_its_own_target_among_the_morph_relations():
    def relation(target: str) -> dict[str, Any]:
        return {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": target}}

    field = {
        "name": "targetCompany",
        "type": "MORPH_RELATION",
        "settings": {"relationType": "MANY_TO_ONE", "joinColumnName": "targetCompanyId"},
        "morphRelations": [relation("person"), relation("company")],
    }
    node = {"nameSingular": "noteTarget", "namePlural": "noteTargets", "fieldsList": [field]}
    schema = WorkspaceSchema.from_metadata([node])
    assert schema.object("noteTargets").relations == {"targetCompanyId": "company"}
    assert schema.target_model == "morph"
