"""The importer reaches each release's true per-call cap and learns the rate budget.

Twenty's ``QUERY_MAX_RECORDS`` is 200 now and 60 in older releases; it cannot be queried,
so the first write call of a run tries 200 alone. The rate budget comes from the throttle
answers (era 4 headers and body, era 3 messages), never from docs.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import FakeClock, sandbox_client

from twenty_migrate.plan.plan import MAX_RECORDS_PER_CALL, build_plan
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.discovery import ServerTraits


def people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(n),
            "name.firstName": [f"First{i}" for i in range(n)],
            "emails.primaryEmail": [f"p{i}@example.com" for i in range(n)],
        }
    )


def write_calls(sandbox: Sandbox) -> list[int]:
    """Records carried by each write call the sandbox saw, refused ones included."""
    return [
        r.n_records or 0
        for r in sandbox.requests
        if r.path.startswith("/rest/batch/")
        or (r.path == "/graphql" and r.root_fields and r.root_fields[0].startswith("create"))
    ]


def make(version: str, clock: FakeClock, tmp_path, **options) -> tuple[Sandbox, Importer]:
    sandbox = Sandbox(twenty_version=version, clock=clock, sleep=clock.sleep, **options)
    client = sandbox_client(sandbox, clock)
    importer = Importer(client, runs_dir=tmp_path / "runs", progress=None, clock=clock)
    return sandbox, importer


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_a_current_server_takes_200_per_call_with_no_refusal(tmp_path, clock, api):
    sandbox, importer = make("2", clock, tmp_path)
    result = importer.run(build_plan(people(1000), "people", api=api))
    assert result.status == "completed" and result.created == 1000
    assert write_calls(sandbox) == [200] * 5
    # a success at 200 proves the cap: kept for later runs
    assert importer.client.traits.max_records == MAX_RECORDS_PER_CALL


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_an_older_server_refuses_one_call_then_gets_batches_of_60(tmp_path, clock, api):
    sandbox, importer = make("1", clock, tmp_path)
    result = importer.run(build_plan(people(1000), "people", api=api))
    assert result.status == "completed" and result.created == 1000 and result.failed == 0
    sizes = write_calls(sandbox)
    # one refused 200-record probe (nothing written), then 17 calls of at most 60
    assert len(sizes) == 1 + 17
    assert sandbox.engine.count("person") == 1000
    assert importer.client.traits.max_records == 60
    attempts = RunJournal.open(importer.runs_dir, result.run_id).attempts_frame()
    assert list(attempts["outcome"]).count("too_many") == 1
    assert (attempts[attempts["outcome"] == "ok"]["n_records"] <= 60).all()
    assert attempts[attempts["outcome"] == "ok"]["n_records"].sum() == 1000


def test_a_second_run_with_the_known_cap_spends_no_refused_call(tmp_path, clock):
    sandbox, importer = make("1", clock, tmp_path)
    importer.run(build_plan(people(100), "people"))
    assert len(write_calls(sandbox)) == 1 + 2
    before = len(write_calls(sandbox))
    frame = people(500)
    frame["emails.primaryEmail"] = [f"q{i}@example.com" for i in range(500)]
    result = importer.run(build_plan(frame, "people"))
    assert result.created == 500
    assert len(write_calls(sandbox)) - before == 9  # ceil(500 / 60), no probe


def test_the_cap_is_kept_per_workspace_across_clients(tmp_path, clock):
    """A new client that loads the saved traits starts at the right size."""
    sandbox, importer = make("1", clock, tmp_path)
    importer.client.traits_path = tmp_path / "traits.json"
    importer.run(build_plan(people(100), "people"))
    assert ServerTraits.load(tmp_path / "traits.json").max_records == 60
    client = sandbox_client(sandbox, clock)
    client.traits = ServerTraits.load(tmp_path / "traits.json")
    before = len(write_calls(sandbox))
    text = Importer(client, runs_dir=tmp_path / "runs").run(
        build_plan(people(100), "people"), dry_run=True
    )
    assert "up to 60 records per call (the server's cap)" in text.summary()
    frame = people(120)
    frame["emails.primaryEmail"] = [f"z{i}@example.com" for i in range(120)]
    Importer(client, runs_dir=tmp_path / "runs", progress=None, clock=clock).run(
        build_plan(frame, "people")
    )
    assert write_calls(sandbox)[before:] == [60, 60]


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_user_batch_size_is_never_exceeded(tmp_path, clock, version):
    sandbox, importer = make(version, clock, tmp_path)
    result = importer.run(build_plan(people(260), "people", batch_size=50))
    assert result.created == 260
    assert sorted(write_calls(sandbox)) == [10] + [50] * 5  # no probe beyond 50, no refusal
    assert importer.client.traits.max_records is None  # 50 proves nothing about the cap


@pytest.mark.parametrize("version", ["1", "2"])
def test_the_batch_size_setting_caps_the_calls(tmp_path, clock, monkeypatch, version):
    monkeypatch.setenv("TWENTY_MIGRATE_BATCH_SIZE", "40")
    sandbox, importer = make(version, clock, tmp_path)
    assert importer.client.settings.batch_size == 40
    plan = build_plan(people(100), "people")
    assert "up to 40 records per call (batch_size)" in importer.run(plan, dry_run=True).summary()
    importer.run(plan)
    assert write_calls(sandbox) == [40, 40, 20]


def test_a_stale_known_cap_is_corrected(tmp_path, clock):
    """Traits saved against another server say 200; this one takes 60."""
    sandbox, importer = make("1", clock, tmp_path)
    importer.client.traits.max_records = 200
    result = importer.run(build_plan(people(400), "people"))
    assert result.created == 400 and result.failed == 0
    assert importer.client.traits.max_records == 60
    assert sandbox.engine.count("person") == 400


def test_the_probe_goes_alone_even_with_many_calls_in_flight(tmp_path, clock):
    sandbox, importer = make("1", clock, tmp_path)
    assert importer.max_in_flight > 1
    importer.run(build_plan(people(2000), "people"))
    sizes = write_calls(sandbox)
    assert sizes.count(0) + sum(1 for s in sizes if s > 60) <= 1  # exactly one refused call
    assert len(sizes) == 1 + 34


@pytest.mark.parametrize(("version", "cap"), [("1", 60), ("2", 200)])
def test_progress_shows_the_records_per_call(tmp_path, clock, version, cap):
    told: list[tuple[str, int, bool]] = []
    updates: list[dict[str, int]] = []

    class Recorder:
        def start(self, object: str, total: int) -> None:
            pass

        def update(self, object: str, **counts: int) -> None:
            updates.append(counts)

        def per_call(self, object: str, records: int, calibrated: bool) -> None:
            told.append((object, records, calibrated))

        def close(self) -> None:
            pass

    sandbox = Sandbox(twenty_version=version, clock=clock, sleep=clock.sleep)
    client = sandbox_client(sandbox, clock)
    Importer(client, runs_dir=tmp_path, progress=Recorder(), clock=clock, max_in_flight=1).run(
        build_plan(people(400), "people")
    )
    assert told[0] == ("people", 200, False)  # optimistic, and said so
    assert told[-1] == ("people", cap, True)
    assert any("eta_s" in counts for counts in updates)
    assert all("per_call" not in counts for counts in updates)


def test_the_log_progress_names_the_calibration(caplog):
    from twenty_migrate.run.progress import LogProgress

    progress = LogProgress()
    with caplog.at_level("INFO", logger="twenty_migrate.run.progress"):
        progress.start("people", 10)
        progress.per_call("people", 200, False)
        progress.per_call("people", 60, True)
    assert "people: 200/call, not calibrated yet" in caplog.text
    assert "people: 60/call" in caplog.text


# ---------------------------------------------------------------- the rate budget


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_a_smaller_cloud_budget_is_learned_and_then_respected(tmp_path, clock, api):
    """A workspace allowing 50 calls a minute: learned from the first throttle answers,
    then rarely throttled again, and kept in the traits."""
    sandbox, importer = make("2", clock, tmp_path, long_limit=50)
    result = importer.run(build_plan(people(600), "people", batch_size=2, api=api))
    assert result.created == 600  # 300 calls at 50 a minute
    assert result.throttled <= 3
    traits = importer.client.traits
    assert traits.throttle_style == "newest"
    assert traits.rate_limit_per_minute == 50
    # a later run (the server's bucket full again) starts at the learned budget: no throttle
    clock.advance(60)
    frame = people(200)
    frame["emails.primaryEmail"] = [f"n{i}@example.com" for i in range(200)]
    client = sandbox_client(sandbox, clock)
    client.traits = traits
    again = Importer(client, runs_dir=tmp_path / "runs", progress=None, clock=clock).run(
        build_plan(frame, "people", batch_size=2, api=api)
    )
    assert again.created == 200 and again.throttled == 0


def test_an_older_server_throttle_style_is_recorded(tmp_path, clock):
    sandbox, importer = make("1", clock, tmp_path, long_limit=30)
    result = importer.run(build_plan(people(100), "people", batch_size=2))
    assert result.created == 100
    assert importer.client.traits.throttle_style == "common"
    assert importer.client.traits.rate_limit_per_minute == 30
