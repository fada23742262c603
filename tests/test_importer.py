"""Importer over the sandbox: outcomes, matching, refusals, throttling, faults, results."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest
from conftest import sandbox_client

from twenty_migrate.plan.plan import MAX_RECORDS_PER_CALL, ImportPlan, build_plan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.run.history import list_runs
from twenty_migrate.run.importer import Importer, ImportResult
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.progress import LogProgress, NullProgress, make_progress
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import sandbox_profile
from twenty_migrate.twenty.errors import AuthenticationError, ImportFailed, PlanMismatchError

ROOT = Path(__file__).resolve().parents[1]


def people(n: int, start: int = 0, domain: str = "example.com") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(start, start + n),
            "name.firstName": [f"First{i}" for i in range(start, start + n)],
            "name.lastName": [f"Last{i}" for i in range(start, start + n)],
            "emails.primaryEmail": [f"p{i}@{domain}" for i in range(start, start + n)],
        }
    )


def create_calls(sandbox: Sandbox) -> int:
    """Write calls seen by the sandbox (a GraphQL call refused at validation has no root
    field; reads name theirs, e.g. ``people``)."""
    return sum(
        1
        for r in sandbox.requests
        if r.path.startswith("/rest/batch/")
        or (r.path == "/graphql" and all(f.startswith("create") for f in r.root_fields))
    )


def assert_exactly_once(sandbox: Sandbox, result: ImportResult, obj: str = "person") -> None:
    records = sandbox.engine.all_records(obj)
    assert len({r["id"] for r in records}) == len(records)
    landed = result.rows[result.rows["status"].isin(["created", "updated"])]
    assert set(landed["twenty_id"]) <= {r["id"] for r in records}
    assert result.rows["_row"].is_unique


def test_all_rows_created_once_with_their_journal_ids(importer, sandbox):
    result = importer.run(build_plan(people(250), "people", key="emails.primaryEmail"))
    assert result.status == "completed" and not result.has_failures
    assert (result.created, result.updated, result.failed, result.pending) == (250, 0, 0, 0)
    assert sandbox.engine.count("person") == 250
    assert_exactly_once(sandbox, result)
    by_email = {r["emails"]["primaryEmail"]: r for r in sandbox.engine.all_records("person")}
    rows = result.rows.set_index("_row")
    for i in (0, 77, 249):
        record = by_email[f"p{i}@example.com"]
        assert rows.loc[i, "twenty_id"] == rows.loc[i, "sent_id"] == record["id"]
        assert record["name"] == {"firstName": f"First{i}", "lastName": f"Last{i}"}
    # The first call carries the largest cap any release takes, alone: a server with a
    # smaller cap refuses it whole (one call spent), then calls carry its cap.
    cap = sandbox.profile.query_max_records
    probe_refused = 1 if cap < MAX_RECORDS_PER_CALL else 0
    per_call = min(cap, MAX_RECORDS_PER_CALL)
    assert create_calls(sandbox) == probe_refused + -(-250 // per_call)
    assert result.calls >= -(-250 // per_call) and result.throttled == 0


def test_answers_are_matched_by_id_and_key_not_by_position(importer, sandbox):
    # 30 of the 90 people already exist (other ids); upsert updates them in place, and the
    # sandbox answers updated records first, then inserted ones (as Twenty does).
    existing = people(30, start=0)
    ids = [str(uuid.uuid4()) for _ in range(30)]
    sandbox.engine.create_many(
        "people",
        [
            {"id": i, "emails": {"primaryEmail": e.upper()}, "jobTitle": "kept"}
            for i, e in zip(ids, existing["emails.primaryEmail"], strict=True)
        ],
    )
    shuffled = pd.concat([people(60, start=30), people(30, start=0)]).sample(frac=1, random_state=3)
    result = importer.run(build_plan(shuffled, "people"))  # key from the workspace metadata
    assert (result.created, result.updated, result.failed) == (60, 30, 0)
    assert sandbox.engine.count("person") == 90
    rows = result.rows.set_index("_row")
    for n in range(30):
        assert rows.loc[n, "status"] == "updated"
        assert rows.loc[n, "twenty_id"] == ids[n] != rows.loc[n, "sent_id"]
    for n in range(30, 90):
        assert (
            rows.loc[n, "status"] == "created"
            and rows.loc[n, "twenty_id"] == rows.loc[n, "sent_id"]
        )
    record = sandbox.engine.get("person", ids[7])
    assert record["name"]["firstName"] == "First7" and record["jobTitle"] == "kept"


def test_company_domains_match_after_normalisation(importer, sandbox):
    sandbox.engine.create_many(
        "companies", [{"name": "Old", "domainName": {"primaryLinkUrl": "acme.com"}}]
    )
    frame = pd.DataFrame(
        {
            "_row": ["a", "b"],
            "name": ["Acme", "Globex"],
            "domainName.primaryLinkUrl": ["ACME.com/", "globex.com"],
        }
    )
    result = importer.run(build_plan(frame, "companies"))
    rows = result.rows.set_index("_row")
    assert rows.loc["a", "status"] == "updated" and rows.loc["b", "status"] == "created"
    assert sandbox.engine.count("company") == 2


def test_rerunning_the_same_plan_updates_instead_of_duplicating(importer, sandbox):
    plan = build_plan(people(70), "people")
    first = importer.run(plan)
    second = importer.run(plan, only_changed=False)  # every row again, to the same ids
    assert first.created == 70 and second.updated == 70
    assert sandbox.engine.count("person") == 70


def test_bisection_isolates_two_bad_rows_with_few_calls(importer, sandbox):
    # Plain creates of two emails that already exist: Twenty's duplicate error names no row.
    sandbox.engine.create_many(
        "people",
        [
            {"emails": {"primaryEmail": "p13@example.com"}},
            {"emails": {"primaryEmail": "p44@example.com"}},
        ],
    )
    result = importer.run(build_plan(people(60), "people", upsert=False))
    assert (result.created, result.failed) == (58, 2)
    failures = result.failures.set_index("_row")
    assert sorted(failures.index) == [13, 44]
    assert failures.loc[13, "error"] == (
        "A duplicate entry was detected (This Emails value is already in use. Please check "
        "your data and try again.)"
    )
    assert failures.loc[13, "error_code"] == "DUPLICATE_ENTRY_DETECTED"
    assert sandbox.engine.count("person") == 60
    calls = create_calls(sandbox)
    assert calls <= 1 + 2 * 2 * 6  # halving to each bad row, not 60 single sends
    journal = RunJournal.open(importer.runs_dir, result.run_id)
    batches = journal.batches_frame().set_index("batch_id")
    assert batches.loc["people-b00001", "status"] == "split"
    assert set(batches["status"]) <= {"split", "succeeded", "failed"}
    journal.close()


def test_rows_named_by_graphql_errors_fail_without_bisection(importer, sandbox):
    frame = people(60).astype({"name.firstName": object})
    frame.loc[[5, 40], "name.firstName"] = [12, 34]  # not strings: GraphQL coercion errors
    result = importer.run(build_plan(frame, "people"))
    assert (result.created, result.failed) == (58, 2)
    failures = result.failures.set_index("_row")
    assert "String cannot represent a non string value: 12" in failures.loc[5, "error"]
    assert create_calls(sandbox) == 2


def test_rows_named_by_rest_validation_fail_without_bisection(importer, sandbox):
    frame = people(60)
    frame.loc[[3, 50], "emails.primaryEmail"] = ["not-an-email", "also bad"]
    plan = ImportPlan([ObjectStep("people", frame)], api="rest")
    result = importer.run(plan)
    assert (result.created, result.failed) == (58, 2)
    errors = result.failures.set_index("_row")["error"]
    assert (
        errors[3] == "Invalid string value 'not-an-email' for email field \"emails.primaryEmail\""
    )
    assert errors[50].startswith("Invalid string value 'also bad'")
    assert create_calls(sandbox) == 3


def test_a_cause_outside_the_rows_stops_the_run(client, sandbox, tmp_path, clock):
    # Up to max_in_flight batches may already be out when the run stops: keep it small.
    importer = Importer(
        client, runs_dir=tmp_path / "runs", progress=None, clock=clock, max_in_flight=8
    )
    frame = people(1200).assign(favouriteColour="blue")  # no such field in the workspace
    plan = ImportPlan([ObjectStep("people", frame)], api="rest")
    result = importer.run(plan)
    assert result.status == "incomplete" and result.created == 0
    assert result.failed >= 20 and result.pending > 0
    assert "favouriteColour" in (result.message or "")
    assert create_calls(sandbox) <= 8  # stopped early, not 1200 refused rows one by one
    with pytest.raises(ImportFailed, match="resume"):
        result.raise_for_failures()


def test_relations_point_to_the_ids_earlier_steps_got(importer, sandbox):
    sandbox.engine.create_many(
        "companies", [{"name": "Old Acme", "domainName": {"primaryLinkUrl": "acme.com"}}]
    )
    old_acme = sandbox.engine.all_records("company")[0]["id"]
    companies = pd.DataFrame(
        {
            "_row": ["c1", "c2", "c3"],
            "name": ["Acme", "Globex", "Bad"],
            "domainName.primaryLinkUrl": ["acme.com", "globex.com", "bad.com"],
            "employees": [10, 20, "many"],
        }
    )
    staff = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "name.firstName": ["A", "B", "C", "D"],
            "companyId": ["c1", "c2", "c3", None],
        }
    )
    plan = ImportPlan(
        [
            ObjectStep("companies", companies),
            ObjectStep("people", staff, refs={"companyId": "companies"}),
        ],
        api="rest",
    )
    result = importer.run(plan)
    rows = result.rows.set_index(["object", "_row"])
    globex = rows.loc[("companies", "c2"), "twenty_id"]
    people_by_name = {p["name"]["firstName"]: p for p in sandbox.engine.all_records("person")}
    assert people_by_name["A"]["companyId"] == old_acme  # the company it matched
    assert people_by_name["B"]["companyId"] == globex
    assert people_by_name["D"]["companyId"] is None
    assert "C" not in people_by_name
    assert rows.loc[("people", 3), "error_code"] == "REF_FAILED"
    assert "companies row 'c3' failed" in rows.loc[("people", 3), "error"]


def test_throttling_is_waited_out_never_a_failure(tmp_path, clock, twenty_version):
    sandbox = Sandbox(
        twenty_version=twenty_version,
        short_limit=5,
        short_ttl_ms=1000,
        long_limit=20,
        long_ttl_ms=60_000,
        clock=clock,
        sleep=clock.sleep,
    )
    client = sandbox_client(sandbox, clock)  # believes Twenty's default 100/100 budget
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock)
    result = importer.run(build_plan(people(1500), "people", batch_size=60))  # 25 calls
    assert result.status == "completed" and result.failed == 0
    assert sandbox.engine.count("person") == 1500
    assert result.throttled > 0
    assert sum(clock.slept) >= (25 - 20) * 60 / 20 * 0.9  # the long window was respected


@pytest.mark.parametrize("upsert", [True, False])
def test_server_errors_and_lost_answers_give_exactly_once(tmp_path, clock, upsert, twenty_version):
    sandbox = Sandbox(twenty_version=twenty_version, clock=clock, sleep=clock.sleep, seed=7)
    client = sandbox_client(sandbox, clock)
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock, max_in_flight=4)
    sandbox.fail_next(2, status=500)
    sandbox.fail_next(2, drop_response=True)
    sandbox.set_faults(error_rate=0.15, drop_rate=0.15)
    result = importer.run(build_plan(people(600), "people", upsert=upsert))
    if result.pending:  # a very unlucky streak: the rest comes with a resume
        sandbox.set_faults()
        result = importer.resume(result.run_id)
    assert result.status == "completed", result.summary()
    assert result.created == 600 and result.failed == 0
    assert sandbox.engine.count("person") == 600
    assert_exactly_once(sandbox, result)
    assert any(r.dropped for r in sandbox.requests) and any(r.faulted for r in sandbox.requests)


def test_test_batch_then_full_run_creates_nothing_twice(importer, sandbox):
    # Opportunities have no unique field: only the derived ids prevent duplicates.
    frame = pd.DataFrame({"_row": range(50), "name": [f"Deal {i}" for i in range(50)]})
    plan = build_plan(frame, "opportunities", name="deals")
    test = importer.run(plan, test_batch=5)
    assert test.kind == "test_batch" and test.created == 5
    assert sandbox.engine.count("opportunity") == 5
    full = importer.run(plan)
    assert full.kind == "run" and full.run_id != test.run_id
    # The test records are known: unchanged, so not sent again; never counted created.
    assert (full.created, full.unchanged) == (45, 5)
    assert sandbox.engine.count("opportunity") == 50
    test_ids = set(test.rows["twenty_id"])
    assert test_ids <= set(full.rows["twenty_id"])
    runs = list_runs(importer.runs_dir)
    assert list(runs["kind"]) == ["test_batch", "run"]


def test_dry_run_sends_nothing(importer, sandbox, client):
    plan = build_plan(people(12000), "people")
    result = importer.run(plan, dry_run=True)
    assert result.status == "dry_run" and result.pending == 12000
    # the cap is not known yet: counted at 200 per call, and said so
    assert "60 calls" in str(result) and "not calibrated yet" in str(result)
    assert "100 calls per 60 s" in str(result)
    client.traits.max_records = 60  # what a first write call would have learned
    result = importer.run(plan, dry_run=True)
    assert "200 calls" in str(result) and "at least 1 min" in str(result)
    assert "up to 60 records per call (the server's cap)" in str(result)
    assert sandbox.requests == [] or len(sandbox.requests) == 0
    assert client.stats.calls == 0
    assert not importer.runs_dir.exists() or not any(importer.runs_dir.iterdir())
    result.raise_for_failures()  # nothing to raise for a dry run


def test_runs_dir_defaults_to_the_setting(client, tmp_path):
    # conftest points TWENTY_MIGRATE_RUNS_DIR at tmp_path / "runs"
    importer = Importer(client, progress=None)
    assert importer.runs_dir == tmp_path / "runs"
    result = importer.run(build_plan(people(3), "people"))
    assert Path(result.journal_path or "").parent.parent == tmp_path / "runs"


def test_dry_run_of_a_test_batch_describes_the_test(importer, client):
    result = importer.run(build_plan(people(500), "people"), dry_run=True, test_batch=7)
    assert "7 rows in 1 calls" in str(result) and client.stats.calls == 0


def test_resuming_with_another_plan_is_refused(importer):
    plan = build_plan(people(10), "people")
    importer.run(plan, run_id="fixed")
    other = build_plan(people(11), "people")
    with pytest.raises(PlanMismatchError):
        importer.run(other, run_id="fixed")
    with pytest.raises(PlanMismatchError):
        importer.resume("fixed", plan=other)
    again = importer.run(plan, run_id="fixed")  # same plan: nothing left to do
    assert again.created == 10 and again.calls == importer.resume("fixed").calls


def test_api_key_never_reaches_the_journal_or_the_result(tmp_path, clock, twenty_version):
    secret = "sk-live-0123456789abcdef-SECRET"
    sandbox = Sandbox(twenty_version=twenty_version, api_key=secret, clock=clock, sleep=clock.sleep)
    client = sandbox_client(sandbox, clock)
    importer = Importer(client, runs_dir=tmp_path, progress=None, clock=clock)
    frame = people(80)
    frame.loc[3, "emails.primaryEmail"] = "bad"
    result = importer.run(build_plan(frame, "people"))
    assert result.failed == 1
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "journal.sqlite" for p in files)
    for path in files:
        assert secret.encode() not in path.read_bytes()
        assert secret[-12:].encode() not in path.read_bytes()
    for text in (
        repr(result),
        str(result),
        str(result.asdict()),
        result._repr_html_(),
        repr(importer),
    ):
        assert secret not in text and secret[-4:] not in text.replace(repr(client), "")


def test_run_level_errors_raise_and_leave_the_run_resumable(tmp_path, clock, sandbox):
    bad = sandbox_client(sandbox, clock, api_key="wrong-key")
    importer = Importer(bad, runs_dir=tmp_path, progress=None, clock=clock)
    with pytest.raises(AuthenticationError) as info:
        importer.run(build_plan(people(10), "people", key="emails.primaryEmail"), run_id="auth")
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "resume('auth')" in notes
    journal = RunJournal.open(tmp_path, "auth")
    assert journal.info()["status"] == "failed"
    assert [b.status for b in journal.pending_batches()] == ["pending"]
    journal.close()
    good = Importer(sandbox_client(sandbox, clock), runs_dir=tmp_path, progress=None, clock=clock)
    assert good.resume("auth").created == 10


def test_result_explains_itself(importer):
    frame = people(10)
    frame.loc[4, "emails.primaryEmail"] = "nope"
    result = importer.run(build_plan(frame, "people"))
    text = result.summary()
    assert result.run_id in text and "people: 9 created, 0 updated, 1 failed" in text
    assert str(result) == text
    data = result.asdict()
    assert data["counts"]["people"]["created"] == 9 and data["failed"] == 1
    assert data["journal_path"].endswith("journal.sqlite")
    html = result._repr_html_()
    assert "<table" in html and "nope" in html
    assert list(result.failures.columns) == [
        "object",
        "_row",
        "error",
        "error_code",
        "batch_id",
        "attempts",
    ]
    with pytest.raises(ImportFailed) as info:
        result.raise_for_failures()
    assert info.value.run_id == result.run_id and info.value.result is result
    assert "fix-me" in str(info.value)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, object: str, total: int) -> None:
        self.events.append(("start", object, total))

    def update(self, object: str, **counts: int) -> None:
        self.events.append(("update", object, counts))

    def close(self) -> None:
        self.events.append(("close",))


def test_progress_gets_one_start_per_object_and_counts(client, tmp_path, clock, sandbox):
    recorder = Recorder()
    importer = Importer(client, runs_dir=tmp_path, progress=recorder, clock=clock)
    companies = pd.DataFrame({"_row": range(3), "name": ["a", "b", "c"]})
    plan = ImportPlan([ObjectStep("companies", companies), ObjectStep("people", people(130))])
    importer.run(plan)
    starts = [e for e in recorder.events if e[0] == "start"]
    assert starts == [("start", "companies", 3), ("start", "people", 130)]
    created = sum(
        e[2].get("created", 0) for e in recorder.events if e[0] == "update" and e[1] == "people"
    )
    assert created == 130
    assert any("eta_s" in e[2] for e in recorder.events if e[0] == "update")
    assert recorder.events[-1] == ("close",)


def test_progress_factories(caplog):
    assert isinstance(make_progress(None), NullProgress)
    log = make_progress("log", total=10, desc="rollback")
    assert isinstance(log, LogProgress)
    with caplog.at_level("INFO", logger="twenty_migrate.run.progress"):
        log.update("rollback", deleted=10, throttled=2)
    assert "rollback: 10/10 rows" in caplog.text and "throttled=2" in caplog.text
    with pytest.raises(ValueError):
        make_progress("fancy")  # type: ignore[arg-type]
    recorder = Recorder()
    assert make_progress(recorder) is recorder  # type: ignore[arg-type]


def test_tqdm_bars_show_counts(capsys):
    bars = make_progress("auto")
    bars.start("people", 100)
    bars.update("people", created=60, failed=2, throttled=3, eta_s=75)
    bars.close()
    err = capsys.readouterr().err
    assert "people" in err and "created=60" in err and "throttled=3" in err and "1m15s" in err


def test_importing_the_importer_does_not_import_tqdm():
    code = (
        "import sys, twenty_migrate.run.importer, twenty_migrate.run.progress; "
        "assert 'tqdm' not in sys.modules, 'tqdm imported'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def test_a_smaller_server_cap_is_learned_and_batches_split(tmp_path, clock):
    sandbox = Sandbox(
        profile=sandbox_profile("1").replace(query_max_records=20), clock=clock, sleep=clock.sleep
    )
    importer = Importer(
        sandbox_client(sandbox, clock),
        runs_dir=tmp_path,
        progress=None,
        clock=clock,
        max_in_flight=1,
    )
    result = importer.run(build_plan(people(200), "people"))
    assert result.created == 200 and result.failed == 0
    # the first batch is refused once; after that every batch is cut to 20 before sending
    assert create_calls(sandbox) == 1 + 10


def test_match_records_never_uses_positions():
    from twenty_migrate.run.outcomes import match_records
    from twenty_migrate.run.runs import PendingRow

    rows = [
        PendingRow("a", "id-a", {"emails": {"primaryEmail": "A@x.com"}}),
        PendingRow("b", "id-b", {"emails": {"primaryEmail": "b@x.com"}}),
        PendingRow("c", "id-c", {"name": "no key"}),
    ]
    answer = [  # Twenty's order: the updated record first, then the inserted ones
        {"id": "old-b", "emails": {"primaryEmail": "b@x.com"}},
        {"id": "id-c"},
        {"id": "id-a", "emails": {"primaryEmail": "a@x.com"}},
    ]
    matched, left = match_records(rows, answer, ["emails.primaryEmail"])
    assert matched == {
        "a": ("created", "id-a"),
        "b": ("updated", "old-b"),
        "c": ("created", "id-c"),
    }
    assert left == []
    # two rows Twenty matched on a field the answer lacks: no guessing
    rows2 = [PendingRow(1, "i1", {}), PendingRow(2, "i2", {})]
    matched, left = match_records(rows2, [{"id": "x"}, {"id": "y"}], [])
    assert matched == {} and [r.row for r in left] == [1, 2]


def test_refusals_name_their_rows():
    from twenty_migrate.run.outcomes import named_rows, suspect_row
    from twenty_migrate.run.runs import PendingRow
    from twenty_migrate.twenty.errors import BadRequestError

    rows = [
        PendingRow(i, f"id{i}", {"stage": s, "name": f"n{i}"})
        for i, s in enumerate(["NEW", "FOO", "WON", "FOO"])
    ]
    rest = BadRequestError("Invalid value 'FOO' for field \"stage\"")
    assert named_rows(rest, rows) == {1: str(rest), 3: str(rest)}
    graphql = BadRequestError(
        "Variable '$data' got invalid value 'FOO' at 'data[1].stage'; ...",
        messages=[
            "Variable '$data' got invalid value 'FOO' at 'data[1].stage'; ...",
            "Variable '$data' got invalid value 'FOO' at 'data[3].stage'; ...",
        ],
    )
    assert sorted(named_rows(graphql, rows)) == [1, 3]
    unknown = BadRequestError('Object person doesn\'t have any "stage" field.')
    assert sorted(named_rows(unknown, rows)) == [0, 1, 2, 3]
    vague = BadRequestError("Something about 'n2' went wrong")
    assert named_rows(vague, rows) == {} and suspect_row(vague, rows) == 2
    assert suspect_row(BadRequestError("A duplicate entry was detected"), rows) is None


def test_request_stop_pauses_a_run_that_resume_finishes(sandbox, clock, tmp_path):
    client = sandbox_client(sandbox, clock)
    importer = Importer(
        client, runs_dir=tmp_path / "runs", progress=None, clock=clock, max_in_flight=1
    )
    create_many = client.create_many
    sent: list[int] = []

    def create_then_pause(*args, **kwargs):
        result = create_many(*args, **kwargs)
        sent.append(len(result))
        if len(sent) == 2:
            importer.request_stop()  # as a notebook's Pause button does, from another thread
        return result

    client.create_many = create_then_pause  # type: ignore[method-assign]
    paused = importer.run(build_plan(people(600), "people", key="emails.primaryEmail"))
    assert paused.status == "incomplete"
    counts = paused.counts["people"]
    per_call = min(sandbox.profile.query_max_records, MAX_RECORDS_PER_CALL)
    assert counts["created"] == 2 * per_call and counts["pending"] == 600 - 2 * per_call
    done = importer.resume(paused.run_id)
    assert done.status == "completed" and done.counts["people"]["created"] == 600
    assert sandbox.engine.count("people") == 600
    # A stop asked for between runs does not leak into the next one.
    assert importer.run(build_plan(people(60, 600), "people")).status == "completed"


def test_rows_sharing_a_key_in_one_call_point_to_the_one_record(importer, sandbox):
    rows = people(3)
    rows.loc[2, "emails.primaryEmail"] = rows.loc[0, "emails.primaryEmail"]
    result = importer.run(build_plan(rows, "people", key="emails.primaryEmail"))
    stored = {r["id"] for r in sandbox.engine.all_records("person")}
    assert len(stored) == 2
    landed = result.rows.set_index("_row")
    assert set(landed["twenty_id"]) == stored  # every id the journal gives exists
    assert landed.loc[0, "twenty_id"] == landed.loc[2, "twenty_id"]
    assert set(landed["status"]) <= {"created", "updated"}
