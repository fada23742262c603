"""Fault injection: latency, scripted and random errors, lost answers, storms, the log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.app import REQUEST_LOG_MAXLEN
from twenty_migrate.sandbox.faults import Fault, FaultInjector

CREATE_PEOPLE = "mutation($data: [PersonCreateInput!]!) { createPeople(data: $data) { id } }"


def people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"emails": {"primaryEmail": f"p{i}@example.com"}} for i in range(start, start + n)]


@pytest.fixture
def sandbox(fake_clock):
    return Sandbox(twenty_version="1", throttle=False, clock=fake_clock, sleep=fake_clock.sleep)


@pytest.fixture
def http(sandbox):
    with sandbox.client() as client:
        yield client


# -- the injector on its own ----------------------------------------------------------------------


def test_scripted_faults_come_first_and_in_order():
    faults = FaultInjector(error_rate=1.0)
    faults.fail_next(1, status=503)
    faults.fail_next(1, drop_response=True)
    assert faults.pending == 2
    first, second, third = faults.next_fault(), faults.next_fault(), faults.next_fault()
    assert first is not None and first.status == 503
    assert second is not None and second.drop and second.status is None
    assert third is not None and third.status == 500  # then the random ones
    faults.clear()
    assert faults.next_fault() is None


def test_random_faults_are_repeatable_by_seed():
    def run(seed: int) -> list[tuple[Fault | None, float]]:
        faults = FaultInjector(error_rate=0.3, drop_rate=0.3, jitter_ms=10, seed=seed)
        return [(faults.next_fault(), faults.delay()) for _ in range(50)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    outcomes = [fault for fault, _ in run(7)]
    assert any(f is None for f in outcomes)
    assert any(f is not None and f.status == 500 for f in outcomes)
    assert any(f is not None and f.drop for f in outcomes)


def test_injector_validates_its_settings():
    with pytest.raises(ValueError, match="error_rate"):
        FaultInjector(error_rate=1.5)
    with pytest.raises(ValueError, match="latency_ms"):
        FaultInjector(latency_ms=-1)
    with pytest.raises(ValueError, match="status"):
        FaultInjector().fail_next(1, status=200)


# -- through the sandbox ---------------------------------------------------------------------------


def test_latency_and_jitter_use_the_injected_sleep(fake_clock):
    sandbox = Sandbox(
        twenty_version="1", latency_ms=100, jitter_ms=50, clock=fake_clock, sleep=fake_clock.sleep
    )
    with sandbox.client() as http:
        for _ in range(5):
            http.get("/rest/people")
        http.get("/rest/metadata/objects")  # not a core call: no latency
    assert len(fake_clock.slept) == 5
    assert all(0.1 <= s <= 0.15 for s in fake_clock.slept)
    assert len(set(fake_clock.slept)) > 1


def test_fail_next_rest_error_writes_nothing(http, sandbox):
    sandbox.fail_next(2, status=503)
    for _ in range(2):
        response = http.post("/rest/batch/people", json=people(3))
        assert response.status_code == 503
        assert response.json() == {
            "statusCode": 503,
            "error": "ServiceUnavailableException",
            "messages": ["Service unavailable"],
        }
    assert sandbox.engine.count("people") == 0
    assert http.post("/rest/batch/people", json=people(3)).status_code == 201
    log = list(sandbox.requests)
    assert [r.faulted for r in log] == [True, True, False]
    assert [r.status for r in log] == [503, 503, 201]


def test_fail_next_500_default_envelope(http, sandbox):
    sandbox.fail_next()
    response = http.get("/rest/people")
    assert response.status_code == 500
    assert response.json() == {
        "statusCode": 500,
        "error": "InternalServerErrorException",
        "messages": ["Internal server error"],
    }


def test_fail_next_429_takes_the_throttle_shape_with_retry_after(http, sandbox):
    sandbox.fail_next(1, status=429, retry_after=2)
    response = http.get("/rest/people")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"] == "HttpException"
    assert response.json()["messages"][0].startswith("Limit reached (")
    assert sandbox.requests[-1].throttled and sandbox.requests[-1].faulted


def test_dropped_rest_answer_keeps_the_write(http, sandbox):
    sandbox.fail_next(1, drop_response=True)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        http.post("/rest/batch/people", json=people(4))
    assert sandbox.engine.count("people") == 4
    record = sandbox.requests[-1]
    assert record.dropped and record.faulted
    assert record.status == 201
    assert record.n_records == 4


def test_dropped_graphql_answer_keeps_the_write(http, sandbox):
    sandbox.fail_next(1, drop_response=True)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/graphql", json={"query": CREATE_PEOPLE, "variables": {"data": people(2)}})
    assert sandbox.engine.count("people") == 2
    assert sandbox.requests[-1].root_fields == ("createPeople",)
    assert sandbox.requests[-1].dropped


def test_graphql_injected_500(http, sandbox):
    sandbox.fail_next(1, status=500)
    response = http.post(
        "/graphql", json={"query": CREATE_PEOPLE, "variables": {"data": people(2)}}
    )
    assert response.status_code == 500
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert sandbox.engine.count("people") == 0


def test_graphql_injected_429_throttles_every_root_field(http, sandbox):
    sandbox.fail_next(1, status=429, retry_after=3)
    response = http.post("/graphql", json={"query": "{ people { totalCount } }"})
    assert response.status_code == 200
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert body["data"] == {"people": None}
    assert body["errors"][0]["extensions"]["subCode"] == "LIMIT_REACHED"


def test_random_errors_spare_metadata_and_unauthenticated_calls(http, sandbox):
    sandbox.set_faults(error_rate=1.0)
    assert http.get("/rest/people").status_code == 500
    assert http.post("/graphql", json={"query": "{ people { totalCount } }"}).status_code == 500
    assert http.get("/rest/metadata/objects").status_code == 200
    assert http.post("/metadata", json={"query": "{ objects { totalCount } }"}).status_code == 200
    assert http.get("/rest/people", headers={"Authorization": "Bearer x"}).status_code == 401
    sandbox.set_faults()
    assert http.get("/rest/people").status_code == 200


def test_scripted_fault_is_not_spent_on_a_refused_login(http, sandbox):
    sandbox.fail_next(1)
    assert http.get("/rest/people", headers={"Authorization": "Bearer x"}).status_code == 401
    assert sandbox.faults.pending == 1


def test_random_drops(fake_clock):
    sandbox = Sandbox(twenty_version="1", throttle=False, drop_rate=0.5, seed=3, clock=fake_clock)
    dropped = 0
    with sandbox.client() as http:
        for i in range(20):
            try:
                http.post("/rest/people", json=people(1, start=i)[0])
            except httpx.RemoteProtocolError:
                dropped += 1
    assert 0 < dropped < 20
    assert sandbox.engine.count("people") == 20  # every write applied
    assert sum(r.dropped for r in sandbox.requests) == dropped


def test_throttle_storm(http, sandbox, fake_clock):
    sandbox.throttle_storm(30)
    assert http.get("/rest/people").status_code == 429
    graphql = http.post("/graphql", json={"query": "{ people { totalCount } }"}).json()
    assert graphql["errors"][0]["extensions"]["subCode"] == "LIMIT_REACHED"
    fake_clock.advance(30)
    assert http.get("/rest/people").status_code == 200


def test_request_log_is_bounded(sandbox):
    assert sandbox.requests.maxlen == REQUEST_LOG_MAXLEN == 100_000
    with sandbox.client() as http:
        http.get("/rest/people")
    record = sandbox.requests[0]
    assert (record.method, record.path, record.status) == ("GET", "/rest/people", 200)
    assert record.root_fields == ("people",)
    assert not (record.throttled or record.dropped or record.faulted)
