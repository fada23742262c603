"""The workspace schema read from the sandbox's metadata API, its cache and lookups."""

from __future__ import annotations

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.errors import SchemaError
from twenty_migrate.twenty.schema import WorkspaceSchema, fetch_schema


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(twenty_version="1")


@pytest.fixture
def client(sandbox: Sandbox) -> TwentyClient:
    return TwentyClient(
        base_url=sandbox.base_url, api_key=sandbox.api_key, transport=sandbox.transport()
    )


def test_standard_objects_fields_types_options_and_unique_keys(client):
    schema = fetch_schema(client)
    people = schema.object("people")
    assert schema.object("person") is people
    assert people.field("emails").type == "EMAILS"
    assert people.unique_keys == [("emails.primaryEmail",)]
    assert schema.object("companies").unique_keys == [("domainName.primaryLinkUrl",)]
    assert people.relations["companyId"] == "company"
    assert people.field("companyId").name == "company"
    stage = schema.object("opportunities").field("stage")
    assert stage.option_values == ["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"]
    assert not stage.is_required  # non-null but has a default ('NEW')
    paths = people.writable_paths()
    assert "name.firstName" in paths and "emails.primaryEmail" in paths
    assert "companyId" in paths and "createdAt" not in paths and "searchVector" not in paths
    assert "people" in schema.describe() and "taskTargets" in schema.objects


def test_custom_object_and_fields_are_first_class(client, sandbox):
    company_id = client.rest("GET", "/rest/metadata/objects")["data"]["objects"]
    companies = next(obj for obj in company_id if obj["nameSingular"] == "company")
    created = client.rest(
        "POST",
        "/rest/metadata/objects",
        json={
            "nameSingular": "project",
            "namePlural": "projects",
            "labelSingular": "Project",
            "labelPlural": "Projects",
        },
    )["data"]["createOneObject"]
    client.rest(
        "POST",
        "/rest/metadata/fields",
        json={
            "objectMetadataId": created["id"],
            "type": "TEXT",
            "name": "code",
            "label": "Code",
            "isUnique": True,
        },
    )
    client.rest(
        "POST",
        "/rest/metadata/fields",
        json={
            "objectMetadataId": created["id"],
            "type": "RELATION",
            "name": "client",
            "label": "Client",
            "relationCreationPayload": {
                "type": "MANY_TO_ONE",
                "targetObjectMetadataId": companies["id"],
                "targetFieldLabel": "Projects",
                "targetFieldIcon": "IconBriefcase",
            },
        },
    )
    projects = fetch_schema(client).object("projects")
    assert projects.is_custom
    assert ("code",) in projects.unique_keys
    assert projects.relations == {"clientId": "company"}


def test_cache_round_trips_and_works_offline(client, tmp_path):
    cache = tmp_path / "cache" / "schema.json"
    fetched = fetch_schema(client, cache=cache)
    offline = TwentyClient(
        base_url="http://127.0.0.1:9", api_key="unused", transport=httpx.MockTransport(_refuse)
    )
    loaded = fetch_schema(offline, cache=cache, refresh=False)
    assert loaded == fetched
    assert WorkspaceSchema.load(cache).object("people").unique_keys == [("emails.primaryEmail",)]


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no network expected, got {request.url}")


def test_unknown_names_say_what_to_do(client, tmp_path):
    schema = fetch_schema(client)
    with pytest.raises(SchemaError, match="no object 'peoples'.*Known objects"):
        schema.object("peoples")
    with pytest.raises(SchemaError, match="no field 'mail'"):
        schema.object("people").field("mail")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SchemaError, match="fetch_schema"):
        WorkspaceSchema.load(broken)
