"""``twenty-migrate demo``: the sample migration, end to end, on the embedded sandbox.

It serves a fresh sandbox on 127.0.0.1, then walks the same steps a consultant takes in
the notebooks: load the messy sample export, clean and map it against the workspace
schema, send a 10-record test batch and read it back, run the full import with progress
bars, reconcile what Twenty stored against the journal, and write the logs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from twenty_migrate import clean
from twenty_migrate.client import TwentyClient
from twenty_migrate.export import fetch_records, write_fixme, write_log, write_summary
from twenty_migrate.importer import Importer
from twenty_migrate.journal import RunJournal
from twenty_migrate.mapping import REF_PREFIX, MappedFrame, suggest_mapping
from twenty_migrate.outcomes import ImportResult
from twenty_migrate.plan import ImportPlan, ObjectStep
from twenty_migrate.progress import ProgressArg
from twenty_migrate.schema import ObjectSchema, WorkspaceSchema, fetch_schema

#: Records in the test batch a consultant checks by eye before the full run.
TEST_BATCH_SIZE = 10
#: Source files of the demo and the unique key each object is matched on.
DEMO_OBJECTS = (
    ("companies", "companies.csv", "domainName.primaryLinkUrl"),
    ("people", "people.csv", "emails.primaryEmail"),
)


def sample_data_dir() -> Path:
    """The sample export: shipped inside the wheel, or at the root of a source checkout."""
    for candidate in (
        Path(__file__).resolve().parent / "sample_data",
        Path(__file__).resolve().parent.parent / "sample_data",
    ):
        if (candidate / "people.csv").exists():
            return candidate
    raise FileNotFoundError(
        "The sample data is missing: reinstall twenty-migrate or run from a source checkout."
    )


def load_sample(name: str) -> pd.DataFrame:
    """One sample file as text, so placeholders and ids keep their exact spelling."""
    return pd.read_csv(sample_data_dir() / name, dtype=str, keep_default_na=False)


@dataclass
class PreparedObject:
    """One object's rows after cleaning and mapping, with what was set aside and why."""

    object: str
    raw: pd.DataFrame
    mapped: MappedFrame
    records: pd.DataFrame
    duplicates: int


def prepare(raw: pd.DataFrame, schema: ObjectSchema, key: str) -> PreparedObject:
    """Clean, map and de-duplicate one source frame for ``schema``."""
    cleaned = clean.clean_frame(raw)
    mapping = suggest_mapping(cleaned, schema)
    mapped = mapping.apply(cleaned, schema)
    records = mapped.data
    before = len(records)
    if key in records.columns:
        records = clean.drop_duplicate_rows(records, key)
    return PreparedObject(schema.name_plural, cleaned, mapped, records, before - len(records))


def link_to_parents(child: pd.DataFrame, join_column: str, parents: pd.DataFrame) -> pd.DataFrame:
    """Point ``join_column`` at the parent step's ``_row`` by normalised company name."""
    ref = REF_PREFIX + join_column
    if ref not in child.columns or "name" not in parents.columns:
        return child
    by_name: dict[str, Any] = {}
    for row, name in zip(parents["_row"], parents["name"], strict=True):
        if isinstance(name, str):
            by_name.setdefault(clean.name_key(name), row)
    linked = child.drop(columns=[ref]).copy()
    linked[join_column] = [
        by_name.get(clean.name_key(value)) if isinstance(value, str) else None
        for value in child[ref]
    ]
    return linked


def build_demo_plan(schema: WorkspaceSchema, out: TextIO) -> ImportPlan:
    """The sample migration's plan: companies, then people linked to them."""
    prepared: dict[str, PreparedObject] = {}
    for object_name, file_name, key in DEMO_OBJECTS:
        item = prepare(load_sample(file_name), schema.object(object_name), key)
        prepared[object_name] = item
        print(
            f"  {object_name}: {len(item.raw)} rows loaded, {len(item.mapped.problems)} values "
            f"set aside as unconvertible, {item.duplicates} in-file duplicates dropped",
            file=out,
        )
    people = prepared["people"]
    people_records = link_to_parents(people.records, "companyId", prepared["companies"].records)
    people_records = people_records.drop(
        columns=[c for c in people_records.columns if c.startswith(REF_PREFIX)]
    )
    companies = prepared["companies"].records
    companies = companies.drop(columns=[c for c in companies.columns if c.startswith(REF_PREFIX)])
    return ImportPlan(
        [
            ObjectStep(
                "companies",
                companies,
                key="domainName.primaryLinkUrl",
                source=prepared["companies"].raw,
            ),
            ObjectStep(
                "people",
                people_records,
                key="emails.primaryEmail",
                source=people.raw,
                refs={"companyId": "companies"},
            ),
        ],
        name="sample",
    )


def show_test_batch(client: TwentyClient, result: ImportResult, out: TextIO) -> None:
    """Read the test batch back and print what was sent beside what Twenty stored."""
    rows = result.rows
    landed = rows[rows["twenty_id"].notna()]
    print(f"  test batch: {len(landed)} of {len(rows)} records landed; read back:", file=out)
    for object_name, group in landed.groupby("object"):
        stored = client.find_by_ids(str(object_name), list(group["twenty_id"]), fields=None)
        for record in stored[:3]:
            name = record.get("name")
            label = name if isinstance(name, str) else (name or {}).get("firstName", "")
            print(f"    {object_name} {record['id']}: {label!r}", file=out)


def reconcile(client: TwentyClient, journal: RunJournal, out: TextIO) -> bool:
    """Compare Twenty's records with the journal: every landed row present exactly once."""
    rows = journal.rows_frame()
    ok = True
    for object_name in rows["object"].unique():
        mine = rows[rows["object"] == object_name]
        landed = set(mine.loc[mine["status"].isin(["created", "updated"]), "twenty_id"])
        stored = fetch_records(client, str(object_name), fields="id")
        stored_ids = list(stored["id"]) if not stored.empty else []
        pending = int((mine["status"] == "pending").sum())
        failed = int((mine["status"] == "failed").sum())
        duplicated = len(stored_ids) - len(set(stored_ids))
        matches = landed == set(stored_ids) and pending == 0 and duplicated == 0
        ok = ok and matches
        print(
            f"  {object_name}: journal {len(landed)} landed, {failed} failed, {pending} pending;"
            f" Twenty holds {len(stored_ids)}"
            f" -> {'reconciled' if matches else 'MISMATCH'}",
            file=out,
        )
    return ok


def run_demo(
    *, runs_dir: str | Path | None = None, progress: ProgressArg = "auto", out: TextIO | None = None
) -> int:
    """Run the sample migration on a fresh sandbox; 0 only if Twenty and the journal agree."""
    from twenty_migrate.sandbox import Sandbox

    out = out or sys.stdout
    sandbox = Sandbox()
    with sandbox.serve() as server:
        print(f"Sandbox serving Twenty's API at {server.url}", file=out)
        client = TwentyClient(base_url=server.url, api_key=sandbox.api_key)
        with client:
            print("1. Reading the workspace schema and preparing the sample export", file=out)
            schema = fetch_schema(client)
            plan = build_demo_plan(schema, out)
            print(plan.describe(), file=out)
            importer = Importer(client, runs_dir=runs_dir, progress=progress)
            print(f"2. Test batch of {TEST_BATCH_SIZE} records", file=out)
            test = importer.run(plan, test_batch=TEST_BATCH_SIZE)
            show_test_batch(client, test, out)
            print("3. Full import", file=out)
            result = importer.run(plan)
            print(result.summary(), file=out)
            print("4. Verifying what Twenty stored against the run journal", file=out)
            journal = RunJournal.open(importer.runs_dir, result.run_id)
            reconciled = reconcile(client, journal, out)
            directory = journal.path.parent
            write_log(journal, directory / "rows.csv")
            write_fixme(journal, directory / "fixme.csv")
            write_summary(journal, directory / "summary.json")
            print(
                f"5. Logs in {directory}: rows.csv (every row), fixme.csv (failed rows with "
                "Twenty's error, ready to fix and re-import), summary.json",
                file=out,
            )
            print(
                "Migration reconciled." if reconciled else "Migration did NOT reconcile.", file=out
            )
    return 0 if reconciled else 1
