"""Reading records back, run logs, fix-me files, summaries and rollback, over the sandbox."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pandas as pd
import pytest

from twenty_migrate.plan.plan import ImportPlan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.run.history import list_runs
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILES
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.ui.demo import show_reconciliation
from twenty_migrate.verify.export import (
    RECONCILE_COLUMNS,
    neutralize_formulas,
    read_fixme,
    reconcile,
    relation_coverage,
    restore_formulas,
    rollback,
    run_summary,
    write_fixme,
    write_frame,
    write_log,
    write_summary,
)
from twenty_migrate.verify.records import fetch_records

API_KEY = "sk-live-7f3a9c1e5b2d4f60a8e7"
MISSING_COMPANY = "3c1d8a55-0000-4000-8000-000000000000"
DANGEROUS = ["=1+1", "+33 6 12 34 56 78", "-2", "@SUM(A1)", "\tx", "\rx", "'=quoted"]


@pytest.fixture
def sandbox(twenty_version) -> Sandbox:
    return Sandbox(twenty_version=twenty_version, api_key=API_KEY, throttle=False)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[TwentyClient]:
    with TwentyClient(
        base_url=sandbox.base_url,
        api_key=API_KEY,
        transport=sandbox.transport(),
        rate_limit=None,
        env_file=None,
    ) as client:
        yield client


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def seed_people(sandbox: Sandbox, n: int, prefix: str = "seed") -> list[dict[str, Any]]:
    records = [
        {"name": {"firstName": f"P{i}"}, "emails": {"primaryEmail": f"{prefix}{i}@example.com"}}
        for i in range(n)
    ]
    created = []
    for start in range(0, n, 60):
        created += sandbox.engine.create_many("people", records[start : start + 60])
    return created


def source_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Original spreadsheet columns and the mapped frame built from them."""
    source = pd.DataFrame(
        {
            "_row": range(1, 9),
            "First Name": [
                "Ada",
                '=HYPERLINK("http://x")',
                "Grace",
                "Alan",
                "Edsger",
                "Barbara",
                "Ken",
                "Linus",
            ],  # fmt: skip
            "E-mail": [f"user{i}@example.com" for i in range(1, 9)],
            "Phone": ["+33 6 12 34 56 78", None, "-", "@home", "1", "2", "3", "4"],
            "Company": ["Acme", "Acme", "Nowhere", "Acme", "Nowhere", "Acme", "Acme", "Acme"],
        }
    )
    mapped = pd.DataFrame(
        {
            "_row": source["_row"],
            "name.firstName": source["First Name"],
            "emails.primaryEmail": source["E-mail"],
            "companyId": [MISSING_COMPANY if c == "Nowhere" else None for c in source["Company"]],
        }
    )
    return source, mapped


@pytest.fixture
def run(sandbox: Sandbox, client: TwentyClient, runs_dir: Path) -> Iterator[RunJournal]:
    """A run over an existing person (updated), a company and 8 people (2 fail)."""
    seed_people(sandbox, 1, prefix="user")  # user0@... is not in the source
    sandbox.engine.create_many(
        "people", [{"name": {"firstName": "Old"}, "emails": {"primaryEmail": "user1@example.com"}}]
    )
    source, mapped = source_frames()
    companies = pd.DataFrame({"_row": [1], "name": ["Acme"]})
    plan = ImportPlan(
        [
            ObjectStep("companies", companies),
            ObjectStep("people", mapped, key="emails.primaryEmail", source=source),
        ],
        name="people",
    )
    result = Importer(client, runs_dir=runs_dir, progress=None).run(plan, run_id="r1")
    assert result.failed == 2 and result.updated == 1
    journal = RunJournal.open(runs_dir, "r1")
    yield journal
    journal.close()


# ------------------------------------------------------------------------ fetch_records


def test_fetch_records_reads_every_page_and_flattens(sandbox, client):
    seed_people(sandbox, 250)
    before = len(sandbox.requests)

    frame = fetch_records(client, "people")

    assert len(frame) == 250 and frame["id"].is_unique
    assert list(frame.columns[:1]) == ["id"]
    assert {"name.firstName", "emails.primaryEmail", "emails.additionalEmails"} <= set(frame)
    assert "emails" not in frame.columns
    assert set(frame["emails.primaryEmail"]) == {f"seed{i}@example.com" for i in range(250)}
    pages = [r for r in list(sandbox.requests)[before:] if r.path == "/graphql"]
    assert len(pages) >= 5  # 250 records, at most 60 per page


def test_fetch_records_fields_filter_and_deleted(sandbox, client):
    people = seed_people(sandbox, 70)
    sandbox.engine.delete_many("people", {"id": {"in": [p["id"] for p in people[:10]]}})

    picked = fetch_records(client, "people", fields=["emails.primaryEmail", "name"])
    assert list(picked.columns) == ["id", "emails.primaryEmail", "name.firstName", "name.lastName"]
    assert len(picked) == 60
    assert len(fetch_records(client, "people", fields=["id"], with_deleted=True)) == 70
    one = fetch_records(
        client, "people", filter={"emails": {"primaryEmail": {"eq": "seed42@example.com"}}}
    )
    assert one["emails.primaryEmail"].tolist() == ["seed42@example.com"]
    raw = fetch_records(client, "people", fields="id emails { primaryEmail }")
    assert list(raw.columns) == ["id", "emails.primaryEmail"]


def test_fetch_records_of_an_empty_object_has_the_asked_columns(client):
    frame = fetch_records(client, "opportunities", fields=["name"])
    assert frame.empty and list(frame.columns) == ["id", "name"]


# ------------------------------------------------------------------------ logs


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "xlsx", "parquet"])
def test_log_round_trips_in_every_format(run, tmp_path, suffix):
    path = write_log(run, tmp_path / "out" / f"log.{suffix}")

    back = read_fixme(path)  # reads any format write_frame wrote
    expected = run.rows_frame()
    assert len(back) == len(expected) == 9
    assert back["_row"].astype(int).tolist() == expected["_row"].astype(int).tolist()
    assert back["status"].tolist() == expected["status"].tolist()
    assert back["twenty_id"].tolist() == expected["twenty_id"].tolist()
    assert back["attempts"].astype(int).tolist() == expected["attempts"].tolist()
    errors = [None if pd.isna(e) else e for e in back["error"]]
    assert errors == [None if pd.isna(e) else e for e in expected["error"]]
    assert "no company record with this id exists" in " ".join(e for e in errors if e)
    assert {"object", "error_code", "batch_id", "first_sent_at", "finished_at"} <= set(back)
    assert not {"payload", "source", "sent_id"} & set(back.columns)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_log_by_run_id_and_run_directory(run, runs_dir, tmp_path):
    by_id = write_log("r1", tmp_path / "a.csv", runs_dir=runs_dir)
    by_dir = write_log(runs_dir / "r1", tmp_path / "b.csv")
    assert by_id.read_bytes() == by_dir.read_bytes()
    with pytest.raises(ValueError, match="suffix"):
        write_log(run, tmp_path / "log.txt")
    assert write_log(run, tmp_path / "log.txt", format="jsonl").read_text().count("\n") == 9


def test_spreadsheet_cells_cannot_become_formulas(tmp_path):
    frame = pd.DataFrame({"text": DANGEROUS + ["safe"], "n": range(8)})

    write_frame(frame, tmp_path / "f.csv")
    write_frame(frame, tmp_path / "f.xlsx")
    write_frame(frame, tmp_path / "f.jsonl")

    with open(tmp_path / "f.csv", encoding="utf-8-sig", newline="") as handle:
        cells = [row[0] for row in csv.reader(handle)][1:]
    assert cells[:7] == ["'" + v for v in DANGEROUS[:6]] + ["''=quoted"]
    assert cells[7] == "safe"
    sheet = openpyxl.load_workbook(tmp_path / "f.xlsx").active
    column = [c for c in sheet["A"]][1:]
    assert all(c.data_type != "f" for c in column)
    assert [c.value for c in column][0] == "'=1+1"
    # JSONL is data: kept as is; CSV and XLSX read back exactly through restore_formulas.
    jsonl = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert [r["text"] for r in jsonl] == DANGEROUS + ["safe"]
    assert read_fixme(tmp_path / "f.csv")["text"].tolist() == DANGEROUS + ["safe"]
    from_xlsx = read_fixme(tmp_path / "f.xlsx")["text"].tolist()
    assert from_xlsx == [v.replace("\r", "\n") for v in DANGEROUS] + ["safe"]  # XML: CR -> LF
    restored = restore_formulas(neutralize_formulas(frame))
    assert restored["text"].tolist() == frame["text"].tolist()
    assert restored["n"].tolist() == frame["n"].tolist()


def test_cells_stay_inert_once_xlsx_control_characters_are_dropped(tmp_path):
    write_frame(pd.DataFrame({"text": ["\x01=cmd|' /C calc'!A0"]}), tmp_path / "f.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "f.xlsx").active["A2"]
    assert cell.data_type != "f" and cell.value.startswith("'=")


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "log.csv"
    target.write_text("previous\n")

    def broken(self, path, **kwargs):
        Path(path).write_text("half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_frame(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]


# ------------------------------------------------------------------------ fix-me


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_fixme_has_only_failures_in_their_original_columns(run, tmp_path, suffix):
    path = write_fixme(run, tmp_path / f"fixme.{suffix}")

    raw = pd.read_csv(path) if suffix == "csv" else pd.read_excel(path)
    assert list(raw.columns) == ["_row", "First Name", "E-mail", "Phone", "Company",
                                 "_object", "_error"]  # fmt: skip
    assert raw["_row"].tolist() == [3, 5]
    assert raw["Company"].tolist() == ["Nowhere", "Nowhere"]
    assert set(raw["_object"]) == {"people"}
    assert all("no company record" in e for e in raw["_error"])
    assert raw["Phone"].astype(str).tolist() == ["'-", "1"]  # "-" neutralised in the file

    fixed = read_fixme(path)
    assert fixed["Phone"].astype(str).tolist() == ["-", "1"]
    assert fixed["E-mail"].tolist() == ["user3@example.com", "user5@example.com"]


def test_fixme_of_a_clean_run_is_empty(client, runs_dir, tmp_path):
    plan = ImportPlan([ObjectStep("companies", pd.DataFrame({"_row": [1], "name": ["Solo"]}))])
    Importer(client, runs_dir=runs_dir, progress=None).run(plan, run_id="clean")
    frame = read_fixme(write_fixme("clean", tmp_path / "fixme.csv", runs_dir=runs_dir))
    assert frame.empty and list(frame.columns) == ["_row", "_object", "_error"]


# ------------------------------------------------------------------------ verifying


def test_reconcile_looks_up_only_the_runs_records(sandbox, client, run):
    calls = client.stats.snapshot()["calls"]
    checks = reconcile(client, run)
    assert list(checks.columns) == RECONCILE_COLUMNS
    people = checks.set_index("object").loc["people"].to_dict()
    # 5 created and 1 updated; user0 was in the workspace before and is no concern of the run.
    assert people == {
        "landed": 6,
        "failed": 2,
        "pending": 0,
        "in_twenty": 6,
        "missing": 0,
        "duplicated": 0,
        "in_workspace": 7,
        "reconciled": True,
    }
    assert checks["reconciled"].dtype == bool and checks["reconciled"].all()
    # Per object, one call: its first page holds every record and counts the workspace.
    assert client.stats.snapshot()["calls"] - calls == len(checks) == checks.attrs["calls"]


def test_reconcile_finds_records_gone_since_and_unfinished_rows(sandbox, client, run):
    created = run.twenty_ids("created")
    gone = created.loc[created["object"] == "people", "twenty_id"].iloc[0]
    sandbox.engine.delete_many("people", {"id": {"in": [gone]}})
    people = reconcile(client, run).set_index("object").loc["people"]
    assert (people["in_twenty"], people["missing"], people["reconciled"]) == (5, 1, False)

    with sqlite3.connect(run.path) as conn:
        conn.execute("UPDATE rows SET status = 'pending' WHERE object = 'companies'")
    companies = reconcile(client, run).set_index("object").loc["companies"]
    assert (companies["landed"], companies["pending"], companies["reconciled"]) == (0, 1, False)


def test_reconcile_a_run_and_its_fixes_by_run_id(sandbox, client, run, runs_dir):
    _, mapped = source_frames()
    fixed = mapped[mapped["companyId"].notna()].assign(companyId=None)
    plan = ImportPlan([ObjectStep("people", fixed, key="emails.primaryEmail")], name="fixes")
    Importer(client, runs_dir=runs_dir, progress=None).run(plan, run_id="r2")

    checks = reconcile(client, ["r1", "r2"], runs_dir=runs_dir).set_index("object")
    assert checks.loc["people", "landed"] == 8 and checks.loc["people", "in_twenty"] == 8
    assert checks.loc["people", "failed"] == 2  # as the first run's journal says
    assert checks["reconciled"].all()
    with pytest.raises(ValueError, match="no run given"):
        reconcile(client, [])


def test_the_demo_wants_twenty_to_hold_exactly_the_landed_records(sandbox, client, run):
    # The run reconciles, but the demo starts on an empty workspace: user0 has no business
    # being there, so the demo calls it a mismatch.
    out = io.StringIO()
    assert not show_reconciliation(reconcile(client, run), out)
    lines = out.getvalue().splitlines()
    assert "  companies: journal 1 landed, 0 failed, 0 pending; Twenty holds 1 -> reconciled" in (
        lines
    )
    assert "  people: journal 6 landed, 2 failed, 0 pending; Twenty holds 7 -> MISMATCH" in lines


@pytest.fixture
def linked_run(sandbox: Sandbox, client: TwentyClient, runs_dir: Path) -> Iterator[RunJournal]:
    """Two companies, four people (three with a company), three tasks (two with targets)."""
    seed_people(sandbox, 1)  # in the workspace before: no company
    companies = pd.DataFrame({"_row": [1, 2], "name": ["Acme", "Zeta"]})
    people = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "emails.primaryEmail": [f"p{i}@example.com" for i in range(4)],
            "companyId": [1, 2, None, 1],
        }
    )
    tasks = pd.DataFrame({"_row": [1, 2, 3], "title": ["Call", "Write", "Visit"]})
    person_id = target_column(sandbox, "person")
    targets = pd.DataFrame(
        {"_row": ["1:1", "1:2", "2:1"], "taskId": [1, 1, 2], person_id: [1, 2, 3]}
    )
    plan = ImportPlan(
        [
            ObjectStep("companies", companies),
            ObjectStep("people", people, refs={"companyId": "companies"}),
            ObjectStep("tasks", tasks),
            ObjectStep("taskTargets", targets, refs={"taskId": "tasks", person_id: "people"}),
        ]
    )
    result = Importer(client, runs_dir=runs_dir, progress=None).run(plan, run_id="linked")
    assert result.failed == 0
    journal = RunJournal.open(runs_dir, "linked")
    yield journal
    journal.close()


def test_relation_coverage_of_a_run(client, linked_run, runs_dir):
    coverage = relation_coverage(client, linked_run)
    assert list(coverage.columns) == ["object", "column", "linked", "total"]
    found = {(o, c): (n, t) for o, c, n, t in coverage.itertuples(index=False)}
    assert found[("people", "companyId")] == (3, 4)
    assert found[("companies", "accountOwnerId")] == (0, 2)
    assert found[("tasks", "taskTargets")] == (2, 3)  # linked through its targets
    assert found[("tasks", "assigneeId")] == (0, 3)
    assert "taskTargets" not in set(coverage["object"])  # counted on their tasks
    by_id = relation_coverage(client, ["linked"], runs_dir=runs_dir)
    pd.testing.assert_frame_equal(by_id, coverage)


def target_column(sandbox: Sandbox, target: str) -> str:
    """The join column of a task target, as the sandbox's release names it."""
    return f"target{target.capitalize()}Id" if sandbox.profile.morph_targets else f"{target}Id"


def test_relation_coverage_of_whole_objects(sandbox, client, linked_run):
    coverage = relation_coverage(client, objects=["people", "tasks", "taskTargets"])
    found = {(o, c): (n, t) for o, c, n, t in coverage.itertuples(index=False)}
    assert found[("people", "companyId")] == (3, 5)  # the seeded person counts too
    assert found[("tasks", "taskTargets")] == (2, 3)
    assert found[("taskTargets", "taskId")] == (3, 3)
    assert found[("taskTargets", target_column(sandbox, "company"))] == (0, 3)
    assert relation_coverage(client, objects="people")["total"].tolist() == [5]
    # Both: only these objects of the run.
    of_run = relation_coverage(client, linked_run, objects=["people"])
    assert of_run[["object", "column", "linked", "total"]].values.tolist() == [
        ["people", "companyId", 3, 4]
    ]
    with pytest.raises(ValueError, match="a run's journal or objects="):
        relation_coverage(client)


# ------------------------------------------------------------------------ summaries


def test_summary_counts_calls_and_top_failures(run, tmp_path):
    summary = run_summary(run)

    assert summary["run_id"] == "r1"
    assert summary["counts"]["people"]["created"] == 5
    assert summary["counts"]["people"]["updated"] == 1
    assert summary["counts"]["people"]["failed"] == 2
    assert summary["counts"]["companies"]["created"] == 1
    assert summary["totals"]["failed"] == 2
    assert summary["calls"] >= 2 and summary["throttled"] == 0
    assert summary["duration_s"] >= 0
    (top,) = summary["top_failures"]
    assert top["count"] == 2 and "no company record" in top["message"]

    as_json = json.loads(write_summary(run, tmp_path / "s.json").read_text())
    assert as_json == summary
    text = write_summary(run, tmp_path / "s.txt").read_text()
    assert "people: 5 created, 1 updated, 2 failed" in text
    assert "2 x Invalid value" in text


# ------------------------------------------------------------------------ rollback


def live_emails(sandbox: Sandbox) -> set[str]:
    return {r["emails"]["primaryEmail"] for r in sandbox.engine.all_records("people")}


def test_rollback_deletes_exactly_what_the_run_created(sandbox, client, run):
    created = run.twenty_ids("created")
    requests_before = len(sandbox.requests)

    result = rollback(client, run)

    assert result.deleted == 6 and result.by_object == {"people": 5, "companies": 1}
    assert result.skipped == result.missing == 0 and not result.has_failures
    # Pre-existing records stay, the updated one included; created ones are soft-deleted.
    assert live_emails(sandbox) == {"user0@example.com", "user1@example.com"}
    assert sandbox.engine.count("companies") == 0
    assert sandbox.engine.count("people", with_deleted=True) == 7
    deleted = sandbox.engine.all_records("people", with_deleted=True)
    assert {r["id"] for r in deleted if r["deletedAt"]} == set(
        created.loc[created["object"] == "people", "twenty_id"]
    )
    # Dependants first: people are deleted before the companies they point to.
    roots = [f for r in list(sandbox.requests)[requests_before:] for f in r.root_fields]
    deletes = [f for f in roots if f.startswith("delete")]
    assert deletes.index("deletePeople") < deletes.index("deleteCompanies")

    again = rollback(client, run)
    assert again.deleted == 0 and again.skipped == 6 and not again.has_failures
    assert "0 soft-deleted" in str(again)


def test_rollback_destroy_removes_rows_for_good_and_only_once(sandbox, client, run, runs_dir):
    rollback(client, run)  # soft first: destroy must still reach the soft-deleted rows

    result = rollback(client, "r1", destroy=True, runs_dir=runs_dir)

    assert result.deleted == 6 and result.skipped == 0
    assert sandbox.engine.count("people", with_deleted=True) == 2
    assert sandbox.engine.count("companies", with_deleted=True) == 0
    assert live_emails(sandbox) == {"user0@example.com", "user1@example.com"}
    assert rollback(client, run, destroy=True).skipped == 6
    assert rollback(client, run).deleted == 0
    with sqlite3.connect(run.path) as conn:
        states = dict(conn.execute("SELECT state, COUNT(*) FROM rollbacks GROUP BY state"))
        runs = conn.execute("SELECT COUNT(*) FROM rollback_runs").fetchone()[0]
    assert states == {"destroyed": 6} and runs == 4
    assert "rollback" in write_log(run, runs_dir / "log.csv").read_text()


def test_rollback_counts_records_removed_by_someone_else(sandbox, client, run):
    people = run.twenty_ids("created").query("object == 'people'")["twenty_id"].tolist()
    sandbox.engine.destroy_many("people", {"id": {"in": people[:2]}})

    result = rollback(client, run)

    assert result.deleted == 4 and result.missing == 2 and not result.has_failures


def test_rollback_of_an_interrupted_run_finds_unanswered_rows(sandbox, client, run):
    # As after a kill: a batch sent, its answer never journalled.
    people = run.rows_frame().query("object == 'people' and status == 'created'")
    with sqlite3.connect(run.path) as conn:
        conn.execute("UPDATE rows SET status = 'pending' WHERE object = 'people'")
        conn.execute("UPDATE batches SET status = 'sent' WHERE object = 'people'")

    result = rollback(client, run)

    assert result.by_object == {"people": len(people), "companies": 1}
    assert live_emails(sandbox) == {"user0@example.com", "user1@example.com"}


def test_rollback_leaves_test_batch_records_to_the_test_run(sandbox, client, runs_dir):
    people = pd.DataFrame(
        {"_row": range(6), "emails.primaryEmail": [f"t{i}@example.com" for i in range(6)]}
    )
    plan = ImportPlan([ObjectStep("people", people, key="emails.primaryEmail")], name="team")
    importer = Importer(client, runs_dir=runs_dir, progress=None)
    trial = importer.run(plan, test_batch=2)
    full = importer.run(plan)
    with sqlite3.connect(RunJournal.path_for(runs_dir, full.run_id)) as conn:
        conn.execute("UPDATE rows SET status = 'pending'")  # as if killed before any answer
        conn.execute("UPDATE batches SET status = 'sent'")

    result = rollback(client, full.run_id, runs_dir=runs_dir)

    assert result.deleted == 4
    assert live_emails(sandbox) == {"t0@example.com", "t1@example.com"}
    assert rollback(client, trial.run_id, runs_dir=runs_dir).deleted == 2
    assert live_emails(sandbox) == set()


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_rollback_of_a_full_run_leaves_its_kept_test_batch(profile, runs_dir):
    sandbox = Sandbox(profile=profile, api_key=API_KEY, throttle=False)
    client = TwentyClient(
        base_url=sandbox.base_url,
        api_key=API_KEY,
        transport=sandbox.transport(),
        rate_limit=None,
        env_file=None,
    )
    people = pd.DataFrame(
        {"_row": range(6), "emails.primaryEmail": [f"t{i}@example.com" for i in range(6)]}
    )
    plan = ImportPlan([ObjectStep("people", people, key="emails.primaryEmail")], name="team")
    importer = Importer(client, runs_dir=runs_dir, progress=None)
    trial = importer.run(plan, test_batch=2)  # kept: the full run re-lands these two
    full = importer.run(plan)
    assert full.counts["people"]["failed"] == 0 and len(sandbox.engine.all_records("people")) == 6

    result = rollback(client, full.run_id, runs_dir=runs_dir)

    assert result.deleted == 4 and result.by_object == {"people": 4}
    assert live_emails(sandbox) == {"t0@example.com", "t1@example.com"}
    listing = list_runs(runs_dir)
    statuses = dict(zip(listing["run_id"], listing["status"], strict=True))
    assert statuses[full.run_id] == "rolled back"
    assert statuses[trial.run_id] != "rolled back"
    assert rollback(client, trial.run_id, runs_dir=runs_dir).deleted == 2
    assert live_emails(sandbox) == set()


def test_rollback_of_a_full_run_can_take_its_test_batch_too(sandbox, client, runs_dir):
    people = pd.DataFrame(
        {"_row": range(6), "emails.primaryEmail": [f"t{i}@example.com" for i in range(6)]}
    )
    plan = ImportPlan([ObjectStep("people", people, key="emails.primaryEmail")], name="team")
    importer = Importer(client, runs_dir=runs_dir, progress=None)
    importer.run(plan, test_batch=2)
    full = importer.run(plan)

    result = rollback(client, full.run_id, runs_dir=runs_dir, include_test_batch=True)

    assert result.deleted == 6 and live_emails(sandbox) == set()


def test_an_interrupted_rollback_lists_as_such(sandbox, client, run, runs_dir, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("twenty_migrate.verify.rollbacks._delete_chunk", interrupted)
        with pytest.raises(KeyboardInterrupt):
            rollback(client, run)
    assert list_runs(runs_dir)["status"].tolist() == ["rollback interrupted"]
    sandbox.fail_next(1, status=400)
    rollback(client, run)
    assert list_runs(runs_dir)["status"].tolist() == ["partly rolled back"]
    rollback(client, run)
    assert list_runs(runs_dir)["status"].tolist() == ["rolled back"]


def test_rollback_reports_delete_failures_and_retries_them(sandbox, client, run):
    sandbox.fail_next(1, status=400)  # the first delete call (people) is refused

    first = rollback(client, run)

    assert first.has_failures and len(first.failures) == 5 and first.deleted == 1
    assert set(first.failures.columns) == {"object", "_row", "twenty_id", "error"}
    second = rollback(client, run)
    assert second.deleted == 5 and second.skipped == 1 and not second.has_failures


# ------------------------------------------------------------------------ secrets


def test_api_key_is_never_written(run, client, runs_dir, tmp_path):
    out = tmp_path / "out"
    for suffix in ("csv", "jsonl", "xlsx", "parquet"):
        write_log(run, out / f"log.{suffix}")
    write_fixme(run, out / "fixme.csv")
    write_fixme(run, out / "fixme.xlsx")
    write_summary(run, out / "summary.json")
    write_summary(run, out / "summary.txt")
    rollback(client, run)
    run.close()

    texts = []
    for path in [*out.iterdir(), *runs_dir.rglob("*")]:
        if path.is_file():
            texts.append(path.read_bytes().decode("latin-1"))
    for path in out.glob("*.xlsx"):
        texts += [str(c.value) for row in openpyxl.load_workbook(path).active for c in row]
    for path in out.glob("*.parquet"):
        texts.append(pd.read_parquet(path).to_string())
    assert texts and not any(API_KEY in text for text in texts)
