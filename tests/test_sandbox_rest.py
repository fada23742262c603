"""The sandbox's REST API: query parameters, core records, metadata, bad input."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.app import MAX_BODY_BYTES
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile
from twenty_migrate.sandbox.rest.params import (
    parse_depth,
    parse_filter,
    parse_limit,
    parse_order_by,
)

REGISTRY = standard_registry(sandbox_profile("1"))
COMPANY = REGISTRY.by_plural("companies")
PERSON = REGISTRY.by_plural("people")


def message_of(call: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(SandboxError) as info:
        call(*args, **kwargs)
    assert info.value.status == 400
    return info.value.message


# -- filter parser -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name[eq]:Acme", {"and": [{"name": {"eq": "Acme"}}]}),
        (
            "emails.primaryEmail[eq]:a@b.com",
            {"and": [{"emails": {"primaryEmail": {"eq": "a@b.com"}}}]},
        ),
        ('name[eq]:"a,b"', {"and": [{"name": {"eq": "a,b"}}]}),
        ("name[eq]:'quoted'", {"and": [{"name": {"eq": "quoted"}}]}),
        (
            'id[in]:["u1","u2"],name[like]:%a%',
            {"and": [{"id": {"in": ["u1", "u2"]}}, {"name": {"like": "%a%"}}]},
        ),
        ("deletedAt[is]:NOT_NULL", {"and": [{"deletedAt": {"is": "NOT_NULL"}}]}),
        (
            'or(createdAt[gte]:"2024-01-01",createdAt[lte]:"2023-01-01",not(id[is]:NULL))',
            {
                "or": [
                    {"createdAt": {"gte": "2024-01-01"}},
                    {"createdAt": {"lte": "2023-01-01"}},
                    {"not": {"id": {"is": "NULL"}}},
                ]
            },
        ),
        (
            "and(or(a[eq]:1,b[eq]:2),c[neq]:3)",
            {"and": [{"or": [{"a": {"eq": "1"}}, {"b": {"eq": "2"}}]}, {"c": {"neq": "3"}}]},
        ),
        ("not(name[startsWith]:A)", {"not": {"name": {"startsWith": "A"}}}),
        ("tags[containsAny]:[x,y]", {"and": [{"tags": {"containsAny": ["x", "y"]}}]}),
    ],
)
def test_filter_parses_to_the_graphql_filter_dict(text, expected):
    assert parse_filter(text) == expected


def test_filter_absent_is_empty():
    assert parse_filter(None) == {}


def test_filter_values_are_cast_by_field_type():
    parsed = parse_filter(
        "employees[gte]:10,idealCustomerProfile[eq]:TRUE,"
        "annualRecurringRevenue.amountMicros[gt]:5,position[in]:[1,2.5],name[eq]:10",
        COMPANY,
    )
    assert parsed == {
        "and": [
            {"employees": {"gte": 10.0}},
            {"idealCustomerProfile": {"eq": True}},
            {"annualRecurringRevenue": {"amountMicros": {"gt": 5}}},
            {"position": {"in": [1.0, 2.5]}},
            {"name": {"eq": "10"}},
        ]
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name", "'filter' invalid for 'name'. eg: price[gte]:10"),
        ("and(name[eq]:a", "'filter' invalid. 1 close bracket is missing in the query"),
        ("name[eq]:a))", "'filter' invalid. 2 open brackets are missing in the query"),
        (
            "name[equals]:a",
            "'filter' invalid for 'name[equals]:a', comparator equals not in eq, neq, in, "
            "containsAny, is, gt, gte, lt, lte, startsWith, endsWith, like, ilike",
        ),
        (
            "not(a[eq]:1,b[eq]:2)",
            "'filter' invalid. 'not' conjunction should contain only 1 condition. "
            "eg: not(field[eq]:1)",
        ),
        (
            "id[in]:u1,u2",
            "'filter' invalid for 'in' operator. Received 'u1' but array value expected "
            "eg: 'field[in]:[value_1,value_2]'",
        ),
        ("", "'filter' invalid for 'and()'. eg: price[gte]:10"),
    ],
)
def test_filter_errors_are_twentys(text, message):
    assert message_of(parse_filter, text) == message


# -- order_by, limit, depth --------------------------------------------------------------------


def test_order_by():
    assert parse_order_by(None) == []
    assert parse_order_by("createdAt[DescNullsLast],name.lastName,employees", COMPANY) == [
        {"createdAt": "DescNullsLast"},
        {"name": {"lastName": "AscNullsFirst"}},
        {"employees": "AscNullsFirst"},
    ]


def test_order_by_errors():
    assert message_of(parse_order_by, "name[Up]") == (
        "'order_by' direction 'Up' invalid. Allowed values are 'AscNullsFirst', "
        "'AscNullsLast', 'DescNullsFirst', 'DescNullsLast'. "
        "eg: ?order_by=field_1[AscNullsFirst],field_2[DescNullsLast],field_3"
    )
    assert "composite" in message_of(parse_order_by, "name[AscNullsLast]", PERSON)


def test_limit_and_depth():
    assert parse_limit(None, default=60, maximum=60) == 60
    assert parse_limit(None, default=60, maximum=20) == 20
    assert parse_limit("5", default=60, maximum=60) == 5
    assert parse_limit("500", default=60, maximum=200) == 200
    assert parse_limit("0", default=60, maximum=60) == 0
    for bad in ("abc", "-1", "1.5"):
        assert message_of(parse_limit, bad, default=60, maximum=60) == (
            f"limit '{bad}' is invalid. Should be an integer"
        )
    assert parse_depth(None) == 0
    assert parse_depth("1") == 1
    assert message_of(parse_depth, "2") == "'depth=2' parameter invalid. Allowed values are 0, 1"
    assert message_of(parse_depth, "x") == "'depth=x' parameter invalid. Allowed values are 0, 1"


# -- core records ------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(twenty_version="1", throttle=False)


@pytest.fixture
def http(sandbox):
    with sandbox.client() as client:
        yield client


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": {"firstName": f"First{n}", "lastName": f"Last{n}"},
        "emails": {"primaryEmail": f"person{n}@example.com"},
        **extra,
    }


def create_people(http: httpx.Client, n: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    batch = [person(i, **extra) for i in range(start, start + n)]
    response = http.post("/rest/batch/people", json=batch)
    assert response.status_code == 201, response.text
    records: list[dict[str, Any]] = response.json()["data"]["createPeople"]
    return records


def test_create_one_get_one(http):
    response = http.post("/rest/people", json=person(1, jobTitle="CTO"))
    assert response.status_code == 201
    created = response.json()["data"]["createPerson"]
    assert created["jobTitle"] == "CTO"
    assert created["emails"]["primaryEmail"] == "person1@example.com"
    got = http.get(f"/rest/people/{created['id']}")
    assert got.status_code == 200
    assert got.json() == {"data": {"person": created}}


def test_get_one_unknown_is_404(http):
    response = http.get(f"/rest/people/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "NotFoundException",
        "messages": ["Record not found"],
    }


def test_batch_create_and_upsert(http, sandbox):
    created = create_people(http, 3)
    assert len(created) == 3
    again = [person(0, jobTitle="Updated"), person(9)]
    not_upsert = http.post("/rest/batch/people", params={"upsert": "True"}, json=again)
    assert not_upsert.status_code == 400  # only the exact string "true" turns upsert on
    assert "duplicate" in not_upsert.json()["messages"][0].lower()
    upserted = http.post("/rest/batch/people", params={"upsert": "true"}, json=again)
    assert upserted.status_code == 201
    records = upserted.json()["data"]["createPeople"]
    assert {r["emails"]["primaryEmail"] for r in records} == {
        "person0@example.com",
        "person9@example.com",
    }
    assert sandbox.engine.count("people") == 4
    assert sandbox.requests[-1].n_records == 2
    assert sandbox.requests[-1].root_fields == ("createPeople",)


@pytest.mark.parametrize(
    ("body", "message"),
    [({"name": "x"}, "Body must be an array"), ([], "Input must not be empty")],
)
def test_batch_body_errors(http, body, message):
    response = http.post("/rest/batch/people", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "error": "BadRequestException",
        "messages": [message],
    }


def test_batch_over_the_cap(http, sandbox):
    response = http.post("/rest/batch/people", json=[person(i) for i in range(61)])
    assert response.status_code == 400
    assert response.json()["messages"] == ["Maximum number of records to upsert is 60."]
    assert sandbox.engine.count("people") == 0


def test_list_pagination_forward_and_backward(http):
    create_people(http, 5)
    first = http.get("/rest/people", params={"limit": 2, "order_by": "emails.primaryEmail"})
    body = first.json()
    assert [p["emails"]["primaryEmail"] for p in body["data"]["people"]] == [
        "person0@example.com",
        "person1@example.com",
    ]
    assert body["totalCount"] == 5
    assert body["pageInfo"]["hasNextPage"] is True
    assert "hasPreviousPage" not in body["pageInfo"]
    seen = [p["id"] for p in body["data"]["people"]]
    cursor = body["pageInfo"]["endCursor"]
    while cursor:
        page = http.get(
            "/rest/people",
            params={"limit": 2, "order_by": "emails.primaryEmail", "starting_after": cursor},
        ).json()
        seen += [p["id"] for p in page["data"]["people"]]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(seen) == len(set(seen)) == 5
    back = http.get(
        "/rest/people",
        params={
            "limit": 2,
            "order_by": "emails.primaryEmail",
            "ending_before": body["pageInfo"]["startCursor"],
        },
    ).json()
    assert back["data"]["people"] == []
    assert back["pageInfo"]["hasNextPage"] is False


def test_list_default_limit_and_cap(http):
    create_people(http, 60)
    create_people(http, 5, start=60)
    assert len(http.get("/rest/people").json()["data"]["people"]) == 60
    assert len(http.get("/rest/people", params={"limit": 1000}).json()["data"]["people"]) == 60
    bad = http.get("/rest/people", params={"limit": "many"})
    assert bad.status_code == 400
    assert bad.json()["messages"] == ["limit 'many' is invalid. Should be an integer"]


def test_list_filter_and_order(http):
    create_people(http, 4)
    response = http.get(
        "/rest/people",
        params={
            "filter": 'or(emails.primaryEmail[eq]:person1@example.com,name.firstName[eq]:"First3")',
            "order_by": "name.firstName[DescNullsLast]",
        },
    )
    assert response.status_code == 200
    names = [p["name"]["firstName"] for p in response.json()["data"]["people"]]
    assert names == ["First3", "First1"]
    assert response.json()["totalCount"] == 2


def test_depth_one_nests_relations(http):
    company = http.post("/rest/companies", json={"name": "Acme"}).json()["data"]["createCompany"]
    create_people(http, 2, companyId=company["id"])
    people = http.get("/rest/people", params={"depth": 1}).json()["data"]["people"]
    assert all(p["company"]["id"] == company["id"] for p in people)
    assert all(p["companyId"] == company["id"] for p in people)
    flat = http.get("/rest/people").json()["data"]["people"]
    assert all("company" not in p for p in flat)
    got = http.get(f"/rest/companies/{company['id']}", params={"depth": "1"}).json()
    assert len(got["data"]["company"]["people"]) == 2
    too_deep = http.get("/rest/people", params={"depth": 2})
    assert too_deep.status_code == 400
    assert too_deep.json()["messages"] == ["'depth=2' parameter invalid. Allowed values are 0, 1"]


def test_update_one_put_alias_and_update_many(http):
    a, b, c = create_people(http, 3)
    patched = http.patch(f"/rest/people/{a['id']}", json={"jobTitle": "CEO"})
    assert patched.status_code == 200
    assert patched.json()["data"]["updatePerson"]["jobTitle"] == "CEO"
    put = http.put(f"/rest/people/{b['id']}", json={"jobTitle": "CFO"})
    assert put.json()["data"]["updatePerson"]["jobTitle"] == "CFO"
    many = http.patch(
        "/rest/people", params={"filter": f"id[in]:[{b['id']},{c['id']}]"}, json={"city": "Paris"}
    )
    assert many.status_code == 200
    assert {r["city"] for r in many.json()["data"]["updatePeople"]} == {"Paris"}
    no_filter = http.patch("/rest/people", json={"city": "Rome"})
    assert no_filter.status_code == 400


def test_delete_destroy_and_restore(http, sandbox):
    a, b, c = create_people(http, 3)
    soft = http.delete(f"/rest/people/{a['id']}", params={"soft_delete": "true"})
    assert soft.status_code == 200
    assert soft.json() == {"data": {"deletePerson": {"id": a["id"]}}}
    assert http.get("/rest/people").json()["totalCount"] == 2
    restored = http.patch(f"/rest/people/{a['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["data"]["restorePerson"]["deletedAt"] is None
    hard = http.delete(f"/rest/people/{b['id']}")
    assert hard.json() == {"data": {"deletePerson": {"id": b["id"]}}}
    assert http.get(f"/rest/people/{b['id']}").status_code == 404
    assert http.delete(f"/rest/people/{b['id']}").status_code == 404
    assert sandbox.engine.count("people", with_deleted=True) == 2
    bulk = http.delete(
        "/rest/people", params={"filter": f"id[eq]:{c['id']}", "soft_delete": "true"}
    )
    assert bulk.json() == {"data": {"deletePeople": [{"id": c["id"]}]}}
    restore_many = http.patch("/rest/people/restore", params={"filter": f"id[eq]:{c['id']}"})
    assert [r["id"] for r in restore_many.json()["data"]["restorePeople"]] == [c["id"]]


@pytest.mark.parametrize(("params", "kind"), [({"soft_delete": "true"}, "delete"), ({}, "destroy")])
def test_bulk_delete_needs_a_filter(http, params, kind):
    response = http.delete("/rest/people", params=params)
    assert response.status_code == 400
    assert response.json()["messages"][0].startswith(
        f"Filters are mandatory for bulk {kind} operations."
    )


def test_unknown_object(http):
    response = http.get("/rest/persons")
    assert response.status_code == 400
    assert response.json()["messages"] == ["object 'persons' not found. eg: companies"]
    hint = http.get("/rest/person").json()["messages"][0]
    assert hint.startswith("object 'person' not found.")
    assert "Did you mean 'people'?" in hint


# -- bad input never yields a traceback --------------------------------------------------------


def test_malformed_json(http):
    response = http.post(
        "/rest/people", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "BadRequestException"
    assert body["messages"][0].startswith("Invalid JSON in request body")


def test_oversized_body(http):
    response = http.post("/rest/batch/people", content=b"[" + b" " * MAX_BODY_BYTES + b"]")
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLargeException"


def test_unknown_route_and_wrong_method(http):
    response = http.get("/nope")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "NotFoundException",
        "messages": ["Cannot GET /nope"],
    }
    assert http.delete("/rest/batch/people").status_code == 405
    assert http.get("/graphql").status_code == 405
    # A method no route serves: Express's JSON 404, as for an unknown path.
    options = http.request("OPTIONS", "/rest/people")
    assert options.status_code == 404
    assert options.json()["messages"] == ["Cannot OPTIONS /rest/people"]
    assert http.get("/rest/people/a/b/c").status_code == 404


def test_non_object_body_for_one_record(http):
    response = http.post("/rest/people", json=[person(1)])
    assert response.status_code == 400
    assert response.json()["messages"] == ["Body must be a JSON object"]


def test_unexpected_exception_is_a_masked_500(http, sandbox, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(sandbox.engine, "find_many", boom)
    response = http.get("/rest/people")
    assert response.status_code == 500
    assert response.json() == {
        "statusCode": 500,
        "error": "InternalServerErrorException",
        "messages": ["Internal server error"],
    }
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text


def test_graphql_bad_bodies(http):
    malformed = http.post("/graphql", content=b"{oops")
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["message"] == "POST body sent invalid JSON."
    not_object = http.post("/metadata", json=[1, 2])
    assert not_object.status_code == 400
    assert "expected to be object" in not_object.json()["errors"][0]["message"]
    syntax = http.post("/graphql", json={"query": "{ people { "})
    assert syntax.status_code == 200
    assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


# -- metadata ----------------------------------------------------------------------------------


def test_metadata_objects_list_and_one(http, sandbox):
    response = http.get("/rest/metadata/objects")
    assert response.status_code == 200
    body = response.json()
    objects = body["data"]["objects"]
    assert body["totalCount"] == len(sandbox.registry.objects())
    people = next(o for o in objects if o["namePlural"] == "people")
    assert any(f["name"] == "emails" for f in people["fields"])
    assert set(body["pageInfo"]) == {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}
    assert body["pageInfo"]["startCursor"] == objects[0]["id"]
    one = http.get(f"/rest/metadata/objects/{people['id']}").json()
    assert one["data"]["object"]["nameSingular"] == "person"
    assert http.get(f"/rest/metadata/objects/{uuid.uuid4()}").status_code == 404
    assert http.get("/rest/metadata/objects/not-a-uuid").status_code == 400


def test_metadata_pagination(http, sandbox):
    total = len(sandbox.registry.objects())
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        body = http.get("/rest/metadata/objects", params=params).json()
        seen += [o["id"] for o in body["data"]["objects"]]
        if not body["pageInfo"]["hasNextPage"]:
            break
        params = {"limit": 2, "starting_after": body["pageInfo"]["endCursor"]}
    assert len(seen) == len(set(seen)) == total
    both = http.get(
        "/rest/metadata/objects", params={"starting_after": seen[0], "ending_before": seen[1]}
    )
    assert both.status_code == 400
    assert both.json()["messages"] == [
        "'starting_after' and 'ending_before' cannot be used together."
    ]
    assert http.get("/rest/metadata/objects", params={"starting_after": "x"}).status_code == 400
    back = http.get("/rest/metadata/objects", params={"ending_before": seen[3], "limit": 2})
    assert [o["id"] for o in back.json()["data"]["objects"]] == seen[1:3]


def test_metadata_create_object_and_field(http):
    created = http.post(
        "/rest/metadata/objects",
        json={
            "nameSingular": "pet",
            "namePlural": "pets",
            "labelSingular": "Pet",
            "labelPlural": "Pets",
        },
    )
    assert created.status_code == 201, created.text
    pet = created.json()["data"]["createOneObject"]
    assert pet["namePlural"] == "pets"
    field = http.post(
        "/rest/metadata/fields",
        json={"objectMetadataId": pet["id"], "type": "NUMBER", "name": "legs", "label": "Legs"},
    )
    assert field.status_code == 201, field.text
    assert field.json()["data"]["createOneField"]["name"] == "legs"
    record = http.post("/rest/pets", json={"name": "Rex", "legs": 4})
    assert record.status_code == 201, record.text
    assert record.json()["data"]["createPet"]["legs"] == 4
    fields = http.get("/rest/metadata/fields", params={"limit": 1000}).json()["data"]["fields"]
    assert any(f["name"] == "legs" for f in fields)


def test_sample_data():
    sandbox = Sandbox.with_sample_data(twenty_version="1")
    assert sandbox.engine.count("companies") == 5
    assert sandbox.engine.count("people") == 10
    assert sandbox.engine.count("opportunities") == 3
    with sandbox.client() as http:
        people = http.get("/rest/people", params={"depth": 1}).json()["data"]["people"]
    assert all(p["emails"]["primaryEmail"].endswith("@example.com") for p in people)
    assert all(p["phones"]["primaryPhoneNumber"] for p in people)
    assert sum(p["company"] is not None for p in people) == 9
    assert {p["createdBy"]["source"] for p in people} == {"MANUAL"}
