"""Phones: never stricter than Twenty, which stores every number libphonenumber-js parses.

Twenty's transform (transform-phones-value.util.ts) refuses a number only when
``parsePhoneNumberWithError`` throws (no number, no country to read it in, a national
number shorter than 2 or longer than 17 digits) or its codes conflict; fictional 555
numbers and lengths unusual for the country are stored. The client (conversion and
validator) and the sandbox each model that on their own; the oracle below compares them
over the phone cells found in CRM exports, in both directions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest

from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.sandbox.engine.phones import transform_phones
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.validation.validate import validate
from twenty_migrate.values.phones import parse_phone

#: (cell, country column) as found in Salesforce, HubSpot and Pipedrive exports.
CORPUS: list[tuple[str, str | None]] = [
    ("(415) 555-0134 ext. 12", "US"),
    ("415-555-0134 x12", "United States"),
    ("(555) 555-5555", "US"),
    ("555-1234", "US"),
    ("+1 555 555 5555", None),
    ("+1 555", None),
    ("+44 20 7946 0958", "GB"),
    ("+44 20 7946 0958", None),
    ("+44 20 7946 0958", "US"),
    ("020 7946 0958", "United Kingdom"),
    ("07700 900123", "GB"),
    ("0049 30 1234567", "DE"),
    ("0049 30 1234567", None),
    ("030 123", "Deutschland"),
    ("12345", "DE"),
    ("+49 30 123", None),
    ("4930123456", "US"),
    ("01 42 68 53 00", "France"),
    ("01 42 68 53 00", None),
    ("12", "FR"),
    ("1", "FR"),
    ("+61 2 5550 1234", "AU"),
    ("(02) 5550 1234", "Australia"),
    ("416 555 0134", "US"),
    ("1-800-FLOWERS", "US"),
    ("555-1234 (home)", "US"),
    ("tel: +1 (212) 555-0100", None),
    ("+1 212 555 0100 / +1 212 555 0107", "US"),
    ("123456789012345678901", "US"),
    ("+999 123456", None),
    ("n/a", "US"),
    ("call me", "US"),
    ("0", "AU"),
    ("4.15555E+09", "US"),
    ("+", "US"),
    ("00", "US"),
    ("00075192565", "US"),
]


def sandbox_stores(number: str, country: str | None, calling: str | None = None) -> Any:
    """What the sandbox stores for a phone, or None when it refuses it."""
    value = {"primaryPhoneNumber": number, "primaryPhoneCountryCode": country}
    if calling is not None:
        value["primaryPhoneCallingCode"] = calling
    try:
        return transform_phones("phones", value)
    except SandboxError:
        return None


def client_accepts(people: Any, cells: list[tuple[str, str | None]]) -> list[Any]:
    """Per cell, the phone the client sends (number, country, calling code), or None when
    the conversion or the validator refuses it."""
    frame = pd.DataFrame(
        {
            "_row": range(1, len(cells) + 1),
            "Phone": [c[0] for c in cells],
            "Country": [c[1] for c in cells],
        }
    )
    mapping = {"Phone": "phones.primaryPhoneNumber", "Country": "phones.primaryPhoneCountryCode"}
    mapped = FieldMap("people", mapping).apply(frame, people)
    report = validate(mapped, people)
    errors = report.errors
    refused = set(errors.loc[errors["column"].str.startswith("phones."), "_row"])
    data = mapped.data
    out = []
    for row, number, country, calling in zip(
        data["_row"],
        data["phones.primaryPhoneNumber"],
        data["phones.primaryPhoneCountryCode"],
        data["phones.primaryPhoneCallingCode"],
        strict=True,
    ):
        ok = row not in refused and isinstance(number, str)
        out.append((number, country if isinstance(country, str) else None, calling) if ok else None)
    return out


def disagreements(people: Any, cells: list[tuple[str, str | None]]) -> list[str]:
    """Cells where the client is stricter or looser than the sandbox."""
    from twenty_migrate.values.phones import country_code

    found = []
    for (text, country), sent in zip(cells, client_accepts(people, cells), strict=True):
        code = country_code(country) if country else None
        raw = sandbox_stores(text, code)
        if raw is not None and sent is None:
            found.append(f"stricter: the sandbox stores {text!r} ({code}), the client refuses it")
        if sent is not None and sandbox_stores(*sent) is None:
            found.append(f"looser: the client sends {sent} for {text!r}, the sandbox refuses it")
    return found


def test_the_client_accepts_what_the_sandbox_stores_and_no_more(schema):
    people = schema.object("people")
    assert disagreements(people, CORPUS) == []
    accepted = client_accepts(people, CORPUS)
    # Fictional and unusual numbers Twenty stores are kept...
    for text in ("(555) 555-5555", "555-1234", "12345", "030 123", "12"):
        assert accepted[[c[0] for c in CORPUS].index(text)] is not None, text
    # ...and garbage is refused.
    for text in ("n/a", "call me", "0", "4.15555E+09", "1", "+999 123456"):
        assert accepted[[c[0] for c in CORPUS].index(text)] is None, text


def test_the_oracle_sees_a_stricter_client(schema, monkeypatch):
    """A client refusing 555 numbers (the old is_valid_number rule) is caught."""
    import twenty_migrate.values.composites as composites

    def valid_only(text: str, region: str | None = "US", *, strict: bool = False) -> Any:
        return parse_phone(text, region, strict=True)

    monkeypatch.setattr(composites, "parse_phone", valid_only)
    found = disagreements(schema.object("people"), [("(555) 555-5555", "US"), ("12", "FR")])
    assert len(found) == 2 and all(f.startswith("stricter") for f in found)


@pytest.mark.parametrize(
    ("text", "region", "parts"),
    [
        ("(555) 555-5555", "US", ("5555555555", "US", "+1")),
        ("+1 555 555 5555", "US", ("5555555555", "US", "+1")),
        ("12", "FR", ("12", "FR", "+33")),
        ("555-1234 (home)", "US", ("5551234", "US", "+1")),
        ("+44 20 7946 0958", "US", ("2079460958", "GB", "+44")),
    ],
)
def test_parse_phone_keeps_what_twenty_stores(text, region, parts):
    assert parse_phone(text, region).parts == parts
    assert parse_phone("(555) 555-5555", "US", strict=True).error == (
        "not a valid phone number for US"
    )


def test_a_refusal_says_why_and_names_the_country_column(schema):
    people = schema.object("people")
    frame = pd.DataFrame(
        {"_row": [1, 2], "Phone": ["call me", "1"], "Country": ["Deutschland", "Atlantis"]}
    )
    mapping = {"Phone": "phones.primaryPhoneNumber", "Country": "phones.primaryPhoneCountryCode"}
    problems = FieldMap("people", mapping).apply(frame, people).problems
    messages = problems.set_index("_row")["message"]
    assert "Provided phone number is invalid call me" in messages[1]
    assert "read in DE, from column 'Country'" in messages[1]
    # An unknown country: the default region, and the message says so.
    assert "read in US, the default region" in messages[2]


def test_the_region_comes_from_the_phone_country_then_the_address_country(schema):
    # Companies with a phone field (a custom field in Twenty's standard model).
    standard = schema.object("companies")
    phones = schema.object("people").fields["phones"]
    companies = dataclasses.replace(standard, fields={**standard.fields, "phones": phones})
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "Name": ["A", "B", "C"],
            "Phone": ["030 1234567", "020 7946 0958", "(415) 555-0134"],
            "Billing Country": ["Germany", "United Kingdom", ""],
        }
    )
    mapping = {
        "Name": "name",
        "Phone": "phones.primaryPhoneNumber",
        "Billing Country": "address.addressCountry",
    }
    data = FieldMap("companies", mapping).apply(frame, companies).data
    # No phone country column: the record's address country reads the local numbers; a
    # row without one takes the default region.
    assert data["phones.primaryPhoneCountryCode"].tolist() == ["DE", "GB", "US"]
    assert data["phones.primaryPhoneNumber"].tolist() == ["301234567", "2079460958", "4155550134"]
    # A region transform is a clearer hint than the address: it wins.
    ruled = FieldMap("companies", mapping, {"phones": {"region": "FR"}}).apply(frame, companies)
    assert ruled.data["phones.primaryPhoneCountryCode"].tolist()[2] == "FR"
