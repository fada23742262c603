"""Crash and resume: whatever instant a run dies at, resuming it lands every row once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pandas as pd
import pytest
from conftest import FakeClock, sandbox_client

from twenty_migrate.plan.plan import ImportPlan, build_plan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]


class CrashingTransport(httpx.BaseTransport):
    """Passes requests to the sandbox; the k-th write raises KeyboardInterrupt instead of
    answering, after the sandbox applied it (``applied=True``) or before."""

    def __init__(self, sandbox: Sandbox, crash_at: int, *, applied: bool) -> None:
        self.sandbox = sandbox
        self.crash_at = crash_at
        self.applied = applied
        self.writes = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        is_write = request.url.path.startswith("/rest/batch/") or b"mutation" in body[:200]
        if is_write:
            with self.lock:
                self.writes += 1
                crash = self.writes == self.crash_at
            if crash:
                if self.applied:
                    self.sandbox.handle(request)
                raise KeyboardInterrupt
        return self.sandbox.handle(request)


def people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": [f"r{i}" for i in range(n)],
            "name.firstName": [f"First{i}" for i in range(n)],
            "emails.primaryEmail": [f"p{i}@example.com" for i in range(n)],
        }
    )


def check_exactly_once(sandbox: Sandbox, result, n: int, obj: str = "person") -> None:
    assert result.status == "completed", result.summary()
    rows = result.rows
    assert len(rows) == n and rows["_row"].is_unique
    assert set(rows["status"]) <= {"created", "updated"}
    records = sandbox.engine.all_records(obj)
    assert len(records) == n
    assert set(rows["twenty_id"]) == {r["id"] for r in records}


@pytest.mark.parametrize("applied", [True, False], ids=["answer-lost", "never-applied"])
@pytest.mark.parametrize("upsert", [True, False], ids=["upsert", "create-only"])
@pytest.mark.parametrize("crash_at", [1, 3, 7])
def test_resume_after_a_crash_mid_request(tmp_path, crash_at, applied, upsert, twenty_version):
    clock = FakeClock()
    sandbox = Sandbox(twenty_version=twenty_version, clock=clock, sleep=clock.sleep)
    crashing = CrashingTransport(sandbox, crash_at, applied=applied)
    plan = build_plan(people(500), "people", upsert=upsert, batch_size=60)  # 9 batches
    importer = Importer(
        sandbox_client(sandbox, clock, transport=crashing),
        runs_dir=tmp_path,
        progress=None,
        clock=clock,
        max_in_flight=3,
    )
    with pytest.raises(KeyboardInterrupt) as info:
        importer.run(plan, run_id="crash")
    assert "resume('crash')" in " ".join(info.value.__notes__)
    journal = RunJournal.open(tmp_path, "crash")
    assert journal.info()["status"] == "interrupted"
    unanswered = [b for b in journal.pending_batches() if b.unanswered]
    assert len(unanswered) == 1  # the request that died on the wire
    journal.close()
    landed_before = sandbox.engine.count("person")

    fresh = Importer(sandbox_client(sandbox, clock), runs_dir=tmp_path, progress=None, clock=clock)
    result = fresh.resume("crash")
    check_exactly_once(sandbox, result, 500)
    assert landed_before <= 500  # in-flight requests finished; the crashed one may have landed
    # nothing was created twice: every row's record carries the row's own id
    assert result.created == 500
    with RunJournal.open(tmp_path, "crash") as journal:
        outcomes = set(journal.attempts_frame()["outcome"])
    assert ("lookup" in outcomes) == (not upsert)  # create-only: look before re-sending


def test_interrupt_in_the_main_thread_waits_for_requests_on_the_wire(tmp_path, twenty_version):
    clock = FakeClock()
    sandbox = Sandbox(twenty_version=twenty_version, clock=clock, sleep=clock.sleep)

    class CtrlC:
        def __init__(self) -> None:
            self.updates = 0

        def start(self, object: str, total: int) -> None:
            pass

        def update(self, object: str, **counts: int) -> None:
            if counts.get("created"):
                self.updates += 1
                if self.updates == 2:
                    raise KeyboardInterrupt

        def close(self) -> None:
            pass

    importer = Importer(
        sandbox_client(sandbox, clock), runs_dir=tmp_path, progress=CtrlC(), clock=clock
    )
    with pytest.raises(KeyboardInterrupt):
        importer.run(build_plan(people(900), "people"))
    run_id = importer.last_run_id
    assert run_id is not None
    journal = RunJournal.open(tmp_path, run_id)
    # every request that was sent got its answer recorded before the interrupt propagated
    assert not [b for b in journal.pending_batches() if b.unanswered]
    journal.close()
    result = Importer(
        sandbox_client(sandbox, clock), runs_dir=tmp_path, progress=None, clock=clock
    ).resume(run_id)
    check_exactly_once(sandbox, result, 900)


def test_resume_of_a_finished_run_sends_nothing(tmp_path, twenty_version):
    clock = FakeClock()
    sandbox = Sandbox(twenty_version=twenty_version, clock=clock, sleep=clock.sleep)
    importer = Importer(
        sandbox_client(sandbox, clock), runs_dir=tmp_path, progress=None, clock=clock
    )
    first = importer.run(build_plan(people(100), "people"))
    before = len(sandbox.requests)
    again = importer.resume(first.run_id)
    assert len(sandbox.requests) == before
    assert again.created == 100 and again.status == "completed"


def test_resume_finishes_a_journal_left_mid_batch(tmp_path, twenty_version):
    """The state a kill -9 leaves: a batch marked sent, its answer never recorded."""
    clock = FakeClock()
    sandbox = Sandbox(twenty_version=twenty_version, clock=clock, sleep=clock.sleep)
    companies = pd.DataFrame({"_row": range(70), "name": [f"Co{i}" for i in range(70)]})
    plan = ImportPlan(
        [
            ObjectStep("companies", companies),
            ObjectStep(
                "people",
                people(10).assign(companyId=list(range(10))),
                refs={"companyId": "companies"},
            ),
        ],
        batch_size=60,
    )
    journal = RunJournal.create(tmp_path, plan, run_id="halfway")
    second = journal.pending_batches()[1]
    journal.mark_sent(second.batch_id, [r.row for r in second.rows])
    # the request did reach Twenty before the crash
    sandbox.engine.create_many("companies", [{**r.payload, "id": r.sent_id} for r in second.rows])
    journal.close()

    result = Importer(
        sandbox_client(sandbox, clock), runs_dir=tmp_path, progress=None, clock=clock
    ).resume("halfway")
    assert result.counts["companies"]["created"] == 70
    assert result.counts["people"]["created"] == 10
    assert sandbox.engine.count("company") == 70
    company_ids = dict(zip(result.rows["_row"], result.rows["twenty_id"], strict=False))
    person = next(
        p for p in sandbox.engine.all_records("person") if p["name"]["firstName"] == "First3"
    )
    assert person["companyId"] == company_ids[3]


_KILL_SCRIPT = """
import os, signal, sys, threading
import httpx
import pandas as pd
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.run.importer import Importer
from twenty_migrate.plan.plan import build_plan
from twenty_migrate.sandbox import Sandbox

db, runs, crash_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
sandbox = Sandbox(twenty_version=sys.argv[4], db_path=db, throttle=False)
writes = 0
lock = threading.Lock()

def handle(request):
    global writes
    answer = sandbox.handle(request)
    if b"mutation" in request.read()[:200]:
        with lock:
            writes += 1
            if writes == crash_at:  # applied, answer never delivered: the process dies
                os.kill(os.getpid(), signal.SIGKILL)
    return answer

client = TwentyClient(base_url=sandbox.base_url, api_key=sandbox.api_key,
                      transport=httpx.MockTransport(handle), env_file=None)
frame = pd.DataFrame({"_row": range(400), "name.firstName": [f"N{i}" for i in range(400)]})
plan = build_plan(frame, "people", batch_size=60)  # 7 calls on every release
Importer(client, runs_dir=runs, progress=None).run(plan, run_id="killed")
"""


def test_kill_9_during_a_run_then_resume(tmp_path, twenty_version):
    db, runs = tmp_path / "workspace.sqlite", tmp_path / "runs"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_KILL_SCRIPT),
            str(db),
            str(runs),
            "4",
            twenty_version,
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr
    journal = RunJournal.open(runs, "killed")
    summary = journal.summary()
    assert summary["status"] == "running"  # it never got to say otherwise
    journal.close()

    clock = FakeClock()
    sandbox = Sandbox(
        twenty_version=twenty_version, db_path=db, throttle=False, clock=clock, sleep=clock.sleep
    )
    try:
        assert 0 < sandbox.engine.count("person") < 400
        result = Importer(
            sandbox_client(sandbox, clock), runs_dir=runs, progress=None, clock=clock
        ).resume("killed")
        check_exactly_once(sandbox, result, 400)
        assert result.created == 400
        names = sorted(r["name"]["firstName"] for r in sandbox.engine.all_records("person"))
        assert names == sorted(f"N{i}" for i in range(400))
        assert json.dumps(result.asdict())
    finally:
        sandbox.close()
