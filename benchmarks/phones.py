"""How many phone cells of real CRM exports reach Twenty: the old rule, the new, the sandbox.

Builds ``--cells`` phone cells as found in Salesforce, HubSpot and Pipedrive exports
(fictional 555 numbers, extensions, ``+44``/``0049`` forms, national forms with a country
column, letters, unusual lengths, garbage), each with the row's country column (a name, a
code, or empty), then counts:

* **refused before**: by the conversion's former rule, libphonenumber's
  ``is_valid_number`` (``parse_phone(..., strict=True)``), in the country column's region;
* **refused now**: by the client, conversion (:class:`~twenty_migrate.mapping.field_map.FieldMap`)
  then :func:`~twenty_migrate.validation.validate`;
* **stored by the sandbox**: the raw cell sent with the column's country code, through
  the sandbox's own copy of Twenty's phone transform;
* **disagreements**: cells the sandbox stores as typed but the client refuses (the client
  stricter than Twenty), plus cells whose converted phone the sandbox refuses (looser).
  Must be 0.

Run from the repository root: ``python benchmarks/phones.py --cells 20000``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from twenty_migrate.mapping.field_map import FieldMap  # noqa: E402
from twenty_migrate.sandbox import Sandbox  # noqa: E402
from twenty_migrate.sandbox.engine.phones import transform_phones  # noqa: E402
from twenty_migrate.sandbox.errors import SandboxError  # noqa: E402
from twenty_migrate.twenty.schema import WorkspaceSchema, fetch_schema  # noqa: E402
from twenty_migrate.validation import validate  # noqa: E402
from twenty_migrate.values.phones import country_code, parse_phone  # noqa: E402


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def area(rng: random.Random) -> str:
    return rng.choice(["212", "415", "617", "312", "646", "555", "800", "206"])


#: (kind, country column values, cell maker): the shapes CRM exports hold.
SHAPES = [
    ("us 555-01xx", ["US", "United States", "USA", ""],
     lambda r: f"({area(r)}) 555-01{digits(r, 2)}"),
    ("us with extension", ["US", "United States"],
     lambda r: f"({area(r)}) 555-01{digits(r, 2)} ext. {digits(r, r.randint(1, 4))}"),
    ("us dotted x", ["US", ""], lambda r: f"{area(r)}.{r.randint(200, 999)}.{digits(r, 4)} x12"),
    ("us local 7 digits", ["US", "United States"], lambda r: f"555-{digits(r, 4)}"),
    ("us +1", ["", "US"], lambda r: f"+1 {area(r)} {r.randint(200, 999)} {digits(r, 4)}"),
    ("us all 5s", ["US"], lambda r: "(555) 555-5555"),
    ("gb +44", ["", "United Kingdom", "UK", "GB"], lambda r: f"+44 20 7946 0{digits(r, 3)}"),
    ("gb national", ["United Kingdom", "GB", "England"],
     lambda r: r.choice([f"020 7946 0{digits(r, 3)}", f"07700 900{digits(r, 3)}"])),
    ("gb +44 (0)", ["UK", ""], lambda r: f"+44 (0) 20 7946 0{digits(r, 3)}"),
    ("de 0049", ["Germany", "Deutschland", "DE", ""], lambda r: f"0049 30 {digits(r, 7)}"),
    ("de national", ["Germany", "DE"], lambda r: f"030 {digits(r, r.randint(3, 9))}"),
    ("de short +49", ["", "DE"], lambda r: f"+49 30 {digits(r, 3)}"),
    ("fr national", ["France", "FR"], lambda r: f"01 42 68 {digits(r, 2)} {digits(r, 2)}"),
    ("fr mobile +33", ["", "France"], lambda r: f"+33 6 {digits(r, 2)} {digits(r, 2)} 56 78"),
    ("au national", ["Australia", "AU"], lambda r: f"(02) 5550 {digits(r, 4)}"),
    ("unusual length", ["US", "DE", "FR", "GB"], lambda r: digits(r, r.choice([2, 3, 5, 6, 11]))),
    ("letters", ["US", ""],
     lambda r: r.choice(["1-800-FLOWERS", "555-CALL-NOW", f"555-{digits(r, 4)} (home)",
                         f"{area(r)} 555 {digits(r, 4)} mobile"])),
    ("no country", [""], lambda r: f"{area(r)}-{r.randint(200, 999)}-{digits(r, 4)}"),
    ("garbage", ["US", "", "DE"],
     lambda r: r.choice(["n/a", "call me", "0", "4.15555E+09", "-", "ask for reception",
                         "+", "private", "see notes", "1", "+999 123456"])),
]  # fmt: skip


def corpus(cells: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(cells):
        kind, countries, make = rng.choice(SHAPES)
        rows.append({"kind": kind, "Phone": make(rng), "Country": rng.choice(countries)})
    frame = pd.DataFrame(rows)
    frame.insert(0, "_row", range(1, len(frame) + 1))
    return frame


def sandbox_schema() -> WorkspaceSchema:
    from twenty_migrate.twenty.client import TwentyClient

    sandbox = Sandbox()
    with TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        env_file=None,
        transport=sandbox.transport(),
    ) as client:
        return fetch_schema(client)


def stored(number: str, country: str | None, calling: str | None = None) -> bool:
    """Whether the sandbox stores this phone."""
    value = {"primaryPhoneNumber": number, "primaryPhoneCountryCode": country}
    if calling is not None:
        value["primaryPhoneCallingCode"] = calling
    try:
        transform_phones("phones", value)
    except SandboxError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    people = sandbox_schema().object("people")
    frame = corpus(args.cells, args.seed)
    codes = [country_code(c) if c else None for c in frame["Country"]]
    started = time.perf_counter()

    regions = [c or "US" for c in codes]  # the default region, as FieldMap.apply reads
    old = {
        (t, r): not parse_phone(t, r, strict=True).valid
        for t, r in set(zip(frame["Phone"], regions, strict=True))
    }
    refused_before = [old[(t, r)] for t, r in zip(frame["Phone"], regions, strict=True)]

    mapping = {"Phone": "phones.primaryPhoneNumber", "Country": "phones.primaryPhoneCountryCode"}
    mapped = FieldMap("people", mapping).apply(frame[["_row", "Phone", "Country"]], people)
    report = validate(mapped, people)
    errors = report.errors
    refused_rows = set(errors.loc[errors["column"].str.startswith("phones."), "_row"])
    data = mapped.data
    sent = [
        (n, c if isinstance(c, str) else None, k)
        if row not in refused_rows and isinstance(n, str)
        else None
        for row, n, c, k in zip(
            data["_row"],
            data["phones.primaryPhoneNumber"],
            data["phones.primaryPhoneCountryCode"],
            data["phones.primaryPhoneCallingCode"],
            strict=True,
        )
    ]
    raw = {pair: stored(*pair) for pair in set(zip(frame["Phone"], codes, strict=True))}
    stores = [raw[(t, c)] for t, c in zip(frame["Phone"], codes, strict=True)]
    triples = {s: stored(*s) for s in set(sent) if s is not None}
    stricter = [ok and s is None for ok, s in zip(stores, sent, strict=True)]
    looser = [s is not None and not triples[s] for s in sent]
    seconds = time.perf_counter() - started

    frame["refused before"] = refused_before
    frame["refused now"] = [s is None for s in sent]
    frame["stored by sandbox"] = stores
    frame["disagreements"] = [a or b for a, b in zip(stricter, looser, strict=True)]
    by_kind = frame.groupby("kind", sort=False)[
        ["refused before", "refused now", "stored by sandbox", "disagreements"]
    ].sum()
    by_kind.insert(0, "cells", frame.groupby("kind", sort=False).size())
    print(by_kind.to_string())
    print(
        f"cells={len(frame)} refused_before={sum(refused_before)} "
        f"refused_now={sum(s is None for s in sent)} stored_by_sandbox={sum(stores)} "
        f"disagreements={sum(stricter) + sum(looser)} "
        f"(stricter={sum(stricter)} looser={sum(looser)}) seconds={seconds:.1f}"
    )


if __name__ == "__main__":
    main()
