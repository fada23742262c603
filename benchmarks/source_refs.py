"""How long resolving relations by source id takes: a Salesforce-shaped export in memory.

Builds ``--accounts`` accounts and ``--contacts`` contacts whose ``AccountId`` names an
account by its Salesforce id (every other one in the 18-character form, the accounts'
own ids in 15), maps them with a ``source_id`` (not timed), then times, offline against
the sandbox's schema:

1. :func:`~twenty_migrate.relations.resolve.resolve_relations` of every ``_sourceref.companyId``;
2. :func:`~twenty_migrate.pipeline.migration.plan_migration` (record ids derived from source ids).

Run from the repository root: ``python benchmarks/source_refs.py --contacts 200000``.
Prints the seconds of each stage; the last line is ``contacts=N resolve_s=S plan_s=P``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twenty_migrate.mapping.field_map import FieldMap  # noqa: E402
from twenty_migrate.pipeline.migration import plan_migration  # noqa: E402
from twenty_migrate.relations.resolve import resolve_relations  # noqa: E402
from twenty_migrate.sandbox import Sandbox  # noqa: E402
from twenty_migrate.twenty.client import TwentyClient  # noqa: E402
from twenty_migrate.twenty.schema import fetch_schema  # noqa: E402
from twenty_migrate.values.salesforce import salesforce_id18  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args(argv)

    sandbox = Sandbox()
    with TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
    ) as client:
        schema = fetch_schema(client)
    ids = [f"0015g{i:010d}" for i in range(args.accounts)]
    accounts = pd.DataFrame(
        {"_row": range(args.accounts), "Id": ids, "Name": [f"Company {i}" for i in ids]}
    )
    links = [ids[i % args.accounts] for i in range(args.contacts)]
    contacts = pd.DataFrame(
        {
            "_row": range(args.contacts),
            "Id": [f"0035g{i:010d}" for i in range(args.contacts)],
            "LastName": [f"Person {i}" for i in range(args.contacts)],
            "AccountId": [salesforce_id18(v) if i % 2 else v for i, v in enumerate(links)],
        }
    )
    companies = FieldMap("companies", {"Name": "name"}, source_id="Id")
    people = FieldMap(
        "people",
        {"LastName": "name.lastName", "AccountId": "_sourceref.companyId"},
        source_id="Id",
    )
    frames = {
        "companies": companies.apply(accounts, schema.object("companies")),
        "people": people.apply(contacts, schema.object("people")),
    }

    started = time.perf_counter()
    rel = resolve_relations(frames, schema)
    resolved = time.perf_counter() - started
    print(f"resolve_relations: {resolved:.2f}s ({int(rel.counts['in_run'].sum())} in the run)")
    started = time.perf_counter()
    plan = plan_migration(rel, schema, name="benchmark")
    planned = time.perf_counter() - started
    print(f"plan_migration: {planned:.2f}s ({plan.n_rows} rows)")
    print(f"contacts={args.contacts} resolve_s={resolved:.2f} plan_s={planned:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
