"""Verification in few calls: the sample migration checked at the server's cap, per profile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock, sandbox_client

from twenty_migrate.pipeline.prepare import PreparedMigration
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILES
from twenty_migrate.twenty import reads as _verify_reads
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.ui.demo import add_sample_members, sample_spec
from twenty_migrate.verify.verify import LANDED_STATUSES, reconcile, relation_coverage, verify_run


class SampleRun:
    """The sample migration imported into a fresh sandbox of one profile."""

    def __init__(self, sandbox: Sandbox, client: TwentyClient, runs_dir: Path) -> None:
        self.sandbox = sandbox
        self.client = client
        add_sample_members(sandbox)
        self.prepared: PreparedMigration = sample_spec().prepare(client, check_existing=False)
        assert self.prepared.plan is not None
        result = Importer(client, runs_dir=runs_dir, progress=None).run(self.prepared.plan)
        assert result.failed == 0 and result.pending == 0
        self.journal = RunJournal.open(runs_dir, result.run_id)
        rows = self.journal.rows_frame()
        # Distinct records landed: on 2.4x some company rows share a domain once it is cut
        # to its bare host, and upsert lands them on one record.
        landed = rows[rows["status"].isin(LANDED_STATUSES)]
        self.landed = len(landed[["object", "twenty_id"]].dropna().drop_duplicates())

    def requests_since(self, start: int) -> list[Any]:
        return list(self.sandbox.requests)[start:]


@pytest.fixture(scope="module", params=PROFILES, ids=lambda profile: profile.name)
def sample_run(request, tmp_path_factory) -> Iterator[SampleRun]:
    """One import per profile for the whole module (the test that deletes a record is last)."""
    clock = FakeClock()
    sandbox = Sandbox(profile=request.param, clock=clock, sleep=clock.sleep, throttle=False)
    # Its own traits file: a module fixture is set up before the per-test cache folder, and
    # sandboxes of every profile share one URL, so the shared cache would carry one
    # profile's calibrated cap into the other's run.
    traits = tmp_path_factory.mktemp("traits") / "server.json"
    with sandbox_client(sandbox, clock, rate_limit=None, traits_path=traits) as client:
        run = SampleRun(sandbox, client, tmp_path_factory.mktemp("runs"))
        yield run
        run.journal.close()


def test_verification_reads_one_call_per_cap_of_landed_records(sample_run):
    cap = sample_run.sandbox.profile.query_max_records
    start = len(sample_run.sandbox.requests)
    check = verify_run(sample_run.client, sample_run.journal, schema=sample_run.prepared.schema)
    spent = sample_run.requests_since(start)
    assert check.reconciled
    assert sample_run.client.traits.max_records == cap  # calibrated by the import
    assert check.page_size == cap
    assert check.calls == len(spent)
    # Each call is one root field (one token of the rate budget), and all of them fit in
    # one call per `cap` records landed.
    assert all(len(r.root_fields) == 1 for r in spent)
    assert len(spent) * cap <= sample_run.landed
    assert f"{check.calls} calls for {sample_run.landed} records" in check.summary()
    assert f"calls={check.calls}" in repr(check)


def test_one_pass_agrees_with_the_workspace(sample_run):
    engine = sample_run.sandbox.engine
    check = verify_run(sample_run.client, sample_run.journal, schema=sample_run.prepared.schema)
    reconciliation = check.reconciliation.set_index("object")
    for name, row in reconciliation.iterrows():
        assert row["in_workspace"] == row["in_twenty"] == row["landed"] == engine.count(name)
    coverage = {(o, c): (n, t) for o, c, n, t in check.coverage.itertuples(index=False)}
    people = engine.all_records("people")
    assert coverage[("people", "companyId")] == (
        sum(p["companyId"] is not None for p in people),
        len(people),
    )
    targets = engine.all_records("taskTargets")
    tasks = {t["taskId"] for t in targets}
    assert coverage[("tasks", "taskTargets")] == (len(tasks), engine.count("tasks"))
    # The same figures as the two checks alone.
    alone = relation_coverage(
        sample_run.client, sample_run.journal, schema=sample_run.prepared.schema
    )
    assert alone.values.tolist() == check.coverage.values.tolist()
    assert alone.attrs["calls"] <= check.calls


def test_a_calibrated_cap_is_asked_for_from_the_first_call(sample_run):
    cap = sample_run.sandbox.profile.query_max_records
    asked: list[int] = []
    inner = sample_run.sandbox.handle

    def spy(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/graphql":
            asked.append(json.loads(request.read())["variables"].get("first", 0))
        return inner(request)

    with TwentyClient(
        base_url=sample_run.sandbox.base_url,
        api_key=sample_run.sandbox.api_key,
        transport=httpx.MockTransport(spy),
        rate_limit=None,
        env_file=None,
    ) as client:
        client.traits.max_records = cap
        client.object_names("people")  # metadata, before counting
        asked.clear()
        check = verify_run(client, sample_run.journal, schema=sample_run.prepared.schema)
    assert check.reconciled and asked and max(asked) == cap


def test_an_uncalibrated_reader_reads_each_object_in_one_page(sample_run):
    # Twenty serves `first` as asked, above QUERY_MAX_RECORDS too (common-find-many-query-
    # runner.service.ts): without a calibrated cap, the probe page holds a whole object.
    clock = FakeClock()
    with sandbox_client(sample_run.sandbox, clock, rate_limit=None, traits_path=None) as client:
        assert client.traits.max_records is None
        check = verify_run(client, sample_run.journal, schema=sample_run.prepared.schema)
    assert check.reconciled and check.page_size == _verify_reads.PROBE_PAGE_SIZE
    assert check.calls == len(check.reconciliation)


def test_a_server_refusing_a_large_page_gets_sixty(clock, tmp_path):
    # Twenty serves `first` as asked; a server (or proxy) refusing a large one must work too.
    sandbox = Sandbox(twenty_version="1", clock=clock, sleep=clock.sleep, throttle=False)
    refused: list[int] = []

    def strict(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.read()) if request.url.path == "/graphql" else {}
        first = (body.get("variables") or {}).get("first") or 0
        if first > sandbox.engine.max_records:
            refused.append(first)
            error = {"message": "Too many records", "extensions": {"code": "BAD_USER_INPUT"}}
            return httpx.Response(200, json={"errors": [error], "data": None})
        return sandbox.handle(request)

    with sandbox_client(sandbox, clock, rate_limit=None, transport=httpx.MockTransport(strict)) as (
        client
    ):
        created = sandbox.engine.create_many(
            "companies", [{"name": f"C{i}"} for i in range(60)]
        ) + sandbox.engine.create_many("companies", [{"name": f"D{i}"} for i in range(30)])
        frame = relation_coverage(client, objects="companies")
    assert refused and frame["total"].tolist() == [len(created)]
    assert frame.attrs["calls"] == 1 + 2  # the refused probe, then two pages of 60


def test_counts_split_long_id_lists_and_agree(sample_run, monkeypatch):
    whole = verify_run(sample_run.client, sample_run.journal, schema=sample_run.prepared.schema)
    monkeypatch.setattr(_verify_reads, "COUNT_CHUNK", 500)
    split = verify_run(sample_run.client, sample_run.journal, schema=sample_run.prepared.schema)
    assert split.reconciliation.values.tolist() == whole.reconciliation.values.tolist()
    assert split.coverage.values.tolist() == whole.coverage.values.tolist()


def test_counting_finds_a_record_gone_and_ignores_records_from_before(sample_run):
    # Last in the module: it changes the shared sample workspace.
    engine = sample_run.sandbox.engine
    engine.create_many("people", [{"name": {"firstName": "Before"}}])
    created = sample_run.journal.twenty_ids("created")
    gone = created.loc[created["object"] == "people", "twenty_id"].iloc[0]
    engine.delete_many("people", {"id": {"in": [gone]}})
    checks = reconcile(sample_run.client, sample_run.journal).set_index("object")
    people = checks.loc["people"]
    assert (people["missing"], people["in_twenty"]) == (1, people["landed"] - 1)
    assert people["in_workspace"] == people["landed"]  # one gone, one from before
    assert not people["reconciled"] and checks.drop("people")["reconciled"].all()
    assert checks.attrs["calls"] * sample_run.sandbox.profile.query_max_records <= (
        sample_run.landed
    )
