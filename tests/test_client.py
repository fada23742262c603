"""TwentyClient: request shapes, errors, throttles, retries and secrets (httpx.MockTransport)."""

from __future__ import annotations

import json
import logging
import pickle
import threading
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.throttle import BucketConfig
from twenty_migrate.twenty.client import ClientStats, TwentyClient, connect, pascal_case
from twenty_migrate.twenty.config import ENV_VARS
from twenty_migrate.twenty.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    InsecureTransportWarning,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SchemaError,
    ServerError,
    TwentyAPIError,
    is_duplicate_error,
)
from twenty_migrate.twenty.ratelimit import JITTER_STEP, RateLimit, RetryPolicy

KEY = "tw-test-key-0123456789-SECRETabcd"
BASE = "https://crm.example.com"

OBJECTS = [
    {
        "nameSingular": "person",
        "namePlural": "people",
        "fields": [
            {"name": "id", "type": "UUID", "isActive": True},
            {"name": "name", "type": "FULL_NAME", "isActive": True},
            {"name": "emails", "type": "EMAILS", "isActive": True},
            {"name": "phones", "type": "PHONES", "isActive": True},
            {"name": "jobTitle", "type": "TEXT", "isActive": True},
            {"name": "oldField", "type": "TEXT", "isActive": False},
            {"name": "searchVector", "type": "TS_VECTOR", "isActive": True},
            {"name": "createdBy", "type": "ACTOR", "isActive": True},
            {
                "name": "company",
                "type": "RELATION",
                "isActive": True,
                "settings": {"relationType": "MANY_TO_ONE", "joinColumnName": "companyId"},
            },
            {
                "name": "taskTargets",
                "type": "RELATION",
                "isActive": True,
                "settings": {"relationType": "ONE_TO_MANY"},
            },
        ],
    },
    {"nameSingular": "company", "namePlural": "companies", "fields": []},
    {"nameSingular": "taskTarget", "namePlural": "taskTargets", "fields": []},
]


class Server:
    """A scripted Twenty: metadata is always served; other requests go to ``answer``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response], clock: Any) -> None:
        self.answer = answer
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.auth: list[str] = []
        self.metadata_calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/rest/metadata/objects":
            self.metadata_calls += 1
            return httpx.Response(
                200, json={"data": {"objects": OBJECTS}, "pageInfo": {"hasNextPage": False}}
            )
        self.requests.append(request)
        self.times.append(self.clock.now)
        self.auth.append(request.headers.get("authorization", ""))
        return self.answer(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def make(fake_clock):
    """Build a client on a scripted server, both on the fake clock."""
    return lambda answer, **kwargs: _make(fake_clock, answer, **kwargs)


def _make(clock, answer, **kwargs) -> tuple[TwentyClient, Server, Any]:
    server = Server(answer, clock)
    kwargs.setdefault("retry", RetryPolicy(jitter=0))
    client = TwentyClient(
        base_url=BASE,
        api_key=KEY,
        transport=httpx.MockTransport(server),
        clock=clock,
        sleep=clock.sleep,
        **kwargs,
    )
    return client, server, clock


def gql_data(root: str, value: object) -> httpx.Response:
    return httpx.Response(200, json={"data": {root: value}})


def gql_error(message: str, **extensions: object) -> httpx.Response:
    return httpx.Response(
        200, json={"data": None, "errors": [{"message": message, "extensions": extensions}]}
    )


def scripted(*answers: httpx.Response | Exception):
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return answer


# ------------------------------------------------------------------ request shapes


def test_create_many_graphql_shape(make):
    client, server, _ = make(scripted(gql_data("createPeople", [{"id": "1"}, {"id": "2"}])))
    records = [{"name": {"firstName": "Ada"}}, {"name": {"firstName": "Alan"}}]
    assert client.create_many("person", records, fields="id name { firstName }") == [
        {"id": "1"},
        {"id": "2"},
    ]
    (request,) = server.requests
    assert (request.method, request.url.path) == ("POST", "/graphql")
    body = json.loads(request.content)
    assert "mutation CreateMany($data: [PersonCreateInput!]!, $upsert: Boolean)" in body["query"]
    assert "createPeople(data: $data, upsert: $upsert) { id name { firstName } }" in body["query"]
    assert body["variables"] == {"data": records, "upsert": True}
    assert server.auth == [f"Bearer {KEY}"]


def test_create_many_uses_plural_pascal_case(make):
    client, server, _ = make(scripted(gql_data("createTaskTargets", [])))
    client.create_many("taskTarget", [{"taskId": "t"}], upsert=False)
    body = server.bodies()[0]
    assert "createTaskTargets(" in body["query"] and "[TaskTargetCreateInput!]!" in body["query"]
    assert body["variables"]["upsert"] is False
    assert pascal_case("people") == "People" and pascal_case("taskTargets") == "TaskTargets"


def test_create_many_rest_shape(make):
    answer = httpx.Response(201, json={"data": {"createPeople": [{"id": "9"}]}})
    client, server, _ = make(scripted(answer))
    assert client.create_many("people", [{"id": "9"}], api="rest") == [{"id": "9"}]
    (request,) = server.requests
    assert (request.method, request.url.path, request.url.params["upsert"]) == (
        "POST",
        "/rest/batch/people",
        "true",
    )
    assert json.loads(request.content) == [{"id": "9"}]


def test_create_many_rest_accepts_the_older_answer_shape(make):
    client, _, _ = make(scripted(httpx.Response(201, json={"data": {"people": [{"id": "9"}]}})))
    assert client.create_many("people", [{"id": "9"}], api="rest", upsert=False) == [{"id": "9"}]


def test_create_many_empty_and_bad_api(make):
    client, server, _ = make(scripted(gql_data("createPeople", [])))
    assert client.create_many("people", []) == []
    assert server.requests == []
    with pytest.raises(ValueError, match="api"):
        client.create_many("people", [{}], api="soap")


def test_object_names_from_cached_metadata(make):
    client, server, _ = make(scripted(gql_data("x", None)))
    assert client.object_names("person") == ("person", "people")
    assert client.object_names("people") == ("person", "people")
    assert client.object_names("taskTargets") == ("taskTarget", "taskTargets")
    assert server.metadata_calls == 1
    with pytest.raises(SchemaError, match="'people'"):
        client.object_names("peoples")
    assert server.metadata_calls == 2  # one reload for an unknown name


def test_default_selection_from_metadata(make):
    client, _, _ = make(scripted(gql_data("x", None)))
    selection = client.default_fields("people")
    assert selection.startswith(
        "id name { firstName lastName } emails { primaryEmail additionalEmails }"
    )
    assert "additionalPhones { number countryCode callingCode }" in selection
    assert "createdBy { source workspaceMemberId name context { provider } }" in selection
    assert "jobTitle" in selection and "companyId" in selection
    for absent in ("oldField", "searchVector", "taskTargets", "company {"):
        assert absent not in selection


def page(nodes, has_next, cursor):
    return gql_data(
        "people",
        {
            "edges": [{"node": n} for n in nodes],
            "pageInfo": {"hasNextPage": has_next, "endCursor": cursor},
        },
    )


def test_iter_records_follows_cursors_until_the_last_page(make):
    client, server, _ = make(
        scripted(
            page([{"id": "1"}, {"id": "2"}], True, "c2"),
            page([{"id": "3"}], True, "c3"),
            page([], False, None),
        )
    )
    records = list(
        client.iter_records("person", fields="id", page_size=2, filter={"jobTitle": {"eq": "CTO"}})
    )
    assert [r["id"] for r in records] == ["1", "2", "3"]
    variables = [b["variables"] for b in server.bodies()]
    assert variables == [
        {"filter": {"jobTitle": {"eq": "CTO"}}, "first": 2},
        {"filter": {"jobTitle": {"eq": "CTO"}}, "first": 2, "after": "c2"},
        {"filter": {"jobTitle": {"eq": "CTO"}}, "first": 2, "after": "c3"},
    ]
    query = server.bodies()[0]["query"]
    assert "query FindMany($filter: PersonFilterInput, $first: Int)" in query
    assert (
        "people(filter: $filter, first: $first) { edges { node { id } } "
        "pageInfo { hasNextPage endCursor } }" in query
    )


def test_iter_records_with_deleted_and_order_by(make):
    client, server, _ = make(scripted(page([], False, None)))
    list(
        client.iter_records(
            "people", fields="id", with_deleted=True, order_by=[{"createdAt": "AscNullsFirst"}]
        )
    )
    variables = server.bodies()[0]["variables"]
    assert variables["filter"] == {
        "or": [{"deletedAt": {"is": "NULL"}}, {"deletedAt": {"is": "NOT_NULL"}}]
    }
    assert variables["orderBy"] == [{"createdAt": "AscNullsFirst"}]
    assert "$orderBy: [PersonOrderByInput]" in server.bodies()[0]["query"]


def test_iter_records_refuses_a_cursor_that_does_not_advance(make):
    client, _, _ = make(
        scripted(page([{"id": "1"}], True, "same"), page([{"id": "1"}], True, "same"))
    )
    with pytest.raises(Exception, match="did not advance"):
        list(client.iter_records("people", fields="id"))


def test_iter_records_switches_composite_selection_style_once(make):
    calls = []

    def answer(request):
        query = json.loads(request.content)["query"]
        calls.append(query)
        if "number countryCode" in query:
            return gql_error(
                'Field "additionalPhones" must not have a selection since type "RawJSONScalar" '
                "has no subfields.",
                code="GRAPHQL_VALIDATION_FAILED",
            )
        return page([{"id": "1"}], False, None)

    client, _, _ = make(answer)
    assert [r["id"] for r in client.iter_records("people")] == ["1"]
    assert len(calls) == 2 and "number countryCode" not in calls[1]
    list(client.iter_records("people"))
    assert len(calls) == 3  # remembered


def test_find_by_ids_chunks_by_60(make):
    def answer(request):
        ids = json.loads(request.content)["variables"]["filter"]["and"][0]["id"]["in"]
        return page([{"id": i} for i in ids], False, None)

    client, server, _ = make(answer)
    ids = [f"id-{n}" for n in range(130)] + ["id-0"]
    found = client.find_by_ids("people", ids)
    assert [r["id"] for r in found] == [f"id-{n}" for n in range(130)]
    sizes = [len(b["variables"]["filter"]["and"][0]["id"]["in"]) for b in server.bodies()]
    assert sizes == [60, 60, 10]
    assert [b["variables"]["first"] for b in server.bodies()] == [60, 60, 10]


def test_delete_many_soft_and_destroy(make):
    def answer(request):
        body = json.loads(request.content)
        root = "destroyPeople" if "destroyPeople" in body["query"] else "deletePeople"
        flt = body["variables"]["filter"]
        ids = (flt["and"][0] if "and" in flt else flt)["id"]["in"]
        return gql_data(root, [{"id": i} for i in ids])

    client, server, _ = make(answer)
    ids = [f"id-{n}" for n in range(61)]
    assert client.delete_many("people", ids) == ids
    assert client.delete_many("people", ids[:3], destroy=True) == ids[:3]
    bodies = server.bodies()
    assert (
        "mutation DeleteMany($filter: PersonFilterInput!) { deletePeople(filter: $filter) { id } }"
        in bodies[0]["query"]
    )
    assert bodies[0]["variables"] == {"filter": {"id": {"in": ids[:60]}}}
    assert "destroyPeople(filter: $filter)" in bodies[2]["query"]
    assert "deletedAt" in json.dumps(bodies[2]["variables"])  # soft-deleted rows are destroyed too


def test_rest_paths_and_metadata_endpoint(make):
    def answer(request):
        if request.url.path == "/metadata":
            return httpx.Response(200, json={"data": {"objects": {"edges": []}}})
        return httpx.Response(200, json={"data": {"people": []}, "path": request.url.path})

    client, server, _ = make(answer)
    assert client.rest("GET", "people", params={"limit": 5})["path"] == "/rest/people"
    assert client.rest("get", "/rest/people/abc")["path"] == "/rest/people/abc"
    assert client.metadata("query { objects { edges { node { id } } } }") == {
        "objects": {"edges": []}
    }
    assert [r.url.path for r in server.requests] == [
        "/rest/people",
        "/rest/people/abc",
        "/metadata",
    ]
    assert server.requests[0].url.params["limit"] == "5"


def test_metadata_calls_are_not_charged_to_the_limiter(make):
    rate = RateLimit(short_limit=1, long_limit=1, long_window=60.0)
    client, server, clock = make(scripted(gql_data("createPeople", [])), rate_limit=rate)
    client.create_many("people", [{}])  # metadata GET, then the write
    client.metadata("query { objects { totalCount } }")
    client.rest("GET", "metadata/objects")
    assert clock.slept == []
    client.create_many("people", [{}])
    assert clock.slept == [pytest.approx(60.05)]


# ------------------------------------------------------------------ errors


def test_rest_errors_raise_the_tree_with_twentys_message(make):
    body = {"statusCode": 404, "error": "NotFoundException", "messages": ["Record not found"]}
    client, _, _ = make(scripted(httpx.Response(404, json=body)))
    with pytest.raises(NotFoundError) as info:
        client.rest("GET", "people/abc")
    assert str(info.value) == "Record not found"
    assert info.value.code == "NotFoundException"
    assert info.value.url == f"{BASE}/rest/people/abc"
    assert client.stats.errors == 1


def test_graphql_errors_raise_the_tree_with_codes(make):
    answer = gql_error(
        "Invalid UUID value 'x' for field \"companyId\"",
        code="BAD_USER_INPUT",
        subCode="INVALID_ARGS_DATA",
        userFriendlyMessage="Bad id.",
    )
    client, server, _ = make(scripted(answer))
    with pytest.raises(BadRequestError) as info:
        client.create_many("people", [{"companyId": "x"}])
    assert (info.value.code, info.value.sub_code) == ("BAD_USER_INPUT", "INVALID_ARGS_DATA")
    assert info.value.messages == ["Invalid UUID value 'x' for field \"companyId\""]
    assert len(server.requests) == 1


def test_graphql_unauthenticated(make):
    client, _, _ = make(scripted(gql_error("Unauthenticated", code="UNAUTHENTICATED")))
    with pytest.raises(AuthenticationError, match="Unauthenticated"):
        client.graphql("query { people { totalCount } }")


def test_non_json_answer_is_reported(make):
    client, _, _ = make(scripted(httpx.Response(200, text="<html>login</html>")))
    with pytest.raises(Exception, match="not JSON"):
        client.graphql("query { x }")


# ------------------------------------------------------------------ throttles


def test_rest_429_without_retry_after_waits_as_the_limiter_says(make):
    body = {
        "statusCode": 429,
        "error": "HttpException",
        "messages": ["Limit reached (100 tokens per 60000 ms)"],
    }
    ok = httpx.Response(201, json={"data": {"createPeople": [{"id": "1"}]}})
    client, server, clock = make(scripted(httpx.Response(429, json=body), ok))
    assert client.create_many("people", [{}], api="rest", upsert=False) == [{"id": "1"}]
    assert len(server.requests) == 2
    # A group of 20 tokens (60 s / 100 each) plus the guard, widened after a throttle the
    # budget does not explain.
    assert server.times[1] - server.times[0] == pytest.approx(20 * 0.6 + 0.05 + JITTER_STEP)
    assert client.stats.snapshot() == {
        "calls": 3,  # metadata + two attempts
        "throttled": 1,
        "retried": 0,
        "server_errors": 0,
        "dropped": 0,
        "errors": 0,
    }


def test_rest_429_with_retry_after_is_honoured_and_budget_learned(make):
    body = {
        "statusCode": 429,
        "error": "RATE_LIMITED",
        "messages": ["Rate limit exceeded for apiKey: 50 requests per 60s."],
    }
    throttled = httpx.Response(
        429, json=body, headers={"Retry-After": "12", "X-RateLimit-Limit": "50"}
    )
    client, server, _ = make(scripted(throttled, httpx.Response(200, json={"data": {}})))
    client.rest("GET", "people")
    # One token at the Retry-After instant, then the rest of a group at the learned budget.
    assert server.times[1] - server.times[0] == pytest.approx(12 + 19 * 1.2 + 0.05)
    assert client.limiter is not None and client.limiter.rate_limit.long_limit == 50
    assert client.stats.throttled == 1 and client.stats.errors == 0


def test_graphql_limit_reached_is_retried_and_learned(make):
    throttled = gql_error(
        "Limit reached (50 tokens per 60000 ms)", code="BAD_USER_INPUT", subCode="LIMIT_REACHED"
    )
    client, server, _ = make(scripted(throttled, gql_data("createPeople", [{"id": "1"}])))
    assert client.create_many("people", [{}], upsert=False) == [{"id": "1"}]
    assert len(server.requests) == 2
    assert server.times[1] - server.times[0] == pytest.approx(20 * 60 / 50 + 0.05)
    assert client.limiter is not None and client.limiter.rate_limit.long_limit == 50
    assert client.stats.throttled == 1 and client.stats.retried == 0


def test_graphql_rate_limited_with_retry_after_ms(make):
    throttled = gql_error(
        "Rate limit exceeded for apiKey: 100 requests per 60s.",
        code="RATE_LIMITED",
        retryAfterMs=2500,
    )
    client, server, _ = make(scripted(throttled, gql_data("createPeople", [])))
    client.create_many("people", [{}], upsert=False)
    assert server.times[1] - server.times[0] == pytest.approx(2.5 + 19 * 0.6 + 0.05 + JITTER_STEP)


def test_x_ratelimit_limit_header_alone_teaches_the_long_window(make):
    throttled = httpx.Response(
        429, json={"statusCode": 429, "messages": ["slow"]}, headers={"X-RateLimit-Limit": "40"}
    )
    client, _, _ = make(scripted(throttled, httpx.Response(200, json={})))
    client.rest("GET", "people")
    assert client.limiter is not None and client.limiter.rate_limit.long_limit == 40


def test_throttle_without_client_limiter_sleeps_retry_after(make):
    throttled = httpx.Response(429, json={"messages": ["x"]}, headers={"Retry-After": "3"})
    client, server, clock = make(scripted(throttled, httpx.Response(200, json={})), rate_limit=None)
    client.rest("GET", "people")
    assert clock.slept == [3.0] and len(server.requests) == 2


def test_endless_throttling_gives_up_after_max_throttled(make):
    throttled = httpx.Response(429, json={"messages": ["Limit reached (100 tokens per 60000 ms)"]})
    client, server, _ = make(scripted(throttled), retry=RetryPolicy(max_throttled=3))
    with pytest.raises(RateLimitError):
        client.rest("POST", "people", json={})
    assert len(server.requests) == 4
    assert client.stats.throttled == 4 and client.stats.errors == 1


# ------------------------------------------------------------------ retries


def test_dropped_answer_on_a_plain_create_is_not_resent(make):
    client, server, _ = make(
        scripted(httpx.RemoteProtocolError("Server disconnected without sending a response."))
    )
    with pytest.raises(APIConnectionError) as info:
        client.create_many("people", [{"name": {"firstName": "Ada"}}])  # no ids: not idempotent
    assert info.value.maybe_applied is True
    assert "may have applied" in str(info.value)
    assert len(server.requests) == 1
    assert client.stats.dropped == 1 and client.stats.retried == 0


def test_dropped_answer_on_an_idempotent_upsert_is_resent(make):
    drop = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    client, server, clock = make(
        scripted(drop, httpx.ReadTimeout("slow"), gql_data("createPeople", [{"id": "a"}]))
    )
    assert client.create_many("people", [{"id": "a"}], upsert=True) == [{"id": "a"}]
    assert len(server.requests) == 3
    assert clock.slept == [0.5, 1.0]  # exponential backoff (jitter off in these tests)
    assert client.stats.snapshot()["retried"] == 2 and client.stats.dropped == 2


def test_timeout_after_sending_a_non_idempotent_call(make):
    client, server, _ = make(scripted(httpx.ReadTimeout("timed out")))
    with pytest.raises(APIConnectionError) as info:
        client.create_many("people", [{"id": "a"}], upsert=False)  # plain create: not idempotent
    assert info.value.maybe_applied is True and len(server.requests) == 1


def test_refused_connection_is_retried_even_for_writes(make):
    client, server, _ = make(scripted(httpx.ConnectError("refused"), gql_data("createPeople", [])))
    client.create_many("people", [{}], upsert=False)
    assert len(server.requests) == 2 and client.stats.retried == 1


def test_server_errors_are_retried_only_when_idempotent(make):
    body = {
        "statusCode": 500,
        "error": "InternalServerErrorException",
        "messages": ["Unexpected error."],
    }
    client, server, _ = make(
        scripted(httpx.Response(500, json=body)), retry=RetryPolicy(max_attempts=3, jitter=0)
    )
    with pytest.raises(ServerError, match="Unexpected error"):
        client.create_many("people", [{}], upsert=True)  # no ids
    assert len(server.requests) == 1
    with pytest.raises(ServerError):
        client.rest("GET", "people")
    assert len(server.requests) == 4  # 1 + 3 attempts
    assert client.stats.server_errors == 4 and client.stats.retried == 2


def test_graphql_internal_error_on_a_query_is_retried(make):
    client, server, _ = make(
        scripted(
            gql_error("Unexpected error.", code="INTERNAL_SERVER_ERROR"), page([], False, None)
        )
    )
    assert list(client.iter_records("people", fields="id")) == []
    assert len(server.requests) == 2 and client.stats.server_errors == 1


def test_graphql_mutation_defaults_to_not_idempotent(make):
    client, server, _ = make(scripted(httpx.Response(502, text="bad gateway")))
    with pytest.raises(ServerError):
        client.graphql('mutation { deletePerson(id: "x") { id } }')
    assert len(server.requests) == 1
    with pytest.raises(ServerError):
        client.graphql("# comment\nmutation M { x }", idempotent=True)
    assert len(server.requests) == 7


# ------------------------------------------------------------------ secrets


def test_the_key_never_leaks(make, caplog):
    caplog.set_level(logging.DEBUG, logger="twenty_migrate")
    body = {"statusCode": 400, "error": "BadRequestException", "messages": ["bad"]}
    client, _, _ = make(
        scripted(httpx.Response(400, json=body), httpx.RemoteProtocolError("gone")), rate_limit=None
    )
    texts = [repr(client), str(client), repr(client.settings), str(client.stats)]
    for call in (lambda: client.rest("GET", "people"), lambda: client.create_many("people", [{}])):
        with pytest.raises(TwentyAPIError) as info:
            call()
        error = info.value
        assert error.request is not None
        texts += [str(error), repr(error), repr(error.request), str(dict(error.request.headers))]
        if error.response is not None:
            texts.append(str(dict(error.response.request.headers)))
        cause = error.__cause__
        if cause is not None:
            texts += [str(cause), repr(cause)]
            if isinstance(cause, httpx.RequestError) and cause._request is not None:
                texts.append(str(dict(cause.request.headers)))
        assert KEY.encode() not in pickle.dumps(error)
    texts += [record.getMessage() for record in caplog.records]
    assert any("[redacted]" in record.getMessage() for record in caplog.records)
    assert all(KEY not in text for text in texts)
    assert "api_key='…abcd'" in repr(client)


def test_insecure_transport_warning():
    with pytest.warns(InsecureTransportWarning, match="crm.example.com"):
        TwentyClient(base_url="http://crm.example.com", api_key=KEY).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for url in (
            "https://crm.example.com",
            "http://localhost:3000",
            "http://127.0.0.5",
            "http://[::1]:3000",
        ):
            TwentyClient(base_url=url, api_key=KEY).close()
        # An injected transport (the in-process sandbox) never leaves the process.
        transport = httpx.MockTransport(lambda r: httpx.Response(200))
        TwentyClient(
            base_url="http://sandbox.twenty.local", api_key=KEY, transport=transport
        ).close()


# ------------------------------------------------------------------ configuration


def test_missing_key_or_url_is_a_config_error():
    with pytest.raises(ConfigError, match="TWENTY_API_KEY"):
        TwentyClient(base_url=BASE)
    with pytest.raises(ConfigError, match="TWENTY_API_URL"):
        TwentyClient(api_key=KEY)
    with pytest.raises(ConfigError, match="http"):
        TwentyClient(base_url="crm.example.com", api_key=KEY)


def test_connection_from_environment_and_env_file(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(f"TWENTY_API_URL={BASE}/rest/\nTWENTY_API_KEY='{KEY}'\n")
    with TwentyClient() as client:
        assert client.base_url == BASE
    monkeypatch.setenv("TWENTY_API_URL", "https://other.example.com")
    monkeypatch.setenv("TWENTY_MIGRATE_LONG_LIMIT", "50")
    client = TwentyClient.from_env()
    assert client.base_url == "https://other.example.com"
    assert client.limiter is not None and client.limiter.rate_limit.long_limit == 50
    assert TwentyClient(rate_limit=None).limiter is None
    assert TwentyClient(env_file=None, base_url=BASE, api_key=KEY).limiter is not None


# ------------------------------------------------------------------ threads


def test_one_client_shared_by_threads(make):
    client, server, _ = make(lambda r: gql_data("createPeople", [{"id": "x"}]), rate_limit=None)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(25):
                client.create_many("people", [{}])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(server.requests) == 200
    assert client.stats.calls == 201 and server.metadata_calls == 1


def test_client_stats_snapshot_is_a_copy():
    stats = ClientStats()
    stats.add(calls=2, throttled=1)
    snap = stats.snapshot()
    stats.add(calls=1)
    assert snap["calls"] == 2 and stats.calls == 3


# ------------------------------------------------------------------ against the sandbox


@pytest.fixture
def on_sandbox(fake_clock):
    """Build a client and a sandbox sharing one fake clock (nobody sleeps for real)."""
    return lambda **kwargs: _on_sandbox(fake_clock, **kwargs)


def _on_sandbox(clock, **sandbox_kwargs) -> tuple[TwentyClient, Sandbox, Any]:
    sandbox = Sandbox(twenty_version="1", clock=clock, sleep=clock.sleep, **sandbox_kwargs)
    client = TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        clock=clock,
        sleep=clock.sleep,
        retry=RetryPolicy(jitter=0),
    )
    return client, sandbox, clock


def people(n: int, start: int = 0, *, ids: bool = False) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"name": {"firstName": f"P{i}"}, "emails": {"primaryEmail": f"p{i}@example.com"}}
        for i in range(start, start + n)
    ]
    if ids:
        for record in records:
            record["id"] = str(uuid.uuid4())
    return records


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_sandbox_create_many_and_upsert(on_sandbox, api):
    client, sandbox, _ = on_sandbox()
    created = client.create_many("people", people(3), api=api, upsert=False)
    assert len(created) == 3 and all(r["id"] for r in created)
    assert sandbox.engine.count("people") == 3
    # Upsert matches the unique email: the name changes, no row is added.
    again = [{"name": {"firstName": "Renamed"}, "emails": {"primaryEmail": "p1@example.com"}}]
    updated = client.create_many("person", again, api=api, fields="id name { firstName }")
    assert sandbox.engine.count("people") == 3
    stored = sandbox.engine.get("people", updated[0]["id"])
    assert stored["name"]["firstName"] == "Renamed"
    # A plain create of the same email is refused as a duplicate.
    with pytest.raises(BadRequestError) as info:
        client.create_many("people", again, api=api, upsert=False)
    assert is_duplicate_error(info.value)


def test_sandbox_too_many_records_is_a_bad_request(on_sandbox):
    client, _, _ = on_sandbox()
    with pytest.raises(BadRequestError, match="Maximum number of records"):
        client.create_many("people", people(61))


def test_sandbox_iter_records_paginates_past_200_with_full_selection(on_sandbox):
    client, sandbox, _ = on_sandbox()
    for start in range(0, 250, 60):
        client.create_many("people", people(min(60, 250 - start), start), upsert=False)
    records = list(client.iter_records("people"))  # fields=None: every field from metadata
    assert len(records) == 250 == sandbox.engine.count("people")
    assert len({r["id"] for r in records}) == 250
    first = records[0]
    assert {"id", "name", "emails", "phones", "createdBy", "companyId"} <= set(first)
    assert set(first["name"]) == {"firstName", "lastName"}
    graphql_calls = [r for r in sandbox.requests if r.path == "/graphql"]
    assert len(graphql_calls) == 5 + 5  # 5 writes of up to 60, then 5 pages of 60


def test_sandbox_find_by_ids_and_delete_many(on_sandbox):
    client, sandbox, _ = on_sandbox()
    created = []
    for start in range(0, 130, 60):
        created += client.create_many("people", people(min(60, 130 - start), start), upsert=False)
    ids = [r["id"] for r in created]
    unknown = str(uuid.uuid4())
    found = client.find_by_ids("people", [*ids, unknown], fields="id emails { primaryEmail }")
    assert sorted(r["id"] for r in found) == sorted(ids)

    assert sorted(client.delete_many("people", ids[:70])) == sorted(ids[:70])  # soft
    assert sandbox.engine.count("people") == 60
    assert sandbox.engine.count("people", with_deleted=True) == 130
    assert len(client.find_by_ids("people", ids)) == 130  # with_deleted by default
    assert len(client.find_by_ids("people", ids, with_deleted=False)) == 60
    assert len(list(client.iter_records("people", fields="id", with_deleted=True))) == 130

    destroyed = client.delete_many("people", ids[60:80], destroy=True)  # 10 soft-deleted + 10
    assert sorted(destroyed) == sorted(ids[60:80])
    assert sandbox.engine.count("people", with_deleted=True) == 110


@pytest.mark.parametrize("style", ["common", "newest"])
@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_sandbox_throttles_are_waited_out_and_the_budget_learned(on_sandbox, style, api):
    client, sandbox, clock = on_sandbox(long_limit=10)
    sandbox.rate_limit(style=style)
    start = clock.now
    for i in range(40):
        client.create_many("people", people(1, i), api=api, upsert=False)
    assert sandbox.engine.count("people") == 40
    stats = client.stats.snapshot()
    assert 1 <= stats["throttled"] <= 3 and stats["errors"] == 0 and stats["retried"] == 0
    assert client.limiter is not None and client.limiter.rate_limit.long_limit == 10
    # 10 in the burst, then 30 paced at 6 s (+2 %), plus at most a few Retry-After seconds.
    assert 30 * 6.0 <= clock.now - start <= 30 * 6.12 + 10


def test_sandbox_matched_budget_is_never_throttled(on_sandbox):
    client, sandbox, clock = on_sandbox()
    start = clock.now
    for i in range(300):
        client.create_many("people", people(1, i), upsert=False)
    assert client.stats.throttled == 0
    assert sandbox.engine.count("people") == 300
    assert clock.now - start == pytest.approx(10 * (20 * 0.6 + 0.05))


def test_sandbox_throttle_storm_is_ridden_out(on_sandbox):
    client, sandbox, clock = on_sandbox()
    start = clock.now
    sandbox.throttle_storm(5)
    client.create_many("people", people(1), upsert=False)
    assert clock.now - start >= 5
    assert client.stats.throttled >= 1 and client.stats.errors == 0


def test_sandbox_lost_answer_on_a_plain_create_is_not_resent(on_sandbox):
    client, sandbox, _ = on_sandbox()
    client.object_names("people")
    sandbox.fail_next(1, drop_response=True)
    with pytest.raises(APIConnectionError) as info:
        client.create_many("people", people(2), upsert=False)
    assert info.value.maybe_applied
    assert sandbox.engine.count("people") == 2  # applied, answer lost
    request = info.value.__cause__.request  # type: ignore[union-attr]
    assert request.headers["authorization"] == "[redacted]"
    assert sandbox.api_key not in repr(info.value) + str(dict(request.headers))


def test_sandbox_lost_answer_on_an_idempotent_upsert_is_resent(on_sandbox):
    client, sandbox, clock = on_sandbox()
    client.object_names("people")
    sandbox.fail_next(2, drop_response=True)
    records = people(3, ids=True)
    returned = client.create_many("people", records, upsert=True)
    assert sorted(r["id"] for r in returned) == sorted(r["id"] for r in records)
    assert sandbox.engine.count("people") == 3  # no duplicates
    assert client.stats.retried == 2 and client.stats.dropped == 2


def test_sandbox_server_error_on_a_read_is_retried(on_sandbox):
    client, sandbox, _ = on_sandbox()
    client.object_names("people")
    sandbox.fail_next(2, status=500)
    assert list(client.iter_records("people", fields="id")) == []
    assert client.stats.server_errors == 2 and client.stats.retried == 2


def test_sandbox_wrong_key_is_an_authentication_error():
    sandbox = Sandbox(twenty_version="1")
    client = TwentyClient(
        base_url=sandbox.base_url, api_key="not-the-key", transport=sandbox.transport()
    )
    with pytest.raises((AuthenticationError, PermissionDeniedError)):
        client.create_many("people", people(1))


def test_connect_falls_back_to_the_sample_sandbox(capsys):
    client = connect()
    banner = capsys.readouterr().err
    assert "local sandbox" in banner and "TWENTY_API_KEY" in banner and banner.count("\n") == 1
    assert client.sandbox is not None
    assert len(list(client.iter_records("people", fields="id"))) == 10
    assert client.base_url == client.sandbox.base_url


def test_connect_uses_the_workspace_when_a_key_is_set(monkeypatch, tmp_path, capsys):
    (tmp_path / ".env").write_text(f"TWENTY_API_URL={BASE}\nTWENTY_API_KEY={KEY}\n")
    seen: list[str] = []

    def workspace(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"data": {"objects": []}})

    client = connect(transport=httpx.MockTransport(workspace))
    assert client.sandbox is None and client.base_url == BASE
    assert seen == ["/rest/metadata/objects"]  # the key is checked once, off the budget
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("TWENTY_MIGRATE_SANDBOX", "1")
    assert connect().sandbox is not None


def test_the_rehearsal_sandbox_throttles_as_configured_and_keeps_its_records(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("TWENTY_MIGRATE_LONG_LIMIT", "7")
    client = connect(sandbox_db=tmp_path / "sandbox.sqlite")
    assert client.sandbox is not None
    assert client.sandbox.throttler.long == BucketConfig(7, 60_000)
    assert client.limiter is not None and client.limiter.rate_limit.long_limit == 7
    client.create_many("people", [{"name": {"firstName": "Kept"}}], upsert=False)
    again = connect(sandbox_db=tmp_path / "sandbox.sqlite")
    names = [
        p["name"]["firstName"] for p in again.iter_records("people", fields="name { firstName }")
    ]
    assert "Kept" in names and len(names) == 11
