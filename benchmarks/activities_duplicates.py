"""How long splitting a mixed activity file and finding and merging duplicates take.

Builds (not timed) a HubSpot-shaped activity file of ``--rows`` rows (calls, meetings,
emails, notes and tasks in turn) and a companies frame of ``--rows`` rows without domains,
2% of them planted duplicates (a typo or a legal form added, same city), with one person
per company naming it. Then times:

1. :func:`~twenty_migrate.clean.activities.split_activities`;
2. :func:`~twenty_migrate.relations.merging.find_duplicates` on the companies;
3. :func:`~twenty_migrate.relations.merging.merge_duplicates` of every pair found, people included.

Run from the repository root: ``python benchmarks/activities_duplicates.py --rows 100000``.
The last line is ``rows=N split_s=A find_s=B merge_s=C planted=P found=F``.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twenty_migrate.clean.activities import split_activities  # noqa: E402
from twenty_migrate.relations.merging import find_duplicates, merge_duplicates  # noqa: E402


def activities(rows: int) -> pd.DataFrame:
    kinds = ["CALL", "MEETING", "EMAIL", "NOTE", "TASK"]
    types = [kinds[n % 5] for n in range(rows)]
    return pd.DataFrame(
        {
            "Activity ID": [str(n) for n in range(rows)],
            "Activity Type": types,
            "Activity Date": "2026-03-02",
            "Call Title": [f"Call {n}" if t == "CALL" else None for n, t in enumerate(types)],
            "Meeting Title": [f"Meet {n}" if t == "MEETING" else None for n, t in enumerate(types)],
            "Email Subject": [f"Re: {n}" if t == "EMAIL" else None for n, t in enumerate(types)],
            "Task Title": [f"Do {n}" if t == "TASK" else None for n, t in enumerate(types)],
            "Task Status": ["NOT_STARTED" if t == "TASK" else None for t in types],
            "Notes/Description": [f"Body of {n}" for n in range(rows)],
            "Associated Company": "Fernhill Bakery",
        }
    )


def companies(rows: int, rng: random.Random) -> tuple[pd.DataFrame, int]:
    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9))).title()

    cities = [word() for _ in range(500)]
    names, towns = [], []
    planted = 0
    while len(names) < rows:
        if names and rng.random() < 0.02:
            source = rng.randrange(len(names))
            name = names[source]
            cut = rng.randrange(1, len(name) - 1)
            names.append(name + " Ltd" if rng.random() < 0.5 else name[:cut] + name[cut + 1 :])
            towns.append(towns[source])
            planted += 1
        else:
            names.append(f"{word()} {word()}")
            towns.append(rng.choice(cities))
    frame = pd.DataFrame({"_row": range(1, rows + 1), "name": names, "address.addressCity": towns})
    return frame, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    rng = random.Random(7)
    file = activities(rows)
    firms, planted = companies(rows, rng)
    people = pd.DataFrame({"_row": firms["_row"], "_ref.companyId": firms["name"]})

    start = time.perf_counter()
    split = split_activities(file)
    split_s = time.perf_counter() - start
    print(f"split_activities: {split_s:.1f}s ({len(split.tasks)} tasks, {len(split.notes)} notes)")
    start = time.perf_counter()
    found = find_duplicates({"companies": firms})
    find_s = time.perf_counter() - start
    print(f"find_duplicates: {find_s:.1f}s ({len(found)} pairs, {planted} planted)")
    start = time.perf_counter()
    merged = merge_duplicates({"companies": firms, "people": people}, found)
    merge_s = time.perf_counter() - start
    print(f"merge_duplicates: {merge_s:.1f}s ({len(merged.merged)} rows merged)")
    print(
        f"rows={rows} split_s={split_s:.1f} find_s={find_s:.1f} merge_s={merge_s:.1f} "
        f"planted={planted} found={len(found)}"
    )


if __name__ == "__main__":
    main()
