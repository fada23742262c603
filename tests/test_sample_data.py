"""The committed sample export: shape, the documented defects, and determinism.

sample_data/README.md documents the files; these tests keep the files and the README honest.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "sample_data"
GENERATOR = DATA / "generate.py"

CSV_FILES = ["companies.csv", "people.csv", "opportunities.csv", "tasks.csv", "notes.csv"]
GENERATED_FILES = [*CSV_FILES, "people.xlsx", "manifest.json"]

EXPECTED_ROWS = {
    "companies.csv": 400,
    "people.csv": 2500,
    "opportunities.csv": 600,
    "tasks.csv": 400,
    "notes.csv": 300,
    "people.xlsx": 350,
}
EXPECTED_COLUMNS = {
    "companies.csv": [
        "Account ID", "Company Name", "Website", "Employees", "Annual Revenue", "Industry",
        "Account Owner", "Phone", "Street", "City", "State/Province", "Postal Code", "Country",
        "LinkedIn Company Page", "Ideal Customer?", "Created Date",
    ],
    "people.csv": [
        "Contact ID", "First Name", "Last Name", "Full Name", "Email", "Phone", "Mobile",
        "Job Title", "Company", "Company Website", "LinkedIn", "City", "Country", "Lead Source",
        "Contact Owner", "Created Date",
    ],
    "opportunities.csv": [
        "Opportunity ID", "Deal Name", "Amount", "Currency", "Stage", "Probability (%)",
        "Close Date", "Company", "Contact Email", "Deal Owner", "Created Date",
    ],
    "tasks.csv": [
        "Activity ID", "Subject", "Due Date", "Status", "Priority", "Assigned To", "Related To",
        "Description", "Created Date",
    ],
    "notes.csv": ["Note ID", "Title", "Body", "Related To", "Created By", "Created Date"],
    "people.xlsx": [
        "Name", "E-mail", "Tel.", "Organisation", "Position", "Web", "Country", "Scanned At",
        "Badge ID", "Interested In", "Comments",
    ],
}  # fmt: skip

STAGE_OPTIONS = {"NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"}
TASK_STATUS_OPTIONS = {"TODO", "IN_PROGRESS", "DONE"}

# A strict-enough address check: dot-atoms on both sides, a TLD, nothing else in the cell.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
EMAIL_RE = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[^\W\d_]{{2,}}$")


def read_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


def read_leads() -> pd.DataFrame:
    return pd.read_excel(DATA / "people.xlsx", sheet_name="Leads", dtype=str).fillna("")


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    out = {name: read_csv(name) for name in CSV_FILES}
    out["people.xlsx"] = read_leads()
    return out


@pytest.fixture(scope="module")
def manifest() -> dict:
    with (DATA / "manifest.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def norm_email(value: str) -> str:
    return value.strip().lower()


def bare_host(url: str) -> str:
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.strip().lower())
    return re.split(r"[/?#]", host, maxsplit=1)[0]


def norm_name(value: str) -> str:
    return " ".join(value.split()).casefold()


# ----------------------------------------------------------------------------------------------
# Shape
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*GENERATED_FILES, "README.md", "generate.py"])
def test_committed_file_exists_and_is_modest(name):
    path = DATA / name
    assert path.is_file(), f"{path} is missing: run python sample_data/generate.py"
    assert path.stat().st_size < 1_000_000


@pytest.mark.parametrize("name", list(EXPECTED_ROWS))
def test_row_counts_and_columns(frames, manifest, name):
    df = frames[name]
    assert len(df) == EXPECTED_ROWS[name]
    assert list(df.columns) == EXPECTED_COLUMNS[name]
    assert manifest["files"][name]["rows"] == EXPECTED_ROWS[name]
    assert manifest["files"][name]["columns"] == EXPECTED_COLUMNS[name]


def test_readme_documents_files_and_row_counts():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name, rows in EXPECTED_ROWS.items():
        assert re.search(rf"\| `{re.escape(name)}` \| {rows:,} \|", readme), name
        for column in EXPECTED_COLUMNS[name]:
            assert f"`{column}`" in readme, (name, column)
    assert "python sample_data/generate.py" in readme


def test_csv_encoding_is_plain_utf8_with_multiline_cells():
    for name in CSV_FILES:
        raw = (DATA / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), f"{name} has a BOM"
        raw.decode("utf-8")
    notes = read_csv("notes.csv")
    assert notes["Body"].str.contains("\n").sum() > 50
    assert notes["Body"].str.contains("\r\n").any()


def test_manifest_defect_counts_are_positive_and_labels_cover_the_data(frames, manifest):
    assert set(manifest["defects"]) == set(EXPECTED_ROWS)
    for name, counts in manifest["defects"].items():
        assert counts, name
        assert all(0 < n <= EXPECTED_ROWS[name] for n in counts.values()), name
    stage_map = manifest["label_maps"]["opportunities.csv:Stage"]
    assert set(frames["opportunities.csv"]["Stage"]) == set(stage_map)
    assert {v for v in stage_map.values() if v} == STAGE_OPTIONS
    status_map = manifest["label_maps"]["tasks.csv:Status"]
    assert set(frames["tasks.csv"]["Status"]) == set(status_map)
    assert {v for v in status_map.values() if v} == TASK_STATUS_OPTIONS


# ----------------------------------------------------------------------------------------------
# Emails and duplicates
# ----------------------------------------------------------------------------------------------


def test_some_emails_are_invalid(frames):
    emails = frames["people.csv"]["Email"]
    present = emails[emails != ""]
    stripped = present.str.strip()
    invalid = ~stripped.map(lambda e: bool(EMAIL_RE.match(e)))
    assert 50 <= invalid.sum() <= 200
    assert stripped.isin(["n/a", "N/A", "none", "-", "unknown"]).any()
    assert (~stripped.str.contains("@")).sum() > 10  # missing @
    assert stripped.str.contains(r"\.\.").any()  # double dots
    assert (present != present.str.strip()).sum() > 20  # stray whitespace, NBSP, tabs
    assert present.str.contains("\u00a0").any()
    assert stripped.str.contains(r"[^\x00-\x7f]").any()  # IDN domains
    leads = frames["people.xlsx"]["E-mail"]
    assert (~leads[leads != ""].str.strip().map(lambda e: bool(EMAIL_RE.match(e)))).any()


def test_emails_have_mixed_case_and_case_duplicates(frames):
    people = frames["people.csv"]
    valid = people["Email"].str.strip().map(lambda e: bool(EMAIL_RE.match(e)))
    emails = people.loc[valid, "Email"]
    assert (emails != emails.str.lower()).sum() > 100
    normalised = emails.map(norm_email)
    dupes = emails[normalised.duplicated(keep=False)]
    # same address typed differently (case or whitespace), not only exact copies
    groups = dupes.groupby(normalised[dupes.index]).nunique()
    assert (groups > 1).sum() >= 40
    assert people.duplicated().sum() >= 40  # exact duplicate rows


def test_companies_have_exact_and_near_duplicates(frames):
    companies = frames["companies.csv"]
    assert companies.duplicated().sum() >= 5
    site = companies["Website"]
    hosts = site.map(bare_host)
    usable = hosts.str.contains(r"\.") & ~site.str.contains("@")
    same_host = companies[usable & hosts.duplicated(keep=False)]
    raw_forms = same_host.groupby(hosts[same_host.index])["Website"].nunique()
    assert (raw_forms > 1).sum() >= 15  # www. vs https:// vs bare vs trailing slash
    assert site.str.startswith("www.").any() and site.str.startswith("https://").any()
    names = set(companies["Company Name"])
    assert any(n.endswith(" Inc.") and n[:-1] in names for n in names)  # "Inc." vs "Inc"
    assert site.str.contains("xn--").any()  # an IDN written as punycode
    assert site.str.contains(r"[^\x00-\x7f]").any()  # ... and in Unicode


def test_people_reference_companies_missing_from_companies_csv(frames, manifest):
    known = set(frames["companies.csv"]["Company Name"].map(norm_name))
    missing = set(manifest["missing_companies"])
    assert len(missing) >= 40
    assert not missing & set(frames["companies.csv"]["Company Name"].str.strip())
    referenced = frames["people.csv"]["Company"]
    orphans = referenced[referenced.isin(missing)]
    assert len(orphans) >= 50
    assert not set(orphans.map(norm_name)) & known
    assert frames["opportunities.csv"]["Company"].isin(missing).sum() >= 20
    assert referenced.isin(["N/A", "-", "Self-employed", "none"]).any()  # placeholders


def test_opportunity_contacts_that_match_no_person(frames):
    people = set(frames["people.csv"]["Email"].map(norm_email)) - {""}
    contacts = frames["opportunities.csv"]["Contact Email"]
    contacts = contacts[contacts != ""].map(norm_email)
    unmatched = contacts[~contacts.isin(people)]
    matched = contacts[contacts.isin(people)]
    assert len(unmatched) >= 50
    assert len(matched) >= 300


def test_related_to_mixes_company_names_and_emails(frames):
    for name in ("tasks.csv", "notes.csv"):
        related = frames[name]["Related To"]
        assert related.str.contains("@").sum() > 50
        assert (~related.str.contains("@") & (related != "")).sum() > 50
        assert related.str.contains(r"[;|]").sum() >= 5  # several targets in one cell
        assert (related == "").any()


# ----------------------------------------------------------------------------------------------
# Select labels
# ----------------------------------------------------------------------------------------------


def test_stages_are_labels_not_option_values(frames):
    stages = frames["opportunities.csv"]["Stage"]
    not_options = stages[~stages.isin(STAGE_OPTIONS)]
    assert len(not_options) > len(stages) // 2
    for label in ("Proposal Sent", "Closed Won", "meeting scheduled", "Closed Lost", ""):
        assert (stages == label).any(), label
    assert stages.isin(STAGE_OPTIONS).any()  # a few rows were already cleaned
    # case and spacing variations of the same label
    assert (stages != stages.str.strip()).any()
    assert stages.str.contains("\u00a0").any()
    folded = stages.map(norm_name)
    assert folded.nunique() < stages.nunique()


def test_task_statuses_are_labels(frames):
    status = frames["tasks.csv"]["Status"]
    for label in ("Not started", "In progress", "Completed", "Deferred"):
        assert (status == label).any(), label
    assert (~status.isin(TASK_STATUS_OPTIONS)).sum() > len(status) // 2


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------


def test_phone_formats_are_mixed(frames):
    phones = pd.concat([frames["people.csv"]["Phone"], frames["people.csv"]["Mobile"]])
    patterns = {
        "+1 (415) 555-0100": r"^\+1 \(\d{3}\) \d{3}-\d{4}$",
        "415.555.0100": r"^\d{3}\.\d{3}\.\d{4}$",
        "0033 1 99 00 53 00": r"^00\d{1,3} ",
        "+44 20 7946 0958": r"^\+44 20 7946 \d{4}$",
        "E.164": r"^\+\d{8,15}$",
        "extension": r"(?: x ?\d+| ext\.? \d+|;ext=\d+)$",
        "scientific notation": r"^\d\.\d+E\+\d+$",
        "national with trunk 0": r"^0\d",
    }
    for label, pattern in patterns.items():
        assert phones.str.contains(pattern).any(), label
    assert phones.isin(["call me", "see notes", "N/A"]).any()


def test_dates_come_in_several_formats(frames):
    dates = pd.concat(
        [frames[name][col] for name in CSV_FILES for col in frames[name] if "Date" in col]
    )
    patterns = {
        "2024-03-15": r"^\d{4}-\d{2}-\d{2}$",
        "03/15/2024": r"^(?:0[1-9]|1[0-2])/(?:1[3-9]|2\d|3[01])/\d{4}$",
        "15/03/2024": r"^(?:1[3-9]|2\d|3[01])/(?:0[1-9]|1[0-2])/\d{4}$",
        "March 15, 2024": r"^[A-Z][a-z]+ \d{1,2}, \d{4}$",
        "2024-03-15T10:00:00+02:00": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$",
        "15.03.2024": r"^\d{2}\.\d{2}\.\d{4}$",
        "Excel serial in CSV": r"^4\d{4}$",
    }
    for label, pattern in patterns.items():
        assert dates.str.contains(pattern).any(), label
    assert dates.isin(["2024-02-30", "31/02/2024", "TBD", "Q3 2024"]).any()


def test_amounts_and_currencies_are_messy(frames):
    opps = frames["opportunities.csv"]
    amount = opps["Amount"]
    assert amount.str.match(r"^\$\d{1,3}(?:,\d{3})*\.\d{2}$").any()  # $1,200.50
    assert amount.str.contains(r"^\d{1,3}(?:\.\d{3})+,\d{2} €$").any()  # 1.200,50 €
    assert amount.str.match(r"^\d+(?:\.\d+)?[kK]$").any()  # 12k
    assert amount.str.contains("\u202f").any()  # 9 000,00 € with narrow NBSP
    assert amount.isin(["N/A", "TBD", "-", ""]).any()
    currency = set(opps["Currency"])
    assert {"USD", "$", "eur", "€", ""} <= currency
    assert pd.to_numeric(amount, errors="coerce").isna().sum() > 100


def test_placeholders_whitespace_and_numbers_as_text(frames):
    companies = frames["companies.csv"]
    for placeholder in ("N/A", "-", "none", "NO WEBSITE", "TBD", "null"):
        assert (companies["Website"] == placeholder).any(), placeholder
    names = companies["Company Name"]
    assert (names != names.str.strip()).any()
    assert names.str.contains("\u00a0").any()
    assert (
        names.str.contains("  ").any() or frames["people.csv"]["Company"].str.contains("  ").any()
    )
    assert pd.to_numeric(companies["Employees"], errors="coerce").isna().sum() > 50
    assert companies["Ideal Customer?"].isin(["Yes", "No", "x"]).any()
    assert companies["Postal Code"].str.fullmatch(r"\d{4}").any()  # "2110" for "02110"


def test_non_ascii_names(frames):
    people = frames["people.csv"]
    text = " ".join(pd.concat([people["First Name"], people["Last Name"], people["Full Name"]]))
    for name in ("José", "Zoë", "Łukasz", "Søren", "李", "Müller", "O'Brien"):
        assert name in text, name
    assert people["Full Name"].str.contains(", ").any()  # "Last, First"
    only_full = (people["First Name"] == "") & (people["Last Name"] == "")
    assert (only_full & (people["Full Name"] != "")).sum() > 50
    assert (people["Full Name"] == "").sum() > len(people) // 2  # filled on some rows only
    websites = frames["companies.csv"]["Website"]
    assert websites.str.contains("münchen").any()


# ----------------------------------------------------------------------------------------------
# XLSX
# ----------------------------------------------------------------------------------------------


def test_xlsx_loads_and_has_excel_typed_cells(frames):
    leads = pd.read_excel(DATA / "people.xlsx", sheet_name="Leads")
    assert len(leads) == EXPECTED_ROWS["people.xlsx"]
    wb = openpyxl.load_workbook(DATA / "people.xlsx", read_only=True)
    try:
        assert wb.sheetnames[0] == "Leads"
        ws = wb["Leads"]
        rows = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    header, body = rows[0], rows[1:]
    assert list(header) == EXPECTED_COLUMNS["people.xlsx"]
    scanned = [r[header.index("Scanned At")] for r in body]
    serials = [v for v in scanned if isinstance(v, float)]
    assert serials and all(45000 < v < 46000 for v in serials)  # Excel serial numbers
    assert any(isinstance(v, dt.datetime) for v in scanned)
    assert any(isinstance(v, str) for v in scanned)
    tel = [r[header.index("Tel.")] for r in body]
    assert any(isinstance(v, int) for v in tel) and any(isinstance(v, str) for v in tel)


def test_xlsx_overlaps_people_csv(frames):
    people = set(frames["people.csv"]["Email"].map(norm_email)) - {""}
    leads = frames["people.xlsx"]["E-mail"]
    leads = leads[leads != ""]
    known = leads.map(norm_email).isin(people)
    assert known.sum() >= 150  # cross-file duplicates
    assert (~known).sum() >= 80  # new leads
    assert (leads[known] != leads[known].str.lower()).sum() >= 30  # ... typed differently


# ----------------------------------------------------------------------------------------------
# Determinism
# ----------------------------------------------------------------------------------------------


def test_regenerating_gives_byte_identical_files(tmp_path):
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in GENERATED_FILES:
        fresh = (tmp_path / name).read_bytes()
        committed = (DATA / name).read_bytes()
        assert fresh == committed, f"{name} differs: regenerate and commit the sample data"
