"""Era-4 usage-limit answers through the whole sandbox: 429 headers and body, 402 for a
used-up allowance, 409 past ``WORKSPACE_RECORD_LIMIT``, and the ``fail_next`` shapes.

Shapes follow Twenty's unit tests
``usage-limit/utils/__tests__/usage-limit-to-rest-api-exception-handler.util.spec.ts`` and
``usage-limit-to-graphql-api-exception-handler.util.spec.ts``.
"""

from __future__ import annotations

import pytest
from conftest import FakeClock

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.engine.quotas import Quotas
from twenty_migrate.sandbox.profiles import PROFILE_1X, PROFILE_2_4X
from twenty_migrate.sandbox.server import build_parser
from twenty_migrate.sandbox.throttle import API_KEY_SPENDER_ID

CREATE_PERSON = 'mutation { createPerson(data: {jobTitle: "x"}) { id } }'
CREATE_PEOPLE = 'mutation { createPeople(data: [{jobTitle: "x"}, {jobTitle: "y"}]) { id } }'


def client_of(sandbox: Sandbox):
    return sandbox.client(headers={"Authorization": f"Bearer {sandbox.api_key}"})


# -- 429 (speed) -------------------------------------------------------------------------------


def test_newest_rest_429_headers_and_body_through_the_app():
    clock = FakeClock()
    sandbox = Sandbox(
        profile=PROFILE_2_4X, long_limit=2, clock=clock, wall_clock=lambda: 1_900_000_000.0
    )
    with client_of(sandbox) as http:
        ok = http.get("/rest/people")
        # build-rate-limit-response-headers is used by the 429 handler only.
        assert not [h for h in ok.headers if h.lower().startswith("x-ratelimit")]
        http.get("/rest/people")
        refused = http.get("/rest/people")
    assert refused.status_code == 429
    retry = int(refused.headers["Retry-After"])
    assert retry == 30  # one token of a 2-per-60 s bucket
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"] == str(1_900_000_000 + retry)
    assert refused.json() == {
        "statusCode": 429,
        "error": "RATE_LIMITED",
        "messages": ["Rate limit exceeded for apiKey: 2 requests per 60s."],
        "limitKind": "speed",
        "exhaustedKind": "limit",
        "scope": {
            "spenderType": "apiKey",
            "spenderId": API_KEY_SPENDER_ID,
            "operationType": "API_REQUEST",
        },
        "limit": 2,
        "remaining": 0,
        "periodCount": 60,
        "periodUnit": "second",
        "retryAfterSeconds": retry,
    }


def test_rate_limit_headers_on_success_when_the_profile_says_so():
    profile = PROFILE_2_4X.replace(rate_limit_headers_on_success=True)
    sandbox = Sandbox(profile=profile, long_limit=5, clock=FakeClock())
    with client_of(sandbox) as http:
        answer = http.get("/rest/people")
    assert answer.headers["X-RateLimit-Limit"] == "5"
    assert answer.headers["X-RateLimit-Remaining"] == "4"


def test_newest_graphql_rate_limited_extensions():
    sandbox = Sandbox(profile=PROFILE_2_4X, long_limit=1, clock=FakeClock())
    with client_of(sandbox) as http:
        http.post("/graphql", json={"query": CREATE_PERSON})
        answer = http.post("/graphql", json={"query": CREATE_PERSON})
    assert answer.status_code == 200
    extensions = answer.json()["errors"][0]["extensions"]
    assert extensions["code"] == "RATE_LIMITED"
    assert extensions["exhaustedKind"] == "limit"
    assert extensions["scope"]["operationType"] == "API_REQUEST"
    assert "http" not in extensions


# -- 402 (allowance) ---------------------------------------------------------------------------


def test_exhausted_allowance_refuses_rest_and_graphql_until_refilled():
    sandbox = Sandbox(profile=PROFILE_2_4X, throttle=False)
    sandbox.exhaust_allowance()
    with client_of(sandbox) as http:
        rest = http.post("/rest/people", json={"jobTitle": "x"})
        graphql = http.post("/graphql", json={"query": CREATE_PERSON})
        metadata = http.get("/rest/metadata/objects")
        sandbox.exhaust_allowance(False)
        after = http.post("/rest/people", json={"jobTitle": "x"})
    assert rest.status_code == 402
    assert "Retry-After" not in rest.headers  # never retry a used-up allowance
    body = rest.json()
    assert body["error"] == "QUOTA_EXHAUSTED"
    assert body["messages"] == ["Credit allowance exhausted for this billing period"]
    assert (body["limitKind"], body["exhaustedKind"]) == ("quota", "allowance")
    assert body["scope"] == {"spenderType": "workspace", "spenderId": None, "operationType": "ALL"}
    extensions = graphql.json()["errors"][0]["extensions"]
    assert extensions["code"] == "QUOTA_EXHAUSTED"
    assert extensions["exhaustedKind"] == "allowance"
    assert metadata.status_code == 200  # metadata is not metered
    assert after.status_code == 201
    assert sandbox.engine.count("people") == 1


def test_the_1x_profile_has_no_quotas():
    sandbox = Sandbox(profile=PROFILE_1X, throttle=False, record_limit=0)
    sandbox.exhaust_allowance()
    with client_of(sandbox) as http:
        assert http.post("/rest/people", json={}).status_code == 201
        sandbox.fail_next(status=402)
        injected = http.get("/rest/people")
    assert injected.status_code == 402
    assert injected.json()["error"] != "QUOTA_EXHAUSTED"  # a generic injected error


# -- 409 (record stock) ------------------------------------------------------------------------


def test_record_limit_refuses_a_crossing_batch_whole():
    sandbox = Sandbox(profile=PROFILE_2_4X, throttle=False, record_limit=3)
    with client_of(sandbox) as http:
        assert http.post("/rest/batch/people", json=[{}, {}]).status_code == 201
        crossing = http.post("/rest/batch/people", json=[{}, {}])
        assert sandbox.engine.count("people") == 2  # nothing of the batch was written
        graphql = http.post("/graphql", json={"query": CREATE_PEOPLE})
        assert http.post("/rest/people", json={}).status_code == 201  # exactly at the limit
        over = http.post("/rest/companies", json={"name": "Acme"})
    assert crossing.status_code == 409
    body = crossing.json()
    assert body["messages"] == ["RECORD limit reached for this workspace"]
    assert body["error"] == "QUOTA_EXHAUSTED"
    assert (body["limitKind"], body["limit"], body["remaining"]) == ("stock", 3, 1)
    extensions = graphql.json()["errors"][0]["extensions"]
    assert (extensions["code"], extensions["subCode"]) == ("QUOTA_EXHAUSTED", "STOCK_EXHAUSTED")
    assert over.status_code == 409  # the limit counts every object's records
    assert sandbox.engine.count("companies") == 0


def test_record_limit_counts_new_records_only_and_frees_on_delete():
    sandbox = Sandbox(profile=PROFILE_2_4X, throttle=False, record_limit=1)
    with client_of(sandbox) as http:
        person = http.post("/rest/people", json={"jobTitle": "a"}).json()["data"]["createPerson"]
        update = http.patch(f"/rest/people/{person['id']}", json={"jobTitle": "b"})
        upsert = http.post("/rest/people?upsert=true", json={"id": person["id"], "city": "Oslo"})
        assert http.post("/rest/people", json={}).status_code == 409
        http.delete(f"/rest/people/{person['id']}?soft_delete=true")
        assert http.post("/rest/people", json={}).status_code == 201
    assert (update.status_code, upsert.status_code) == (200, 201)


def test_set_record_limit_and_cli_flag():
    sandbox = Sandbox(profile=PROFILE_2_4X, throttle=False)
    sandbox.set_record_limit(0)
    with client_of(sandbox) as http:
        assert http.post("/rest/people", json={}).status_code == 409
        sandbox.set_record_limit(None)
        assert http.post("/rest/people", json={}).status_code == 201
    assert build_parser().parse_args(["--record-limit", "5"]).record_limit == 5
    seeded = Sandbox.with_sample_data(profile=PROFILE_2_4X, throttle=False, record_limit=18)
    with client_of(seeded) as http:  # 5 companies + 10 people + 3 opportunities = 18
        assert http.post("/rest/people", json={}).status_code == 409
    with pytest.raises(ValueError, match="record_limit"):
        Quotas(PROFILE_2_4X, record_limit=-1)


# -- fail_next shapes --------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "kind"), [(402, "allowance"), (409, "limit")])
def test_fail_next_takes_the_quota_shapes(status, kind):
    sandbox = Sandbox(profile=PROFILE_2_4X, throttle=False, record_limit=10)
    sandbox.fail_next(2, status=status)
    with client_of(sandbox) as http:
        rest = http.post("/rest/people", json={})
        graphql = http.post("/graphql", json={"query": CREATE_PERSON})
        assert http.post("/rest/people", json={}).status_code == 201
    assert rest.status_code == status
    assert rest.json()["error"] == "QUOTA_EXHAUSTED"
    assert rest.json()["exhaustedKind"] == kind
    assert graphql.status_code == 200
    assert graphql.json()["errors"][0]["extensions"]["code"] == "QUOTA_EXHAUSTED"
    assert sandbox.engine.count("people") == 1
