"""RunJournal: what is written before and after each request, crash consistency, listing."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pandas as pd
import pytest

from twenty_migrate.plan.plan import ImportPlan, build_plan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.run.history import list_runs, reusable_ids
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.runs import RowOutcome
from twenty_migrate.twenty.errors import JournalError, PlanMismatchError

ROOT = Path(__file__).resolve().parents[1]


def people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(n),
            "name.firstName": [f"P{i}" for i in range(n)],
            "emails.primaryEmail": [f"p{i}@example.com" for i in range(n)],
        }
    )


@pytest.fixture
def plan() -> ImportPlan:
    companies = pd.DataFrame({"_row": ["c1", "c2"], "name": ["Acme", "Globex"]})
    return ImportPlan(
        [ObjectStep("companies", companies), ObjectStep("people", people(130))], batch_size=60
    )


def test_create_assigns_every_row_an_id_before_sending(tmp_path, plan):
    journal = RunJournal.create(tmp_path, plan, settings={"api": "graphql"}, base_url="https://x")
    rows = journal.rows_frame(payload=True)
    assert len(rows) == 132 and set(rows["status"]) == {"pending"}
    assert rows["sent_id"].is_unique
    assert all(uuid.UUID(i).version == 4 for i in rows["sent_id"])
    assert (rows["twenty_id"] == rows["sent_id"]).all()
    assert rows.loc[rows["_row"] == "c1", "payload"].iloc[0] == {"name": "Acme"}
    assert list(rows["_row"][:3]) == ["c1", "c2", 0]  # str and int ids kept as given
    batches = journal.pending_batches()
    assert [b.batch_id for b in batches] == [
        "companies-b00001",
        "people-b00001",
        "people-b00002",
        "people-b00003",
    ]
    assert batches[1].rows[0].payload == {
        "name": {"firstName": "P0"},
        "emails": {"primaryEmail": "p0@example.com"},
    }
    info = journal.info()
    assert info["status"] == "planned" and info["fingerprint"] == plan.fingerprint()
    assert info["base_url"] == "https://x" and info["settings"] == {"api": "graphql"}
    assert journal.plan().fingerprint() == plan.fingerprint()
    journal.close()
    journal.close()  # twice is fine


def test_run_ids_are_timestamped_and_never_reused(tmp_path, plan):
    first = RunJournal.create(tmp_path, plan)
    second = RunJournal.create(tmp_path, plan)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d_companies\+people(-\d+)?", first.run_id)
    assert first.run_id != second.run_id
    assert first.path == tmp_path / first.run_id / "journal.sqlite"
    named = RunJournal.create(tmp_path, plan, run_id="my-run")
    with pytest.raises(JournalError, match="already exists"):
        RunJournal.create(tmp_path, plan, run_id="my-run")
    with pytest.raises(JournalError, match="invalid run id"):
        RunJournal.create(tmp_path, plan, run_id="../escape")
    for journal in (first, second, named):
        journal.close()


def test_sent_then_answered_in_one_transaction(tmp_path, plan):
    journal = RunJournal.create(tmp_path, plan)
    batch = journal.pending_batches()[1]
    attempt = journal.mark_sent(batch.batch_id, [r.row for r in batch.rows])
    assert attempt == 1
    attempts = journal.attempts_frame()
    assert attempts.loc[0, "finished_at"] is None and attempts.loc[0, "n_records"] == 60
    outcomes = [RowOutcome("people", r.row, "created", r.sent_id) for r in batch.rows[:59]]
    outcomes.append(RowOutcome("people", 59, "failed", None, "Invalid email", "INVALID"))
    journal.record_answer(
        batch.batch_id,
        attempt,
        outcome="ok",
        batch_status="succeeded",
        rows=outcomes,
        elapsed_ms=12.5,
        stats={"calls": 1},
    )
    rows = journal.rows_frame().set_index("_row")
    assert rows.loc[0, "status"] == "created" and rows.loc[0, "attempts"] == 1
    assert rows.loc[59, "error"] == "Invalid email" and rows.loc[59, "error_code"] == "INVALID"
    assert rows.loc[0, "duration_ms"] >= 0
    assert journal.summary()["counts"]["people"] == {
        "created": 59,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
        "pending": 70,
    }
    assert journal.info()["calls"] == 1
    assert batch.batch_id not in [b.batch_id for b in journal.pending_batches()]
    assert journal.attempts_frame().loc[0, "outcome"] == "ok"


def test_split_moves_rows_to_children_and_fails_named_rows(tmp_path):
    journal = RunJournal.create(tmp_path, build_plan(people(6), "people"))
    batch = journal.pending_batches()[0]
    attempt = journal.mark_sent(batch.batch_id, [r.row for r in batch.rows])
    journal.split(
        batch.batch_id,
        attempt,
        [("people-b00001.1", [0, 1]), ("people-b00001.2", [3, 4, 5])],
        outcome="bad_request",
        failed=[RowOutcome("people", 2, "failed", None, "bad", "X")],
        message="bad",
    )
    pending = journal.pending_batches()
    assert [(b.batch_id, [r.row for r in b.rows]) for b in pending] == [
        ("people-b00001.1", [0, 1]),
        ("people-b00001.2", [3, 4, 5]),
    ]
    frame = journal.batches_frame().set_index("batch_id")
    assert frame.loc["people-b00001", "status"] == "split"
    assert frame.loc["people-b00001.2", "parent"] == "people-b00001"
    rows = journal.rows_frame().set_index("_row")
    assert rows.loc[2, "status"] == "failed" and rows.loc[4, "batch_id"] == "people-b00001.2"


def test_unanswered_batches_come_first_within_a_step(tmp_path):
    journal = RunJournal.create(tmp_path, build_plan(people(200), "people", batch_size=60))
    ids = [b.batch_id for b in journal.pending_batches()]
    journal.mark_sent(ids[2], [])
    order = journal.pending_batches()
    assert [b.batch_id for b in order] == [ids[2], ids[0], ids[1], ids[3]]
    assert order[0].unanswered and not order[1].unanswered


_CRASH_SCRIPT = """
import os, signal, sys
import pandas as pd
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.runs import RowOutcome
from twenty_migrate.plan.plan import build_plan
df = pd.DataFrame({"_row": range(150), "name.firstName": ["x"] * 150})
journal = RunJournal.create(sys.argv[1], build_plan(df, "people", batch_size=60), run_id="crashed",
                            settings={"api_key": "sk-should-not-be-here", "api": "graphql"})
batches = journal.pending_batches()
first = batches[0]
attempt = journal.mark_sent(first.batch_id, [r.row for r in first.rows])
journal.record_answer(first.batch_id, attempt, outcome="ok", batch_status="succeeded",
    rows=[RowOutcome("people", r.row, "created", r.sent_id) for r in first.rows])
second = batches[1]
journal.mark_sent(second.batch_id, [r.row for r in second.rows])
os.kill(os.getpid(), signal.SIGKILL)   # the request is "on the wire": no answer recorded
"""


def test_kill_9_between_send_and_answer_loses_nothing(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CRASH_SCRIPT), str(tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    journal = RunJournal.open(tmp_path, "crashed")
    rows = journal.rows_frame()
    assert (rows["status"][:60] == "created").all()
    pending = journal.pending_batches()
    assert [(b.batch_id, b.status, b.unanswered) for b in pending] == [
        ("people-b00002", "sent", True),
        ("people-b00003", "pending", False),
    ]
    # the ids the lost request carried are the ones a resume will send again
    assert [r.sent_id for r in pending[0].rows] == list(rows["sent_id"][60:120])
    assert (rows["attempts"][60:120] == 1).all()
    attempts = journal.attempts_frame()
    assert attempts["finished_at"].isna().tolist() == [False, True]
    journal.close()
    # the secret-looking setting was never written
    for file in (tmp_path / "crashed").iterdir():
        assert b"sk-should-not-be-here" not in file.read_bytes()


def test_crash_while_planning_leaves_a_restartable_run(tmp_path, plan):
    directory = tmp_path / "half"
    directory.mkdir()
    sqlite3.connect(directory / "journal.sqlite").close()  # created, nothing committed
    with pytest.raises(JournalError, match="never fully planned"):
        RunJournal.open(tmp_path, "half")
    assert not RunJournal.exists(tmp_path, "half")
    journal = RunJournal.create(tmp_path, plan, run_id="half")
    assert len(journal.rows_frame()) == 132
    journal.close()


def test_open_unknown_run_and_plan_mismatch(tmp_path, plan):
    with pytest.raises(JournalError, match="no run 'nope'"):
        RunJournal.open(tmp_path, "nope")
    journal = RunJournal.create(tmp_path, plan, run_id="r1")
    journal.check_plan(plan)
    other = build_plan(people(3), "people")
    with pytest.raises(PlanMismatchError, match="another plan") as info:
        journal.check_plan(other)
    assert info.value.run_id == "r1"
    journal.close()


def test_list_runs_and_summaries(tmp_path, plan):
    assert list_runs(tmp_path / "none").empty
    a = RunJournal.create(tmp_path, plan, run_id="a")
    b = RunJournal.create(tmp_path, build_plan(people(3), "people"), run_id="b", kind="test_batch")
    b.set_status("completed", finished=True)
    a.close()
    b.close()
    frame = list_runs(tmp_path)
    assert list(frame["run_id"]) == ["a", "b"]
    assert list(frame.columns[:7]) == [
        "run_id",
        "name",
        "kind",
        "status",
        "created_at",
        "finished_at",
        "rows",
    ]
    assert frame.set_index("run_id").loc["a", "pending"] == 132
    assert frame.set_index("run_id").loc["b", "kind"] == "test_batch"


def test_reusable_ids_come_from_created_rows_of_test_batches(tmp_path):
    test = RunJournal.create(
        tmp_path, build_plan(people(3), "people", name="crm-test"), run_id="t", kind="test_batch"
    )
    batch = test.pending_batches()[0]
    attempt = test.mark_sent(batch.batch_id, [r.row for r in batch.rows])
    test.record_answer(
        batch.batch_id,
        attempt,
        outcome="ok",
        batch_status="succeeded",
        rows=[
            RowOutcome("people", 0, "created", batch.rows[0].sent_id),
            RowOutcome("people", 1, "updated", "someone-else"),
            RowOutcome("people", 2, "failed", None, "bad"),
        ],
    )
    test.close()
    assert reusable_ids(tmp_path, "crm-test") == {("people", 0): batch.rows[0].sent_id}
    assert reusable_ids(tmp_path, "other-test") == {}


def test_user_supplied_ids_are_kept(tmp_path):
    given = str(uuid.uuid4())
    df = people(2).assign(id=[given, None])
    journal = RunJournal.create(tmp_path, build_plan(df, "people"))
    rows = journal.pending_batches()[0].rows
    assert rows[0].sent_id == given and rows[1].sent_id != given
    journal.close()


def test_regroup_recuts_unsent_batches_and_leaves_sent_ones(tmp_path):
    journal = RunJournal.create(tmp_path, build_plan(people(500), "people"))
    first, *rest = journal.pending_batches()
    assert [len(b.rows) for b in journal.pending_batches()] == [200, 200, 100]
    journal.mark_sent(first.batch_id, [r.row for r in first.rows])  # may have landed
    assert journal.regroup(0, 60, 1_000_000) == 5  # 300 unsent rows in 60s
    after = journal.pending_batches()
    assert after[0].batch_id == first.batch_id and len(after[0].rows) == 200
    assert [len(b.rows) for b in after[1:]] == [60] * 5
    rows = [r.row for b in after[1:] for r in b.rows]
    assert rows == [r.row for b in rest for r in b.rows]  # plan order kept, nothing lost
    assert journal.regroup(0, 60, 1_000_000) == 0  # already fits
    statuses = journal.batches_frame().set_index("batch_id")["status"]
    assert all(statuses[b.batch_id] == "split" for b in rest)
    # a byte limit cuts smaller still
    assert journal.regroup(0, 40, 2_000) > 300 // 40
    assert all(len(b.rows) <= 40 for b in journal.pending_batches()[1:])
    journal.close()
