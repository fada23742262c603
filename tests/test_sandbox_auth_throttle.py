"""Authentication and Twenty's API-key rate limiting (twenty-api.md §1.6, §6.2, §6.3)."""

from __future__ import annotations

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.throttle import API_KEY_SPENDER_ID, RateLimitedError, Throttle

CREATE_PEOPLE = "mutation($data: [PersonCreateInput!]!) { createPeople(data: $data) { id } }"


def refusal(throttle: Throttle) -> SandboxError:
    with pytest.raises(SandboxError) as info:
        throttle.consume()
    return info.value


def drain(throttle: Throttle, n: int) -> None:
    for _ in range(n):
        throttle.consume()


# -- era 3: the JavaScript token buckets -------------------------------------------------------


def test_common_burst_then_short_bucket_refuses(fake_clock):
    throttle = Throttle(clock=fake_clock)
    drain(throttle, 100)
    error = refusal(throttle)
    assert error.message == "Limit reached (100 tokens per 1000 ms)"
    assert error.status == 429
    assert error.rest_body() == {
        "statusCode": 429,
        "error": "HttpException",
        "messages": ["Limit reached (100 tokens per 1000 ms)"],
    }
    assert error.headers == {}
    assert error.graphql_extensions()["code"] == "BAD_USER_INPUT"
    assert error.graphql_extensions()["subCode"] == "LIMIT_REACHED"


def test_common_short_bucket_is_charged_before_the_long_one_refuses(fake_clock):
    throttle = Throttle(clock=fake_clock)
    drain(throttle, 100)
    fake_clock.advance(1.0)  # short bucket full again, long bucket earned 1 token
    throttle.consume()
    error = refusal(throttle)
    assert error.message == "Limit reached (100 tokens per 60000 ms)"
    # The refused call still spent a short-bucket token: 100 - 1 (accepted) - 1 (refused).
    assert throttle.available() == (98, 0)


def test_common_fractional_refill_is_discarded_on_accepted_calls(fake_clock):
    # Long bucket alone: 100 tokens per 60 s, i.e. one token per 600 ms.
    throttle = Throttle(short_limit=10_000, clock=fake_clock)
    drain(throttle, 100)
    fake_clock.advance(0.6)
    throttle.consume()  # earned exactly one token
    fake_clock.advance(0.5)
    refusal(throttle)  # 500 ms since the last accepted call: floor(0.83) = 0
    fake_clock.advance(0.1)
    throttle.consume()  # 600 ms since the last *accepted* call: the refusal changed nothing
    fake_clock.advance(0.9)
    throttle.consume()  # 1.5 tokens earned, 1 used...
    fake_clock.advance(0.3)
    refusal(throttle)  # ...and the half token was thrown away


def test_common_bucket_refills_to_its_limit_only(fake_clock):
    throttle = Throttle(short_limit=5, long_limit=1000, clock=fake_clock)
    drain(throttle, 5)
    fake_clock.advance(3600)
    drain(throttle, 5)
    refusal(throttle)


# -- era 4: the atomic Lua script --------------------------------------------------------------


def test_newest_checks_both_buckets_before_charging(fake_clock):
    throttle = Throttle(style="newest", clock=fake_clock)
    drain(throttle, 100)
    fake_clock.advance(1.0)
    throttle.consume()
    error = refusal(throttle)
    assert isinstance(error, RateLimitedError)
    assert error.message == "Rate limit exceeded for apiKey: 100 requests per 60s."
    # Refused by the long bucket without touching the short one (100 - 1 accepted).
    short, long = throttle.available()
    assert short == pytest.approx(99)
    assert long == pytest.approx(2 / 3)


def test_newest_keeps_fractional_tokens(fake_clock):
    throttle = Throttle(short_limit=10_000, style="newest", clock=fake_clock)
    drain(throttle, 100)
    fake_clock.advance(0.3)
    refusal(throttle)
    fake_clock.advance(0.3)
    throttle.consume()  # 0.5 + 0.5 tokens add up


def test_newest_rest_and_graphql_shapes(fake_clock):
    throttle = Throttle(
        long_limit=3, style="newest", clock=fake_clock, wall_clock=lambda: 1_800_000_000.2
    )
    drain(throttle, 3)
    fake_clock.advance(0.5)
    error = refusal(throttle)
    # 0.025 tokens earned; (1 - 0.025) * 60000 / 3 = 19500 ms
    assert error.headers == {
        "Retry-After": "20",
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        # build-rate-limit-response-headers.util.ts: ceil(now in s) + retryAfterSeconds
        "X-RateLimit-Reset": str(1_800_000_001 + 20),
    }
    assert error.rest_body() == {
        "statusCode": 429,
        "error": "RATE_LIMITED",
        "messages": ["Rate limit exceeded for apiKey: 3 requests per 60s."],
        "limitKind": "speed",
        "exhaustedKind": "limit",
        "scope": {
            "spenderType": "apiKey",
            "spenderId": API_KEY_SPENDER_ID,
            "operationType": "API_REQUEST",
        },
        "limit": 3,
        "remaining": 0,
        "periodCount": 60,
        "periodUnit": "second",
        "retryAfterSeconds": 20,
    }
    extensions = error.graphql_extensions()
    assert extensions["code"] == "RATE_LIMITED"
    assert extensions["retryAfterMs"] == 19500
    assert extensions["limit"] == 3
    assert extensions["exhaustedKind"] == "limit"
    assert extensions["scope"] == {
        "spenderType": "apiKey",
        "spenderId": API_KEY_SPENDER_ID,
        "operationType": "API_REQUEST",
    }
    assert "retryAfterSeconds" not in extensions


def test_newest_short_bucket_message_and_minimum_retry_after(fake_clock):
    throttle = Throttle(short_limit=2, long_limit=1000, style="newest", clock=fake_clock)
    drain(throttle, 2)
    error = refusal(throttle)
    assert error.message == "Rate limit exceeded for apiKey: 2 requests per 1s."
    assert error.headers["Retry-After"] == "1"  # 500 ms, rounded up to at least 1 s


# -- storms, switches, configuration -----------------------------------------------------------


@pytest.mark.parametrize("style", ["common", "newest"])
def test_storm_refuses_for_its_duration_even_when_disabled(fake_clock, style):
    throttle = Throttle(style=style, enabled=False, clock=fake_clock)
    drain(throttle, 500)  # disabled: never refused
    throttle.storm(5)
    error = refusal(throttle)
    assert error.status == 429
    if style == "newest":
        assert error.headers["Retry-After"] == "5"
    fake_clock.advance(5)
    throttle.consume()


def test_configure_and_reset(fake_clock):
    throttle = Throttle(clock=fake_clock)
    throttle.configure(short_limit=2)
    drain(throttle, 2)
    refusal(throttle)
    throttle.reset()
    throttle.consume()
    with pytest.raises(ValueError, match="throttle_style"):
        throttle.configure(style="yoga")
    with pytest.raises(ValueError, match="positive"):
        Throttle(long_ttl_ms=0)


# -- through the sandbox -----------------------------------------------------------------------


@pytest.fixture
def small(fake_clock):
    sandbox = Sandbox(
        twenty_version="1", short_limit=3, long_limit=1000, clock=fake_clock, sleep=fake_clock.sleep
    )
    with sandbox.client() as http:
        yield sandbox, http


def test_rest_429_common_has_no_headers(small):
    sandbox, http = small
    for _ in range(3):
        assert http.get("/rest/people").status_code == 200
    response = http.get("/rest/people")
    assert response.status_code == 429
    assert response.json() == {
        "statusCode": 429,
        "error": "HttpException",
        "messages": ["Limit reached (3 tokens per 1000 ms)"],
    }
    assert "retry-after" not in response.headers
    assert not any(name.startswith("x-ratelimit") for name in response.headers)
    assert sandbox.requests[-1].throttled
    assert sandbox.requests[-1].status == 429


def test_rest_429_newest_has_retry_after(fake_clock):
    sandbox = Sandbox(twenty_version="2", long_limit=2, clock=fake_clock)
    with sandbox.client() as http:
        http.get("/rest/companies")
        http.get("/rest/companies")
        response = http.get("/rest/companies")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.headers["x-ratelimit-limit"] == "2"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.json()["error"] == "RATE_LIMITED"
    assert response.json()["retryAfterSeconds"] == 30


def test_graphql_charges_one_token_per_root_field(small):
    sandbox, http = small
    both = {"query": "{ people { totalCount } companies { totalCount } }"}
    assert "errors" not in http.post("/graphql", json=both).json()
    response = http.post("/graphql", json=both)
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["people"] == {"totalCount": 0}
    assert body["data"]["companies"] is None
    [error] = body["errors"]
    assert error["message"] == "Limit reached (3 tokens per 1000 ms)"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["subCode"] == "LIMIT_REACHED"
    assert sandbox.requests[-1].root_fields == ("people", "companies")
    assert sandbox.requests[-1].throttled


def test_graphql_throttled_mutation_writes_nothing(small):
    sandbox, http = small
    sandbox.throttle_storm(10)
    variables = {"data": [{"name": {"firstName": "Ada"}}]}
    body = http.post("/graphql", json={"query": CREATE_PEOPLE, "variables": variables}).json()
    assert body["data"] == {"createPeople": None}
    assert body["errors"][0]["extensions"]["subCode"] == "LIMIT_REACHED"
    assert sandbox.engine.count("people") == 0


def test_graphql_newest_rate_limited(fake_clock):
    sandbox = Sandbox(twenty_version="2", short_limit=1, clock=fake_clock)
    with sandbox.client() as http:
        http.post("/graphql", json={"query": "{ people { totalCount } }"})
        response = http.post("/graphql", json={"query": "{ people { totalCount } }"})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfterMs"] == 1000
    assert error["message"] == "Rate limit exceeded for apiKey: 1 requests per 1s."
    assert "retry-after" not in response.headers


def test_metadata_and_unauthenticated_calls_are_not_throttled(small):
    sandbox, http = small
    sandbox.throttle_storm(60)
    assert http.get("/rest/metadata/objects").status_code == 200
    assert http.post("/metadata", json={"query": "{ objects { totalCount } }"}).status_code == 200
    assert http.get("/rest/people").status_code == 429
    sandbox.throttler.reset()
    http.get("/rest/people", headers={"Authorization": "Bearer wrong"})
    assert sandbox.throttler.available()[0] == 3


def test_bad_requests_cost_no_token(small):
    sandbox, http = small
    assert http.get("/rest/persons").status_code == 400
    assert http.get("/rest/people", params={"filter": "oops"}).status_code == 400
    assert sandbox.throttler.available()[0] == 3


def test_throttle_false_never_refuses():
    sandbox = Sandbox(twenty_version="1", throttle=False, short_limit=1)
    with sandbox.client() as http:
        statuses = {http.get("/rest/people").status_code for _ in range(20)}
    assert statuses == {200}


def test_rate_limit_reconfigures(fake_clock):
    sandbox = Sandbox(twenty_version="1", clock=fake_clock)
    sandbox.rate_limit(short_limit=1, style="newest")
    with sandbox.client() as http:
        http.get("/rest/people")
        assert http.get("/rest/people").json()["error"] == "RATE_LIMITED"


# -- authentication ----------------------------------------------------------------------------


@pytest.fixture
def anonymous():
    sandbox = Sandbox(twenty_version="1", api_key="right-key")
    with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        yield sandbox, http


@pytest.mark.parametrize(
    ("authorization", "status", "error", "message"),
    [
        (None, 403, "FORBIDDEN_EXCEPTION", "Missing authentication token"),
        ("Bearer ", 403, "FORBIDDEN_EXCEPTION", "Missing authentication token"),
        ("Basic right-key", 403, "FORBIDDEN_EXCEPTION", "Missing authentication token"),
        ("Bearer aaa.bbb.ccc", 401, "UNAUTHENTICATED", "Token invalid."),
        ("Bearer invalid-token", 401, "UNAUTHENTICATED", "No payload"),
        ("Bearer right-key-but-longer", 401, "UNAUTHENTICATED", "No payload"),
    ],
)
@pytest.mark.parametrize("path", ["/rest/people", "/rest/metadata/objects"])
def test_rest_auth_errors(anonymous, authorization, status, error, message, path):
    _, http = anonymous
    headers = {} if authorization is None else {"Authorization": authorization}
    response = http.get(path, headers=headers)
    assert response.status_code == status
    assert response.json() == {"statusCode": status, "error": error, "messages": [message]}


@pytest.mark.parametrize(
    ("authorization", "code", "message"),
    [
        (None, "FORBIDDEN", "Missing authentication token"),
        ("Bearer x.y.z", "UNAUTHENTICATED", "Token invalid."),
        ("Bearer nope", "UNAUTHENTICATED", "No payload"),
    ],
)
@pytest.mark.parametrize("path", ["/graphql", "/metadata"])
def test_graphql_auth_errors(anonymous, authorization, code, message, path):
    _, http = anonymous
    headers = {} if authorization is None else {"Authorization": authorization}
    response = http.post(path, json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == message
    assert body["errors"][0]["extensions"]["code"] == code


def test_right_key_any_case_scheme(anonymous):
    _, http = anonymous
    assert (
        http.get("/rest/people", headers={"Authorization": "bearer right-key"}).status_code == 200
    )


def test_api_key_never_in_repr():
    sandbox = Sandbox(twenty_version="1", api_key="super-secret-key")
    assert "super-secret" not in repr(sandbox)
    assert "super-secret" not in repr(sandbox.app)
    with sandbox.client() as http:
        http.get("/rest/people", headers={"Authorization": "Bearer nope"})
    assert "super-secret" not in repr(list(sandbox.requests))
