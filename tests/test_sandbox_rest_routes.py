"""REST fidelity of the newer Twenty: malformed ids, ``fields=``, empty cursors, the
duplicates / merge / groupBy routes and the destroy cap.

Each test follows one of Twenty's own integration tests
(``packages/twenty-server/test/integration/rest/suites/rest-api-core-*.integration-spec.ts``),
on the profile(s) where the behaviour exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILE_1X, PROFILE_2_4X, PROFILES

PERSON_1 = "20202020-b1a5-4000-8000-000000000001"
PERSON_2 = "20202020-b1a5-4000-8000-000000000002"
PERSON_3 = "20202020-b1a5-4000-8000-000000000003"
COMPANY_1 = "20202020-c0c0-4000-8000-000000000001"


def make_http(profile=PROFILE_2_4X) -> httpx.Client:
    sandbox = Sandbox(profile=profile, throttle=False)
    return sandbox.client(headers={"Authorization": f"Bearer {sandbox.api_key}"})


@pytest.fixture(params=PROFILES, ids=lambda p: p.name)
def any_http(request) -> Iterator[httpx.Client]:
    with make_http(request.param) as http:
        yield http


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with make_http() as client:
        yield client


def seed_people(http: httpx.Client) -> None:
    assert http.post("/rest/companies", json={"id": COMPANY_1, "name": "Acme"}).status_code == 201
    people = [
        {"id": PERSON_1, "companyId": COMPANY_1, "name": {"firstName": "John", "lastName": "Doe"}},
        {"id": PERSON_2, "companyId": COMPANY_1, "name": {"firstName": "John", "lastName": "Doe"}},
        {"id": PERSON_3, "name": {"firstName": "Phil", "lastName": "Collins"}},
    ]
    assert http.post("/rest/batch/people", json=people).status_code == 201


# -- find one: malformed id (rest-api-core-find-one) ------------------------------------------


def test_find_one_with_malformed_uuid_is_400(any_http):
    response = any_http.get("/rest/people/malformed-uuid")
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequestException"
    assert response.json()["messages"] == ["'malformed-uuid' is not a valid UUID"]


# -- fields= (rest-api-core-field-projection) --------------------------------------------------


@pytest.mark.parametrize("batch", [False, True])
def test_fields_projects_create_and_restore_while_keeping_stored_fields(http, batch):
    person = {"id": PERSON_1, "jobTitle": "Projection test"}
    created = http.post(
        "/rest/batch/people?fields=id" if batch else "/rest/people?fields=id",
        json=[person] if batch else person,
    )
    assert created.status_code == 201
    data = created.json()["data"]
    assert (data["createPeople"] if batch else [data["createPerson"]]) == [{"id": PERSON_1}]
    assert http.delete(f"/rest/people/{PERSON_1}?soft_delete=true").status_code == 200
    restored = http.patch(
        f"/rest/people/restore?filter=id[eq]:{PERSON_1}&fields=id"
        if batch
        else f"/rest/people/{PERSON_1}/restore?fields=id"
    )
    assert restored.status_code == 200
    data = restored.json()["data"]
    assert (data["restorePeople"] if batch else [data["restorePerson"]]) == [{"id": PERSON_1}]
    fetched = http.get(f"/rest/people/{PERSON_1}").json()["data"]["person"]
    assert fetched["jobTitle"] == "Projection test"
    projected = http.get(f"/rest/people/{PERSON_1}?fields=id, jobTitle,id").json()
    assert projected["data"]["person"] == person


def test_fields_refuses_unknown_and_empty_lists(http):
    unknown = http.get(f"/rest/people/{PERSON_1}?fields=id,nope,alsoNope")
    assert unknown.status_code == 400
    assert unknown.json()["messages"] == [
        "'fields' parameter invalid. Unknown or unreadable fields on 'person': nope, alsoNope"
    ]
    empty = http.post("/rest/people?fields=,", json={})
    assert empty.status_code == 400
    assert empty.json()["messages"][0].startswith("'fields' parameter is empty.")
    assert http.get("/rest/people").json()["totalCount"] == 0  # nothing was written


def test_fields_is_ignored_by_the_1x_profile():
    with make_http(PROFILE_1X) as http:
        created = http.post("/rest/people?fields=nope", json={"id": PERSON_1})
        assert created.status_code == 201
        assert "createdAt" in created.json()["data"]["createPerson"]


# -- empty cursors -----------------------------------------------------------------------------


def test_empty_cursors_are_ignored(any_http):
    seed_people(any_http)
    for query in ("starting_after=", "ending_before=", "starting_after=&ending_before="):
        response = any_http.get(f"/rest/people?{query}&limit=2")
        assert response.status_code == 200, query
        body = response.json()
        assert [p["id"] for p in body["data"]["people"]] == [PERSON_1, PERSON_2]
        assert body["pageInfo"]["hasNextPage"] is True


# -- duplicates (rest-api-core-find-duplicates) ------------------------------------------------


def test_duplicates_by_data_and_by_ids(any_http):
    seed_people(any_http)
    by_data = any_http.post(
        "/rest/people/duplicates",
        json={"data": [{"name": {"firstName": "John", "lastName": "Doe"}}]},
    )
    assert by_data.status_code == 200
    [info] = by_data.json()["data"]
    assert info["totalCount"] == 2
    assert [p["id"] for p in info["personDuplicates"]] == [PERSON_1, PERSON_2]
    [info] = any_http.post("/rest/people/duplicates", json={"ids": [PERSON_1]}).json()["data"]
    assert info["totalCount"] == 1
    assert [p["id"] for p in info["personDuplicates"]] == [PERSON_2]
    missing = {"data": [{"name": {"firstName": "Not", "lastName": "Existing"}}]}
    [info] = any_http.post("/rest/people/duplicates", json=missing).json()["data"]
    assert (info["totalCount"], info["personDuplicates"]) == (0, [])


def test_duplicates_refusals_and_empty_ids(any_http):
    empty = any_http.post("/rest/people/duplicates", json={"data": []})
    assert empty.status_code == 400
    assert empty.json()["error"] == "BadRequestException"
    assert (
        'The "data" condition can not be empty when "ids" input not provided'
        in (empty.json()["messages"][0])
    )
    both = any_http.post("/rest/people/duplicates", json={"data": [], "ids": []})
    assert both.status_code == 400
    assert 'You cannot provide both "data" and "ids" arguments' in both.json()["messages"][0]
    none = any_http.post("/rest/people/duplicates", json={"ids": []})
    assert (none.status_code, none.json()) == (200, {"data": []})


@pytest.mark.parametrize("depth", [0, 1])
def test_duplicates_depth(any_http, depth):
    seed_people(any_http)
    body = {"data": [{"name": {"firstName": "John", "lastName": "Doe"}}]}
    [info] = any_http.post(f"/rest/people/duplicates?depth={depth}", json=body).json()["data"]
    for person in info["personDuplicates"]:
        assert person["companyId"] == COMPANY_1
        if depth:
            assert person["company"]["id"] == COMPANY_1
        else:
            assert "company" not in person


def test_company_duplicates_use_name_and_domain_criteria(any_http):
    companies = [
        {"name": "Globex", "domainName": {"primaryLinkUrl": "https://globex.com"}},
        {"name": "Other name", "domainName": {"primaryLinkUrl": "https://initech.com"}},
        {"name": "Initech"},
    ]
    created = any_http.post("/rest/batch/companies", json=companies).json()["data"]
    ids = [c["id"] for c in created["createCompanies"]]
    stored_domain = any_http.get(f"/rest/companies/{ids[1]}").json()["data"]["company"]
    probe = {"name": "Initech", "domainName": stored_domain["domainName"]}
    [info] = any_http.post("/rest/companies/duplicates", json={"data": [probe]}).json()["data"]
    assert sorted(c["id"] for c in info["companyDuplicates"]) == sorted(ids[1:])
    # Names shorter than minLengthOfStringForDuplicateCheck take no part.
    [info] = any_http.post("/rest/companies/duplicates", json={"data": [{"name": "Gl"}]}).json()[
        "data"
    ]
    assert info["totalCount"] == 0


# -- merge (rest-api-core-merge) ---------------------------------------------------------------


def test_merge_keeps_the_priority_record_and_fills_its_gaps(http):
    seed_people(http)
    http.patch(f"/rest/people/{PERSON_2}", json={"jobTitle": "CTO", "city": "Paris"})
    http.patch(f"/rest/people/{PERSON_1}", json={"city": "Lyon"})
    opportunity = http.post(
        "/rest/opportunities", json={"name": "Deal", "pointOfContactId": PERSON_2}
    )
    response = http.patch(
        "/rest/people/merge",
        json={"ids": [PERSON_1, PERSON_2], "conflictPriorityIndex": 0, "dryRun": False},
    )
    assert response.status_code == 200
    merged = response.json()["data"]["mergePerson"]
    assert (merged["id"], merged["city"], merged["jobTitle"]) == (PERSON_1, "Lyon", "CTO")
    assert http.get(f"/rest/people/{PERSON_1}").status_code == 200
    assert http.get(f"/rest/people/{PERSON_2}").status_code == 404
    moved = http.get(f"/rest/opportunities/{opportunity.json()['data']['createOpportunity']['id']}")
    assert moved.json()["data"]["opportunity"]["pointOfContactId"] == PERSON_1


def test_merge_dry_run_writes_nothing(http):
    seed_people(http)
    response = http.patch(
        "/rest/people/merge",
        json={"ids": [PERSON_1, PERSON_2], "conflictPriorityIndex": 0, "dryRun": True},
    )
    assert response.status_code == 200
    assert response.json()["data"]["mergePerson"]["id"] not in (PERSON_1, PERSON_2)
    assert http.get(f"/rest/people/{PERSON_1}").status_code == 200
    assert http.get(f"/rest/people/{PERSON_2}").status_code == 200


def test_merge_refuses_bad_arguments(http):
    seed_people(http)
    one = http.patch("/rest/people/merge", json={"ids": [PERSON_1], "conflictPriorityIndex": 0})
    assert one.status_code == 400
    index = http.patch(
        "/rest/people/merge", json={"ids": [PERSON_1, PERSON_2], "conflictPriorityIndex": 5}
    )
    assert index.status_code == 400
    assert http.get(f"/rest/people/{PERSON_2}").status_code == 200


def test_merge_and_group_by_are_record_ids_on_the_1x_profile():
    with make_http(PROFILE_1X) as http:
        assert http.patch("/rest/people/merge", json={}).status_code == 400
        assert http.get("/rest/people/groupBy").json()["messages"] == [
            "'groupBy' is not a valid UUID"
        ]


# -- groupBy (rest-api-core-group-by) ----------------------------------------------------------


def test_group_by_stage_and_weekday_with_records_and_aggregate(http):
    company = http.post("/rest/companies", json={"name": "Company 1"}).json()
    company_id = company["data"]["createCompany"]["id"]
    opportunities = [
        ("Opportunity 1", "NEW", 1_000_000_000_000, "2025-02-05T08:00:00.000Z"),  # Wednesday
        ("Opportunity 2", "NEW", 2_000_000_000_000, "2025-02-06T08:00:00.000Z"),  # Thursday
        ("Opportunity 3", "NEW", 3_000_000_000_000, "2025-02-06T08:00:00.000Z"),
        ("Opportunity 4", "SCREENING", 4_000_000_000_000, "2025-02-06T08:00:00.000Z"),
    ]
    body = [
        {
            "name": name,
            "stage": stage,
            "amount": {"amountMicros": micros, "currencyCode": "USD"},
            "closeDate": close,
            "companyId": company_id,
        }
        for name, stage, micros, close in opportunities
    ]
    assert http.post("/rest/batch/opportunities", json=body).status_code == 201
    group_by = json.dumps([{"closeDate": {"granularity": "DAY_OF_THE_WEEK"}}, {"stage": True}])
    response = http.get(
        "/rest/opportunities/groupBy",
        params={
            "group_by": group_by,
            "aggregate": '["maxAmountAmountMicros"]',
            "include_records_sample": "true",
            "order_by_for_records": "name[DescNullsFirst]",
            "limit": "10",
        },
    )
    assert response.status_code == 200
    groups = {tuple(g["groupByDimensionValues"]): g for g in response.json()}
    assert set(groups) == {("Wednesday", "NEW"), ("Thursday", "NEW"), ("Thursday", "SCREENING")}
    thursday_new = groups[("Thursday", "NEW")]
    assert thursday_new["maxAmountAmountMicros"] == "3000000000000"
    assert [r["name"] for r in thursday_new["records"]] == ["Opportunity 3", "Opportunity 2"]
    assert thursday_new["totalCount"] == 2
    filtered = http.get(
        "/rest/opportunities/groupBy",
        params={"group_by": group_by, "filter": "stage[eq]:NEW"},
    ).json()
    assert sorted(tuple(g["groupByDimensionValues"]) for g in filtered) == [
        ("Thursday", "NEW"),
        ("Wednesday", "NEW"),
    ]


def test_group_by_refuses_a_malformed_group_by(http):
    for value in (None, "not json", "[]", '[{"nope": true}]'):
        params = {} if value is None else {"group_by": value}
        response = http.get("/rest/opportunities/groupBy", params=params)
        assert response.status_code == 400, value


# -- destroy cap -------------------------------------------------------------------------------


def test_destroy_many_over_the_cap_is_refused_whole():
    cap = PROFILE_2_4X.destroy_max_records
    assert cap == 60
    with make_http() as http:
        people = [{"jobTitle": "temp"} for _ in range(cap + 1)]
        assert http.post("/rest/batch/people", json=people).status_code == 201
        refused = http.delete("/rest/people?filter=jobTitle[eq]:temp&soft_delete=false")
        assert refused.status_code == 400
        assert refused.json()["messages"] == [f"Cannot destroy more than {cap} records at once"]
        query = 'mutation { destroyPeople(filter: {jobTitle: {eq: "temp"}}) { id } }'
        answer = http.post("/graphql", json={"query": query}).json()
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert http.get("/rest/people").json()["totalCount"] == cap + 1
        http.delete(f"/rest/people/{http.get('/rest/people').json()['data']['people'][0]['id']}")
        destroyed = http.delete("/rest/people?filter=jobTitle[eq]:temp&soft_delete=false")
        assert destroyed.status_code == 200
        assert len(destroyed.json()["data"]["deletePeople"]) == cap


def test_the_1x_profile_has_no_destroy_cap():
    with make_http(PROFILE_1X) as http:
        assert http.post("/rest/batch/people", json=[{"jobTitle": "t"}] * 60).status_code == 201
        assert http.post("/rest/batch/people", json=[{"jobTitle": "t"}] * 5).status_code == 201
        destroyed = http.delete("/rest/people?filter=jobTitle[eq]:t&soft_delete=false")
        assert len(destroyed.json()["data"]["deletePeople"]) == 65


# -- GraphQL twins -----------------------------------------------------------------------------


def test_graphql_people_duplicates_by_data_and_ids(any_http):
    seed_people(any_http)
    by_data = """{ peopleDuplicates(data: [{name: {firstName: "John", lastName: "Doe"}}]) {
        totalCount edges { node { id } } pageInfo { hasNextPage } } }"""
    [connection] = any_http.post("/graphql", json={"query": by_data}).json()["data"][
        "peopleDuplicates"
    ]
    assert connection["totalCount"] == 2
    assert [e["node"]["id"] for e in connection["edges"]] == [PERSON_1, PERSON_2]
    by_ids = "query($ids: [UUID]) { peopleDuplicates(ids: $ids) { edges { node { id } } } }"
    answer = any_http.post("/graphql", json={"query": by_ids, "variables": {"ids": [PERSON_1]}})
    [connection] = answer.json()["data"]["peopleDuplicates"]
    assert [e["node"]["id"] for e in connection["edges"]] == [PERSON_2]
    both = "{ peopleDuplicates(ids: [], data: []) { totalCount } }"
    error = any_http.post("/graphql", json={"query": both}).json()["errors"][0]
    assert error["message"] == 'You cannot provide both "data" and "ids" arguments'
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_graphql_merge_people(http):
    seed_people(http)
    mutation = (
        f'mutation {{ mergePeople(ids: ["{PERSON_1}", "{PERSON_2}"], conflictPriorityIndex: 1)'
        " { id } }"
    )
    answer = http.post("/graphql", json={"query": mutation}).json()
    assert answer["data"]["mergePeople"] == {"id": PERSON_2}
    assert http.get(f"/rest/people/{PERSON_1}").status_code == 404


def test_graphql_merge_is_absent_from_the_1x_profile():
    with make_http(PROFILE_1X) as http:
        mutation = "mutation { mergePeople(ids: [], conflictPriorityIndex: 0) { id } }"
        errors = http.post("/graphql", json={"query": mutation}).json()["errors"]
        assert "Cannot query field 'mergePeople'" in errors[0]["message"]


def test_graphql_group_by_twin(http):
    body = [
        {"name": "A", "stage": "NEW", "closeDate": "2025-02-05T08:00:00.000Z"},
        {"name": "B", "stage": "NEW", "closeDate": "2025-02-06T08:00:00.000Z"},
        {"name": "C", "stage": "SCREENING", "closeDate": "2025-02-06T08:00:00.000Z"},
    ]
    assert http.post("/rest/batch/opportunities", json=body).status_code == 201
    query = """{ opportunitiesGroupBy(
        groupBy: [{closeDate: {granularity: DAY_OF_THE_WEEK}}, {stage: true}],
        filter: {stage: {eq: NEW}}) {
          groupByDimensionValues totalCount edges { node { name } } } }"""
    groups = http.post("/graphql", json={"query": query}).json()["data"]["opportunitiesGroupBy"]
    assert sorted((g["groupByDimensionValues"], g["totalCount"]) for g in groups) == [
        (["Thursday", "NEW"], 1),
        (["Wednesday", "NEW"], 1),
    ]
    unknown = "{ opportunitiesGroupBy(groupBy: [{nope: true}]) { totalCount } }"
    assert "nope" in http.post("/graphql", json={"query": unknown}).json()["errors"][0]["message"]


def test_merge_releases_absorbed_emails_and_destroys_other_objects(http):
    kept = http.post("/rest/people", json={"jobTitle": "kept"}).json()["data"]["createPerson"]
    absorbed = http.post("/rest/people", json={"emails": {"primaryEmail": "b@x.com"}}).json()
    absorbed_id = absorbed["data"]["createPerson"]["id"]
    merged = http.patch(
        "/rest/people/merge",
        json={
            "ids": [kept["id"], absorbed_id],
            "conflictPriorityIndex": 0,
            "data": {"city": "Rome"},
        },
    ).json()["data"]["mergePerson"]
    # The unique email moves to the survivor: the absorbed (soft-deleted) row lets go of it.
    assert (merged["emails"]["primaryEmail"], merged["city"]) == ("b@x.com", "Rome")
    trash = http.get("/rest/people?filter=deletedAt[is]:NOT_NULL").json()["data"]["people"]
    assert [(p["id"], p["emails"]["primaryEmail"]) for p in trash] == [(absorbed_id, None)]
    ids = [
        http.post("/rest/companies", json={"name": name}).json()["data"]["createCompany"]["id"]
        for name in ("One", "Two")
    ]
    assert http.patch("/rest/companies/merge", json={"ids": ids}).status_code == 200
    trashed = http.get("/rest/companies?filter=deletedAt[is]:NOT_NULL").json()["totalCount"]
    assert trashed == 0  # companies are destroyed, not soft-deleted
    missing = http.patch("/rest/people/merge", json={"ids": [kept["id"], PERSON_3]})
    assert (missing.status_code, missing.json()["messages"]) == (
        404,
        ["One or more records not found"],
    )
