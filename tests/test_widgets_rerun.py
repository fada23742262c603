"""The sending widgets refuse to start what is already running or done, and say why: a
notebook run again (or Start pressed after Run All) sends nothing twice without "Run
again" / "Send again"."""

from __future__ import annotations

from test_widgets import WAIT, GatedClient, assert_each_row_once, live_records, output_text, people

from twenty_migrate.plan.plan import build_plan
from twenty_migrate.run.importer import Importer
from twenty_migrate.widgets import ImportRunner, TestBatchReview


def test_start_after_a_completed_run_does_nothing_without_run_again(client, tmp_path, clock):
    frame = people(30)
    plan = build_plan(frame, "people", key="emails.primaryEmail")
    importer = Importer(client, runs_dir=tmp_path / "runs", progress=None, clock=clock)
    runner = ImportRunner(client, plan, importer=importer)
    runner.start_button.click()
    assert runner.wait(WAIT) == "done"
    assert runner.start_button.disabled
    calls = client.stats.snapshot()["calls"]
    runner.start()  # pressed from Python all the same
    assert runner.wait(WAIT) == "done" and client.stats.snapshot()["calls"] == calls
    said = output_text(runner.output)
    assert f"already imported by run {runner.run_id} (30 created" in said
    assert "Tick 'Run again'" in said
    runner.run_again.value = True
    assert not runner.start_button.disabled
    first = runner.run_id
    runner.start_button.click()
    assert runner.wait(WAIT) == "done"
    assert runner.result is not None and runner.run_id != first
    assert set(runner.result.rows["status"]) == {"unchanged"}  # nothing sent, nothing new
    assert runner.run_again.value is False and runner.start_button.disabled
    assert_each_row_once(client, frame)


def test_a_new_runner_for_a_plan_already_imported_says_so(client, tmp_path, clock):
    # The full-import notebook after Run All: the plan ran in a cell, the widget is shown.
    frame = people(10)
    plan = build_plan(frame, "people", key="emails.primaryEmail")
    importer = Importer(client, runs_dir=tmp_path / "runs", progress=None, clock=clock)
    done = importer.run(plan)
    runner = ImportRunner(client, plan, importer=importer)
    assert runner.start_button.disabled
    assert f"already imported by run {done.run_id}" in output_text(runner.output)
    runner.start_button.click()
    assert runner.state == "ready" and runner.thread is None
    assert_each_row_once(client, frame)


def test_a_runner_offers_to_resume_a_stopped_run_of_its_plan(client, tmp_path, clock):
    frame = people(60)
    plan = build_plan(frame, "people", batch_size=20)
    gated = GatedClient(client, hold_at=2)
    importer = Importer(gated, runs_dir=tmp_path / "runs", progress=None, clock=clock)
    importer.max_in_flight = 1
    first = ImportRunner(gated, plan, importer=importer)
    first.start_button.click()
    assert gated.reached.wait(WAIT)
    first.pause_button.click()
    gated.release.set()
    assert first.wait(WAIT) == "paused"
    again = ImportRunner(client, plan, importer=Importer(client, runs_dir=tmp_path / "runs"))
    assert again.run_id == first.run_id and not again.resume_button.disabled
    assert "press Resume to finish it" in output_text(again.output)
    again.resume_button.click()
    assert again.wait(WAIT) == "done"
    assert again.result is not None and again.result.created == 60
    assert_each_row_once(client, frame)


def test_batch_review_run_twice_shows_the_earlier_batch_unless_sent_again(client, importer):
    frame = people(30)
    plan = build_plan(frame, "people", key="emails.primaryEmail")
    first = TestBatchReview(client, plan, n=5, importer=importer)
    sent = first.send()
    assert sent is not None and sent.created == 5
    calls = client.stats.snapshot()["calls"]
    again = TestBatchReview(client, plan, n=5, importer=importer)  # the notebook re-run
    shown = again.send()
    assert shown is not None and shown.run_id == sent.run_id
    assert again.state == "sent" and again.diff is not None and len(again.diff) == 5 * 4
    assert "already sent by test batch" in output_text(again.status)
    assert client.stats.snapshot()["calls"] - calls == 1  # only the read-back
    again.send_again.value = True
    resent = again.send()
    assert resent is not None and resent.run_id != sent.run_id
    assert (resent.created, resent.updated) == (0, 5)
    assert again.send_again.value is False
    assert len(live_records(client)) == 5


def test_batch_review_sends_again_after_a_rollback(client, importer):
    plan = build_plan(people(10), "people", key="emails.primaryEmail")
    first = TestBatchReview(client, plan, n=3, importer=importer)
    first.send()
    first.roll_back()
    assert live_records(client) == []
    again = TestBatchReview(client, plan, n=3, importer=importer)
    result = again.send()
    assert result is not None and result.created == 3
    assert len(live_records(client)) == 3
