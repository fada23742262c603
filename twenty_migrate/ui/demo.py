"""``twenty-migrate demo``: the sample migration, end to end, on the embedded sandbox.

It serves a fresh sandbox on 127.0.0.1, then walks the same steps a consultant takes in
the notebooks, driven by the sample migration spec (``sample_data/migration.json``):
load the messy sample export, clean, map, link and validate it against the workspace
schema, send a 10-record test batch and read it back, run the full import of the valid
rows with progress bars, reconcile what Twenty stored against the journal, and write the
logs and the validation reports.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd

from twenty_migrate.pipeline.prepare import PreparedMigration
from twenty_migrate.pipeline.spec import MigrationSpec
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.outcomes import ImportResult
from twenty_migrate.run.progress import ProgressArg
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.twenty.ratelimit import RateLimit
from twenty_migrate.ui.report import migration_report
from twenty_migrate.verify.export import verify_run, write_fixme, write_log, write_summary

if TYPE_CHECKING:
    from twenty_migrate.sandbox import Sandbox
    from twenty_migrate.twenty.schema import WorkspaceSchema
    from twenty_migrate.verify.verify import Verification

#: Records in the test batch a consultant checks by eye before the full run.
TEST_BATCH_SIZE = 10
#: The sample migration: which sample file feeds which object, through which mapping.
SAMPLE_SPEC = "migration.json"


def sample_data_dir() -> Path:
    """The sample export: shipped inside the wheel, or at the root of a source checkout."""
    package = Path(__file__).resolve().parents[1]  # twenty_migrate/
    for candidate in (package / "sample_data", package.parent / "sample_data"):
        if (candidate / "people.csv").exists():
            return candidate
    raise FileNotFoundError(
        "The sample data is missing: reinstall twenty-migrate or run from a source checkout."
    )


def load_sample(name: str) -> pd.DataFrame:
    """One sample file as text, so placeholders and ids keep their exact spelling."""
    return pd.read_csv(sample_data_dir() / name, dtype=str, keep_default_na=False)


def sample_spec() -> MigrationSpec:
    """The sample migration: companies, people (CSV and a trade-show XLSX), opportunities,
    tasks and notes with their targets."""
    return MigrationSpec.load(sample_data_dir() / SAMPLE_SPEC)


def add_sample_members(sandbox: Sandbox) -> None:
    """Give the sandbox the sample client's staff as workspace members, as the real
    workspace would have them, so record owners and task assignees can be linked."""
    manifest = json.loads((sample_data_dir() / "manifest.json").read_text(encoding="utf-8"))
    members = []
    for name, email in zip(
        manifest["workspace_members"], manifest["workspace_member_emails"], strict=True
    ):
        first, _, last = name.partition(" ")
        members.append({"name": {"firstName": first, "lastName": last}, "userEmail": email})
    sandbox.engine.create_many("workspaceMembers", members)


def prepare_sample(client: TwentyClient, out: TextIO) -> PreparedMigration:
    """Load, clean, map, link and validate the sample export; print what was found.

    The demo's workspace starts empty, so unique keys are not looked up in it.
    """
    prepared = sample_spec().prepare(client, check_existing=False)
    print(prepared.summary(), file=out)
    return prepared


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


def show_reconciliation(checks: pd.DataFrame, out: TextIO) -> bool:
    """Print :func:`~twenty_migrate.reconcile`'s checks: every landed row present
    exactly once.

    The demo's sandbox starts empty, so Twenty must hold exactly the landed records: none
    missing, none twice, and no other record of the object.
    """
    ok = True
    for check in checks.to_dict("records"):
        matches = bool(check["reconciled"]) and check["in_workspace"] == check["in_twenty"]
        ok = ok and matches
        print(
            f"  {check['object']}: journal {check['landed']} landed, {check['failed']} failed,"
            f" {check['pending']} pending; Twenty holds {check['in_workspace']}"
            f" -> {'reconciled' if matches else 'MISMATCH'}",
            file=out,
        )
    return ok


#: The links the demo reports: people to companies, deals to companies.
COVERAGE_CHECKS = (("people", "companyId"), ("opportunities", "companyId"))


def show_relation_coverage(coverage: pd.DataFrame, out: TextIO) -> None:
    """How many imported records point to a parent: people and deals to their companies."""
    coverage = coverage.set_index(["object", "column"])
    for object_name, column in COVERAGE_CHECKS:
        if (object_name, column) not in coverage.index:
            continue
        linked, total = coverage.loc[(object_name, column), ["linked", "total"]]
        if total:
            print(f"  {object_name}.{column}: {linked} of {total} linked", file=out)


#: Seconds of waiting on the rate budget between two "still verifying" lines.
WAIT_NOTE_EVERY = 5.0


@contextmanager
def narrate_waits(client: TwentyClient, out: TextIO) -> Iterator[None]:
    """Print a line every :data:`WAIT_NOTE_EVERY` seconds the client waits on the rate
    budget, so a long verification is not silent (counted in waited time, not wall time)."""
    sender = client._sender
    sleep = sender._sleep
    waited = noted = 0.0

    def sleep_and_tell(seconds: float) -> None:
        nonlocal waited, noted
        waited += seconds
        if waited - noted >= WAIT_NOTE_EVERY:
            noted = waited
            print(
                f"  still verifying: {client.stats.calls} calls so far, waited {waited:.0f}s "
                "for Twenty's rate budget",
                file=out,
                flush=True,
            )
        sleep(seconds)

    sender._sleep = sleep_and_tell
    try:
        yield
    finally:
        sender._sleep = sleep


def show_verification(
    client: TwentyClient, journal: RunJournal, schema: WorkspaceSchema, out: TextIO
) -> tuple[Verification, bool]:
    """Reconcile the run and report its links, in one pass; what was found, and whether
    Twenty holds exactly the landed records."""
    objects = [name for name, _ in COVERAGE_CHECKS]
    in_run = list(journal.counts())
    print(f"  reading back {len(in_run)} objects: {', '.join(in_run)}", file=out, flush=True)
    with narrate_waits(client, out):
        check = verify_run(client, journal, objects=objects, schema=schema)
    reconciled = show_reconciliation(check.reconciliation, out)
    show_relation_coverage(check.coverage, out)
    records = int(check.reconciliation["landed"].sum())
    print(
        f"  verification: {check.calls} calls for {records} landed records"
        f" ({check.page_size} per call)",
        file=out,
    )
    return check, reconciled


def run_demo(
    *,
    runs_dir: str | Path | None = None,
    progress: ProgressArg = "auto",
    out: TextIO | None = None,
    sandbox: Sandbox | None = None,
    twenty_version: str | None = None,
) -> int:
    """Run the sample migration on a fresh sandbox; 0 only if Twenty and the journal agree.

    Args:
        runs_dir: Where the run journals and logs go.
        progress: Progress bars (``"auto"``), ``"log"`` or None.
        out: Where the narration goes (stdout).
        sandbox: The sandbox to serve (default: a fresh one with Twenty's default limits).
        twenty_version: The Twenty release a fresh sandbox behaves as (default: the newest).

    Raises:
        ConfigError: No sandbox profile covers ``twenty_version``.
    """
    from twenty_migrate.sandbox import Sandbox

    out = out or sys.stdout
    if sandbox is None:
        try:
            sandbox = Sandbox(twenty_version=twenty_version)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    add_sample_members(sandbox)
    with sandbox.serve() as server:
        print(f"Sandbox serving Twenty's API at {server.url}", file=out)
        throttle = sandbox.throttler  # the client paces itself to the sandbox's budget
        budget = RateLimit(
            short_limit=throttle.short.limit,
            short_window=throttle.short.ttl_ms / 1000,
            long_limit=throttle.long.limit,
            long_window=throttle.long.ttl_ms / 1000,
        )
        # A throwaway server on a random port: nothing it teaches is worth keeping on disk.
        client = TwentyClient(
            base_url=server.url, api_key=sandbox.api_key, rate_limit=budget, traits_path=None
        )
        with client:
            print("1. Validating the sample export against the workspace schema", file=out)
            prepared = prepare_sample(client, out)
            plan = prepared.plan
            if plan is None:
                print("Nothing to import: every sample row was left out.", file=out)
                return 1
            budget_now = client.limiter.rate_limit if client.limiter else budget
            print(plan.describe(budget_now, server=client.traits), file=out)
            importer = Importer(client, runs_dir=runs_dir, progress=progress)
            print(f"2. Test batch of {TEST_BATCH_SIZE} records", file=out)
            test = importer.run(plan, test_batch=TEST_BATCH_SIZE)
            show_test_batch(client, test, out)
            print("3. Full import", file=out)
            result = importer.run(plan)
            print(result.summary(), file=out)
            print("4. Verifying what Twenty stored against the run journal", file=out)
            journal = RunJournal.open(importer.runs_dir, result.run_id)
            check, reconciled = show_verification(client, journal, prepared.schema, out)
            directory = journal.path.parent
            write_log(journal, directory / "rows.csv")
            write_fixme(journal, directory / "fixme.csv")
            write_summary(journal, directory / "summary.json")
            prepared.write_reports(directory / "validation")
            report = migration_report(journal, prepared=prepared, verification=check)
            report.save(directory / "report.html")
            journal.close()
            print(
                f"5. Logs in {directory}: rows.csv (every row), fixme.csv (failed rows with "
                "Twenty's error, ready to fix and re-import), summary.json, and validation/ "
                "(every problem found before sending, and the rows left out)",
                file=out,
            )
            print(f"   Report for the client: {directory / 'report.html'}", file=out)
            print(
                "Migration reconciled." if reconciled else "Migration did NOT reconcile.", file=out
            )
    return 0 if reconciled else 1
