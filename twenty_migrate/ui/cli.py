"""The ``twenty-migrate`` command line: the same pipeline as the notebooks, headless.

Every subcommand is a thin wrapper over public functions of the package, so a migration
prepared in a notebook (a saved plan file) can be re-run from a shell or a scheduler.
Connection settings come from ``TWENTY_API_URL`` / ``TWENTY_API_KEY`` (environment or a
``.env`` file); the key is never accepted as a flag, so it never shows in ``ps`` or shell
history.

Exit codes: 0 done; 1 rows failed (or ``doctor`` found the workspace not ready); 2 a
mistake the user can fix, told with the next step (missing or malformed file, refused key,
unreachable URL, unknown run, missing fields); 3 an internal error, with its traceback;
130 interrupted (the message names the command that finishes the run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from twenty_migrate.twenty.errors import (
    APIConnectionError,
    AuthenticationError,
    JournalError,
    TwentyMigrateError,
)

if TYPE_CHECKING:
    from twenty_migrate.pipeline.prepare import PreparedMigration
    from twenty_migrate.pipeline.spec import MigrationSpec
    from twenty_migrate.plan.plan import ImportPlan
    from twenty_migrate.run.journal import RunJournal
    from twenty_migrate.run.progress import ProgressArg
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.twenty.schema import WorkspaceSchema

LOG_FORMATS = ("csv", "xlsx", "jsonl", "parquet")


def _connect_from_env(args: argparse.Namespace, *, check: bool = True) -> TwentyClient:
    """A client for a real (or loopback sandbox) workspace; never the throwaway in-process one.

    ``check``: refuse a wrong key or URL at once, in one sentence (``doctor`` reports them).
    """
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.twenty.config import Settings
    from twenty_migrate.twenty.doctor import check_access

    overrides = {"base_url": args.url} if getattr(args, "url", None) else {}
    settings = Settings.from_env(**overrides)
    if not settings.api_key:
        raise TwentyMigrateError(
            "No Twenty API key: set TWENTY_API_URL and TWENTY_API_KEY (environment or .env). "
            "To rehearse locally, start `twenty-migrate sandbox --port 3000 --api-key KEY` and "
            "set TWENTY_API_URL=http://127.0.0.1:3000 TWENTY_API_KEY=KEY."
        )
    client = TwentyClient(base_url=settings.base_url, api_key=settings.api_key)
    if check:
        check_access(client)
    return client


def _runs_dir(args: argparse.Namespace) -> Path:
    from twenty_migrate.twenty.config import Settings

    return Path(args.runs_dir) if args.runs_dir else Path(Settings.from_env().runs_dir)


def _cmd_demo(args: argparse.Namespace) -> int:
    from twenty_migrate.ui.demo import run_demo

    return run_demo(
        runs_dir=args.runs_dir, progress=_progress(args), twenty_version=args.twenty_version
    )


def _cmd_schema(args: argparse.Namespace) -> int:
    from twenty_migrate.twenty.schema import fetch_schema

    with _connect_from_env(args) as client:
        schema = fetch_schema(client)
    if args.output:
        schema.save(args.output)
        print(f"Schema of {len(schema.objects)} objects written to {args.output}")
    else:
        print(schema.describe())
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from twenty_migrate.twenty.doctor import doctor

    with _connect_from_env(args, check=False) as client:
        report = doctor(client, schema_cache=args.schema)
    print(report)
    return report.exit_code


#: Help of ``--strict``, the switch of :attr:`MigrationSpec.strict`.
_STRICT_HELP = (
    "set aside every row Twenty would refuse (default: a bad value in an optional field "
    "only empties that cell; the row is imported and the cell reported)"
)


def _schema_cache(args: argparse.Namespace) -> WorkspaceSchema | None:
    from twenty_migrate.twenty.schema import WorkspaceSchema

    return WorkspaceSchema.load(args.schema) if getattr(args, "schema", None) else None


def _load_spec(args: argparse.Namespace) -> MigrationSpec:
    from twenty_migrate.pipeline.spec import MigrationSpec

    return _load_input(args.plan, MigrationSpec.load)


def _prepare(
    args: argparse.Namespace, client: TwentyClient, spec: MigrationSpec
) -> PreparedMigration:
    """Prepare a migration spec, print what was found and write the reports."""
    if getattr(args, "strict", False):
        spec = dataclasses.replace(spec, strict=True)
    # A recurring run need not spend reads on keys it will compare with its journal.
    check = not getattr(args, "only_changed", False)
    prepared = spec.prepare(
        client, schema=_schema_cache(args), check_existing=check, runs_dir=_runs_dir(args)
    )
    print(prepared.summary())
    directory = Path(getattr(args, "output", None) or spec.base_dir / "validation")
    prepared.write_reports(directory)
    print(
        f"{len(prepared.failures)} problems, {len(prepared.excluded)} rows left out of the plan; "
        f"details in {directory} (failures.csv, excluded.csv, validation_<object>.html)"
    )
    return prepared


def _cmd_validate(args: argparse.Namespace) -> int:
    spec = _load_spec(args)
    with _connect_from_env(args) as client:
        prepared = _prepare(args, client, spec)
    return 0 if prepared.ok else 1


def _cmd_import(args: argparse.Namespace) -> int:
    from twenty_migrate.pipeline.spec import MigrationSpec
    from twenty_migrate.plan.plan import ImportPlan
    from twenty_migrate.run.importer import Importer

    _refuse_data_file(args.plan)
    spec = _load_spec(args) if MigrationSpec.is_spec_file(args.plan) else None
    plan = None if spec else _load_input(args.plan, ImportPlan.load)
    if args.dry_run and plan is not None:
        print(plan.describe())
        return 0
    with _connect_from_env(args) as client:
        if plan is not None:
            _check_workspace_has(client, plan, args)
        else:
            assert spec is not None  # not a plan, so it was read as a spec
            if args.create_missing:
                _create_spec_fields(client, spec)
            plan = _prepare(args, client, spec).plan
            if plan is None:
                print("Nothing to import: every row was left out (see the reports above).")
                return 1
            if args.dry_run:
                print(plan.describe())
                return 0
        importer = Importer(client, runs_dir=_runs_dir(args), progress=_progress(args))
        with _resumable(args, lambda: importer.last_run_id):
            result = importer.run(
                plan, run_id=args.run_id, test_batch=args.test_batch, only_changed=args.only_changed
            )
    print(result.summary())
    return 1 if result.has_failures else 0


def _create_spec_fields(client: TwentyClient, spec: MigrationSpec) -> None:
    """Create the fields a spec needs before it is prepared (its stored source ids)."""
    from twenty_migrate.twenty.schema import fetch_schema

    report = spec.preflight(fetch_schema(client))
    if not report.ok:
        print(report)
        report.apply(client)
        print(f"Created the {len(report.items)} missing items in the workspace.")


def _check_workspace_has(client: TwentyClient, plan: ImportPlan, args: argparse.Namespace) -> None:
    """Preflight a saved plan: fields, objects and options it writes that the workspace lacks
    are listed (or created with ``--create-missing``) before the first record is sent."""
    from twenty_migrate.pipeline.migration import preflight
    from twenty_migrate.twenty.schema import fetch_schema

    report = preflight(fetch_schema(client), {step.object: step.records for step in plan.steps})
    if report.ok:
        return
    if args.create_missing:
        print(report)
        report.apply(client)
        print(f"Created the {len(report.items)} missing items in the workspace.")
        return
    print(report, file=sys.stderr)
    raise TwentyMigrateError(
        f"the workspace lacks {len(report.items)} objects, fields or options this plan writes "
        f"(listed above), so nothing was sent; create them with `twenty-migrate import "
        f"{args.plan} --create-missing` (or tm.preflight(...).apply(client) in a notebook) "
        "and run the import again"
    )


def _cmd_resume(args: argparse.Namespace) -> int:
    from twenty_migrate.run.importer import Importer

    _open_journal(args).close()  # an unknown run id is told before connecting
    with _connect_from_env(args) as client:
        importer = Importer(client, runs_dir=_runs_dir(args), progress=_progress(args))
        with _resumable(args, lambda: args.run_id):
            result = importer.resume(args.run_id)
    print(result.summary())
    return 1 if result.has_failures else 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from twenty_migrate.verify.export import rollback

    journal = _open_journal(args)
    try:
        created = int(journal.summary()["totals"].get("created", 0))
        how = "destroy (for good)" if args.destroy else "soft-delete"
        _confirm(
            args,
            f"Roll back run {args.run_id} in {args.url or _configured_url()}: {how} the "
            f"records it created ({created} rows)?",
            f"rolling back run {args.run_id} deletes records; run it in a terminal to be "
            "asked, or pass --yes",
        )
        with _connect_from_env(args) as client:
            try:
                result = rollback(
                    client,
                    journal,
                    destroy=args.destroy,
                    include_test_batch=args.include_test_batch,
                    progress=_progress(args),
                )
            except KeyboardInterrupt:
                raise _Interrupted(
                    f"interrupted: the rollback of run {args.run_id} is journalled; "
                    f"`twenty-migrate rollback {shlex.quote(args.run_id)}{_runs_flags(args)} "
                    "--yes` finishes it"
                ) from None
    finally:
        journal.close()
    print(result)
    return 1 if result.has_failures else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from twenty_migrate.verify.export import write_frame
    from twenty_migrate.verify.records import fetch_records

    with _connect_from_env(args) as client:
        frame = fetch_records(client, args.object, with_deleted=args.with_deleted)
    output = Path(args.output or f"{args.object}.csv")
    write_frame(frame, output)
    print(f"{len(frame)} {args.object} records written to {output}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from twenty_migrate.run.history import list_runs

    frame = list_runs(_runs_dir(args))
    if frame.empty:
        print(f"No runs in {_runs_dir(args)}")
    else:
        print(frame.to_string(index=False))
    return 0


def _cmd_logs(args: argparse.Namespace) -> int:
    from twenty_migrate.verify.export import write_fixme, write_log, write_summary

    journal = _open_journal(args)
    directory = journal.path.parent
    output = Path(args.output) if args.output else directory / f"rows.{args.format}"
    write_log(journal, output, format=args.format)
    print(f"Row log: {output}")
    fixme = directory / ("fixme.xlsx" if args.format == "xlsx" else "fixme.csv")
    write_fixme(journal, fixme)
    print(f"Failed rows to fix and re-import: {fixme}")
    summary = directory / "summary.json"
    write_summary(journal, summary)
    print(f"Summary: {summary}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from twenty_migrate.pipeline.spec import MigrationSpec
    from twenty_migrate.ui.report import migration_report

    journals = [_open_journal(args, run) for run in args.runs]
    spec = _load_input(args.spec, MigrationSpec.load) if args.spec else None
    connected = spec is not None or args.verify
    with _connect_from_env(args) if connected else nullcontext() as client:
        prepared = None
        if spec is not None:
            # Rows read and left out as validation finds them; keys already in Twenty are
            # not looked up again (the run put them there).
            prepared = spec.prepare(client, schema=_schema_cache(args), check_existing=False)
        report = migration_report(
            journals, prepared=prepared, client=client if args.verify else None
        )
    output = Path(args.output) if args.output else journals[0].path.parent / "report.html"
    for journal in journals:
        journal.close()
    report.save(output)
    print(report)
    print(f"Report for the client: {output}")
    return 0


# ------------------------------------------------------------------ user errors, said once

#: Files people pass to ``import`` by mistake: data, not a plan or a migration spec.
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".jsonl")
_INPUT_HELP = (
    "`import` and `validate` take a plan (ImportPlan.save in a notebook) or a migration spec "
    "(MigrationSpec.save; see sample_data/migration.json)"
)


class _Interrupted(Exception):
    """Ctrl-C during a run, with the command that finishes it."""


def _refuse_data_file(path: str) -> None:
    suffix = Path(path).suffix.lower()
    if suffix in DATA_SUFFIXES:
        raise TwentyMigrateError(
            f"{path} is a data file ({suffix[1:].upper()}), not a plan: {_INPUT_HELP}"
        )


T = TypeVar("T")


def _load_input(path: str, load: Callable[[str], T]) -> T:
    """Read a plan or spec file; a missing or malformed file is one sentence, not a traceback."""
    _refuse_data_file(path)
    if not Path(path).is_file():
        raise TwentyMigrateError(f"no file at {path}: check the path; {_INPUT_HELP}")
    try:
        return load(path)
    except json.JSONDecodeError as exc:
        raise TwentyMigrateError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"{_INPUT_HELP}"
        ) from None
    except UnicodeDecodeError:
        raise TwentyMigrateError(f"{path} is not a text file; {_INPUT_HELP}") from None
    except TwentyMigrateError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise TwentyMigrateError(
            f"{path} is not a twenty-migrate plan or migration spec ({exc}); {_INPUT_HELP}"
        ) from None


def _runs_flags(args: argparse.Namespace) -> str:
    """The ``--runs-dir`` / ``--url`` flags of this command, to repeat in a suggestion."""
    flags = f" --runs-dir {shlex.quote(args.runs_dir)}" if args.runs_dir else ""
    return flags + (f" --url {shlex.quote(args.url)}" if getattr(args, "url", None) else "")


def _open_journal(args: argparse.Namespace, run_id: str | None = None) -> RunJournal:
    from twenty_migrate.run.journal import RunJournal

    try:
        return RunJournal.open(_runs_dir(args), run_id or args.run_id)
    except JournalError as exc:
        raise TwentyMigrateError(
            f"{exc}; `twenty-migrate runs{_runs_flags(args)}` lists the runs"
        ) from None


@contextmanager
def _resumable(args: argparse.Namespace, run_id: Callable[[], str | None]) -> Iterator[None]:
    """Turn Ctrl-C into the message that names the run and the command that finishes it."""
    try:
        yield
    except KeyboardInterrupt:
        current = run_id()
        if current is None:
            raise _Interrupted("interrupted before the run started; nothing was sent") from None
        raise _Interrupted(
            f"interrupted: run {current} is journalled and can be finished with "
            f"`twenty-migrate resume {shlex.quote(current)}{_runs_flags(args)}`"
        ) from None


def _confirm(args: argparse.Namespace, question: str, refusal: str) -> None:
    """Ask ``question`` on the terminal unless ``--yes``; no terminal and no ``--yes``: refuse."""
    if args.yes:
        return
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise TwentyMigrateError(refusal)
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise TwentyMigrateError("nothing was deleted (not confirmed)")


def _user_message(exc: TwentyMigrateError, args: argparse.Namespace) -> str:
    """One sentence for an error the user can fix; the key and URL ones name the setting."""
    from twenty_migrate.twenty.doctor import access_problem

    if isinstance(exc, AuthenticationError | APIConnectionError):
        url = getattr(args, "url", None) or _configured_url()
        reason, next_step = access_problem(url, exc)
        return f"{reason}: {next_step}"
    return str(exc)


def _configured_url() -> str:
    from twenty_migrate.twenty.config import Settings

    return Settings.from_env().base_url or "the server"


def _progress(args: argparse.Namespace) -> ProgressArg:
    return None if getattr(args, "no_progress", False) else "auto"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``twenty-migrate``."""
    parser = argparse.ArgumentParser(
        prog="twenty-migrate",
        description="Migrate CRM exports and spreadsheets into Twenty, resumably and within "
        "its rate limit. Connection: TWENTY_API_URL and TWENTY_API_KEY (env or .env).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--runs-dir", help="where run journals live (TWENTY_MIGRATE_RUNS_DIR)")
        sub.add_argument("--url", help="Twenty base URL (overrides TWENTY_API_URL)")
        sub.add_argument("--no-progress", action="store_true", help="no progress bars")
        return sub

    demo = add("demo", "run the sample migration end to end on the embedded sandbox")
    demo.add_argument(
        "--twenty-version",
        default=None,
        metavar="RELEASE",
        help="the Twenty release the sandbox behaves as (default: the newest profile)",
    )
    demo.set_defaults(handler=_cmd_demo)

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the local Twenty emulator over HTTP (see `twenty-migrate sandbox --help`)",
        add_help=False,
    )
    sandbox.add_argument("sandbox_args", nargs=argparse.REMAINDER)

    schema = add("schema", "show the workspace's objects and fields, or save them as JSON")
    schema.add_argument("-o", "--output", help="write the schema cache to this JSON file")
    schema.set_defaults(handler=_cmd_schema)

    check = add("doctor", "check the key, what it may read, and which Twenty the server is")
    check.add_argument("--schema", help="also compare this schema cache with the server")
    check.set_defaults(handler=_cmd_doctor)

    validate = add(
        "validate", "check a migration's files against the workspace, row by row, sending nothing"
    )
    validate.add_argument("plan", metavar="SPEC", help="migration spec (MigrationSpec.save)")
    validate.add_argument(
        "-o", "--output", help="report folder (default: SPEC's folder/validation)"
    )
    validate.add_argument("--schema", help="use this schema cache instead of reading it")
    validate.add_argument("--strict", action="store_true", help=_STRICT_HELP)
    validate.set_defaults(handler=_cmd_validate)

    run = add("import", "run a saved plan, or prepare and run a migration spec")
    run.add_argument(
        "plan", help="plan file (ImportPlan.save) or migration spec (MigrationSpec.save)"
    )
    run.add_argument("--schema", help="with a spec: use this schema cache")
    run.add_argument("-o", "--output", help="with a spec: validation report folder")
    run.add_argument("--strict", action="store_true", help="with a spec: " + _STRICT_HELP)
    run.add_argument("--dry-run", action="store_true", help="print calls and duration only")
    run.add_argument("--test-batch", type=int, metavar="N", help="send only N records")
    run.add_argument(
        "--only-changed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send only rows that are new or changed since earlier runs of this migration "
        "(the default); --no-only-changed sends every row again, updating the same records",
    )
    run.add_argument("--run-id", help="name of the run (default: timestamp and object)")
    run.add_argument(
        "--create-missing",
        action="store_true",
        help="with a plan: create the objects, fields and options it writes that the "
        "workspace lacks (else they are listed and nothing is sent); with a spec: the "
        "fields its stored source ids need",
    )
    run.set_defaults(handler=_cmd_import)

    resume = add("resume", "finish an interrupted run from its journal")
    resume.add_argument("run_id")
    resume.set_defaults(handler=_cmd_resume)

    rollback = add("rollback", "delete the records a run created (soft by default)")
    rollback.add_argument("run_id")
    rollback.add_argument("--destroy", action="store_true", help="hard delete instead")
    rollback.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation (scripts)"
    )
    rollback.add_argument(
        "--include-test-batch",
        action="store_true",
        help="also delete the records of the run's kept test batch (left alone by default)",
    )
    rollback.set_defaults(handler=_cmd_rollback)

    export = add("export", "read every record of an object into a file (backup, check)")
    export.add_argument("object", help="object plural name, e.g. people")
    export.add_argument("-o", "--output", help="file (.csv, .xlsx, .jsonl, .parquet)")
    export.add_argument("--with-deleted", action="store_true", help="include soft-deleted")
    export.set_defaults(handler=_cmd_export)

    add("runs", "list runs and their status").set_defaults(handler=_cmd_runs)

    logs = add("logs", "export a run's per-row log, its fix-me file and summary")
    logs.add_argument("run_id")
    logs.add_argument("--format", choices=LOG_FORMATS, default="csv")
    logs.add_argument("-o", "--output", help="row log file (default: in the run directory)")
    logs.set_defaults(handler=_cmd_logs)

    report = add("report", "write a self-contained HTML report of runs, to hand to the client")
    report.add_argument("runs", nargs="+", metavar="RUN", help="run id(s), e.g. import and fixes")
    report.add_argument("-o", "--output", help="HTML file (default: first run's report.html)")
    report.add_argument("--spec", help="migration spec: add rows read, left out and why")
    report.add_argument("--schema", help="with --spec: use this schema cache")
    report.add_argument(
        "--verify", action="store_true", help="read Twenty back: reconciliation and coverage"
    )
    report.set_defaults(handler=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twenty-migrate`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        # The sandbox has its own parser (flags named as Twenty's settings).
        from twenty_migrate.sandbox.server import run_from_args

        return run_from_args(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        return int(args.handler(args))
    except TwentyMigrateError as exc:
        print(f"error: {_user_message(exc, args)}", file=sys.stderr)
        return 2
    except _Interrupted as exc:
        print(exc, file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.filename is None:
            raise  # not about a file the user named
        print(f"error: {exc.strerror or exc}: {exc.filename}; check the path", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print(
            "error: twenty-migrate failed unexpectedly (the traceback above); please report it "
            "with the traceback and the command you ran",
            file=sys.stderr,
        )
        return 3
