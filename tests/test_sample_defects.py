"""Every defect injected in the sample export that a migration must report is reported.

``sample_data/manifest.json`` lists, per file, the rows carrying each such defect
(``defect_rows``, written by ``sample_data/generate.py``). The sample migration is prepared
against a sandbox and each defect's rows are looked up in what the toolkit found: values
the mapping could not convert (by source column and rule), relations left unresolved (by
field), rows left out as repeats of another row. Findings only: how many rows end up set
aside is another matter.

A tagged row the toolkit rightly does not report is excused only for a reason checked
here: the cleaning emptied a placeholder ("N/A", "tbd", "-"), the row was left out as a
repeat of a row that carries the same defect, or the related record does exist in the
run (the generator knows people.csv only; the run also imports the trade-show leads, and
reads "mailto:" and "Name <address>" forms). Rows the toolkit misses for no such reason
are listed in ``KNOWN_MISSES`` with why; the test fails if one is found again, so the list
only shrinks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from conftest import FakeClock, sandbox_client

from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.pipeline.prepare import PreparedMigration
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.ui.demo import add_sample_members, sample_spec

DATA = Path(__file__).resolve().parent.parent / "sample_data"
MANIFEST = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
OBJECTS = {
    "companies.csv": "companies",
    "people.csv": "people",
    "people.xlsx": "people",
    "opportunities.csv": "opportunities",
    "tasks.csv": "tasks",
    "notes.csv": "notes",
}


@pytest.fixture(scope="module")
def prepared() -> PreparedMigration:
    clock = FakeClock()
    sandbox = Sandbox(clock=clock, sleep=clock.sleep)
    add_sample_members(sandbox)
    with sandbox_client(sandbox, clock) as client:
        return sample_spec().prepare(client, check_existing=False)


def row_key(file: str, number: int) -> str:
    """A file's data row as the toolkit names it (people come from two files)."""
    return f"{file}:{number}" if OBJECTS[file] == "people" else str(number)


def tagged(file: str, labels: tuple[str, ...]) -> set[str]:
    rows = MANIFEST["defect_rows"][file]
    return {row_key(file, n) for label in labels for n in rows.get(label, [])}


def keys(rows: pd.Series) -> set[str]:
    return {str(r) for r in rows}


def in_file(file: str, rows: set[str]) -> set[str]:
    if OBJECTS[file] != "people":
        return rows
    return {r for r in rows if r.startswith(f"{file}:")}


def email_key(value: str) -> str:
    """An address as people write it ("mailto:a@b", "Name <a@b>", " A@B ") reduced to a@b."""
    value = value.strip()
    inside = re.search(r"<([^>]+)>", value)
    if inside:
        value = inside[1]
    return value.removeprefix("mailto:").strip().lower()


@cache
def raw(file: str) -> pd.DataFrame:
    """A sample CSV file as written, every cell text."""
    return pd.read_csv(DATA / file, dtype=str, keep_default_na=False)


@cache
def run_emails() -> frozenset[str]:
    """The addresses of every person the run imports (people.csv and the trade-show leads)."""
    people = raw("people.csv")["Email"]
    leads = pd.read_excel(DATA / "people.xlsx", sheet_name="Leads", dtype=str)["E-mail"]
    cells = [*people, *leads.dropna()]  # a cell may hold two addresses: "a@x; b@x"
    return frozenset(email_key(v) for cell in cells for v in re.split(r"[;,]", cell) if v.strip())


@cache
def run_company_names() -> frozenset[str]:
    names = raw("companies.csv")["Company Name"]
    return frozenset(" ".join(n.split()).casefold() for n in names if n.strip())


def exists_in_run(cell: str) -> bool:
    """Every record ``cell`` names (``;``-separated emails or company names) is in the run."""
    emails, companies = run_emails(), run_company_names()
    parts = [p.strip() for p in cell.split(";") if p.strip()]
    return bool(parts) and all(
        email_key(p) in emails if "@" in p else " ".join(p.split()).casefold() in companies
        for p in parts
    )


def raw_cell(file: str, row: str, column: str) -> str:
    return str(raw(file).iloc[int(row.rpartition(":")[2]) - 1][column])


def dropped_as_repeats(prepared: PreparedMigration) -> dict[str, str]:
    """Rows left out as repeats of another row, with the row each repeats."""
    excluded = prepared.excluded
    repeats = excluded[excluded["reason"].str.contains("same as another row", regex=False)]
    kept = repeats["reason"].str.extract(r"duplicate of _row ([^)]+)\)")[0]
    return dict(zip(map(str, repeats["_row"]), map(str, kept), strict=True))


@dataclass(frozen=True)
class Finding:
    """A defect class and where the toolkit reports it."""

    file: str
    labels: tuple[str, ...]
    column: str  # the source column (mapping) or the relation field
    rule: str | None  # the mapping rule, or None for a relation left unresolved
    exact: bool = False  # reported on these rows and no other

    @property
    def id(self) -> str:
        return f"{self.file}:{'+'.join(self.labels)}"

    def found(self, prepared: PreparedMigration) -> set[str]:
        obj = OBJECTS[self.file]
        if self.rule is not None:
            problems = prepared.mapped[obj].problems
            hits = problems[(problems["column"] == self.column) & (problems["rule"] == self.rule)]
        else:
            problems = prepared.relations.problems
            hits = problems[(problems["object"] == obj) & (problems["column"] == self.column)]
        return in_file(self.file, keys(hits["_row"]))

    def excused(self, prepared: PreparedMigration, rows: set[str]) -> set[str]:
        """The rows of ``rows`` rightly not reported, each for a reason checked here."""
        obj = OBJECTS[self.file]
        if self.rule is not None:
            source = self.labels[0].partition("|")[0]
            cleaned = prepared.cleaned[obj]
            blank = keys(cleaned.loc[cleaned[source].isna(), "_row"])
            return rows & blank
        repeats = dropped_as_repeats(prepared)
        source = self.labels[0].partition("|")[0]
        return {
            r
            for r in rows
            if (r in repeats and repeats[r] in tagged(self.file, self.labels))
            or exists_in_run(raw_cell(self.file, r, source))
        }


BAD_EMAIL_KINDS = (
    "email_comma",
    "email_double_at",
    "email_double_dot",
    "email_missing_at",
    "email_no_tld",
    "email_space_inside",
    "email_trailing_dot",
)
NOT_A_PHONE_KINDS = ("phone_not_a_number", "phone_truncated", "phone_scientific_notation")
PHONE_COLUMNS = (("people.csv", "Phone"), ("people.csv", "Mobile"), ("people.xlsx", "Tel."))

FINDINGS = [
    *(
        Finding(
            file, tuple(f"{column}|{k}" for k in BAD_EMAIL_KINDS), column, "invalid_email", True
        )
        for file, column in (("people.csv", "Email"), ("people.xlsx", "E-mail"))
    ),
    Finding("people.csv", ("Email|email_two_addresses",), "Email", "extra_value_moved", True),
    *(
        Finding(file, (f"{column}|{kind}",), column, "invalid_phone")
        for file, column in PHONE_COLUMNS
        for kind in NOT_A_PHONE_KINDS
    ),
    # Two numbers in a primary phone cell: the second moves to the additional phones.
    *(
        Finding(file, (f"{column}|phone_two_numbers",), column, "extra_value_moved", True)
        for file, column in (("people.csv", "Phone"), ("people.xlsx", "Tel."))
    ),
    Finding("companies.csv", ("Website|email_in_url_field",), "Website", "invalid_link"),
    Finding("opportunities.csv", ("Close Date|date_invalid",), "Close Date", "invalid_date", True),
    Finding(
        "opportunities.csv", ("Close Date|date_ambiguous",), "Close Date", "ambiguous_date", True
    ),
    Finding("tasks.csv", ("Due Date|date_invalid",), "Due Date", "invalid_date", True),
    Finding("tasks.csv", ("Due Date|date_ambiguous",), "Due Date", "ambiguous_date", True),
    # The currency is checked against the amount, so the conflict is reported on Amount.
    Finding(
        "opportunities.csv",
        ("Currency|conflicts_with_amount",),
        "Amount",
        "currency_conflict",
        True,
    ),
    Finding("companies.csv", ("Account Owner|owner_unknown",), "accountOwnerId", None),
    Finding("opportunities.csv", ("Deal Owner|owner_unknown",), "ownerId", None),
    Finding("tasks.csv", ("Assigned To|owner_unknown",), "assigneeId", None),
    Finding("people.csv", ("Company|missing_parent",), "companyId", None),
    Finding("opportunities.csv", ("Company|missing_parent",), "companyId", None),
    Finding("opportunities.csv", ("Contact Email|no_matching_person",), "pointOfContactId", None),
    Finding(
        "opportunities.csv",
        tuple(
            label
            for label in MANIFEST["defect_rows"]["opportunities.csv"]
            if label.startswith("Contact Email|email_")
        ),
        "pointOfContactId",
        None,
    ),
    Finding("tasks.csv", ("Related To|unresolvable",), "_ref.targets", None),
    Finding("notes.csv", ("Related To|unresolvable",), "_ref.targets", None),
]

STORED_VANITY = (
    "Twenty stores it: '555-CALL-NOW' has its letters read as keypad digits, and "
    "libphonenumber-js parses any 2 to 17 digits (transform-phones-value.util.ts)"
)
STORED_CUT = (
    "Twenty stores it: libphonenumber-js parses any 2 to 17 digits, a cut number included "
    "(transform-phones-value.util.ts); refusing it would be stricter than Twenty"
)
#: Tagged rows the toolkit does not report, per finding id, and why: each a phone Twenty
#: stores as typed, so the validator must not refuse it (never stricter than Twenty).
KNOWN_MISSES: dict[str, tuple[set[str], str]] = {
    "people.csv:Phone|phone_not_a_number": (
        {
            "people.csv:1176",
            "people.csv:1389",
            "people.csv:1621",
            "people.csv:191",
            "people.csv:2234",
        },
        STORED_VANITY,
    ),
    "people.csv:Phone|phone_truncated": (
        {
            "people.csv:1146",
            "people.csv:1150",
            "people.csv:1267",
            "people.csv:1360",
            "people.csv:1409",
            "people.csv:1543",
            "people.csv:1547",
            "people.csv:1596",
            "people.csv:1623",
            "people.csv:1629",
            "people.csv:1834",
            "people.csv:1868",
            "people.csv:1970",
            "people.csv:2405",
            "people.csv:2424",
            "people.csv:337",
            "people.csv:400",
            "people.csv:417",
            "people.csv:558",
            "people.csv:780",
            "people.csv:838",
            "people.csv:878",
            "people.csv:959",
        },
        STORED_CUT,
    ),
    "people.csv:Mobile|phone_not_a_number": (
        {"people.csv:1504", "people.csv:234"},
        STORED_VANITY,
    ),
    "people.csv:Mobile|phone_truncated": (
        {
            "people.csv:124",
            "people.csv:1257",
            "people.csv:1551",
            "people.csv:1689",
            "people.csv:1975",
            "people.csv:880",
        },
        STORED_CUT,
    ),
    "people.xlsx:Tel.|phone_truncated": (
        {"people.xlsx:189", "people.xlsx:241", "people.xlsx:316"},
        STORED_CUT,
    ),
}


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.id)
def test_each_injected_defect_is_reported_on_its_rows(
    prepared: PreparedMigration, finding: Finding
) -> None:
    injected = tagged(finding.file, finding.labels)
    assert injected, f"the manifest lists no rows for {finding.labels}"
    found = finding.found(prepared)
    missed = injected - found - finding.excused(prepared, injected - found)
    known, why = KNOWN_MISSES.get(finding.id, (set(), ""))
    assert missed == known, f"rows with {finding.labels} not reported: {sorted(missed)} {why}"
    if finding.exact:
        assert found == injected - finding.excused(prepared, injected - found) - known


def test_two_mobile_numbers_in_one_cell_are_both_kept(prepared: PreparedMigration) -> None:
    # Mobile feeds the additional phones (the primary one when Phone is blank): nothing
    # is moved out of its field, so nothing is reported, and both numbers are kept.
    rows = tagged("people.csv", ("Mobile|phone_two_numbers",))
    data = prepared.mapped["people"].data
    kept = data[data["_row"].astype(str).isin(rows)]
    assert len(kept) == len(rows)
    numbers = kept["phones.primaryPhoneNumber"].notna() + kept["phones.additionalPhones"].map(len)
    assert numbers.ge(2).all(), kept[["_row", "phones.additionalPhones"]].to_dict("records")


def duplicate_groups(file: str, label: str) -> list[set[str]]:
    """Each tagged row with the rows it repeats: identical cells, or the same email."""
    if file.endswith(".xlsx"):
        frame = pd.read_excel(DATA / file, sheet_name="Leads", dtype=str).fillna("")
    else:
        frame = raw(file)
    numbers = range(1, len(frame) + 1)
    if label.endswith("exact_duplicate"):
        same = frame.apply(lambda row: "\x1f".join(row), axis=1).tolist()
    else:
        email = "Email" if "Email" in frame.columns else "E-mail"
        same = [email_key(v) for v in frame[email]]
    groups = []
    for n in MANIFEST["defect_rows"][file][label]:
        group = {row_key(file, m) for m in numbers if same[m - 1] == same[n - 1]}
        assert len(group) > 1, f"{file} row {n} repeats no other row"
        groups.append(group)
    return groups


REPEATS = [
    (file, label)
    for file, labels in MANIFEST["defect_rows"].items()
    for label in labels
    if label.partition("|")[2] in {"exact_duplicate", "duplicate_email_case", "scanned_twice"}
]
#: Repeated rows the toolkit does not report, per (file, label): the rows repeat another
#: row's source id (Account, Contact, Opportunity, Activity, Note or Badge ID), but only the
#: object's unique key (domain, email) is looked at, and it is blank or invalid here, or the
#: object has none. To be fixed; each entry lists the rows still missed.
KNOWN_REPEATS_MISSED: dict[tuple[str, str], list[list[str]]] = {
    ("companies.csv", "*|exact_duplicate"): [["337", "99"]],
    ("people.csv", "*|exact_duplicate"): [
        ["people.csv:1589", "people.csv:8"],
        ["people.csv:168", "people.csv:95"],
        ["people.csv:157", "people.csv:986"],
        ["people.csv:543", "people.csv:997"],
    ],
    ("opportunities.csv", "*|exact_duplicate"): [
        ["101", "413"],
        ["138", "530"],
        ["238", "58"],
        ["386", "85"],
        ["373", "522"],
        ["384", "595"],
    ],
    ("tasks.csv", "*|exact_duplicate"): [["15", "159"], ["198", "271"], ["122", "277"]],
    ("notes.csv", "*|exact_duplicate"): [["170", "22"], ["33", "84"], ["273", "62"]],
    ("people.xlsx", "*|scanned_twice"): [["people.xlsx:191", "people.xlsx:306"]],
}


@pytest.mark.parametrize(("file", "label"), REPEATS, ids=lambda v: str(v))
def test_each_repeated_row_is_left_out_as_a_repeat(
    prepared: PreparedMigration, file: str, label: str
) -> None:
    repeats = dropped_as_repeats(prepared)
    missed = [
        sorted(group)
        for group in duplicate_groups(file, label)
        if len(group - repeats.keys()) > 1  # a repeat of a row elsewhere counts too
    ]
    assert missed == KNOWN_REPEATS_MISSED.get((file, label), []), "repeated rows not reported"


#: Defects injected in a mapped column that nothing reports, and why (to be fixed).
NOT_DETECTED = {
    ("companies.csv", "Postal Code|leading_zero_lost"): (
        "a US ZIP code read as a number lost its leading zero ('2110' for 02110); "
        "nothing checks a postcode against its country"
    ),
}


def test_every_reported_defect_of_the_manifest_is_checked(prepared: PreparedMigration) -> None:
    checked = {(f.file, label) for f in FINDINGS for label in f.labels}
    checked |= set(REPEATS) | {("people.csv", "Mobile|phone_two_numbers")}
    unchecked = {
        (file, label)
        for file, labels in MANIFEST["defect_rows"].items()
        for label in labels
        if (file, label) not in checked
    }
    # The rest lie in columns the sample mappings leave out (export dates, record creators,
    # company phones, contact owners): nothing of them reaches Twenty.
    spec = json.loads((DATA / "migration.json").read_text(encoding="utf-8"))
    mapped_sources = {
        (source["file"], column)
        for source in spec["sources"]
        for column in FieldMap.load(DATA / source["mapping"]).sources
    }
    in_mapped_columns = {
        (file, label)
        for file, label in unchecked
        if (file, label.partition("|")[0]) in mapped_sources
    }
    assert in_mapped_columns == set(NOT_DETECTED)
