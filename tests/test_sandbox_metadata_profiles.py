"""Sandbox /metadata per release: the 1.x and 2.43 schema shapes, rich text, relation names."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.graphql.metadata_sdl import metadata_sdl
from twenty_migrate.sandbox.metadata.model import FieldMeta
from twenty_migrate.sandbox.metadata.names import name_from_label
from twenty_migrate.sandbox.profiles import PROFILE_2_4X, PROFILES, TwentyProfile

SDK = Path("/work/twenty-client-sdk-2.43.0")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=PROFILES, ids=lambda p: p.name)
def profile(request: pytest.FixtureRequest) -> TwentyProfile:
    profile: TwentyProfile = request.param
    return profile


def make_sandbox(profile: TwentyProfile) -> Sandbox:
    return Sandbox(profile=profile, throttle=False)


@pytest.fixture
def sandbox(profile: TwentyProfile) -> Sandbox:
    return make_sandbox(profile)


@pytest.fixture
def http(sandbox: Sandbox):
    with sandbox.client() as client:
        yield client


def metadata(http: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = http.post("/metadata", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def data_of(http: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    answer = metadata(http, query, variables)
    assert "errors" not in answer, answer
    return answer["data"]


def first_error(http: httpx.Client, query: str) -> dict[str, Any]:
    answer = metadata(http, query)
    assert "data" not in answer or answer["data"] is None, answer
    error: dict[str, Any] = answer["errors"][0]
    return error


def object_id(sandbox: Sandbox, name: str) -> str:
    found = sandbox.registry.by_singular(name)
    assert found is not None
    return found.id


def field(sandbox: Sandbox, object_name: str, name: str) -> FieldMeta:
    found = sandbox.registry.by_singular(object_name)
    assert found is not None and name in found.fields, (object_name, name)
    return found.fields[name]


# ---------------------------------------------------------------- the schema's shape


@pytest.mark.parametrize("type_name", ["Object", "Field"])
def test_is_custom_exists_only_on_1x(profile, http, type_name):
    if type_name == "Object":
        query = "{ objects { edges { node { nameSingular isCustom } } } }"
    else:
        query = "{ fields { edges { node { name isCustom } } } }"
    if profile.metadata_schema == "1.x":
        edges = data_of(http, query)[next(iter(data_of(http, query)))]["edges"]
        assert all(edge["node"]["isCustom"] is False for edge in edges)
        return
    error = first_error(http, query)
    assert error["message"].startswith(f'Cannot query field "isCustom" on type "{type_name}".')
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_total_count_exists_only_on_1x(profile, http):
    query = "{ objects { totalCount } }"
    if profile.metadata_schema == "1.x":
        assert data_of(http, query)["objects"]["totalCount"] == len(
            make_sandbox(profile).registry.objects()
        )
    else:
        message = first_error(http, query)["message"]
        assert message.startswith('Cannot query field "totalCount" on type "ObjectConnection".')


def test_edge_type_names(profile, http):
    query = """{
      objects(paging: {first: 1}) { __typename edges { __typename node {
        fields(paging: {first: 1}) { __typename edges { __typename } }
        indexMetadatas { __typename }
      } } }
      fields(paging: {first: 1}) { __typename edges { __typename } }
    }"""
    got = data_of(http, query)
    node = got["objects"]["edges"][0]["node"]
    assert got["objects"]["__typename"] == "ObjectConnection"
    assert got["objects"]["edges"][0]["__typename"] == "ObjectEdge"
    assert node["fields"]["__typename"] == "ObjectFieldsConnection"
    assert node["fields"]["edges"][0]["__typename"] == "FieldEdge"
    assert node["indexMetadatas"]["__typename"] == "ObjectIndexMetadatasConnection"
    assert got["fields"]["__typename"] == "FieldConnection"
    # The SDK's root field connection reuses FieldEdge; the 1.x shape had its own edge type.
    root_edge = "FieldConnectionEdge" if profile.metadata_schema == "1.x" else "FieldEdge"
    assert got["fields"]["edges"][0]["__typename"] == root_edge


def type_fields(http: httpx.Client, name: str) -> dict[str, Any]:
    query = """query($name: String!) { __type(name: $name) { fields(includeDeprecated: true) {
      name isDeprecated deprecationReason
      args { name defaultValue type { kind name ofType { name } } }
      type { kind name ofType { kind name } } } } }"""
    found = data_of(http, query, {"name": name})["__type"]
    assert found is not None, name
    return {f["name"]: f for f in found["fields"]}


def test_index_shapes(profile, http):
    index = type_fields(http, "Index")
    index_field = type_fields(http, "IndexField")
    if profile.metadata_schema == "1.x":
        assert "indexFieldMetadatas" in index
        assert index_field["order"]["type"] == {"kind": "SCALAR", "name": "Int", "ofType": None}
        return
    assert "indexFieldMetadatas" not in index
    assert index["indexFieldMetadataList"]["type"]["kind"] == "NON_NULL"
    assert index_field["order"]["type"] == {
        "kind": "NON_NULL",
        "name": None,
        "ofType": {"kind": "SCALAR", "name": "Float"},
    }
    assert {"subFieldName", "createdAt", "updatedAt"} <= set(index_field)
    query = """{ object(id: "%s") { indexMetadataList { name createdAt
      indexFieldMetadataList { fieldMetadataId order subFieldName createdAt } } } }"""
    sandbox_ids = {o.name_singular: o.id for o in make_sandbox(profile).registry.objects()}
    indexes = data_of(http, query % sandbox_ids["person"])["object"]["indexMetadataList"]
    assert indexes and all(
        part["order"] == 0.0 for i in indexes for part in i["indexFieldMetadataList"]
    )


NEW_OBJECT_FIELDS = {
    "universalIdentifier",
    "applicationId",
    "isUIEditable",
    "isUICreatable",
    "isSearchable",
    "createdAt",
    "updatedAt",
    "searchFieldMetadataList",
}
NEW_FIELD_FIELDS = {
    "universalIdentifier",
    "applicationId",
    "isUIEditable",
    "isSearchable",
    "isAuditLogged",
    "morphRelations",
    "createdAt",
    "updatedAt",
}


def test_new_fields_and_deprecations(profile, http):
    objects, fields = type_fields(http, "Object"), type_fields(http, "Field")
    if profile.metadata_schema == "1.x":
        assert "universalIdentifier" not in objects and "morphRelations" not in fields
        assert not fields["isUIReadOnly"]["isDeprecated"]
        return
    assert set(objects) >= NEW_OBJECT_FIELDS
    assert set(fields) >= NEW_FIELD_FIELDS
    for found in (objects, fields):
        assert found["isUIReadOnly"]["isDeprecated"]
        assert found["isUIReadOnly"]["deprecationReason"] == "Use isUIEditable"


def test_connection_argument_defaults(profile, sandbox, http):
    for n in range(3):  # more objects than one default page
        sandbox.registry.create_object(
            {
                "nameSingular": f"thing{n}",
                "namePlural": f"things{n}",
                "labelSingular": f"Thing {n}",
                "labelPlural": f"Things {n}",
            }
        )
    args = {a["name"]: a for a in type_fields(http, "Query")["objects"]["args"]}
    if profile.metadata_schema == "1.x":
        assert args["paging"]["defaultValue"] is None
        assert args["paging"]["type"]["kind"] == "INPUT_OBJECT"
    else:
        assert args["paging"]["defaultValue"] == "{first: 10}"
        assert args["paging"]["type"] == {
            "kind": "NON_NULL",
            "name": None,
            "ofType": {"name": "CursorPaging"},
        }
        assert args["filter"]["defaultValue"] == "{}"
    # Either way an omitted paging gives nestjs-query's page of 10.
    edges = data_of(http, "{ objects { edges { node { id } } } }")["objects"]["edges"]
    assert len(edges) == 10


def test_new_values_are_plausible_and_stable():
    first, second = make_sandbox(PROFILE_2_4X), make_sandbox(PROFILE_2_4X)
    query = """{ objects(paging: {first: 100}) { edges { node { nameSingular
      universalIdentifier applicationId createdAt updatedAt isUIEditable isUICreatable
      readability writability openRecordIn isLabelSyncedWithName searchFieldMetadataList { id }
      fieldsList { name universalIdentifier applicationId createdAt isAuditLogged } } } } }"""
    answers = []
    for sandbox in (first, second):
        with sandbox.client() as http:
            answers.append(data_of(http, query))
    assert answers[0] == answers[1]
    nodes = {e["node"]["nameSingular"]: e["node"] for e in answers[0]["objects"]["edges"]}
    person = nodes["person"]
    assert person["createdAt"] == person["updatedAt"] == "2025-01-01T00:00:00.000Z"
    universal = [n["universalIdentifier"] for n in nodes.values()]
    assert len(set(universal)) == len(universal)
    assert len({n["applicationId"] for n in nodes.values()}) == 1  # all standard
    names = {f["name"]: f for f in person["fieldsList"]}
    assert names["emails"]["applicationId"] == person["applicationId"]
    assert names["emails"]["universalIdentifier"] != person["universalIdentifier"]


CREATE_OBJECT = """mutation($input: CreateOneObjectInput!) { createOneObject(input: $input) {
  id nameSingular %s } }"""
CREATE_FIELD = """mutation($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) {
  id name type %s } }"""
UPDATE_FIELD = """mutation($input: UpdateOneFieldMetadataInput!) { updateOneField(input: $input) {
  id label %s } }"""
DELETE_FIELD = """mutation($input: DeleteOneFieldInput!) { deleteOneField(input: $input) {
  id name } }"""


def test_mutations_in_both_shapes(profile, sandbox, http):
    stamps = iter(
        datetime(2026, 12, 5, 18, minute, tzinfo=timezone.utc) for minute in range(10, 20)
    )
    sandbox.registry.clock = lambda: next(stamps)
    extra = "isCustom" if profile.metadata_schema == "1.x" else "applicationId createdAt updatedAt"
    created = data_of(
        http,
        CREATE_OBJECT % extra,
        {
            "input": {
                "object": {
                    "nameSingular": "pet",
                    "namePlural": "pets",
                    "labelSingular": "Pet",
                    "labelPlural": "Pets",
                }
            }
        },
    )["createOneObject"]
    field_input = {
        "objectMetadataId": created["id"],
        "type": "TEXT",
        "name": "nickname",
        "label": "Nickname",
    }
    new_field = data_of(http, CREATE_FIELD % extra, {"input": {"field": field_input}})[
        "createOneField"
    ]
    updated = data_of(
        http,
        UPDATE_FIELD % extra,
        {"input": {"id": new_field["id"], "update": {"label": "Pet name"}}},
    )["updateOneField"]
    assert updated["label"] == "Pet name"
    deleted = data_of(http, DELETE_FIELD, {"input": {"id": new_field["id"]}})["deleteOneField"]
    assert deleted["name"] == "nickname"
    if profile.metadata_schema == "1.x":
        assert created["isCustom"] and new_field["isCustom"]
        return
    person = object_id(sandbox, "person")
    standard = data_of(http, f'{{ object(id: "{person}") {{ applicationId }} }}')["object"][
        "applicationId"
    ]
    assert created["applicationId"] != standard
    assert created["createdAt"] == created["updatedAt"] == "2026-12-05T18:10:00.000Z"
    assert new_field["createdAt"] == "2026-12-05T18:11:00.000Z"
    assert updated["updatedAt"] == "2026-12-05T18:12:00.000Z"
    assert updated["createdAt"] == "2026-12-05T18:11:00.000Z"


def test_custom_metadata_times_survive_a_restart(tmp_path):
    db = tmp_path / "sandbox.db"
    first = Sandbox(profile=PROFILE_2_4X, throttle=False, db_path=db)
    first.registry.clock = lambda: datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
    first.registry.create_object(
        {"nameSingular": "pet", "namePlural": "pets", "labelSingular": "Pet", "labelPlural": "Pets"}
    )
    first.close()
    second = Sandbox(profile=PROFILE_2_4X, throttle=False, db_path=db)
    try:
        pet = second.registry.by_singular("pet")
        assert pet is not None and pet.created_at == "2026-12-05T12:00:00.000Z"
    finally:
        second.close()


def test_morph_relations_on_2x_targets():
    sandbox = make_sandbox(PROFILE_2_4X)
    target = field(sandbox, "taskTarget", "targetPerson")
    assert target.type == "MORPH_RELATION"
    with sandbox.client() as http:
        got = data_of(
            http,
            f'{{ field(id: "{target.id}") {{ morphId morphRelations {{ type '
            "targetObjectMetadata { nameSingular } } } }",
        )["field"]
        assert got["morphId"]
        assert got["morphRelations"] == [
            {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "person"}}
        ]
        plain = field(sandbox, "person", "emails")
        assert data_of(http, f'{{ field(id: "{plain.id}") {{ morphRelations {{ type }} }} }}')[
            "field"
        ] == {"morphRelations": None}


@pytest.mark.skipif(not SDK.exists(), reason="twenty-client-sdk 2.43.0 is not unpacked here")
def test_sdl_is_what_the_tool_writes_from_the_sdk():
    spec = importlib.util.spec_from_file_location(
        "sdk_tool", ROOT / "tools" / "sdk_metadata_sdl.py"
    )
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    source = (SDK / "dist/metadata/generated/schema.d.ts").read_text(encoding="utf-8")
    assert tool.render(tool.SdkTypes(source)) == metadata_sdl()
    assert "MIT" in metadata_sdl().splitlines()[1]


# ---------------------------------------------------------------- rich text


def test_rich_text_type_per_profile(profile):
    sandbox = make_sandbox(profile)
    for object_name in ("task", "note"):
        body = field(sandbox, object_name, "bodyV2")
        assert body.type == profile.rich_text_type
        assert body.is_composite and not body.is_legacy_rich_text
        assert [p.name for p in body.composite_properties] == ["blocknote", "markdown"]
        legacy = sandbox.registry.by_singular(object_name).fields.get("body")  # type: ignore[union-attr]
        if profile.legacy_rich_text_body:
            assert legacy is not None and legacy.type == "RICH_TEXT"
            assert legacy.is_legacy_rich_text and not legacy.is_composite
            assert legacy.composite_properties == ()
        else:
            assert legacy is None


def test_rich_text_written_and_read_the_same_way(profile, http):
    response = http.post(
        "/rest/tasks", json={"title": "Call", "bodyV2": {"markdown": "# Hi\n\nSome **bold**"}}
    )
    assert response.status_code == 201, response.text
    body = response.json()["data"]["createTask"]["bodyV2"]
    assert body["markdown"] == "# Hi\n\nSome **bold**"
    assert '"type":"heading"' in body["blocknote"]
    query = "{ tasks { edges { node { bodyV2 { markdown blocknote __typename } } } } }"
    node = http.post("/graphql", json={"query": query}).json()["data"]["tasks"]["edges"][0]
    type_name = "RichTextV2" if profile.rich_text_type == "RICH_TEXT_V2" else "RichText"
    assert node["node"]["bodyV2"]["__typename"] == type_name
    assert node["node"]["bodyV2"]["markdown"] == body["markdown"]
    bad = http.post("/rest/tasks", json={"title": "x", "bodyV2": "plain"})
    assert bad.status_code == 400
    kind = "rich text v2" if profile.rich_text_type == "RICH_TEXT_V2" else "rich text"
    assert f"Invalid {kind} value 'plain'" in bad.text


def test_legacy_body_is_refused_only_where_it_exists(profile, http):
    response = http.post("/rest/notes", json={"title": "x", "body": "old"})
    assert response.status_code == 400
    if profile.legacy_rich_text_body:
        assert "body RICH_TEXT-typed field does not support write operations" in response.text
    else:
        assert "body" in response.text and "RICH_TEXT-typed" not in response.text


def test_rich_text_field_creation_follows_the_type_names(profile, sandbox, http):
    person = object_id(sandbox, "person")

    def create(ftype: str, name: str) -> httpx.Response:
        body = {"objectMetadataId": person, "type": ftype, "name": name, "label": name}
        return http.post("/rest/metadata/fields", json=body)

    writable, other = (
        ("RICH_TEXT_V2", "RICH_TEXT")
        if profile.rich_text_type == "RICH_TEXT_V2"
        else ("RICH_TEXT", "RICH_TEXT_V2")
    )
    assert create(writable, "bio").status_code == 201
    refused = create(other, "legacy")
    assert refused.status_code == 400
    assert f"Invalid field type: {other}" in refused.text
    # Through GraphQL an unknown enum value fails validation, as graphql-js says it.
    mutation = (
        f'mutation {{ createOneField(input: {{field: {{objectMetadataId: "{person}", '
        'type: RICH_TEXT_V2, name: "notes2", label: "Notes"}}) { id } }'
    )
    answer = metadata(http, mutation)
    if profile.rich_text_type == "RICH_TEXT_V2":
        assert answer["data"]["createOneField"]["id"]
    else:
        assert answer["errors"][0]["message"].startswith(
            'Value "RICH_TEXT_V2" does not exist in "FieldMetadataType" enum.'
        )


# ---------------------------------------------------------------- relation inverse names


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("SDK probes", "sdkProbes"),
        ("VIP Customers", "vipCustomers"),
        ("Café owners", "cafeOwners"),
        ("URL", "url"),
        ("ARR (USD)", "arrUsd"),
        # computeMetadataNameFromLabel's own spec cases
        ("Simple Label", "simpleLabel"),
        ("Special & Characters!", "specialCharacters"),
        ("123 Test", "n123Test"),
        ("Multiple   Spaces   Here", "multipleSpacesHere"),
        ("Café Crème", "cafeCreme"),
        ("MiXeD cAsE", "mixedCase"),
        ("", ""),
        # lodash word splitting: digits after letters, ordinals; transliterated letters
        ("Version2 Name", "version2Name"),
        ("1st Place", "n1stPlace"),
        ("Straße Æon", "strasseAeon"),
        ("  Key   Accounts  ", "keyAccounts"),
    ],
)
def test_name_from_label(label, name):
    assert name_from_label(label) == name


def test_name_from_label_refuses_what_twenty_refuses():
    with pytest.raises(Exception, match=r'Invalid label: "!@#\$%\^&\*\(\)"'):
        name_from_label("!@#$%^&*()")


RELATION = """mutation($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) {
  name relation { targetFieldMetadata { name } } } }"""


@pytest.mark.parametrize("via", ["graphql", "rest"])
@pytest.mark.parametrize(
    ("label", "inverse"),
    [
        ("SDK probes", "sdkProbes"),
        ("VIP Customers", "vipCustomers"),
        ("Café owners", "cafeOwners"),
        ("ARR (USD)", "arrUsd"),
    ],
)
def test_relation_inverse_is_named_as_twenty_names_it(profile, sandbox, http, via, label, inverse):
    probe = sandbox.registry.create_object(
        {
            "nameSingular": "probe",
            "namePlural": "probes",
            "labelSingular": "Probe",
            "labelPlural": "Probes",
        }
    )
    field_input = {
        "objectMetadataId": probe.id,
        "type": "RELATION",
        "name": "company",
        "label": "Company",
        "relationCreationPayload": {
            "targetObjectMetadataId": object_id(sandbox, "company"),
            "targetFieldLabel": label,
            "targetFieldIcon": "IconBuilding",
            "type": "MANY_TO_ONE",
        },
    }
    if via == "graphql":
        created = data_of(http, RELATION, {"input": {"field": field_input}})["createOneField"]
        assert created["relation"]["targetFieldMetadata"]["name"] == inverse
    else:
        response = http.post("/rest/metadata/fields", json=field_input)
        assert response.status_code == 201, response.text
    other = field(sandbox, "company", inverse)
    assert other.label == label and other.is_one_to_many


def test_validation_messages_quote_names_as_graphql_js(http):
    message = first_error(http, "{ objects { edges { node { nope } } } }")["message"]
    assert message == 'Cannot query field "nope" on type "Object".'
    message = first_error(http, "{ objects(nope: 1) { edges { cursor } } }")["message"]
    assert message == 'Unknown argument "nope" on field "Query.objects".'
