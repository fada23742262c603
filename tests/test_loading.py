"""Loading files as text with stable row ids: encodings, delimiters, Excel, JSON, errors."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import struct
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from twenty_migrate.clean.frame import clean_frame
from twenty_migrate.loading.encodings import detect_encoding
from twenty_migrate.loading.load import detect_delimiter, list_sheets, load, load_many
from twenty_migrate.plan.steps import ObjectStep

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def records(df: pd.DataFrame) -> list[dict[str, object]]:
    return df.to_dict("records")


# --------------------------------------------------------------------------- sample data
def test_sample_people_csv_is_text_with_stable_ids():
    df = load(SAMPLE / "people.csv")
    assert len(df) == 2500 and df.columns[0] == "_row"
    assert df["_row"].tolist() == list(range(1, 2501))
    assert all(str(df[c].dtype) == "str" for c in df.columns[1:])
    assert df.attrs["encoding"] == "utf-8" and df.attrs["delimiter"] == ","
    first = df.iloc[0]
    assert first["Contact ID"] == "0035g0000zgWJcP5pd" and first["Phone"] == "N/A"
    assert first["LinkedIn"] == "" and first["First Name"] == "Daan"
    assert df.isna().sum().sum() == 0
    pd.testing.assert_frame_equal(df, load(SAMPLE / "people.csv"))  # same file, same ids


def test_sample_companies_keep_multi_line_cells():
    df = load(SAMPLE / "companies.csv")
    assert len(df) == 400
    multi = df[df["Street"].str.contains("\n")]
    assert len(multi) == 46  # the README's count of multi-line streets
    assert df.set_index("_row").loc[13, "Street"] == "162 Market Street\r\nBldg. B"


def test_sample_people_xlsx_sheet_leads():
    df = load(SAMPLE / "people.xlsx", sheet="Leads")
    assert len(df) == 350 and df.attrs["sheet"] == "Leads"
    assert list(df.columns[:4]) == ["_row", "Name", "E-mail", "Tel."]
    rows = df.set_index("_row")
    assert rows.loc[4, "Badge ID"] == "000121"  # zero-padded text kept
    assert rows.loc[1, "Badge ID"] == "100"  # an integer cell, no ".0"
    assert rows.loc[3, "Tel."] == "16175550102"
    assert rows.loc[2, "Scanned At"] == "2024-09-18T17:33:00"  # a real date-time cell
    assert rows.loc[4, "Scanned At"] == "45554.6875"  # a bare serial in a General cell
    assert rows.loc[1, "Scanned At"] == "9/19/2024 2:47 PM"  # text stays text
    assert rows.loc[1, "E-mail"] == "stefan.kruger@falconer-systems.de  "
    assert load(SAMPLE / "people.xlsx", sheet="leads").equals(df)  # case-insensitive name
    assert load(SAMPLE / "people.xlsx").equals(df)  # the first sheet by default
    assert list_sheets(SAMPLE / "people.xlsx") == ["Leads", "Export info"]


def test_missing_sheet_lists_the_sheets():
    with pytest.raises(ValueError, match=r"no sheet 'Lead'; its sheets are 'Leads', 'Export info'"):
        load(SAMPLE / "people.xlsx", sheet="Lead")
    with pytest.raises(ValueError, match="its sheets are"):
        load(SAMPLE / "people.xlsx", sheet=5)


def test_loaded_frame_goes_through_cleaning_with_its_ids():
    df = load(SAMPLE / "people.csv")
    cleaned = clean_frame(df)
    assert cleaned["_row"].tolist() == df["_row"].tolist()


# --------------------------------------------------------------------------- encodings
def test_utf8_bom_is_removed_from_the_first_header(tmp_path):
    path = write(tmp_path, "bom.csv", "\ufeffName,City\nZoë,Köln\n")
    df = load(path)
    assert list(df.columns) == ["_row", "Name", "City"]
    assert df.attrs["encoding"] == "utf-8-sig"
    assert records(df) == [{"_row": 1, "Name": "Zoë", "City": "Köln"}]


def test_utf16_with_bom_tab_separated_like_excel_unicode_text(tmp_path):
    text = "Name\tAmount\r\nJosé\t1.200,50\r\n李伟\t7\r\n"
    path = write(tmp_path, "export.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    df = load(path)
    assert df.attrs["encoding"] == "utf-16" and df.attrs["delimiter"] == "\t"
    assert df["Name"].tolist() == ["José", "李伟"] and df["Amount"].tolist() == ["1.200,50", "7"]


def test_utf32_bom_is_recognised(tmp_path):
    path = write(tmp_path, "u32.csv", "a,b\n1,é\n".encode("utf-32"))
    df = load(path)
    assert df.attrs["encoding"] == "utf-32" and df["b"].tolist() == ["é"]


def test_utf16_without_bom_is_recognised():
    assert detect_encoding("a,b\n1,2\n".encode("utf-16-le")) == "utf-16-le"
    assert detect_encoding("a,b\n1,2\n".encode("utf-16-be")) == "utf-16-be"


def test_cp1252_with_accents_is_detected(tmp_path):
    text = "Name;Company;Amount\nJosé García;Müller GmbH;€ 1.200\nZoë;Café Niçoise;–\n"
    path = write(tmp_path, "windows.csv", text, encoding="cp1252")
    df = load(path)
    assert df.attrs["encoding"] == "cp1252" and df.attrs["delimiter"] == ";"
    assert df["Name"].tolist() == ["José García", "Zoë"]
    assert df["Amount"].tolist() == ["€ 1.200", "–"]
    assert any("not UTF-8" in note for note in df.attrs["notes"])


def test_latin1_when_bytes_are_undefined_in_cp1252(tmp_path):
    assert detect_encoding(b"caf\xe9,x\n") == "cp1252"
    assert detect_encoding(b"caf\xe9,\x81\n") == "latin-1"
    path = write(tmp_path, "odd.csv", b"a,b\ncaf\xe9,\x8d\n")
    assert detect_encoding(path) == "latin-1"
    assert load(path)["a"].tolist() == ["café"]


def test_utf8_decided_on_the_whole_file_not_a_sample(tmp_path):
    # An accented byte far past the sample still turns the guess to cp1252.
    body = "name,city\n" + "abc,def\n" * 60_000 + "Jos\xe9,K\xf6ln\n"
    path = write(tmp_path, "late.csv", body, encoding="cp1252")
    df = load(path)
    assert df.attrs["encoding"] == "cp1252" and df["name"].iloc[-1] == "José"
    assert df["_row"].iloc[-1] == 60_001


def test_explicit_wrong_encoding_says_what_to_do(tmp_path):
    path = write(tmp_path, "w.csv", "Name\nJosé\n", encoding="cp1252")
    with pytest.raises(ValueError, match=r"does not decode as utf-8.*encoding='cp1252'"):
        load(path, encoding="utf-8")
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        load(path, encoding="klingon")
    assert load(path, encoding="cp1252")["Name"].tolist() == ["José"]


# --------------------------------------------------------------------------- delimiters
@pytest.mark.parametrize(
    ("name", "text", "delimiter"),
    [
        ("comma.csv", "a,b,c\n1,2,3\n4,5,6\n", ","),
        ("semi.csv", "Name;Amount;City\nA;1,5;Paris\nB;2,25;Lyon\n", ";"),
        ("tabs.tsv", "a\tb\n1,5\t2\n3\t4,0\n", "\t"),
        ("tabs.txt", "a\tb\tc\nx\ty\tz\n", "\t"),
        ("pipes.txt", "a|b|c\n1|2|3\n", "|"),
        ("quoted.csv", 'Name;Note\n"Smith, J";"a, b, c"\n"Doe, A";x,y\n', ";"),
    ],
)
def test_delimiter_detection(tmp_path, name, text, delimiter):
    df = load(write(tmp_path, name, text))
    assert df.attrs["delimiter"] == delimiter
    assert len(df.columns) == text.splitlines()[0].count(delimiter) + 2


def test_delimiter_needs_consistent_rows():
    # Commas appear in every row, but only semicolons split rows like the header.
    sample = "a;b\n1,5;2,5\n3,5;4\n"
    assert detect_delimiter(sample) == ";"
    assert detect_delimiter("just one column\nvalue\n") == ","
    assert detect_delimiter("a,b\n1,2\n", prefer="\t") == ","


def test_explicit_delimiter_wins(tmp_path):
    path = write(tmp_path, "x.csv", "a;b,c\n1;2,3\n")
    assert list(load(path, delimiter=",").columns) == ["_row", "a;b", "c"]
    with pytest.raises(ValueError, match="delimiter must be a character"):
        load(path, delimiter="\n")


def test_single_column_file(tmp_path):
    df = load(write(tmp_path, "emails.txt", "Email\na@x.com\nb@y.org\n"))
    assert records(df) == [{"_row": 1, "Email": "a@x.com"}, {"_row": 2, "Email": "b@y.org"}]


# --------------------------------------------------------------------------- cells
def test_multi_line_quoted_cells_and_quotes(tmp_path):
    text = (
        'Name,Note,City\r\nAda,"line one\r\nline two, with comma","Paris"\r\nBob,"say ""hi""",\r\n'
    )
    df = load(write(tmp_path, "notes.csv", text))
    assert records(df) == [
        {"_row": 1, "Name": "Ada", "Note": "line one\r\nline two, with comma", "City": "Paris"},
        {"_row": 2, "Name": "Bob", "Note": 'say "hi"', "City": ""},
    ]


def test_placeholders_leading_zeros_and_ids_keep_their_spelling(tmp_path):
    text = "Zip,Id,Phone,Note,Amount\n02110,0035g000,+1 415,N/A,1e3\n00501,007,NULL,,1.50\n"
    df = load(write(tmp_path, "z.csv", text))
    assert df["Zip"].tolist() == ["02110", "00501"] and df["Id"].tolist() == ["0035g000", "007"]
    assert df["Note"].tolist() == ["N/A", ""] and df["Phone"].tolist() == ["+1 415", "NULL"]
    assert df["Amount"].tolist() == ["1e3", "1.50"]


def test_short_rows_are_padded_with_empty_text(tmp_path):
    df = load(write(tmp_path, "short.csv", "a,b,c\n1,2\n4,5,6\n"))
    assert df["c"].tolist() == ["", "6"]


def test_rows_with_too_many_fields_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"more fields than the header \(2 with delimiter ','"):
        load(write(tmp_path, "bad.csv", "a,b\n1,2\n3,4,5,6\n"), delimiter=",")
    with pytest.raises(ValueError, match="more fields than the header"):
        load(write(tmp_path, "bad2.csv", "a,b\n1,2,3\n4,5\n"), delimiter=",")


# --------------------------------------------------------------------------- headers, rows
def test_duplicate_and_blank_headers_are_renamed_and_reported(tmp_path):
    text = "Email, Email ,,Name,Email 2,\na@x.com,b@x.com,x,Ann,c@x.com,\n"
    df = load(write(tmp_path, "h.csv", text))
    assert list(df.columns) == ["_row", "Email", "Email (2)", "column_3", "Name", "Email 2"]
    notes = df.attrs["notes"]
    assert any(n.startswith("header 'Email' repeats: column 2 renamed 'Email (2)'") for n in notes)
    assert df.attrs["duplicate_headers"] == {"Email (2)": "Email"}
    assert "column 3 has no header: named 'column_3'" in notes
    assert df["column_3"].tolist() == ["x"]  # the empty unnamed 6th column was dropped


def test_blank_rows_are_dropped_and_keep_their_numbers(tmp_path):
    df = load(write(tmp_path, "gaps.csv", "a,b\n1,2\n\n,\n3,4\n\n"))
    assert records(df) == [{"_row": 1, "a": "1", "b": "2"}, {"_row": 4, "a": "3", "b": "4"}]
    assert "3 empty rows dropped (their _row numbers are skipped)" in df.attrs["notes"]


def test_row_id_start_and_header_row(tmp_path):
    path = write(tmp_path, "title.csv", "Export of 2024\n\na,b\n1,2\n3,4\n")
    df = load(path, header_row=3, row_id_start=4)
    assert records(df) == [{"_row": 4, "a": "1", "b": "2"}, {"_row": 5, "a": "3", "b": "4"}]
    with pytest.raises(ValueError, match="header_row is 1-based"):
        load(path, header_row=0)


def test_existing_row_column_is_kept(tmp_path):
    df = load(write(tmp_path, "fixme.csv", "_row,Email,_error\n17,a@x.com,bad\n3,b@x.com,bad\n"))
    assert df["_row"].tolist() == [17, 3] and list(df.columns) == ["_row", "Email", "_error"]
    with pytest.raises(ValueError, match="empty or repeated ids"):
        load(write(tmp_path, "dup.csv", "_row,Email\n1,a\n1,b\n"))


def test_header_only_file_gives_an_empty_frame(tmp_path):
    df = load(write(tmp_path, "empty_rows.csv", "a,b\n"))
    assert list(df.columns) == ["_row", "a", "b"] and df.empty


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("content", [b"", b"\n\n  \n", codecs.BOM_UTF8])
def test_empty_files_are_refused(tmp_path, content):
    with pytest.raises(ValueError, match="empty"):
        load(write(tmp_path, "empty.csv", content))


def test_unknown_extension_and_missing_file(tmp_path):
    path = write(tmp_path, "data.pdf", b"%PDF")
    with pytest.raises(ValueError, match=r"\.pdf is not a supported format \(.csv, .json"):
        load(path)
    write(tmp_path, "People.CSV", "a\n1\n")
    with pytest.raises(FileNotFoundError, match=r"no such file.*files there: \['People.CSV'\]"):
        load(tmp_path / "people.csv")


def test_sheet_for_a_text_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="has no sheets"):
        load(write(tmp_path, "a.csv", "a\n1\n"), sheet="Leads")


# --------------------------------------------------------------------------- excel
def make_xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Contacts"
    sheet.append(["Contacts export"])
    sheet.append([])
    sheet.append(["Name", "Zip", "Count", "Score", "Since", "Seen", "Active", "Note", None, "Id"])
    sheet.append(
        ["José", 2110, 12, 2.5, dt.date(2024, 3, 15), dt.datetime(2024, 3, 15, 14, 30), True, None]
        + [None, "007"]
    )
    sheet.append(["Zoë", 501, 12.0, 0.1, dt.datetime(2024, 1, 2), None, False, "=1+1", "x", 4])
    sheet.append([])
    sheet["B4"].number_format = "00000"
    sheet["B5"].number_format = "00000"
    workbook.create_sheet("Other").append(["x"])
    workbook.save(path)
    return path


def test_xlsx_cells_become_text_as_excel_shows_them(tmp_path):
    df = load(make_xlsx(tmp_path / "contacts.xlsx"), header_row=3)
    assert records(df) == [
        {
            "_row": 1,
            "Name": "José",
            "Zip": "02110",
            "Count": "12",
            "Score": "2.5",
            "Since": "2024-03-15",
            "Seen": "2024-03-15T14:30:00",
            "Active": "TRUE",
            "Note": "",
            "column_9": "",
            "Id": "007",
        },
        {
            "_row": 2,
            "Name": "Zoë",
            "Zip": "00501",
            "Count": "12",
            "Score": "0.1",
            "Since": "2024-01-02T00:00:00",  # a datetime cell whose format shows the time
            "Seen": "",
            "Active": "FALSE",
            "Note": "",  # a formula saved without its computed value (no Excel): empty
            "column_9": "x",
            "Id": "4",
        },
    ]
    assert list_sheets(tmp_path / "contacts.xlsx") == ["Contacts", "Other"]


def test_xlsx_header_below_a_title_is_found_and_reported(tmp_path):
    df = load(make_xlsx(tmp_path / "contacts.xlsx"))
    assert list(df.columns[:3]) == ["_row", "Name", "Zip"]
    assert df["_row"].tolist() == [1, 2]
    assert df.attrs["header_row"] == 3
    assert any("row 3" in n and "header_row=" in n for n in df.attrs["notes"])
    titled = load(make_xlsx(tmp_path / "again.xlsx"), header_row=1)
    assert list(titled.columns[:2]) == ["_row", "Contacts export"]  # asked for: obeyed


def test_xlsx_saved_with_an_xls_name_still_reads(tmp_path):
    path = make_xlsx(tmp_path / "contacts.xlsx").rename(tmp_path / "contacts.xls")
    assert load(path, header_row=3)["Zip"].tolist() == ["02110", "00501"]


def test_tab_separated_text_named_xls_reads_as_text(tmp_path):
    df = load(write(tmp_path, "export.xls", "Name\tCity\nAda\tLondon\n"))
    assert df.attrs["format"] == "text" and df.attrs["delimiter"] == "\t"
    assert records(df) == [{"_row": 1, "Name": "Ada", "City": "London"}]


def test_excel_sheet_by_position_and_argument_errors(tmp_path):
    info = load(SAMPLE / "people.xlsx", sheet=1)
    assert info.attrs["sheet"] == "Export info" and info.columns[1] == "Exported from"
    with pytest.raises(ValueError, match="drop encoding= and delimiter="):
        load(SAMPLE / "people.xlsx", encoding="utf-8")
    with pytest.raises(ValueError, match="row 400 is empty, so it cannot be the header"):
        load(SAMPLE / "people.xlsx", header_row=400)
    with pytest.raises(ValueError, match="is JSON: drop delimiter="):
        load(write(tmp_path, "a.json", "[]"), delimiter=",")
    with pytest.raises(ValueError, match="not an Excel workbook"):
        list_sheets(write(tmp_path, "a.csv", "a\n1\n"))


def test_empty_sheet_and_time_cells(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Empty"
    other = workbook.create_sheet("Times")
    other.append(["At", "Big", "Negative"])
    other.append([dt.time(9, 30), 1.5e20, -7.0])
    workbook.save(tmp_path / "t.xlsx")
    with pytest.raises(ValueError, match="the sheet has no header row. Pick another sheet"):
        load(tmp_path / "t.xlsx")
    df = load(tmp_path / "t.xlsx", sheet="Times")
    assert records(df) == [{"_row": 1, "At": "09:30:00", "Big": "1.5e+20", "Negative": "-7"}]


def test_html_named_xls_is_explained(tmp_path):
    path = write(tmp_path, "report.xls", "<html><table><tr><td>a</td></tr></table></html>")
    with pytest.raises(ValueError, match=r"web page \(HTML\).*pd.read_html"):
        load(path)


def test_damaged_xlsx_is_explained(tmp_path):
    path = write(tmp_path, "broken.xlsx", b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="cannot read broken.xlsx as an Excel workbook"):
        load(path)


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def biff8_workbook(sheets: list[tuple[str, list[list[object]]]]) -> bytes:
    """A minimal Excel 97-2003 (.xls) file: BIFF8 records in an OLE2 compound file.

    Text goes to the shared string table, numbers to NUMBER records, dates to NUMBER
    records with an XF using the built-in date format 14, booleans to BOOLERR records.
    """
    strings: list[str] = []
    bodies = []
    for _, rows in sheets:
        cells = b""
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    cells += _record(0x0205, struct.pack("<HHHBB", r, c, 0, int(value), 0))
                elif isinstance(value, int | float):
                    cells += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
                elif isinstance(value, dt.datetime):
                    days = (value - dt.datetime(1899, 12, 30)).total_seconds() / 86400
                    cells += _record(0x0203, struct.pack("<HHHd", r, c, 1, days))
                else:
                    if str(value) not in strings:
                        strings.append(str(value))
                    index = strings.index(str(value))
                    cells += _record(0x00FD, struct.pack("<HHHI", r, c, 0, index))
        width = max((len(r) for r in rows), default=0)
        dimensions = _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
        bodies.append(_bof(0x10) + dimensions + cells + _record(0x000A))
    xf = [
        _record(0x00E0, struct.pack("<HHHBBBBIiH", 0, fmt, 0, 0, 0, 0, 0, 0, 0, 0))
        for fmt in (0, 14)
    ]
    head = _bof(0x05) + _record(0x0042, struct.pack("<H", 1200)) + b"".join(xf)
    texts = b"".join(struct.pack("<HB", len(s), 1) + s.encode("utf-16-le") for s in strings)
    sst = _record(0x00FC, struct.pack("<II", len(strings), len(strings)) + texts)

    def boundsheet(name: str, offset: int) -> bytes:
        encoded = struct.pack("<BB", len(name), 1) + name.encode("utf-16-le")
        return _record(0x0085, struct.pack("<IBB", offset, 0, 0) + encoded)

    offset = len(head) + sum(len(boundsheet(n, 0)) for n, _ in sheets) + len(sst) + 4
    index_records = b""
    for (name, _), body in zip(sheets, bodies, strict=True):
        index_records += boundsheet(name, offset)
        offset += len(body)
    stream = head + index_records + sst + _record(0x000A) + b"".join(bodies)
    # Compound file: header, one FAT sector, the stream (>= 4096 bytes, so no mini
    # stream), one directory sector with the root and the "Workbook" stream.
    stream = stream.ljust(max(4096, -(-len(stream) // 512) * 512), b"\0")
    n = len(stream) // 512
    fat = [0xFFFFFFFD, *range(2, n + 1), 0xFFFFFFFE, 0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        siblings = struct.pack("<III", 0xFFFFFFFF, 0xFFFFFFFF, child)
        fields = struct.pack("<HBB", len(raw), kind, 1) + siblings + b"\0" * 36
        return raw.ljust(64, b"\0") + fields + struct.pack("<IQ", start, size)

    directory = entry("Root Entry", 5, 1, 0xFFFFFFFE, 0)
    directory += entry("Workbook", 2, 0xFFFFFFFF, 1, len(stream))
    unused = b"\0" * 68 + struct.pack("<III", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\0" * 48
    directory += unused * 2
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
    header += struct.pack("<IIIIIIIIII", 0, 1, n + 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0, 0)
    header += b"\xff" * 4 * 108
    return header + struct.pack("<128I", *fat) + stream + directory


def test_xls_is_read_with_xlrd(tmp_path):
    rows: list[list[object]] = [
        ["Name", "Badge", "Score", "Scanned", "Active", "Phone"],
        ["José Müller", "007", 12.0, dt.datetime(2024, 9, 18), True, 16175550102],
        ["Zoë", 1234567, 2.5, dt.datetime(2024, 9, 18, 17, 33), False, None],
        [],
        ["李伟", None, None, None, None, "+44 20"],
    ]
    path = write(tmp_path, "leads.xls", biff8_workbook([("Leads", rows), ("Other", [["x"]])]))
    assert list_sheets(path) == ["Leads", "Other"]
    df = load(path, sheet="Leads")
    assert df.attrs["format"] == "xls"
    assert records(df) == [
        {
            "_row": 1,
            "Name": "José Müller",
            "Badge": "007",
            "Score": "12",
            "Scanned": "2024-09-18",
            "Active": "TRUE",
            "Phone": "16175550102",
        },
        {
            "_row": 2,
            "Name": "Zoë",
            "Badge": "1234567",
            "Score": "2.5",
            "Scanned": "2024-09-18T17:33:00",
            "Active": "FALSE",
            "Phone": "",
        },
        {
            "_row": 4,
            "Name": "李伟",
            "Badge": "",
            "Score": "",
            "Scanned": "",
            "Active": "",
            "Phone": "+44 20",
        },
    ]
    with pytest.raises(ValueError, match="its sheets are 'Leads', 'Other'"):
        load(path, sheet="Sheet1")


def test_damaged_xls_is_explained(tmp_path):
    path = write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(ValueError, match="cannot read old.xls as an Excel 97-2003 workbook"):
        load(path)


# --------------------------------------------------------------------------- json
def test_json_array_of_objects_flattened(tmp_path):
    data = [
        {"name": "Ada", "address": {"city": "London", "geo": {"lat": 51.5}}, "tags": ["a", 1]},
        {"name": "Bob", "price": 19.90, "active": True, "owner": None, "zip": "02110"},
    ]
    text = json.dumps(data).replace("19.9", "19.90")
    df = load(write(tmp_path, "people.json", text))
    assert list(df.columns) == [
        "_row",
        "name",
        "address.city",
        "address.geo.lat",
        "tags",
        "price",
        "active",
        "owner",
        "zip",
    ]
    assert records(df)[0]["tags"] == '["a", 1]' and records(df)[0]["address.geo.lat"] == "51.5"
    bob = records(df)[1]
    assert (bob["price"], bob["active"], bob["owner"], bob["zip"]) == ("19.90", "true", "", "02110")
    assert bob["address.city"] == "" and df["_row"].tolist() == [1, 2]


@pytest.mark.parametrize("key", ["records", "data"])
def test_json_object_with_a_records_array(tmp_path, key):
    path = write(tmp_path, "x.json", json.dumps({"total": 2, key: [{"a": 1}, {"a": 2}]}))
    assert load(path)["a"].tolist() == ["1", "2"]


def test_json_lines_ids_are_line_numbers(tmp_path):
    text = '{"email": "a@x.com"}\r\n\n{"email": "b@x.com", "n": "2\u2028"}\n'
    for name in ("x.jsonl", "x.json"):
        df = load(write(tmp_path, name, text))
        assert records(df) == [
            {"_row": 1, "email": "a@x.com", "n": ""},
            {"_row": 3, "email": "b@x.com", "n": "2\u2028"},
        ]


def test_bad_json_is_explained(tmp_path):
    with pytest.raises(ValueError, match="not valid JSON: Expecting"):
        load(write(tmp_path, "a.json", '[{"a": 1},'))
    with pytest.raises(ValueError, match=r"line 2 is not valid JSON"):
        load(write(tmp_path, "b.jsonl", '{"a": 1}\n{"a": \n'))
    with pytest.raises(ValueError, match="one JSON object with keys"):
        load(write(tmp_path, "c.json", '{"name": "Ada"}'))
    with pytest.raises(ValueError, match="record 2 is a list, not an object"):
        load(write(tmp_path, "d.json", '[{"a": 1}, [1, 2]]'))
    with pytest.raises(ValueError, match="empty"):
        load(write(tmp_path, "e.json", "  \n"))


# --------------------------------------------------------------------------- several files
def test_source_ids_name_the_file(tmp_path):
    path = write(tmp_path, "a.csv", "x\n1\n2\n")
    df = load(path, source=True)
    assert list(df.columns) == ["_row", "_source", "x"]
    assert df["_row"].tolist() == ["a.csv:1", "a.csv:2"] and set(df["_source"]) == {"a.csv"}
    assert load(path, source="crm")["_row"].tolist() == ["crm:1", "crm:2"]


def test_load_many_merges_csv_and_xlsx_with_unique_ids():
    people = load_many(
        [SAMPLE / "people.csv", SAMPLE / "people.xlsx"],
        sheets={"people.xlsx": "Leads"},
        rename={"E-mail": "Email", "Tel.": "Phone"},
    )
    assert len(people) == 2500 + 350 and people["_row"].is_unique
    assert people["_row"].iloc[0] == "people.csv:1" and people["_row"].iloc[-1] == "people.xlsx:350"
    assert people["_source"].value_counts().to_dict() == {"people.csv": 2500, "people.xlsx": 350}
    leads = people[people["_source"] == "people.xlsx"]
    assert leads["Email"].iloc[0] == "stefan.kruger@falconer-systems.de  "
    assert (leads["Contact ID"] == "").all()  # a column the file lacks is empty text
    assert people.isna().sum().sum() == 0
    step = ObjectStep("people", people[["_row", "Email"]].rename(columns={"Email": "name"}))
    assert step.rows[-1] == "people.xlsx:350"


def test_load_many_refuses_rename_collisions_and_repeats(tmp_path):
    path = write(tmp_path, "a.csv", "E-mail,Email\n1,2\n")
    with pytest.raises(ValueError, match=r"has the columns \['Email'\] twice"):
        load_many([path], rename={"E-mail": "Email"})
    with pytest.raises(ValueError, match="listed twice"):
        load_many([path, path])
    with pytest.raises(ValueError, match="at least one file"):
        load_many([])


def test_load_many_labels_same_named_files_by_path(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first = write(tmp_path / "x", "people.csv", "a\n1\n")
    second = write(tmp_path / "y", "people.csv", "a\n2\n")
    df = load_many([first, second])
    assert df["_row"].tolist() == [f"{first}:1", f"{second}:1"]
