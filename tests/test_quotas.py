"""Quota refusals stop a run cleanly: never retried, nothing lost, finished by a resume.

Twenty's usage-limit module answers 402 when a paid allowance is used up and 409
``RECORD limit reached for this workspace`` past ``WORKSPACE_RECORD_LIMIT`` (GraphQL
``QUOTA_EXHAUSTED`` for both; twenty-api.md §13). Sending again cannot help until the limit
is raised.
"""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest
from conftest import FakeClock, sandbox_client

import twenty_migrate.twenty.errors as e
from twenty_migrate.plan.plan import build_plan
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.client import TwentyClient


def people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(n),
            "name.firstName": [f"First{i}" for i in range(n)],
            "emails.primaryEmail": [f"p{i}@example.com" for i in range(n)],
        }
    )


class QuotaAfter(TwentyClient):
    """A client whose sandbox runs out of quota after ``calls`` write calls."""

    sandbox_under_test: Sandbox
    quota_after: int
    quota_status: int

    def create_many(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.quota_after -= 1
        if self.quota_after == 0:
            self.sandbox_under_test.fail_next(1, status=self.quota_status)
        return super().create_many(*args, **kwargs)


def quota_client(sandbox: Sandbox, clock: FakeClock, after: int, status: int) -> QuotaAfter:
    client = QuotaAfter(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
        clock=clock,
        sleep=clock.sleep,
    )
    client.sandbox_under_test = sandbox
    client.quota_after = after
    client.quota_status = status
    return client


@pytest.mark.parametrize("api", ["graphql", "rest"])
@pytest.mark.parametrize("status", [402, 409])
@pytest.mark.parametrize("version", ["1", "2"])
def test_a_quota_refusal_stops_the_run_and_resume_finishes_it(
    tmp_path, clock, api, status, version
):
    sandbox = Sandbox(twenty_version=version, clock=clock, sleep=clock.sleep)
    client = quota_client(sandbox, clock, after=3, status=status)
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock, max_in_flight=1)
    plan = build_plan(people(300), "people", batch_size=50, api=api)
    result = importer.run(plan)

    # stopped at the third call, which was not retried; nothing lost, nothing failed
    assert result.status == "incomplete"
    assert (result.created, result.failed, result.pending) == (100, 0, 200)
    assert client.stats.retried == 0
    assert sandbox.engine.count("person") == 100
    message = result.message or ""
    if version == "2" and api == "graphql":
        # A GraphQL refusal comes in an HTTP 200 answer: the message names its code.
        assert "GraphQL code QUOTA_EXHAUSTED" in message and "HTTP" not in message
    else:
        assert f"HTTP {status}" in message
    if version == "2" and status == 409:
        # No limit was configured: the limit reached is what the workspace holds.
        assert "record limit (100 records) is reached" in message
    elif version == "2":
        assert "paid allowance is used up" in message and "(0" not in message
    assert "limit" in message
    assert f"resume({result.run_id!r})" in message
    assert f"twenty-migrate resume {result.run_id}" in message
    journal = RunJournal.open(tmp_path, result.run_id)
    rows = journal.rows_frame()
    marked = rows[rows["error_code"] == "QUOTA_EXHAUSTED"]
    assert len(marked) == 50 and (marked["status"] == "pending").all()
    assert list(journal.attempts_frame()["outcome"]) == ["ok", "ok", "quota"]
    journal.close()
    with pytest.raises(e.ImportFailed, match="not imported yet"):
        result.raise_for_failures()

    # the limit is raised: resume finishes the run, every row once
    finished = Importer(client, runs_dir=tmp_path, progress=None, clock=clock).resume(result.run_id)
    assert finished.status == "completed"
    assert (finished.created, finished.failed, finished.pending) == (300, 0, 0)
    assert sandbox.engine.count("person") == 300
    assert finished.rows["error_code"].isna().all()


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_the_record_limit_refusal_names_the_configured_limit(tmp_path, clock, api):
    sandbox = Sandbox(twenty_version="2", clock=clock, sleep=clock.sleep, record_limit=120)
    client = sandbox_client(sandbox, clock)
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock, max_in_flight=1)
    result = importer.run(build_plan(people(300), "people", batch_size=50, api=api))
    assert result.status == "incomplete" and (result.created, result.failed) == (100, 0)
    message = result.message or ""
    assert "record limit (120 records) is reached" in message
    answered = "GraphQL code QUOTA_EXHAUSTED" if api == "graphql" else "HTTP 409"
    assert f"({answered})" in message


def test_a_quota_refusal_of_the_first_call_loses_nothing(tmp_path, clock):
    sandbox = Sandbox(twenty_version="2", clock=clock, sleep=clock.sleep)
    client = sandbox_client(sandbox, clock)
    sandbox.fail_next(1, status=402)
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock)
    result = importer.run(build_plan(people(500), "people"))
    assert result.status == "incomplete" and result.pending == 500 and result.failed == 0
    assert client.stats.retried == 0
    assert sandbox.engine.count("person") == 0
    assert importer.resume(result.run_id).created == 500


# ---------------------------------------------------------------- classification


def _answer(status: int, body: Any) -> httpx.Response:
    request = httpx.Request("POST", "https://api.example.com/rest/batch/people")
    return httpx.Response(status, json=body, request=request)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (402, {"statusCode": 402, "error": "PaymentRequired", "messages": ["Payment Required"]}),
        (
            409,
            {
                "statusCode": 409,
                "error": "QUOTA_EXHAUSTED",
                "messages": ["RECORD limit reached for this workspace"],
                "limitKind": "record",
                "limit": 10000,
            },
        ),
    ],
)
def test_rest_quota_answers_are_terminal(status, body):
    with pytest.raises(e.QuotaExceededError) as info:
        e.raise_for_status(_answer(status, body))
    error = info.value
    assert not error.retryable and not error.is_throttle
    assert e.is_quota_refusal(error)
    if status == 409:
        assert (error.limit_kind, error.limit) == ("record", 10000)


def test_graphql_quota_exhausted_is_terminal():
    errors = [
        {
            "message": "RECORD limit reached for this workspace",
            "extensions": {"code": "QUOTA_EXHAUSTED", "limitKind": "record", "limit": 10000},
        }
    ]
    error = e.error_from_graphql(errors, _answer(200, {"errors": errors}))
    assert type(error) is e.QuotaExceededError and error.limit == 10000
    assert e.is_quota_refusal(error)


def test_a_duplicate_conflict_is_not_a_quota():
    errors = [{"message": "A duplicate entry was detected", "extensions": {"code": "CONFLICT"}}]
    error = e.error_from_graphql(errors, _answer(200, {"errors": errors}))
    assert type(error) is e.ConflictError and not e.is_quota_refusal(error)


def test_the_client_never_retries_a_quota_refusal(clock):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            409, json={"statusCode": 409, "messages": ["RECORD limit reached for this workspace"]}
        )

    client = TwentyClient(
        base_url="https://api.example.com",
        api_key="k" * 20,
        transport=httpx.MockTransport(handler),
        env_file=None,
        clock=clock,
        sleep=clock.sleep,
    )
    with pytest.raises(e.QuotaExceededError):
        client.create_many("people", [{"name": {"firstName": "x"}}], api="rest")
    assert len(calls) == 1 and clock.slept == []


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_a_workspace_record_limit_stops_the_run_until_raised_then_resume_finishes(
    tmp_path, clock, api
):
    """The sandbox's own WORKSPACE_RECORD_LIMIT (2.4x): the batch that would cross it is
    refused whole, the run stops with its rows pending, and resume lands them once raised."""
    sandbox = Sandbox(twenty_version="2", clock=clock, sleep=clock.sleep, record_limit=130)
    client = sandbox_client(sandbox, clock)
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock, max_in_flight=1)
    result = importer.run(build_plan(people(300), "people", batch_size=50, api=api))
    assert result.status == "incomplete"
    assert (result.created, result.failed, result.pending) == (100, 0, 200)
    assert sandbox.engine.count("person") == 100  # the crossing batch wrote nothing
    assert "resume" in (result.message or "")

    sandbox.set_record_limit(1000)
    finished = importer.resume(result.run_id)
    assert finished.status == "completed" and finished.created == 300
    assert sandbox.engine.count("person") == 300


def test_a_used_up_allowance_stops_the_run_until_restored_then_resume_finishes(tmp_path, clock):
    sandbox = Sandbox(twenty_version="2", clock=clock, sleep=clock.sleep)
    client = sandbox_client(sandbox, clock)
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock)
    sandbox.exhaust_allowance()
    result = importer.run(build_plan(people(120), "people"))
    assert result.status == "incomplete" and (result.created, result.failed) == (0, 0)
    assert result.pending == 120 and sandbox.engine.count("person") == 0
    assert "allowance is used up" in (result.message or "")

    sandbox.exhaust_allowance(False)
    finished = importer.resume(result.run_id)
    assert finished.status == "completed" and finished.created == 120
    assert sandbox.client().get("/rest/people").status_code == 200
