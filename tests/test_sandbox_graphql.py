"""The sandbox's GraphQL front-end: core /graphql and /metadata, called in process."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from twenty_migrate.sandbox.engine.store import Engine
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.graphql import api as api_module
from twenty_migrate.sandbox.graphql.api import GraphQLAPI, check_complexity
from twenty_migrate.sandbox.graphql.schema import build_core_schema, root_field_name
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile

PEOPLE_FIELDS = "id name { firstName lastName } emails { primaryEmail additionalEmails } companyId"


class Api:
    """A GraphQLAPI over a fresh engine, recording the root fields charged."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or Engine(standard_registry(sandbox_profile("1")))
        self.api = GraphQLAPI(self.engine)
        self.charged: list[str] = []

    def charge(self, field: str) -> None:
        self.charged.append(field)

    def raw(self, query: str, variables: dict[str, Any] | None = None, **body: Any) -> Any:
        return self.api.execute_core(
            {"query": query, "variables": variables, **body}, charge=self.charge
        )

    def ok(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        answer = self.raw(query, variables)
        assert "errors" not in answer, answer
        return answer["data"]

    def meta(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.api.execute_metadata({"query": query, "variables": variables})


@pytest.fixture
def gql() -> Api:
    return Api()


def _uuid() -> str:
    return str(uuid.uuid4())


def _people(n: int, *, company_id: str | None = None, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "name": {"firstName": f"First{i:03d}", "lastName": "Last" if i % 2 else "Other"},
            "emails": {"primaryEmail": f"person{i}@example.com"},
            **({"companyId": company_id} if company_id else {}),
        }
        for i in range(start, start + n)
    ]


CREATE_PEOPLE = f"""
mutation Create($data: [PersonCreateInput!]!, $upsert: Boolean) {{
  createPeople(data: $data, upsert: $upsert) {{ {PEOPLE_FIELDS} }}
}}"""


def _create_company(gql: Api, name: str = "Acme", domain: str = "https://acme.com") -> str:
    data = gql.ok(
        "mutation($d: CompanyCreateInput!) { createCompany(data: $d) { id name } }",
        {"d": {"name": name, "domainName": {"primaryLinkUrl": domain}}},
    )
    return str(data["createCompany"]["id"])


# ---------------------------------------------------------------- schema


def test_schema_names_follow_twenty() -> None:
    schema = build_core_schema(standard_registry(sandbox_profile("1")))
    person = standard_registry(sandbox_profile("1")).by_singular("person")
    assert person is not None
    names = {kind: root_field_name(kind, person) for kind in ("findMany", "createMany")}
    assert names == {"findMany": "people", "createMany": "createPeople"}
    mutation = schema.mutation_type
    assert mutation is not None
    for name in (
        "createPerson",
        "createPeople",
        "updatePerson",
        "updatePeople",
        "deletePerson",
        "deletePeople",
        "destroyPerson",
        "destroyPeople",
        "restorePerson",
        "restorePeople",
    ):
        assert name in mutation.fields
    assert str(mutation.fields["createPeople"].args["data"].type) == "[PersonCreateInput!]!"
    assert str(mutation.fields["createPeople"].type) == "[Person]"
    for type_name in (
        "OpportunityStageEnum",
        "PersonFilterInput",
        "PersonOrderByInput",
        "PersonConnection",
        "FilterIs",
        "OrderByDirection",
        "Links",
        "Currency",
        "Address",
        "Actor",
        "RichTextV2",
    ):
        assert schema.get_type(type_name) is not None, type_name


def test_schema_is_built_once_per_registry_version(
    gql: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    real_build = api_module.build_core_schema

    def counting_build(registry: Any) -> Any:
        built.append(registry.version)
        return real_build(registry)

    monkeypatch.setattr(api_module, "build_core_schema", counting_build)
    query = "{ people { totalCount } }"
    gql.ok(query)
    gql.ok(query)
    version, _ = gql.api.core_schema()
    assert built == [version]
    gql.engine.registry.create_object(
        {"nameSingular": "pet", "namePlural": "pets", "labelSingular": "Pet", "labelPlural": "Pets"}
    )
    assert gql.ok("{ pets { totalCount } }") == {"pets": {"totalCount": 0}}
    new_version, _ = gql.api.core_schema()
    assert new_version > version and built == [version, new_version]


def test_object_whose_type_name_clashes_is_left_out(gql: Api) -> None:
    # "currency" would generate a type named like the CURRENCY composite type.
    gql.engine.registry.create_object(
        {
            "nameSingular": "currency",
            "namePlural": "currencies",
            "labelSingular": "Currency",
            "labelPlural": "Currencies",
        }
    )
    _, schema = gql.api.core_schema()
    assert schema.query_type is not None and "currencies" not in schema.query_type.fields
    assert gql.ok("{ people { totalCount } }") == {"people": {"totalCount": 0}}


def test_uuid_variables_are_checked_by_graphql(gql: Api) -> None:
    answer = gql.raw("mutation($id: UUID!) { deletePerson(id: $id) { id } }", {"id": "nope"})
    assert answer["errors"][0]["message"].startswith("Variable '$id' got invalid value 'nope'")
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    missing = gql.raw("mutation($id: UUID!) { deletePerson(id: $id) { id } }", {"id": _uuid()})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# ---------------------------------------------------------------- root fields


def test_create_many_and_find_many(gql: Api) -> None:
    created = gql.ok(CREATE_PEOPLE, {"data": _people(3)})["createPeople"]
    assert len(created) == 3
    assert {p["emails"]["primaryEmail"] for p in created} == {
        "person0@example.com",
        "person1@example.com",
        "person2@example.com",
    }
    assert gql.charged == ["createPeople"]
    found = gql.ok(
        "{ people { edges { node { id emails { primaryEmail } } cursor }"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }"
    )["people"]
    assert found["totalCount"] == 3
    assert len(found["edges"]) == 3
    assert found["pageInfo"]["hasNextPage"] is False
    assert found["pageInfo"]["startCursor"] == found["edges"][0]["cursor"]
    assert found["pageInfo"]["endCursor"] == found["edges"][-1]["cursor"]


def test_create_one_find_one_update_delete_restore_destroy(gql: Api) -> None:
    person_id = _uuid()
    created = gql.ok(
        "mutation($d: PersonCreateInput!) { createPerson(data: $d) { id jobTitle } }",
        {"d": {"id": person_id, "jobTitle": "CTO", "emails": {"primaryEmail": "a@b.com"}}},
    )
    assert created == {"createPerson": {"id": person_id, "jobTitle": "CTO"}}
    one = gql.ok(
        "query($id: UUID!) { person(filter: {id: {eq: $id}}) { id jobTitle } }", {"id": person_id}
    )
    assert one["person"]["jobTitle"] == "CTO"
    updated = gql.ok(
        'mutation($id: UUID!) { updatePerson(id: $id, data: {jobTitle: "CEO"}) { jobTitle } }',
        {"id": person_id},
    )
    assert updated["updatePerson"]["jobTitle"] == "CEO"
    deleted = gql.ok(
        "mutation($id: UUID!) { deletePerson(id: $id) { id deletedAt } }", {"id": person_id}
    )
    assert deleted["deletePerson"]["deletedAt"] is not None
    assert gql.ok("{ people { totalCount } }")["people"]["totalCount"] == 0
    with_deleted = gql.ok("{ people(filter: {deletedAt: {is: NOT_NULL}}) { totalCount } }")
    assert with_deleted["people"]["totalCount"] == 1
    restored = gql.ok(
        "mutation($id: UUID!) { restorePerson(id: $id) { id deletedAt } }", {"id": person_id}
    )
    assert restored["restorePerson"]["deletedAt"] is None
    assert gql.ok("{ people { totalCount } }")["people"]["totalCount"] == 1
    destroyed = gql.ok("mutation($id: UUID!) { destroyPerson(id: $id) { id } }", {"id": person_id})
    assert destroyed["destroyPerson"]["id"] == person_id
    assert gql.engine.count("person", with_deleted=True) == 0


def test_find_one_unknown_record_is_not_found(gql: Api) -> None:
    answer = gql.raw(f'{{ person(filter: {{id: {{eq: "{_uuid()}"}}}}) {{ id }} }}')
    assert answer["data"] == {"person": None}
    error = answer["errors"][0]
    assert error["message"] == "Record not found"
    assert error["path"] == ["person"]
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_many_record_update_delete_restore_destroy(gql: Api) -> None:
    gql.ok(CREATE_PEOPLE, {"data": _people(4)})
    odd = '{name: {lastName: {eq: "Last"}}}'
    updated = gql.ok(
        f'mutation {{ updatePeople(data: {{city: "Paris"}}, filter: {odd}) {{ id city }} }}'
    )
    assert [p["city"] for p in updated["updatePeople"]] == ["Paris", "Paris"]
    deleted = gql.ok(f"mutation {{ deletePeople(filter: {odd}) {{ id }} }}")
    assert len(deleted["deletePeople"]) == 2
    assert gql.ok("{ people { totalCount } }")["people"]["totalCount"] == 2
    restore_filter = '{name: {lastName: {eq: "Last"}}, deletedAt: {is: NOT_NULL}}'
    restored = gql.ok(f"mutation {{ restorePeople(filter: {restore_filter}) {{ id }} }}")
    assert len(restored["restorePeople"]) == 2
    destroyed = gql.ok(f"mutation {{ destroyPeople(filter: {odd}) {{ id }} }}")
    assert len(destroyed["destroyPeople"]) == 2
    assert gql.engine.count("person", with_deleted=True) == 2


def test_upsert_through_graphql(gql: Api) -> None:
    first = gql.ok(CREATE_PEOPLE, {"data": _people(2)})["createPeople"]
    again = [{**p, "jobTitle": "Updated"} for p in _people(2)] + _people(1, start=5)
    answer = gql.ok(
        CREATE_PEOPLE.replace("companyId", "companyId jobTitle"), {"data": again, "upsert": True}
    )
    records = answer["createPeople"]
    by_email = {r["emails"]["primaryEmail"]: r for r in records}
    assert {p["id"] for p in first} <= {r["id"] for r in records}
    assert by_email["person0@example.com"]["jobTitle"] == "Updated"
    assert gql.engine.count("person") == 3


# ---------------------------------------------------------------- filters, order, pages


def test_filters_composite_logic_and_null(gql: Api) -> None:
    gql.ok(CREATE_PEOPLE, {"data": _people(5)})
    gql.ok('mutation { createPerson(data: {jobTitle: "No email"}) { id } }')

    def count(flt: str) -> int:
        return int(gql.ok(f"{{ people(filter: {flt}) {{ totalCount }} }}")["people"]["totalCount"])

    assert count('{emails: {primaryEmail: {eq: "person1@example.com"}}}') == 1
    assert count('{emails: {primaryEmail: {in: ["person1@example.com", "x@y.z"]}}}') == 1
    assert count("{emails: {primaryEmail: {is: NULL}}}") == 1
    assert count("{emails: {primaryEmail: {is: NOT_NULL}}}") == 5
    assert count('{name: {firstName: {like: "First00%"}}}') == 5
    assert count('{name: {firstName: {ilike: "first00%"}}}') == 5
    assert count('{name: {firstName: {startsWith: "First00"}}}') == 5
    both = '{and: [{name: {lastName: {eq: "Last"}}}, {name: {firstName: {eq: "First001"}}}]}'
    assert count(both) == 1
    either = '{or: [{name: {firstName: {eq: "First001"}}}, {jobTitle: {eq: "No email"}}]}'
    assert count(either) == 2
    assert count('{not: {name: {lastName: {eq: "Last"}}}}') == 4


def test_filter_on_enum_and_bad_enum_literal(gql: Api) -> None:
    gql.ok('mutation { createOpportunities(data: [{stage: MEETING}, {name: "x"}]) { id stage } }')
    meeting = gql.ok("{ opportunities(filter: {stage: {eq: MEETING}}) { totalCount } }")
    assert meeting["opportunities"]["totalCount"] == 1
    answer = gql.raw("{ opportunities(filter: {stage: {eq: NOPE}}) { totalCount } }")
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "data" not in answer


def test_order_by_composite_and_directions(gql: Api) -> None:
    gql.ok(CREATE_PEOPLE, {"data": _people(4)})
    gql.ok('mutation { createPerson(data: {jobTitle: "nameless"}) { id } }')

    def first_names(order: str) -> list[Any]:
        data = gql.ok(
            f"{{ people(orderBy: {order}) {{ edges {{ node {{ name {{ firstName }} }} }} }} }}"
        )
        return [e["node"]["name"]["firstName"] for e in data["people"]["edges"]]

    names = [f"First{i:03d}" for i in range(4)]
    assert first_names("[{name: {firstName: DescNullsLast}}]") == [*reversed(names), None]
    assert first_names("[{name: {firstName: AscNullsFirst}}]") == [None, *names]
    assert first_names("[{name: {firstName: AscNullsLast}}]") == [*names, None]
    answer = gql.raw("{ people(orderBy: [{name: {firstName: Upwards}}]) { totalCount } }")
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_pagination_both_ways(gql: Api) -> None:
    gql.ok(CREATE_PEOPLE, {"data": _people(5)})
    page_query = """
    query($first: Int, $after: String, $last: Int, $before: String) {
      people(first: $first, after: $after, last: $last, before: $before,
             orderBy: [{name: {firstName: AscNullsFirst}}]) {
        edges { node { name { firstName } } cursor }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        totalCount
      }
    }"""

    def page(**variables: Any) -> Any:
        return gql.ok(page_query, variables)["people"]

    def names(p: Any) -> list[str]:
        return [e["node"]["name"]["firstName"] for e in p["edges"]]

    one = page(first=2)
    assert names(one) == ["First000", "First001"]
    assert one["pageInfo"]["hasNextPage"] is True and one["totalCount"] == 5
    two = page(first=2, after=one["pageInfo"]["endCursor"])
    assert names(two) == ["First002", "First003"]
    three = page(first=2, after=two["pageInfo"]["endCursor"])
    assert names(three) == ["First004"] and three["pageInfo"]["hasNextPage"] is False
    back = page(last=2, before=three["pageInfo"]["startCursor"])
    assert names(back) == ["First002", "First003"]
    assert back["pageInfo"]["hasPreviousPage"] is True
    limited = gql.ok("{ people(limit: 1) { edges { cursor } totalCount } }")["people"]
    assert len(limited["edges"]) == 1 and limited["totalCount"] == 5


def test_bad_cursor_is_a_field_error(gql: Api) -> None:
    answer = gql.raw('{ people(after: "not-a-cursor") { totalCount } }')
    assert answer["data"] == {"people": None}
    assert "Invalid cursor" in answer["errors"][0]["message"]
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# ---------------------------------------------------------------- relations


def test_relations_both_ways(gql: Api) -> None:
    company_id = _create_company(gql)
    gql.ok(CREATE_PEOPLE, {"data": _people(3, company_id=company_id) + _people(1, start=9)})
    people = gql.ok(
        "{ people(orderBy: [{name: {firstName: AscNullsFirst}}]) "
        "{ edges { node { companyId company { id name } } } } }"
    )["people"]["edges"]
    assert people[0]["node"]["company"] == {"id": company_id, "name": "Acme"}
    assert people[0]["node"]["companyId"] == company_id
    assert people[-1]["node"]["company"] is None
    company = gql.ok(
        "query($id: UUID!) { company(filter: {id: {eq: $id}}) { name "
        "people(orderBy: [{name: {firstName: DescNullsLast}}], first: 2) "
        "{ totalCount edges { node { name { firstName } } } } } }",
        {"id": company_id},
    )["company"]
    assert company["people"]["totalCount"] == 3
    assert [e["node"]["name"]["firstName"] for e in company["people"]["edges"]] == [
        "First002",
        "First001",
    ]
    filtered = gql.ok(
        "query($id: UUID!) { company(filter: {id: {eq: $id}}) { "
        'people(filter: {name: {firstName: {eq: "First001"}}}) { totalCount } } }',
        {"id": company_id},
    )
    assert filtered["company"]["people"]["totalCount"] == 1


def test_one_to_many_is_capped_and_cursors_match_find_many(gql: Api) -> None:
    company_id = _create_company(gql)
    gql.ok(CREATE_PEOPLE, {"data": _people(60, company_id=company_id)})
    gql.ok(CREATE_PEOPLE, {"data": _people(3, company_id=company_id, start=60)})
    nested_query = (
        "query($id: UUID!, $first: Int, $after: String) { company(filter: {id: {eq: $id}}) { "
        "people(first: $first, after: $after) { totalCount edges { cursor node { id } } "
        "pageInfo { hasNextPage endCursor } } } }"
    )
    everyone = gql.ok(nested_query, {"id": company_id})["company"]["people"]
    assert everyone["totalCount"] == 63
    assert len(everyone["edges"]) == 60 and everyone["pageInfo"]["hasNextPage"] is True
    gql.ok(
        "mutation($id: UUID!) { destroyPeople(filter: {companyId: {eq: $id}, "
        'name: {firstName: {startsWith: "First06"}}}) { id } }',
        {"id": company_id},
    )
    # Under the cap the engine's join-column index answers; same page as a findMany.
    first = gql.ok(nested_query, {"id": company_id, "first": 5})["company"]["people"]
    direct = gql.ok(
        "query($id: UUID!) { people(filter: {companyId: {eq: $id}}, first: 5) "
        "{ totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
        {"id": company_id},
    )["people"]
    assert first == direct and first["totalCount"] == 60
    after = first["pageInfo"]["endCursor"]
    second = gql.ok(nested_query, {"id": company_id, "first": 5, "after": after})
    second_ids = [e["node"]["id"] for e in second["company"]["people"]["edges"]]
    all_ids = sorted(p["id"] for p in gql.engine.all_records("person"))
    assert second_ids == all_ids[5:10]


def test_composite_outputs_and_inputs(gql: Api) -> None:
    data = {
        "name": "Globex",
        "domainName": {
            "primaryLinkUrl": "HTTPS://GLOBEX.COM/",
            "primaryLinkLabel": "",
            "secondaryLinks": [{"url": "https://globex.org", "label": "org"}],
        },
        "address": {"addressCity": "Springfield", "addressLat": 1.5},
        "annualRecurringRevenue": {"amountMicros": 1500000000, "currencyCode": "USD"},
        "createdBy": {"source": "IMPORT"},
    }
    created = gql.ok(
        "mutation($d: CompanyCreateInput!) { createCompany(data: $d) { "
        "domainName { primaryLinkUrl primaryLinkLabel secondaryLinks { url label } } "
        "address { addressCity addressLat } annualRecurringRevenue { amountMicros currencyCode } "
        "createdBy { source workspaceMemberId name context { provider } } } }",
        {"d": data},
    )["createCompany"]
    assert created["domainName"]["primaryLinkUrl"] == "https://globex.com"
    assert created["domainName"]["secondaryLinks"] == [
        {"url": "https://globex.org", "label": "org"}
    ]
    assert created["address"]["addressCity"] == "Springfield"
    assert created["annualRecurringRevenue"] == {"amountMicros": 1500000000, "currencyCode": "USD"}
    assert created["createdBy"]["source"] == "IMPORT"
    task = gql.ok(
        'mutation { createTask(data: {title: "T", bodyV2: {markdown: "# Hi"}}) '
        "{ bodyV2 { markdown blocknote } } }"
    )["createTask"]
    assert task["bodyV2"]["markdown"].startswith("# Hi")
    assert task["bodyV2"]["blocknote"]


# ---------------------------------------------------------------- errors


def test_enum_variable_coercion_comes_first(gql: Api) -> None:
    answer = gql.raw(
        "mutation($data: [OpportunityCreateInput!]!) { createOpportunities(data: $data) { id } }",
        {"data": [{"name": "ok", "stage": "NOT_A_STAGE"}]},
    )
    assert "data" not in answer
    error = answer["errors"][0]
    assert error["message"].startswith("Variable '$data' got invalid value")
    assert "OpportunityStageEnum" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert gql.charged == []  # refused before any root field ran


def test_engine_validation_error_shape(gql: Api) -> None:
    answer = gql.raw(CREATE_PEOPLE, {"data": [{"emails": {"primaryEmail": "not-an-email"}}]})
    assert answer["data"] == {"createPeople": None}
    error = answer["errors"][0]
    assert "not-an-email" in error["message"]
    assert error["path"] == ["createPeople"]
    assert error["locations"]
    extensions = error["extensions"]
    assert extensions["code"] == "BAD_USER_INPUT"
    assert extensions["subCode"]
    assert extensions["userFriendlyMessage"]
    assert gql.engine.count("person") == 0


def test_too_many_records_and_duplicates(gql: Api) -> None:
    answer = gql.raw(CREATE_PEOPLE, {"data": _people(61)})
    assert answer["errors"][0]["message"] == "Maximum number of records to upsert is 60."
    gql.ok(CREATE_PEOPLE, {"data": _people(1)})
    duplicate = gql.raw(CREATE_PEOPLE, {"data": _people(1)})
    assert duplicate["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "duplicate" in duplicate["errors"][0]["message"].lower()


def test_duplicate_root_resolver_even_aliased(gql: Api) -> None:
    answer = gql.raw(
        'mutation { a: createPerson(data: {jobTitle: "x"}) { id } '
        'b: createPerson(data: {jobTitle: "y"}) { id } }'
    )
    assert answer == {
        "errors": [
            {
                "message": 'Duplicate root resolver: "createPerson"',
                "extensions": {
                    "code": "BAD_USER_INPUT",
                    "userFriendlyMessage": "Duplicate root resolver found. "
                    "Each root resolver can only be called once per document.",
                },
            }
        ]
    }
    assert gql.charged == []
    assert gql.engine.count("person") == 0


def test_too_many_root_resolvers(gql: Api) -> None:
    schema = build_core_schema(gql.engine.registry)
    assert schema.query_type is not None and schema.mutation_type is not None
    queries = list(schema.query_type.fields)[:15]
    mutations = [m for m in schema.mutation_type.fields if m.startswith("delete")][:6]
    document = (
        "query Q { " + " ".join(f"{name} {{ __typename }}" for name in queries) + " } "
        "mutation M { " + " ".join(f'{name}(id: "x") {{ __typename }}' for name in mutations)
    )
    answer = gql.raw(document + " }")
    error = answer["errors"][0]
    assert error["message"] == (
        "Query too complex - Too many root resolvers requested: 21 - "
        "Maximum allowed root resolvers: 20"
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_complexity_counts_fragments() -> None:
    from graphql import parse

    from twenty_migrate.sandbox.graphql.api import CORE_LIMITS

    document = parse(
        "query { ...Roots ... on Query { people { totalCount } } } "
        "fragment Roots on Query { people { totalCount } }"
    )
    error = check_complexity(document, CORE_LIMITS)
    assert error is not None and error.message == 'Duplicate root resolver: "people"'
    cyclic = parse("query { ...A } fragment A on Query { ...A }")
    assert check_complexity(cyclic, CORE_LIMITS) is None


def test_throttled_root_field_gets_the_error(gql: Api) -> None:
    def charge(field: str) -> None:
        gql.charged.append(field)
        if field == "companies":
            raise SandboxError(
                "Limit reached (100 tokens per 60000 ms)",
                code="LIMIT_REACHED",
                status=429,
                graphql_code="BAD_USER_INPUT",
            )

    answer = gql.api.execute_core(
        {"query": "{ people { totalCount } c: companies { totalCount } }"}, charge=charge
    )
    assert gql.charged == ["people", "companies"]
    assert answer["data"] == {"people": {"totalCount": 0}, "c": None}
    error = answer["errors"][0]
    assert error["message"] == "Limit reached (100 tokens per 60000 ms)"
    assert error["path"] == ["c"]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "subCode": "LIMIT_REACHED",
        "userFriendlyMessage": "Limit reached (100 tokens per 60000 ms)",
    }


def test_throttled_mutation_does_not_write(gql: Api) -> None:
    def refuse(field: str) -> None:
        raise SandboxError(
            "Rate limited", code="RATE_LIMITED", status=429, graphql_code="RATE_LIMITED"
        )

    answer = gql.api.execute_core(
        {"query": CREATE_PEOPLE, "variables": {"data": _people(2)}}, charge=refuse
    )
    assert answer["data"] == {"createPeople": None}
    assert answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert gql.engine.count("person") == 0


def test_parse_validation_and_request_errors(gql: Api) -> None:
    parse_error = gql.raw("{ people { totalCount ")
    assert parse_error["errors"][0]["message"].startswith("Syntax Error: ")
    assert parse_error["errors"][0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert "data" not in parse_error
    invalid = gql.raw("{ people { nope } }")
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    missing = gql.api.execute_core({"variables": {}}, charge=gql.charge)
    assert missing["errors"][0]["message"] == "Must provide query string."
    bad_variables = gql.api.execute_core(
        {"query": "{ people { totalCount } }", "variables": [1]}, charge=gql.charge
    )
    assert bad_variables["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_unexpected_exceptions_are_masked(gql: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(gql.engine, "find_many", boom)
    answer = gql.raw("{ people { totalCount } }")
    assert answer["data"] == {"people": None}
    assert answer["errors"][0]["message"] == "Unexpected error."
    assert answer["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in str(answer)

    def broken_charge(field: str) -> None:
        raise KeyError(field)

    whole = gql.api.execute_core({"query": "{ people { totalCount } }"}, charge=broken_charge)
    assert whole["errors"][0]["message"] == "Unexpected error."


def test_a_query_sent_again_is_parsed_and_validated_once(
    gql: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    validated: list[Any] = []
    real_parse, real_validate = api_module.parse, api_module.validate
    monkeypatch.setattr(api_module, "parse", lambda q: parsed.append(q) or real_parse(q))
    monkeypatch.setattr(
        api_module, "validate", lambda s, d: validated.append(d) or real_validate(s, d)
    )
    query = "{ people { totalCount } }"
    assert gql.ok(query) == gql.ok(query) == {"people": {"totalCount": 0}}
    assert parsed == [query] and len(validated) == 1
    gql.ok("{ companies { totalCount } }")
    assert len(parsed) == 2 and len(validated) == 2


def test_sixty_record_creates_in_a_row_each_create_sixty(gql: Api) -> None:
    # Speed of a 60-record create: benchmarks/components.py.
    query = (
        "mutation($d: [PersonCreateInput!]!) { createPeople(data: $d) "
        "{ id emails { primaryEmail } } }"
    )
    for batch in range(3):
        answer = gql.raw(query, {"d": _people(60, start=batch * 60)})
        created = answer["data"]["createPeople"]
        assert [person["emails"]["primaryEmail"] for person in created] == [
            f"person{i}@example.com" for i in range(batch * 60, batch * 60 + 60)
        ]
    assert gql.engine.count("person") == 180


# ---------------------------------------------------------------- metadata


OBJECTS_QUERY = """
query($first: Int) { objects(paging: {first: $first}) {
  edges { node {
    id nameSingular namePlural labelSingular labelPlural description icon isCustom isRemote
    isActive isSystem labelIdentifierFieldMetadataId imageIdentifierFieldMetadataId
    isSearchable duplicateCriteria
    indexMetadatas(paging: {first: 100}) { edges { node { name isUnique indexWhereClause
      indexType indexFieldMetadatas(paging: {first: 100}) {
        edges { node { fieldMetadataId order } } } } } }
    fieldsList { id type name label description icon isCustom isActive isSystem isNullable
      isUnique defaultValue options settings
      relation { type sourceObjectMetadata { id nameSingular namePlural }
        targetObjectMetadata { id nameSingular namePlural }
        sourceFieldMetadata { id name } targetFieldMetadata { id name } } }
  } cursor }
  pageInfo { hasNextPage endCursor } } }
"""


def test_metadata_objects_shape(gql: Api) -> None:
    answer = gql.meta(OBJECTS_QUERY, {"first": 1000})
    assert "errors" not in answer, answer
    nodes = {e["node"]["nameSingular"]: e["node"] for e in answer["data"]["objects"]["edges"]}
    person = nodes["person"]
    assert person["namePlural"] == "people"
    fields = {f["name"]: f for f in person["fieldsList"]}
    assert fields["emails"]["type"] == "EMAILS" and fields["emails"]["isUnique"] is True
    relation = fields["company"]["relation"]
    assert relation["type"] == "MANY_TO_ONE"
    assert relation["targetObjectMetadata"]["nameSingular"] == "company"
    assert relation["targetFieldMetadata"]["name"] == "people"
    assert fields["company"]["settings"]["joinColumnName"] == "companyId"
    assert fields["name"]["relation"] is None
    stage = {f["name"]: f for f in nodes["opportunity"]["fieldsList"]}["stage"]
    assert stage["defaultValue"] == "'NEW'"
    assert [o["value"] for o in stage["options"]][:2] == ["NEW", "SCREENING"]
    index = person["indexMetadatas"]["edges"][0]["node"]
    assert index["isUnique"] is True
    field_id = index["indexFieldMetadatas"]["edges"][0]["node"]["fieldMetadataId"]
    assert field_id == fields["emails"]["id"]
    paged = gql.meta(OBJECTS_QUERY, {"first": 2})["data"]["objects"]
    assert len(paged["edges"]) == 2 and paged["pageInfo"]["hasNextPage"] is True


def test_metadata_object_fields_and_filters(gql: Api) -> None:
    person = gql.engine.registry.by_singular("person")
    assert person is not None
    one = gql.meta(
        "query($id: UUID!) { object(id: $id) { nameSingular "
        "fields(paging: {first: 3}) { edges { node { name } } pageInfo { hasNextPage } } } }",
        {"id": person.id},
    )["data"]["object"]
    assert one["nameSingular"] == "person"
    assert len(one["fields"]["edges"]) == 3 and one["fields"]["pageInfo"]["hasNextPage"]
    custom = gql.meta(
        "{ objects(paging: {first: 100}, filter: {isCustom: {is: true}}) "
        "{ edges { node { id } } } }"
    )
    assert custom["data"]["objects"]["edges"] == []
    fields = gql.meta(
        "query($id: UUID!) { fields(paging: {first: 1000}, filter: {objectMetadataId: {eq: $id}}) "
        "{ edges { node { name objectMetadataId } } } }",
        {"id": person.id},
    )["data"]["fields"]["edges"]
    assert {e["node"]["objectMetadataId"] for e in fields} == {person.id}
    missing = gql.meta("query($id: UUID!) { object(id: $id) { id } }", {"id": _uuid()})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = gql.meta("{ objects { edges { node { nope } } } }")
    assert bad["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_metadata_complexity_limits(gql: Api) -> None:
    deep = (
        "{ objects { edges { node { fieldsList { relation { sourceObjectMetadata { "
        "fieldsList { relation { targetObjectMetadata { fieldsList { id } } } } } } } } } } }"
    )
    answer = gql.meta(deep)
    assert answer["errors"][0]["message"].startswith(
        "Query too complex - Too many nested fields requested: 11"
    )


def test_custom_object_and_fields_are_usable_at_once(gql: Api) -> None:
    created = gql.meta(
        "mutation($input: CreateOneObjectInput!) { createOneObject(input: $input) "
        "{ id nameSingular namePlural isCustom } }",
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
    )
    assert "errors" not in created, created
    pet = created["data"]["createOneObject"]
    assert pet["isCustom"] is True
    company = gql.engine.registry.by_singular("company")
    assert company is not None
    field_mutation = (
        "mutation($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) "
        "{ id name type options relation { type targetObjectMetadata { nameSingular } } } }"
    )
    species = gql.meta(
        field_mutation,
        {
            "input": {
                "field": {
                    "objectMetadataId": pet["id"],
                    "type": "SELECT",
                    "name": "species",
                    "label": "Species",
                    "options": [
                        {"value": "DOG", "label": "Dog"},
                        {"value": "CAT", "label": "Cat"},
                    ],
                }
            }
        },
    )
    assert "errors" not in species, species
    owner = gql.meta(
        field_mutation,
        {
            "input": {
                "field": {
                    "objectMetadataId": pet["id"],
                    "type": "RELATION",
                    "name": "owner",
                    "label": "Owner",
                    "relationCreationPayload": {
                        "targetObjectMetadataId": company.id,
                        "targetFieldLabel": "Pets",
                        "targetFieldIcon": "IconDog",
                        "type": "MANY_TO_ONE",
                    },
                }
            }
        },
    )
    assert owner["data"]["createOneField"]["relation"] == {
        "type": "MANY_TO_ONE",
        "targetObjectMetadata": {"nameSingular": "company"},
    }
    company_id = _create_company(gql)
    pets = gql.ok(
        "mutation($d: [PetCreateInput!]!) { createPets(data: $d) { id name species ownerId "
        "owner { name } } }",
        {"d": [{"name": "Rex", "species": "DOG", "ownerId": company_id}, {"name": "Tom"}]},
    )["createPets"]
    assert {p["name"]: p["species"] for p in pets} == {"Rex": "DOG", "Tom": None}
    assert [p["owner"] for p in pets if p["name"] == "Rex"] == [{"name": "Acme"}]
    back = gql.ok("{ companies { edges { node { pets { totalCount } } } } }")
    assert back["companies"]["edges"][0]["node"]["pets"]["totalCount"] == 1
    dogs = gql.ok("{ pets(filter: {species: {eq: DOG}}) { totalCount } }")
    assert dogs["pets"]["totalCount"] == 1
    wrong = gql.raw("mutation { createPet(data: {species: HAMSTER}) { id } }")
    assert "PetSpeciesEnum" in wrong["errors"][0]["message"]


def test_metadata_errors_keep_their_shape(gql: Api) -> None:
    answer = gql.meta(
        'mutation { createOneObject(input: {object: {nameSingular: "Bad Name", '
        'namePlural: "bads", labelSingular: "B", labelPlural: "Bs"}}) { id } }'
    )
    error = answer["errors"][0]
    assert error["path"] == ["createOneObject"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert gql.engine.registry.by_plural("bads") is None
