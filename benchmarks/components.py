"""How fast three hot spots run, in rows per second: fuzzy duplicates, field map, create.

1. :func:`~twenty_migrate.clean.frame.find_fuzzy_duplicates` over ``--names`` company
   names (random words, one near-duplicate planted);
2. :meth:`~twenty_migrate.mapping.field_map.FieldMap.apply` of a people map (full name,
   email, phone, job title) to ``--people`` rows;
3. the sandbox's GraphQL ``createPeople`` of ``--batches`` batches of 60 people, in
   process (no HTTP), the median batch.

Run from the repository root: ``python benchmarks/components.py``. Each line reads
``NAME rows=N seconds=S rows_per_s=R``. Nothing is asserted: the tests check what these
functions return, this script how long they take.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twenty_migrate.clean.frame import add_row_ids, find_fuzzy_duplicates  # noqa: E402
from twenty_migrate.mapping.field_map import FieldMap  # noqa: E402
from twenty_migrate.sandbox.engine.store import Engine  # noqa: E402
from twenty_migrate.sandbox.graphql.api import GraphQLAPI  # noqa: E402
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry  # noqa: E402
from twenty_migrate.sandbox.profiles import sandbox_profile  # noqa: E402
from twenty_migrate.twenty.schema import WorkspaceSchema  # noqa: E402


def report(name: str, rows: int, seconds: float) -> None:
    print(f"{name} rows={rows} seconds={seconds:.3f} rows_per_s={rows / seconds:,.0f}", flush=True)


def company_names(n: int) -> list[str]:
    """``n`` distinct company names; row 501 is row 401 upper-cased with doubled spaces."""
    rng = np.random.default_rng(7)
    words = [f"{a}{b}".title() for a in "bcdfghklmnprstvz" for b in ("ar", "en", "ix", "ol", "um")]
    parts = zip(
        rng.choice(words, n),
        rng.choice(words, n),
        rng.choice(["Inc", "GmbH", "Labs"], n),
        strict=True,
    )
    names = [f"{a} {b} {c} {i}" for i, (a, b, c) in enumerate(parts)]
    if n > 500:
        names[500] = names[400].replace(" ", "  ").upper()
    return names


def bench_fuzzy_duplicates(n: int) -> None:
    frame = add_row_ids(pd.DataFrame({"Name": company_names(n)}))
    began = time.perf_counter()
    pairs = find_fuzzy_duplicates(frame, "Name")
    report("fuzzy_duplicates", n, time.perf_counter() - began)
    print(f"  {len(pairs)} pairs found")


def people_rows(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    area = rng.choice([212, 415, 617, 312, 206, 512], n)
    exchange, line = rng.integers(200, 999, n), rng.integers(0, 9999, n)
    phones = [f"({a}) {e}-{x:04d}" for a, e, x in zip(area, exchange, line, strict=True)]
    return pd.DataFrame(
        {
            "_row": np.arange(1, n + 1),
            "Name": pd.Series(rng.choice(["Ada Lovelace", "Grace Hopper", "Doe, Jane"], n)),
            "Email": pd.Series([f"user{i}@Example.com" for i in range(n)], dtype="str"),
            "Phone": pd.Series(phones, dtype="str"),
            "Title": pd.Series(rng.choice(["CEO", " CTO ", "VP Sales"], n), dtype="str"),
        }
    )


def bench_field_map(n: int) -> None:
    registry = standard_registry(sandbox_profile("1"))
    schema = WorkspaceSchema.from_metadata([obj.to_api() for obj in registry.objects()])
    fmap = FieldMap(
        "people", {"Name": "name", "Email": "emails", "Phone": "phones", "Title": "jobTitle"}
    )
    rows = people_rows(n)
    began = time.perf_counter()
    mapped = fmap.apply(rows, schema.object("people"))
    report("field_map_apply", n, time.perf_counter() - began)
    print(f"  {len(mapped.problems)} problems")


def bench_sandbox_create(batches: int, size: int = 60) -> None:
    api = GraphQLAPI(Engine(standard_registry(sandbox_profile("1"))))
    query = (
        "mutation($d: [PersonCreateInput!]!) { createPeople(data: $d) "
        "{ id emails { primaryEmail } } }"
    )
    timings: list[float] = []
    for batch in range(batches):
        data: list[dict[str, Any]] = [
            {
                "name": {"firstName": f"First{i:05d}", "lastName": "Last"},
                "emails": {"primaryEmail": f"person{i}@example.com"},
            }
            for i in range(batch * size, (batch + 1) * size)
        ]
        began = time.perf_counter()
        answer = api.execute_core({"query": query, "variables": {"d": data}}, charge=lambda _: None)
        timings.append(time.perf_counter() - began)
        if "errors" in answer:
            raise SystemExit(f"createPeople failed: {answer['errors']}")
    report(f"sandbox_create_{size}", size, statistics.median(timings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=100_000, help="names for fuzzy duplicates")
    parser.add_argument("--people", type=int, default=200_000, help="rows for the field map")
    parser.add_argument("--batches", type=int, default=20, help="sandbox batches of 60 people")
    args = parser.parse_args(argv)
    bench_fuzzy_duplicates(args.names)
    bench_field_map(args.people)
    bench_sandbox_create(args.batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
