"""Cleaning helpers: pure, idempotent, logged, and faithful to Twenty's normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twenty_migrate.clean.frame import (
    DEFAULT_PLACEHOLDERS,
    CleaningLog,
    add_row_ids,
    clean_frame,
    drop_duplicate_rows,
    find_fuzzy_duplicates,
    name_key,
    normalize_case,
    normalize_countries,
    normalize_domains,
    normalize_emails,
    normalize_links,
    normalize_phones,
    nullify_placeholders,
    strip_whitespace,
)
from twenty_migrate.sandbox.engine.fields import normalize_email, normalize_link
from twenty_migrate.values.parsing import canonical_link, twenty_link

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
NBSP = "\u00a0"


def frame(**columns: list[object]) -> pd.DataFrame:
    return add_row_ids(pd.DataFrame(columns))


def read_sample(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- row ids
def test_add_row_ids_is_first_column_and_refuses_to_overwrite():
    df = pd.DataFrame({"a": ["x", "y", "z"]})
    out = add_row_ids(df, start=10)
    assert list(out.columns) == ["_row", "a"]
    assert out["_row"].tolist() == [10, 11, 12]
    assert "_row" not in df.columns
    with pytest.raises(ValueError, match="already has a '_row' column"):
        add_row_ids(out)


def test_row_ids_survive_every_helper():
    df = frame(Email=[" A@B.COM ", "a@b.com", "c@d.com"], Phone=["(415) 555-2671", "x", None])
    out = (
        df.pipe(strip_whitespace)
        .pipe(normalize_emails)
        .pipe(normalize_phones, ["Phone"])
        .pipe(drop_duplicate_rows, "Email")
    )
    assert out["_row"].tolist() == [1, 3]


# --------------------------------------------------------------------------- purity
HELPERS = [
    lambda d: strip_whitespace(d),
    lambda d: nullify_placeholders(d),
    lambda d: normalize_case(d, ["Name"]),
    lambda d: normalize_emails(d, ["Email"]),
    lambda d: normalize_phones(d, ["Phone"]),
    lambda d: normalize_links(d, ["Website"]),
    lambda d: normalize_domains(d, ["Website"]),
    lambda d: drop_duplicate_rows(d, "Email"),
    lambda d: clean_frame(d),
]


@pytest.mark.parametrize("helper", HELPERS)
def test_helpers_never_mutate_their_input(helper):
    df = frame(
        Name=[" JANE  DOE ", "n/a", "bob"],
        Email=["Jane@Example.COM ", "jane@example.com", "N/A"],
        Phone=["(415) 555-2671", "+44 20 7946 0958 x12", "call me"],
        Website=["HTTPS://WWW.Acme.com/", "acme.com/", "NO WEBSITE"],
    )
    before = df.copy(deep=True)
    helper(df)
    pdt.assert_frame_equal(df, before)


# --------------------------------------------------------------------------- whitespace
def test_strip_whitespace_normalises_spaces_and_keeps_paragraphs():
    log = CleaningLog()
    df = frame(
        Name=[f"  Acme{NBSP}{NBSP}Corp ", "Zeta\t\tLabs", "   ", "ok"],
        Body=["line 1  \r\n  line 2\n\nline 3", None, "x", "ok"],
        Count=[1, 2, 3, 4],
    )
    out = strip_whitespace(df, log=log)
    assert out["Name"].tolist()[:2] == ["Acme Corp", "Zeta Labs"]
    assert pd.isna(out["Name"][2])
    assert out["Body"][0] == "line 1\nline 2\n\nline 3"
    assert out["Count"].tolist() == [1, 2, 3, 4]
    logged = log.to_frame()
    assert list(logged.columns) == ["_row", "column", "rule", "before", "after", "note"]
    # Row 3's blank name became null too, but that is not a change worth a log line.
    assert set(logged["_row"]) == {1, 2}
    assert (logged["rule"] == "strip_whitespace").all()
    first = logged[(logged["_row"] == 1) & (logged["column"] == "Name")]
    assert first[["before", "after"]].values.tolist() == [[f"  Acme{NBSP}{NBSP}Corp ", "Acme Corp"]]


def test_blank_cells_becoming_null_are_not_logged_and_the_data_is_the_same():
    df = frame(Name=["", "   ", f"{NBSP}\u200b", " Ann ", "N/A", None])
    log = CleaningLog()
    out = nullify_placeholders(strip_whitespace(df, log=log), log=log)
    pdt.assert_frame_equal(out, nullify_placeholders(strip_whitespace(df)))
    assert out["Name"].isna().tolist() == [True, True, True, False, True, True]
    logged = log.to_frame()
    assert logged[["_row", "rule", "before"]].values.tolist() == [
        [4, "strip_whitespace", " Ann "],
        [5, "nullify_placeholder", "N/A"],
    ]
    # nullify_placeholders alone treats "" as a placeholder, silently as well.
    quiet = CleaningLog()
    assert nullify_placeholders(df, log=quiet)["Name"].isna().tolist()[:3] == [True, True, False]
    assert quiet.to_frame()["before"].tolist() == ["N/A"]


def test_sample_cleaning_log_lists_real_changes_only():
    raw = read_sample("people.csv")
    log = CleaningLog()
    clean = clean_frame(raw, log=log)
    pdt.assert_frame_equal(clean, clean_frame(raw))
    # Every empty cell of the file is null after cleaning, yet none has a log line.
    empty = raw.apply(lambda column: column.str.strip() == "")
    assert int(empty.sum().sum()) > 1000
    assert (clean[raw.columns].isna() | ~empty).all().all()
    stripped = log.to_frame()
    stripped = stripped[stripped["rule"] == "strip_whitespace"]
    assert 0 < len(stripped) < 1000
    assert stripped["before"].map(lambda v: isinstance(v, str) and v.strip() != "").all()
    summary = log.summary()
    assert not summary["rule"].isin(["empty_to_null"]).any()


def test_normalize_case_only_changes_uniform_text():
    df = frame(Name=["JANE DOE", "john o'neil", "Ronald McDonald", "anne-marie DUPONT"])
    out = normalize_case(df, ["Name"])
    assert out["Name"].tolist() == [
        "Jane Doe",
        "John O'Neil",
        "Ronald McDonald",
        "anne-marie DUPONT",
    ]
    assert normalize_case(df, ["Name"], "upper", only_uniform=False)["Name"][2] == "RONALD MCDONALD"


def test_nullify_placeholders_is_case_insensitive_and_configurable():
    values = ["N/A", "n/a", "-", "--", "none", "NULL", "NO WEBSITE", "TBD", "", " tbd ", "Nancy"]
    out = nullify_placeholders(frame(V=values))
    assert out["V"].isna().tolist() == [True] * 10 + [False]
    custom = nullify_placeholders(frame(V=["see notes", "N/A"]), placeholders={"see notes"})
    assert custom["V"].isna().tolist() == [True, False]
    assert "n/a" in DEFAULT_PLACEHOLDERS


# --------------------------------------------------------------------------- emails
@pytest.mark.parametrize(
    "raw",
    [
        " Jane.Doe@Example.COM ",
        "ÜBER@Bücher.DE",
        "hugo_nystrom@åkessonbygg.se",
        "a@xn--bcher-kva.de",
    ],
)
def test_normalize_emails_matches_twentys_own_normalisation(raw):
    out = normalize_emails(frame(Email=[raw]))
    assert out["Email"][0] == normalize_email(raw, "emails.primaryEmail")


def test_normalize_emails_unwraps_display_names_and_mailto_but_keeps_invalid():
    df = frame(
        **{"E-mail": ["Jane Doe <Jane@X.com>", "mailto:bob@y.org?subject=hi", "bob at y.org", None]}
    )
    out = normalize_emails(df)
    assert out["E-mail"].tolist()[:3] == ["jane@x.com", "bob@y.org", "bob at y.org"]
    assert pd.isna(out["E-mail"][3])


# --------------------------------------------------------------------------- phones
def test_normalize_phones_to_e164_with_row_regions_and_logged_extensions():
    log = CleaningLog()
    df = frame(
        Phone=[
            "(415) 555-2671",
            "031 895 57 42",
            "+44 20 7946 0958 x12",
            "0049 30 901820",
            "call me",
        ],
        Country=["USA", "Sverige", "UK", "Germany", "France"],
    )
    out = normalize_phones(df, ["Phone"], region_column="Country", log=log)
    assert out["Phone"].tolist() == [
        "+14155552671",
        "+46318955742",
        "+442079460958",
        "+4930901820",
        "call me",
    ]
    notes = log.to_frame().set_index("_row")["note"]
    assert notes[3] == "extension 12 dropped"
    assert 5 not in notes.index


def test_normalize_phones_parts_and_numbers_stored_as_numbers():
    df = frame(Tel=[12065550163.0, "+33 1 99 00 52 50", None])
    out = normalize_phones(df, ["Tel"], output="parts")
    assert out["Tel.primaryPhoneNumber"].tolist()[:2] == ["2065550163", "199005250"]
    assert out["Tel.primaryPhoneCountryCode"].tolist()[:2] == ["US", "FR"]
    assert out["Tel.primaryPhoneCallingCode"].tolist()[:2] == ["+1", "+33"]
    assert out["Tel"][0] == 12065550163.0


# --------------------------------------------------------------------------- links
@pytest.mark.parametrize(
    "raw",
    [
        "HTTPS://WWW.Acme.COM/",
        "http://pinecrest-analytics.com/",
        "https://www.linkedin.com/in/Jane-Doe/",
        "htTps://wwW.exAmple.coM/TEST?Param=Value",
        "https://müller.de/",
        "http://a.com:80/x//",
    ],
)
def test_normalize_links_gives_what_twenty_stores(raw):
    clean = canonical_link(raw)
    assert twenty_link(clean) == clean  # a fixed point: Twenty stores it unchanged
    assert normalize_link(clean) == clean
    out = normalize_links(frame(Website=[raw]))
    assert out["Website"][0] == clean


def test_normalize_links_keeps_missing_scheme_unless_asked():
    df = frame(Website=["WWW.Acme.com/", "acme.com"])
    assert normalize_links(df)["Website"].tolist() == ["www.acme.com", "acme.com"]
    with_scheme = normalize_links(df, scheme="https")["Website"].tolist()
    assert with_scheme == ["https://www.acme.com", "https://acme.com"]


def test_normalize_domains_for_matching():
    df = frame(Website=["HTTPS://www.Acme.com/about", "acme.com", "müller-bau.de/", "NO WEBSITE"])
    log = CleaningLog()
    out = normalize_domains(df, ["Website"], suffix="_domain", log=log)
    assert out["Website_domain"].tolist()[:3] == [
        "acme.com",
        "acme.com",
        "müller-bau.de".encode("idna").decode(),
    ]
    assert pd.isna(out["Website_domain"][3])
    assert out["Website"].tolist() == df["Website"].tolist()  # the originals are kept
    logged = log.to_frame()
    assert logged[["_row", "column", "rule", "before"]].values.tolist() == [
        [4, "Website_domain", "invalid_domain", "NO WEBSITE"]
    ]


def test_values_that_are_not_domains_become_null_and_are_logged():
    websites = ["www.", "HTTPS://www.Acme.com/about", "www.", "Acme Inc", "", None, "acme.com"]
    df = frame(Website=websites, Name=["A", "B", "C", "D", "E", "F", "G"])
    log = CleaningLog()
    out = normalize_domains(df, ["Website"], log=log)
    assert out["Website"].tolist()[1::5] == ["acme.com", "acme.com"]
    assert out["Website"].isna().tolist() == [True, False, True, True, True, True, False]
    logged = log.to_frame()
    assert logged[["_row", "rule", "before"]].values.tolist() == [
        [2, "normalize_domain", "HTTPS://www.Acme.com/about"],
        [1, "invalid_domain", "www."],
        [3, "invalid_domain", "www."],
        [4, "invalid_domain", "Acme Inc"],
    ]
    invalid = logged[logged["rule"] == "invalid_domain"]
    assert invalid["after"].isna().all() and (invalid["column"] == "Website").all()
    # Two companies whose website was "www." are no longer taken for duplicates.
    assert drop_duplicate_rows(out, "Website")["Name"].tolist() == ["A", "B", "C", "D", "E", "F"]
    assert normalize_domains(out, ["Website"], log=CleaningLog()).equals(out)


# --------------------------------------------------------------------------- duplicates
def test_drop_duplicate_rows_by_normalised_key_reports_each_drop():
    log = CleaningLog()
    df = frame(Email=["a@x.com", " A@X.COM", None, None, "b@x.com", "a@x.com"])
    out = drop_duplicate_rows(df, "Email", log=log)
    assert out["_row"].tolist() == [1, 3, 4, 5]
    dropped = log.to_frame()
    assert dropped["_row"].tolist() == [2, 6]
    assert dropped["note"].tolist() == ["duplicate of _row 1", "duplicate of _row 1"]
    assert dropped["before"].tolist() == [" A@X.COM", "a@x.com"]
    last = drop_duplicate_rows(df, "Email", keep="last")
    assert last["_row"].tolist() == [3, 4, 5, 6]


def test_find_fuzzy_duplicates_reports_pairs_without_dropping():
    df = frame(
        Name=[
            "Acme Inc.",
            "ACME, Inc",
            "Globex Industries",
            "Globex Industires",
            "Initech",
            "Müller Maschinenbau GmbH",
            "Muller Maschinenbau",
        ]
    )
    report = find_fuzzy_duplicates(df, "Name", threshold=0.9)
    pairs = {(a, b) for a, b in zip(report["_row_a"], report["_row_b"], strict=True)}
    assert {(1, 2), (3, 4), (6, 7)} <= pairs
    assert all(5 not in pair for pair in pairs)
    assert list(report.columns) == ["_row_a", "_row_b", "value_a", "value_b", "score"]
    assert name_key("Müller Maschinenbau GmbH") == "maschinenbau muller"


def test_find_fuzzy_duplicates_finds_a_planted_pair_among_many_distinct_names():
    # Speed on 100k names: benchmarks/components.py.
    rng = np.random.default_rng(7)
    words = [f"{a}{b}".title() for a in "bcdfghklmnprstvz" for b in ("ar", "en", "ix", "ol", "um")]
    n = 2_000
    parts = zip(
        rng.choice(words, n),
        rng.choice(words, n),
        rng.choice(["Inc", "GmbH", "Labs"], n),
        strict=True,
    )
    names = [f"{a} {b} {c} {i}" for i, (a, b, c) in enumerate(parts)]
    names[500] = names[400].replace(" ", "  ").upper()
    report = find_fuzzy_duplicates(frame(Name=names), "Name")
    assert ((report["_row_a"] == 401) & (report["_row_b"] == 501)).any()
    assert (report["_row_a"] < report["_row_b"]).all()


# --------------------------------------------------------------------------- pipeline
def test_clean_frame_on_the_sample_people_export():
    raw = read_sample("people.csv")
    log = CleaningLog()
    clean = clean_frame(raw, log=log)
    assert len(clean) == len(raw)
    assert clean["_row"].tolist() == list(range(1, len(raw) + 1))
    summary = log.summary()
    rules = set(summary["rule"])
    assert {
        "strip_whitespace",
        "nullify_placeholder",
        "normalize_email",
        "normalize_phone",
    } <= rules
    emails = clean["Email"].dropna()
    assert (emails == emails.str.strip().str.lower()).all()
    assert not clean["Email"].isin(["N/A", "n/a", "none"]).any()
    pdt.assert_frame_equal(clean_frame(clean), clean)


def test_clean_frame_on_the_sample_excel_file():
    raw = pd.read_excel(SAMPLE / "people.xlsx", sheet_name="Leads")
    clean = clean_frame(raw)
    assert len(clean) == len(raw)
    phones = clean["Tel."].dropna()
    assert phones.map(lambda v: isinstance(v, str) and v.startswith("+")).mean() > 0.7
    pdt.assert_frame_equal(clean_frame(clean), clean)


def test_formula_like_values_are_left_alone():
    formulas = ["=SUM(A1:A3)", "+1+1", "@cmd", "-2+3", '=HYPERLINK("http://x.com")']
    df = frame(Notes=formulas, Email=formulas, Website=formulas)
    out = clean_frame(df, phones=[])
    for column in ("Notes", "Email", "Website"):
        assert out[column].tolist() == formulas


# --------------------------------------------------------------------------- properties
TEXT = st.one_of(
    st.none(),
    st.text(max_size=10),
    st.text(
        alphabet=st.sampled_from(list("aAbBzZ09 .,-@/:+()'éÜ") + [NBSP, "\t", "\n"]), max_size=12
    ),
    st.sampled_from(
        [
            "N/A",
            " n/a ",
            "TBD",
            "HTTPS://WWW.X.COM/",
            "Jane@X.COM ",
            "(415) 555-2671",
            "0049 30 901820",
        ]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, TEXT), min_size=1, max_size=8))
def test_cleaning_is_idempotent(rows):
    df = pd.DataFrame(rows, columns=["Name", "Email", "Phone", "Website"], dtype=object)
    once = clean_frame(df)
    pdt.assert_frame_equal(clean_frame(once), once)
    for helper in HELPERS[:-1]:
        first = helper(once)
        pdt.assert_frame_equal(helper(first), first)


# --------------------------------------------------------------------------- countries
@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("USA", "United States"),
        ("U.S.", "United States"),
        ("U.S.A.", "United States"),
        ("United States of America", "United States"),
        ("united states", "United States"),
        ("US", "United States"),
        ("Deutschland", "Germany"),
        ("DE", "Germany"),
        ("DEU", "Germany"),
        ("germany", "Germany"),
        ("UK", "United Kingdom"),
        ("Great Britain", "United Kingdom"),
        ("England", "United Kingdom"),
        ("France", "France"),
        ("Frankreich", "France"),  # libphonenumber's names in other languages
        ("España", "Spain"),
        ("The Netherlands", "Netherlands"),
        ("Holland", "Netherlands"),
        ("Korea, Republic of", "South Korea"),  # ISO's name -> the name Twenty lists
        ("Russian Federation", "Russia"),
        ("Viet Nam", "Vietnam"),
        ("Turkey", "Türkiye"),
        ("Cote d'Ivoire", "Côte d’Ivoire"),
        ("Saint Lucia", "St. Lucia"),
        ("Bosnia and Herzegovina", "Bosnia & Herzegovina"),
        ("XK", "Kosovo"),
        ("Schweiz", "Switzerland"),
    ],
)
def test_country_names_follow_twentys_list(value, name):
    assert normalize_countries(frame(Country=[value]))["Country"].tolist() == [name]


def test_unknown_countries_are_left_and_logged_never_guessed():
    log = CleaningLog()
    df = frame(Country=["Atlantis", "Korea", "no", "de", "Germany", None, "USA", "Atlantis"])
    out = normalize_countries(df, log=log)
    assert out["Country"].tolist()[:5] == ["Atlantis", "Korea", "no", "de", "Germany"]
    assert out["Country"].isna().tolist()[5] and out["Country"].tolist()[6:] == [
        "United States",
        "Atlantis",
    ]
    entries = log.to_frame()
    changed = entries[entries["rule"] == "normalize_country"]
    assert changed[["_row", "before", "after"]].values.tolist() == [[7, "USA", "United States"]]
    unknown = entries[entries["rule"] == "unknown_country"]
    assert unknown["_row"].tolist() == [1, 2, 3, 4, 8]
    assert (unknown["before"] == unknown["after"]).all()
    assert unknown["note"].str.contains("left as it is").all()
    assert df["Country"].tolist()[6] == "USA"  # the input is not changed
    ambiguous = frame(Country=["Congo", "Virgin Islands", "CD"])
    assert normalize_countries(ambiguous)["Country"].tolist() == [
        "Congo",
        "Virgin Islands",
        "Congo - Kinshasa",
    ]


def test_countries_default_columns_aliases_and_idempotence():
    df = frame(
        Country=["USA"],
        **{"address.addressCountry": ["Bavaria"], "Phone country": ["DE"], "Name": ["UK"]},
    )
    out = normalize_countries(df, aliases={"Bavaria": "DE"})
    assert out.iloc[0].tolist()[1:] == ["United States", "Germany", "DE", "UK"]
    assert normalize_countries(out, aliases={"Bavaria": "DE"}).equals(out)
    assert normalize_countries(df, ["Name"])["Name"].tolist() == ["United Kingdom"]
    with pytest.raises(ValueError, match="'Narnia' is not a country"):
        normalize_countries(df, aliases={"Bavaria": "Narnia"})
    with pytest.raises(KeyError, match="columns not in the DataFrame"):
        normalize_countries(df, ["Land"])
