"""Spreadsheets as people make them: a title or notes above the header, repeated headers."""

from __future__ import annotations

import logging
from pathlib import Path

import openpyxl
import pytest

from twenty_migrate.loading.header_row import find_header_row
from twenty_migrate.loading.load import load
from twenty_migrate.mapping.suggest import suggest_mapping
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile
from twenty_migrate.twenty.schema import ObjectSchema, WorkspaceSchema

HEADER = ["First Name", "Last Name", "Email", "Phone"]
PEOPLE = [
    ["Ada", "Lovelace", "ada@example.com", "+44 20 7946 0958"],
    ["Alan", "Turing", "alan@example.com", "+44 20 7946 0959"],
    ["Grace", "Hopper", "grace@example.com", "+1 415 555 2671"],
]


@pytest.fixture(scope="module")
def people() -> ObjectSchema:
    registry = standard_registry(sandbox_profile("1"))
    schema = WorkspaceSchema.from_metadata([obj.to_api() for obj in registry.objects()])
    return schema.object("people")


def xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def text_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_xlsx_title_and_notes_above_the_header(tmp_path, caplog, people):
    rows: list[list[object]] = [
        ["Contacts report"],
        ["Generated 2024-05-01 by Jane Cooper", None, "Filter: Owner = Jane"],
        [],
        HEADER,
        *PEOPLE,
    ]
    with caplog.at_level(logging.WARNING, logger="twenty_migrate.loading.load"):
        df = load(xlsx(tmp_path / "report.xlsx", rows))
    assert list(df.columns) == ["_row", *HEADER]
    assert df["_row"].tolist() == [1, 2, 3]
    assert df["Email"].tolist() == [p[2] for p in PEOPLE]
    assert df.attrs["header_row"] == 4
    note = next(n for n in df.attrs["notes"] if "header is on row 4" in n)
    assert "header_row=" in note
    assert any("header is on row 4" in r.getMessage() for r in caplog.records)
    fmap = suggest_mapping(df, people)
    assert fmap.mapping == {
        "First Name": "name.firstName",
        "Last Name": "name.lastName",
        "Email": "emails.primaryEmail",
        "Phone": "phones.primaryPhoneNumber",
    }
    chosen = load(tmp_path / "report.xlsx", header_row=1)  # asked for: obeyed, no note
    assert list(chosen.columns)[1] == "Contacts report" and chosen.attrs["header_row"] == 1
    assert not any("header is on" in n for n in chosen.attrs["notes"])


def test_a_plain_sheet_keeps_its_first_row(tmp_path):
    df = load(xlsx(tmp_path / "plain.xlsx", [[], HEADER, *PEOPLE]))
    assert list(df.columns) == ["_row", *HEADER] and df.attrs["header_row"] == 2
    assert not any("header is on" in n for n in df.attrs["notes"])  # a blank top row is usual
    csv = load(text_file(tmp_path / "plain.csv", "\n".join(",".join(r) for r in [HEADER, *PEOPLE])))
    assert list(csv.columns) == ["_row", *HEADER] and csv.attrs["header_row"] == 1
    assert not any("header is on" in n for n in csv.attrs["notes"])


def test_csv_with_a_title_line(tmp_path):
    body = "\n".join(",".join(r) for r in [HEADER, *PEOPLE])
    df = load(text_file(tmp_path / "export.csv", f"Contacts export\n\n{body}\n"))
    assert list(df.columns) == ["_row", *HEADER]
    assert df["_row"].tolist() == [1, 2, 3] and df.attrs["header_row"] == 3
    assert any("header is on line 3" in n and "header_row=" in n for n in df.attrs["notes"])


def test_semicolon_csv_with_a_title_line_finds_its_delimiter(tmp_path):
    body = "\n".join(";".join(r) for r in [HEADER, *PEOPLE])
    df = load(text_file(tmp_path / "export.csv", f"Export du 01/05/2024\n{body}\n"))
    assert list(df.columns) == ["_row", *HEADER]
    assert df.attrs["delimiter"] == ";" and df.attrs["header_row"] == 2


def test_csv_saved_from_excel_pads_the_title_with_delimiters(tmp_path):
    body = "\n".join(",".join(r) for r in [HEADER, *PEOPLE])
    df = load(text_file(tmp_path / "saved.csv", f"Contacts report,,,\n,,,\n{body}\n"))
    assert list(df.columns) == ["_row", *HEADER] and df.attrs["header_row"] == 3


def test_a_two_cell_note_narrower_than_the_table_is_skipped(tmp_path):
    rows: list[list[object]] = [["Owner: Jane", "Stage: Open"], HEADER, *PEOPLE]
    df = load(xlsx(tmp_path / "notes.xlsx", rows))
    assert list(df.columns) == ["_row", *HEADER] and df.attrs["header_row"] == 2


def test_a_header_of_years_is_still_the_header(tmp_path):
    df = load(text_file(tmp_path / "years.csv", "Company,2023,2024\nAcme,10,12\nGlobex,3,4\n"))
    assert list(df.columns) == ["_row", "Company", "2023", "2024"]
    assert df.attrs["header_row"] == 1


def test_find_header_row_rules():
    assert find_header_row([]) is None
    assert find_header_row([["", ""], []]) is None
    assert find_header_row([HEADER, *PEOPLE]) == 0
    assert find_header_row([["Title"], ["", "Subtitle"], HEADER, *PEOPLE]) == 2
    # a wide first row that is not a header: the table starts there, as before
    assert find_header_row([["1", "2", "3", "4"], ["Title"], HEADER]) == 0
    # labels narrower than the rows under them are no header
    assert find_header_row([["Title"], ["a", "b"], ["1", "2", "3", "4"], ["5", "6", "7", "8"]]) == 0


def test_repeated_headers_keep_both_columns_and_the_copy_stays_unmapped(tmp_path, people):
    text = "Email,Name,Email,Phone,Phone\n" + "\n".join(
        f"{p[2]},{p[0]},other{i}@example.com,{p[3]},+1 212 555 01{i:02d}"
        for i, p in enumerate(PEOPLE)
    )
    df = load(text_file(tmp_path / "dups.csv", text + "\n"))
    assert list(df.columns) == ["_row", "Email", "Name", "Email (2)", "Phone", "Phone (2)"]
    assert df.attrs["duplicate_headers"] == {"Email (2)": "Email", "Phone (2)": "Phone"}
    assert df["Email (2)"].tolist() == [f"other{i}@example.com" for i in range(3)]
    fmap = suggest_mapping(df, people)
    assert fmap.mapping == {
        "Email": "emails.primaryEmail",
        "Name": "name",
        "Phone": "phones.primaryPhoneNumber",
    }
    for copy, original in (("Email (2)", "Email"), ("Phone (2)", "Phone")):
        decision = next(s for s in fmap.suggestions if s.column == copy)
        assert decision.status == "unmapped"
        assert f"second column headed {original!r}" in decision.reason
    assert fmap.review()["column"].iloc[0] in ("Email (2)", "Phone (2)")


def test_repeated_headers_in_a_sheet(tmp_path):
    df = load(
        xlsx(tmp_path / "dups.xlsx", [["Email", "Email", "Email"], ["a@x.com", "b@x.com", ""]])
    )
    assert list(df.columns) == ["_row", "Email", "Email (2)", "Email (3)"]
    assert df.attrs["duplicate_headers"] == {"Email (2)": "Email", "Email (3)": "Email"}
