"""The command line end to end: a sandbox served over HTTP, a saved plan, and every command."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import sandbox_client

from twenty_migrate.plan.plan import build_plan
from twenty_migrate.run.history import list_runs
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.ratelimit import RateLimit
from twenty_migrate.ui.cli import main
from twenty_migrate.ui.demo import narrate_waits, run_demo, sample_data_dir
from twenty_migrate.verify.rollbacks import rollback

API_KEY = "cli-test-key-0123456789"


@pytest.fixture
def served_sandbox(tmp_path, monkeypatch, request, twenty_version) -> Iterator[str]:
    extra = getattr(request, "param", [])
    process = subprocess.Popen(
        [sys.executable, "-m", "twenty_migrate", "sandbox", "--port", "0", "--api-key", API_KEY]
        + ["--twenty-version", twenty_version]
        + extra,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = line.strip().rsplit(" ", 1)[-1]
    assert url.startswith("http://127.0.0.1:"), line
    monkeypatch.setenv("TWENTY_API_URL", url)
    monkeypatch.setenv("TWENTY_API_KEY", API_KEY)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def _people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(1, n + 1),
            "name.firstName": [f"Ada{i}" for i in range(n)],
            "emails.primaryEmail": [f"ada{i}@example.com" for i in range(n)],
        }
    )


def test_import_runs_logs_export_and_rollback(served_sandbox, tmp_path, capsys):
    people = _people(75)
    people.loc[4, "emails.primaryEmail"] = "not-an-email"
    plan_file = build_plan(people, "people", key="emails.primaryEmail").save(tmp_path / "plan.json")
    runs = str(tmp_path / "runs")

    assert main(["import", str(plan_file), "--dry-run", "--runs-dir", runs]) == 0
    assert "people" in capsys.readouterr().out
    assert not Path(runs).exists() or not any(Path(runs).iterdir())

    # One invalid email: the run lands the 74 good rows and exits 1 for the failure.
    assert main(["import", str(plan_file), "--runs-dir", runs, "--no-progress"]) == 1
    capsys.readouterr()
    assert main(["runs", "--runs-dir", runs]) == 0
    listing = capsys.readouterr().out
    run_id = next(Path(runs).iterdir()).name
    assert run_id in listing

    assert main(["logs", run_id, "--format", "jsonl", "--runs-dir", runs]) == 0
    capsys.readouterr()
    rows = [json.loads(x) for x in (Path(runs) / run_id / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 75
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and "not-an-email" in failed[0]["error"]
    fixme = pd.read_csv(Path(runs) / run_id / "fixme.csv")
    assert len(fixme) == 1

    export_file = tmp_path / "people.csv"
    assert main(["export", "people", "-o", str(export_file)]) == 0
    assert len(pd.read_csv(export_file)) == 74

    # No terminal to ask on and no --yes: refused, nothing deleted.
    assert main(["rollback", run_id, "--runs-dir", runs]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["rollback", run_id, "--runs-dir", runs, "--yes", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["export", "people", "-o", str(export_file)]) == 0
    assert pd.read_csv(export_file).empty
    assert main(["runs", "--runs-dir", runs]) == 0
    assert "rolled back" in capsys.readouterr().out
    for path in Path(runs).rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_commands_need_a_key_and_say_how_to_get_one(tmp_path, capsys):
    plan_file = build_plan(_people(3), "people").save(tmp_path / "plan.json")
    assert main(["import", str(plan_file), "--runs-dir", str(tmp_path)]) == 2
    assert "TWENTY_API_KEY" in capsys.readouterr().err


def test_demo_reconciles(tmp_path, twenty_version):
    out = io.StringIO()
    # Twenty's default budget is honoured by the limiter (see test_ratelimit); a roomier one
    # keeps this test quick.
    sandbox = Sandbox(twenty_version=twenty_version, long_limit=10_000)
    code = run_demo(runs_dir=tmp_path / "runs", progress=None, out=out, sandbox=sandbox)
    assert code == 0, out.getvalue()
    text = out.getvalue()
    assert "Migration reconciled." in text
    assert "reading back " in text and " objects: companies, people" in text
    assert "rows.csv" in text
    run_dirs = [p for p in (tmp_path / "runs").iterdir() if (p / "rows.csv").exists()]
    assert len(run_dirs) == 1
    report = run_dirs[0] / "report.html"
    assert f"Report for the client: {report}" in text
    page = report.read_text(encoding="utf-8")
    assert "Reconciled with Twenty" in page and sandbox.api_key not in page

    # The full run counts the kept test batch's records as landed, never as created, and
    # rolling the full run back leaves them to the test batch.
    runs = list_runs(tmp_path / "runs").set_index("kind")
    test_batch, full = runs.loc["test_batch"], runs.loc["run"]
    assert test_batch["created"] == 10 and full["failed"] == 0
    assert full["created"] + full["updated"] + full["unchanged"] == full["rows"]
    with RunJournal.open(tmp_path / "runs", full["run_id"]) as journal:
        rows = journal.rows_frame()
    with RunJournal.open(tmp_path / "runs", test_batch["run_id"]) as journal:
        tested = journal.rows_frame()
    kept = set(tested["twenty_id"])
    landed = rows[rows["twenty_id"].isin(kept)]
    assert len(landed) == 10 and set(landed["status"]) <= {"updated", "unchanged"}
    with (
        sandbox.serve() as server,
        TwentyClient(base_url=server.url, api_key=sandbox.api_key, env_file=None) as client,
    ):
        rollback(client, full["run_id"], runs_dir=tmp_path / "runs")
    live = {r["id"] for o in set(tested["object"]) for r in sandbox.engine.all_records(o)}
    assert kept <= live


def test_demo_tells_while_verification_waits_on_the_budget(sandbox, clock):
    budget = RateLimit(short_limit=100, short_window=1, long_limit=5, long_window=60)
    client = sandbox_client(sandbox, clock, rate_limit=budget)
    out = io.StringIO()
    with narrate_waits(client, out):
        for _ in range(12):
            client.rest("GET", "people")
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("  still verifying: ") for line in lines)
    assert "for Twenty's rate budget" in lines[-1]
    assert sum(clock.slept) >= 60  # waited on the fake clock, never for real


def test_sandbox_command_is_routed_to_its_own_parser(capsys):
    assert main(["sandbox", "--help"]) == 0
    assert "--short-limit" in capsys.readouterr().out
    assert os.environ.get("TWENTY_API_KEY") is None


def test_a_scheduled_rerun_sends_only_changed_rows(served_sandbox, tmp_path, capsys):
    runs = str(tmp_path / "runs")
    people = _people(30)
    first = build_plan(people, "people", key="emails.primaryEmail", name="nightly")
    assert main(["import", str(first.save(tmp_path / "a.json")), "--runs-dir", runs]) == 0
    people.loc[3, "name.firstName"] = "Grace"
    second = build_plan(people, "people", key="emails.primaryEmail", name="nightly")
    plan_file = str(second.save(tmp_path / "b.json"))
    capsys.readouterr()
    assert main(["import", plan_file, "--only-changed", "--runs-dir", runs, "--no-progress"]) == 0
    assert main(["runs", "--runs-dir", runs]) == 0
    listing = capsys.readouterr().out
    latest = sorted(Path(runs).iterdir())[-1].name
    assert main(["logs", latest, "--format", "csv", "--runs-dir", runs]) == 0
    rows = pd.read_csv(Path(runs) / latest / "rows.csv")
    assert rows["status"].value_counts().to_dict() == {"unchanged": 29, "updated": 1}
    assert latest in listing


@pytest.mark.parametrize("served_sandbox", [["--long-limit", "10000"]], indirect=True)
def test_validate_and_import_a_migration_spec(served_sandbox, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWENTY_MIGRATE_LONG_LIMIT", "10000")  # as the sandbox was started
    spec = str(sample_data_dir() / "migration.json")
    report = tmp_path / "report"
    # The sample export has problems: validate says so (exit 1) and writes them down.
    assert main(["validate", spec, "-o", str(report)]) == 1
    out = capsys.readouterr().out
    assert "rows planned" in out and "left out" in out
    failures = pd.read_csv(report / "failures.csv")
    assert {"object", "_row", "rule", "message"} <= set(failures.columns)
    assert len(failures) > 100
    assert (report / "validation_people.html").exists()
    assert (report / "excluded.csv").exists()

    runs = str(tmp_path / "runs")
    args = ["import", spec, "--runs-dir", runs, "--no-progress", "-o", str(report)]
    assert main([*args, "--dry-run"]) == 0
    assert "taskTargets" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 failed" in capsys.readouterr().out


def test_demo_names_the_profiles_when_the_release_is_unknown(tmp_path, capsys):
    assert main(["demo", "--twenty-version", "9", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "No sandbox profile covers Twenty 9" in err and "2.4x" in err
    assert "Traceback" not in err
