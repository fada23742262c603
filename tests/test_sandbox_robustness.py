"""Whatever it is sent, the sandbox answers JSON and never 500: odd methods, HEAD, malformed
request lines, and a hypothesis fuzz of methods, paths, queries and bodies over REST and
GraphQL, on every profile."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILES

SANDBOXES = {p.name: Sandbox(profile=p, throttle=False) for p in PROFILES}
PERSON = "20202020-f0f0-4000-8000-000000000001"


def answer(profile_name: str, method: str, path: str, query: str = "", body: bytes = b""):
    sandbox = SANDBOXES[profile_name]
    return sandbox.app.handle(method, path, query, body, f"Bearer {sandbox.api_key}")


def assert_json_envelope(response) -> None:
    assert response.status < 500, (response.status, response.body[:300])
    decoded = json.loads(response.body)
    if isinstance(decoded, dict) and response.status >= 400:
        assert "messages" in decoded or "errors" in decoded, decoded


# -- methods ------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", [p.name for p in PROFILES])
@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND", "BREW", "CONNECT"])
def test_a_method_no_route_serves_is_a_json_404(profile, method):
    response = answer(profile, method, "/rest/people")
    assert response.status == 404
    assert response.json()["messages"] == [f"Cannot {method} /rest/people"]


def test_head_answers_as_get_without_a_body():
    sandbox = Sandbox(throttle=False)
    with sandbox.client(headers={"Authorization": f"Bearer {sandbox.api_key}"}) as http:
        get = http.get("/rest/people")
        head = http.head("/rest/people")
        missing = http.head("/rest/nothing-here")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]
    assert missing.status_code == 400


def test_over_http_odd_methods_and_garbage_get_json_not_html():
    sandbox = Sandbox(throttle=False)
    with sandbox.serve() as server:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            brew = http.request("BREW", "/rest/people")
            head = http.head("/rest/people")
        assert brew.status_code == 404
        assert brew.headers["content-type"].startswith("application/json")
        assert brew.json()["messages"] == ["Cannot BREW /rest/people"]
        assert head.status_code == 200
        assert head.content == b""
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(b"NOT A REQUEST LINE AT ALL\r\n\r\n")
            reply = raw.recv(65536)
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400")
    assert b"application/json" in rest
    assert b"<html" not in reply.lower()


# -- fuzz ---------------------------------------------------------------------------------------

segments = st.sampled_from(
    [
        "rest",
        "people",
        "companies",
        "batch",
        "metadata",
        "objects",
        "fields",
        "restore",
        "duplicates",
        "merge",
        "groupBy",
        PERSON,
        "x",
        "%00",
        "..",
        "🙂",
        "",
    ]
)
paths = st.one_of(
    st.lists(segments, min_size=0, max_size=5).map(lambda parts: "/" + "/".join(parts)),
    st.sampled_from(["/graphql", "/metadata", "/healthz", "/rest/people", "/rest/batch/people"]),
    st.text(max_size=30).map(lambda text: "/" + text),
)
params = st.sampled_from(
    [
        "filter",
        "order_by",
        "limit",
        "depth",
        "starting_after",
        "ending_before",
        "fields",
        "soft_delete",
        "upsert",
        "group_by",
        "aggregate",
        "include_records_sample",
    ]
)
values = st.one_of(
    st.sampled_from(
        [
            "",
            "1",
            "-1",
            "2",
            "true",
            "id[eq]:x",
            "name[",
            "(((",
            "[]",
            "[{}]",
            '[{"name":true}]',
            "id,name",
            "nope",
            PERSON,
            "NaN",
            "1e309",
        ]
    ),
    st.text(max_size=20),
)
queries = st.lists(st.tuples(params, values), max_size=4).map(
    lambda pairs: "&".join(f"{httpx.QueryParams({k: v})}" for k, v in pairs)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "name",
                    "data",
                    "ids",
                    "query",
                    "variables",
                    "emails",
                    "conflictPriorityIndex",
                    "dryRun",
                    "firstName",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)
graphql_documents = st.sampled_from(
    [
        "{ people { edges { node { id } } } }",
        "mutation { createPerson(data: {}) { id } }",
        "mutation { destroyPeople(filter: {}) { id } }",
        '{ person(filter: {id: {eq: "nope"}}) { id } }',
        "{ __typename }",
        "{",
        "",
        "query { objects { edges { node { id } } } }",
    ]
)
bodies = st.one_of(
    st.just(b""),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda doc, variables: json.dumps({"query": doc, "variables": variables}).encode(),
        graphql_documents,
        json_values,
    ),
    st.binary(max_size=40),
)
methods = st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "FOO"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    profile=st.sampled_from([p.name for p in PROFILES]),
    method=methods,
    path=paths,
    query=queries,
    body=bodies,
)
def test_fuzz_never_500_always_json(profile, method, path, query, body):
    assert_json_envelope(answer(profile, method, path, query, body))
