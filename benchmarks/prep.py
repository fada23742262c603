"""How long preparing a large export takes: load, clean, map, relations, validate, plan.

Writes a people export of ``--rows`` rows (the sample ``people.csv`` repeated, each copy
with its own emails so rows stay distinct; not timed), then times the preparation a
consultant runs before any call, offline against the sandbox's schema:

1. :func:`~twenty_migrate.loading.load.load` (encoding and delimiter detected, all text);
2. :func:`~twenty_migrate.clean.frame.clean_frame`;
3. the sample people mapping (:class:`~twenty_migrate.mapping.field_map.FieldMap`);
4. :func:`~twenty_migrate.relations.resolve.resolve_relations` of each person's company against
   the sample companies of the same run;
5. :func:`~twenty_migrate.validation.validate.validate` (great-expectations);
6. :func:`~twenty_migrate.pipeline.migration.plan_migration` of the valid rows.

Run from the repository root: ``python benchmarks/prep.py --rows 1000000``. Prints the
seconds of each stage; the last line is ``rows=N seconds=S peak_mb=M`` (peak resident
memory of the process). The target for one million rows is S <= 60 and M <= 4000.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twenty_migrate.clean.frame import clean_frame  # noqa: E402
from twenty_migrate.loading.load import load  # noqa: E402
from twenty_migrate.mapping.field_map import FieldMap  # noqa: E402
from twenty_migrate.pipeline.migration import plan_migration  # noqa: E402
from twenty_migrate.relations.resolve import resolve_relations  # noqa: E402
from twenty_migrate.sandbox import Sandbox  # noqa: E402
from twenty_migrate.twenty.schema import WorkspaceSchema, fetch_schema  # noqa: E402
from twenty_migrate.ui.demo import sample_data_dir  # noqa: E402
from twenty_migrate.validation.validate import validate  # noqa: E402


def write_people(path: Path, rows: int) -> None:
    """``rows`` people: the sample export repeated, emails made unique per copy."""
    with open(sample_data_dir() / "people.csv", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        base = list(reader)
    email = header.index("Email")
    ident = header.index("Contact ID")
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        written = copy = 0
        while written < rows:
            for row in base[: rows - written]:
                row = list(row)
                local, at, domain = row[email].partition("@")
                if at and copy:
                    row[email] = f"{local}.{copy}@{domain}"
                row[ident] = f"{row[ident]}-{copy}"
                writer.writerow(row)
            written += min(len(base), rows - written)
            copy += 1


def sandbox_schema(twenty_version: str | None = None) -> WorkspaceSchema:
    from twenty_migrate.twenty.client import TwentyClient

    sandbox = Sandbox(twenty_version=twenty_version)
    with TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
        traits_path=None,
    ) as client:
        return fetch_schema(client)


@contextmanager
def stage(name: str, times: dict[str, float]) -> Iterator[None]:
    began = time.perf_counter()
    yield
    times[name] = time.perf_counter() - began
    print(f"  {name}: {times[name]:.1f} s", flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="people rows")
    parser.add_argument("--keep", help="write (or reuse) the generated export at this path")
    parser.add_argument(
        "--twenty-version",
        default=None,
        help="the Twenty release whose schema to validate against (default the newest)",
    )
    args = parser.parse_args(argv)

    schema = sandbox_schema(args.twenty_version)
    mappings = sample_data_dir() / "mappings"
    people_map = FieldMap.load(mappings / "people.mapping.json")
    company_map = FieldMap.load(mappings / "companies.mapping.json")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(args.keep) if args.keep else Path(scratch) / "people.csv"
        if not path.exists():
            print(f"writing {args.rows} people to {path} (not timed)", flush=True)
            write_people(path, args.rows)
        companies = clean_frame(load(sample_data_dir() / "companies.csv"))
        companies = company_map.apply(companies, schema.object("companies")).data
        print(f"preparing {args.rows} people:", flush=True)
        times: dict[str, float] = {}
        with stage("load", times):
            raw = load(path)
        with stage("clean", times):
            cleaned = clean_frame(raw)
            del raw
        with stage("map", times):
            mapped = people_map.apply(cleaned, schema.object("people"))
        with stage("relations", times):
            relations = resolve_relations({"companies": companies, "people": mapped.data}, schema)
        with stage("validate", times):
            report = validate(mapped, schema.object("people"), relations=relations.problems)
        with stage("plan", times):
            valid = set(report.valid["_row"])
            frames = {
                "companies": relations.frames["companies"],
                "people": relations.frames["people"][
                    relations.frames["people"]["_row"].isin(valid)
                ],
            }
            plan = plan_migration(frames, schema, refs=relations.refs, name="bench")
        print(
            f"  {len(report.invalid)} invalid rows, {len(report.failures)} problems, "
            f"{plan.n_rows} rows in {len(plan.batches())} batches"
        )
    seconds = sum(times.values())
    print(f"rows={len(cleaned)} seconds={seconds:.1f} peak_mb={peak_mb():.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
