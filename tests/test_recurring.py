"""Recurring imports: a re-run of the same plan on an updated file sends only new or
changed rows (row fingerprints in the run journal)."""

from __future__ import annotations

import pandas as pd
import pytest

from twenty_migrate.plan.plan import ImportPlan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.runs import row_fingerprint, row_identity
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.verify.rollbacks import rollback


@pytest.fixture
def sandbox(twenty_version) -> Sandbox:
    return Sandbox(twenty_version=twenty_version)


def companies(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": list(range(1, len(names) + 1)),
            "name": names,
            "domainName.primaryLinkUrl": [f"https://{n.lower()}.com" for n in names],
        }
    )


def people(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """(email, job title, company _row) per person; _row is the line number."""
    return pd.DataFrame(
        {
            "_row": list(range(1, len(rows) + 1)),
            "emails.primaryEmail": [r[0] for r in rows],
            "jobTitle": [r[1] for r in rows],
            "companyId": [r[2] for r in rows],
        }
    )


def plan(company_frame: pd.DataFrame, people_frame: pd.DataFrame) -> ImportPlan:
    return ImportPlan(
        [
            ObjectStep("companies", company_frame, key="domainName.primaryLinkUrl"),
            ObjectStep(
                "people", people_frame, key="emails.primaryEmail", refs={"companyId": "companies"}
            ),
        ],
        name="crm-sync",
    )


def calls(client: TwentyClient) -> int:
    return int(client.stats.snapshot()["calls"])


def test_a_rerun_on_an_updated_file_sends_only_new_and_changed_rows(client, sandbox, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    first = importer.run(
        plan(
            companies(["Acme", "Globex"]),
            people([("a@x.com", "CEO", 1), ("b@x.com", "CTO", 2), ("c@x.com", "CFO", 1)]),
        )
    )
    assert first.status == "completed"
    first_rows = first.rows
    ids = dict(
        zip(
            first_rows["_row"].astype(str) + first_rows["object"],
            first_rows["twenty_id"],
            strict=True,
        )
    )

    # The updated export: a new company first (every line moves down), b changed job,
    # c unchanged, d new.
    second_companies = companies(["Initech", "Acme", "Globex"])
    second_people = people(
        [("d@x.com", "COO", 1), ("a@x.com", "CEO", 2), ("b@x.com", "VP", 3), ("c@x.com", "CFO", 2)]
    )
    before = calls(client)
    result = importer.run(plan(second_companies, second_people), only_changed=True)
    assert result.status == "completed"
    rows = result.rows
    keys = zip(rows["object"], rows["_row"], strict=True)
    status = dict(zip(keys, rows["status"], strict=True))
    assert status == {
        ("companies", 1): "created",
        ("companies", 2): "unchanged",
        ("companies", 3): "unchanged",
        ("people", 1): "created",
        ("people", 2): "unchanged",
        ("people", 3): "updated",
        ("people", 4): "unchanged",
    }
    # One call per object with something to send (2 records, not 7), and one read per
    # object to check that the records the journal knows are still there.
    assert calls(client) - before == 2 + 2
    people_ids = {
        r.emails["primaryEmail"]: r for r in map(Rec, sandbox.engine.all_records("person"))
    }
    assert len(people_ids) == 4
    assert people_ids["b@x.com"].jobTitle == "VP"
    # The changed row updated the record it landed in the first time; nothing duplicated.
    assert people_ids["b@x.com"].id == ids["2people"]
    assert len(sandbox.engine.all_records("company")) == 3
    # An unchanged company keeps its id, and the new person points at it correctly.
    initech = [c for c in sandbox.engine.all_records("company") if c["name"] == "Initech"][0]
    assert people_ids["d@x.com"].companyId == initech["id"]
    assert people_ids["c@x.com"].companyId == ids["1companies"]


class Rec:
    def __init__(self, record: dict) -> None:
        self.__dict__.update(record)


def test_unchanged_rows_are_journalled_with_their_twenty_id(client, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    data = plan(companies(["Acme"]), people([("a@x.com", "CEO", 1)]))
    first = importer.run(data)
    again = importer.run(data, only_changed=True)
    assert set(again.rows["status"]) == {"unchanged"}
    assert list(again.rows["twenty_id"]) == list(first.rows["twenty_id"])
    journal = RunJournal.open(tmp_path, again.run_id)
    assert journal.counts()["people"]["unchanged"] == 1
    assert journal.settings["only_changed"] is True
    journal.close()


def test_only_changed_false_sends_every_row_as_updates(client, sandbox, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    data = plan(companies(["Acme"]), people([("a@x.com", "CEO", 1)]))
    first = importer.run(data)
    before = calls(client)
    again = importer.run(data, only_changed=False)
    assert set(again.rows["status"]) == {"updated"}
    assert calls(client) - before == 2 + 2  # two writes, two presence reads
    assert list(again.rows["twenty_id"]) == list(first.rows["twenty_id"])
    assert len(sandbox.engine.all_records("person")) == 1


def test_a_rerun_skips_unchanged_rows_by_default(client, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    data = plan(companies(["Acme"]), people([("a@x.com", "CEO", 1)]))
    importer.run(data)
    before = calls(client)
    again = importer.run(data)
    assert set(again.rows["status"]) == {"unchanged"}
    assert calls(client) - before == 2  # no write: one presence read per object


def test_rows_of_a_rolled_back_run_are_sent_again(client, sandbox, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    data = plan(companies(["Acme"]), people([("a@x.com", "CEO", 1)]))
    first = importer.run(data)
    rollback(client, first.run_id, runs_dir=tmp_path, destroy=True)
    assert sandbox.engine.all_records("person") == []
    again = importer.run(data, only_changed=True)
    assert set(again.rows["status"]) == {"created"}
    assert len(sandbox.engine.all_records("person")) == 1


def test_failed_rows_are_retried_by_the_next_run(client, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    bad = people([("a@x.com", "CEO", 1), ("not-an-email", "CTO", 1)])
    first = importer.run(plan(companies(["Acme"]), bad))
    assert dict(zip(first.rows["_row"], first.rows["status"], strict=True))[2] == "failed"
    fixed = people([("a@x.com", "CEO", 1), ("b@x.com", "CTO", 1)])
    again = importer.run(plan(companies(["Acme"]), fixed), only_changed=True)
    people_status = again.rows[again.rows["object"] == "people"]
    assert dict(zip(people_status["_row"], people_status["status"], strict=True)) == {
        1: "unchanged",
        2: "created",
    }


def test_a_different_plan_name_shares_no_fingerprints(client, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    data = plan(companies(["Acme"]), people([("a@x.com", "CEO", 1)]))
    importer.run(data)
    renamed = ImportPlan(list(data.steps), name="another")
    again = importer.run(renamed, only_changed=True)
    assert "unchanged" not in set(again.rows["status"])


def test_identity_and_fingerprint_rules():
    payload = {"emails": {"primaryEmail": "a@x.com"}, "jobTitle": "CEO"}
    assert row_identity(payload, "emails.primaryEmail", 5) == 'key:"a@x.com"'
    assert row_identity({"jobTitle": "CEO"}, "emails.primaryEmail", 5) == "row:5"
    assert row_identity(payload, None, "r7") == 'row:"r7"'
    same = row_fingerprint(payload, {})
    assert same == row_fingerprint(dict(reversed(list(payload.items()))), {})
    assert same != row_fingerprint({**payload, "jobTitle": "CTO"}, {})
    # A relation counts by its target's identity, not by the target's line number.
    moved_a = {"companyId": {"$ref": ["companies", 1]}}
    moved_b = {"companyId": {"$ref": ["companies", 9]}}
    assert row_fingerprint(moved_a, {("companies", 1): "key:acme"}) == row_fingerprint(
        moved_b, {("companies", 9): "key:acme"}
    )


def test_a_journal_from_before_fingerprints_is_upgraded_and_ignored(client, tmp_path):
    importer = Importer(client, runs_dir=tmp_path, progress=None)
    data = plan(companies(["Acme"]), people([("a@x.com", "CEO", 1)]))
    first = importer.run(data)
    journal = RunJournal.open(tmp_path, first.run_id)
    for column in ("existing", "fingerprint", "identity"):
        journal._conn.execute(f"ALTER TABLE rows DROP COLUMN {column}")
    journal.close()
    reopened = RunJournal.open(tmp_path, first.run_id)  # upgraded in place
    assert reopened.counts()["people"]["created"] == 1
    reopened.close()
    again = importer.run(data, only_changed=True)
    # Nothing to compare with: every row is sent, to the same records (derived ids).
    assert "unchanged" not in set(again.rows["status"])
    assert list(again.rows["twenty_id"]) == list(first.rows["twenty_id"])
