"""Field maps: suggestions from real export headers, conversions per Twenty type, problems."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twenty_migrate.clean.frame import clean_frame
from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.mapping.mapped import MappedFrame
from twenty_migrate.mapping.suggest import suggest_mapping
from twenty_migrate.sandbox.engine.fields import normalize_email, process_data
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile
from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.twenty.schema import FieldSchema, ObjectSchema, WorkspaceSchema

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def registry():
    return standard_registry(sandbox_profile("1"))


@pytest.fixture(scope="module")
def schema(registry) -> WorkspaceSchema:
    return WorkspaceSchema.from_metadata([obj.to_api() for obj in registry.objects()])


@pytest.fixture(scope="module")
def people(schema) -> ObjectSchema:
    return schema.object("people")


def _options(*values: str) -> tuple[dict[str, Any], ...]:
    return tuple({"value": v.upper().replace(" ", "_"), "label": v} for v in values)


@pytest.fixture(scope="module")
def deals() -> ObjectSchema:
    """A custom object with one field of every type the mapper converts."""
    specs = {
        "name": ("TEXT", {}),
        "tier": ("SELECT", {"options": _options("Gold", "Silver", "In Progress")}),
        "tags": ("MULTI_SELECT", {"options": _options("CRM", "Analytics", "API")}),
        "rating": (
            "RATING",
            {"options": tuple({"value": f"RATING_{i}", "label": str(i)} for i in range(1, 6))},
        ),
        "active": ("BOOLEAN", {}),
        "seats": ("NUMBER", {}),
        "score": ("NUMERIC", {}),
        "signedOn": ("DATE", {}),
        "renewAt": ("DATE_TIME", {}),
        "aliases": ("ARRAY", {}),
        "meta": ("RAW_JSON", {}),
        "externalId": ("UUID", {}),
        "price": ("CURRENCY", {}),
        "website": ("LINKS", {}),
        "contact": ("EMAILS", {}),
        "phone": ("PHONES", {}),
        "owner": ("FULL_NAME", {}),
        "notes": ("RICH_TEXT_V2", {}),
        "address": ("ADDRESS", {}),
        "company": ("RELATION", {"relation_type": "MANY_TO_ONE", "relation_target": "company"}),
    }
    fields = {
        name: FieldSchema(name=name, label=name.title(), type=ftype, is_custom=True, **extra)
        for name, (ftype, extra) in specs.items()
    }
    return ObjectSchema("deal", "deals", "Deal", "Deals", is_custom=True, fields=fields)


def read_sample(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False)


def apply(deals: ObjectSchema, mapping: dict[str, str], transforms=None, **kw) -> MappedFrame:
    columns = {source: kw.pop(source) for source in mapping}
    df = pd.DataFrame(columns)
    df.insert(0, "_row", range(1, len(df) + 1))
    return FieldMap("deals", mapping, transforms or {}).apply(df, deals, **kw)


def problems_for(mapped: MappedFrame, rule: str) -> pd.DataFrame:
    return mapped.problems[mapped.problems["rule"] == rule]


# --------------------------------------------------------------------------- suggestions
def test_suggest_mapping_for_the_sample_people_export(people):
    fmap = suggest_mapping(read_sample("people.csv"), people)
    assert fmap.object_name == "people"
    assert fmap.mapping["First Name"] == "name.firstName"
    assert fmap.mapping["Last Name"] == "name.lastName"
    assert fmap.mapping["Full Name"] == "name"
    assert fmap.mapping["Email"] == "emails.primaryEmail"
    assert fmap.mapping["Phone"] == "phones.primaryPhoneNumber"
    assert fmap.mapping["Mobile"] == "phones.additionalPhones"
    assert fmap.mapping["Job Title"] == "jobTitle"
    assert fmap.mapping["Company"] == "_ref.companyId"
    assert fmap.mapping["LinkedIn"] == "linkedinLink.primaryLinkUrl"
    assert "Contact ID" not in fmap.mapping and "Created Date" not in fmap.mapping
    assert fmap.transforms["phones"] == {"region_column": "Country"}
    assert any("Lead Source" in note for note in fmap.notes)


@pytest.mark.parametrize(
    ("object_name", "headers", "expected"),
    [
        (
            "people",
            ["FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title", "Account.Name"],
            {
                "FirstName": "name.firstName",
                "LastName": "name.lastName",
                "Email": "emails.primaryEmail",
                "Phone": "phones.primaryPhoneNumber",
                "MobilePhone": "phones.additionalPhones",
                "Title": "jobTitle",
                "Account.Name": "_ref.companyId",
            },
        ),
        (
            "companies",
            ["Name", "Website", "NumberOfEmployees", "AnnualRevenue", "BillingCity"],
            {
                "Name": "name",
                "Website": "domainName.primaryLinkUrl",
                "NumberOfEmployees": "employees",
                "AnnualRevenue": "annualRecurringRevenue.amountMicros",
                "BillingCity": "address.addressCity",
            },
        ),
        (
            "opportunities",
            ["Name", "StageName", "CloseDate", "Amount", "Account.Name"],
            {
                "Name": "name",
                "StageName": "stage",
                "CloseDate": "closeDate",
                "Amount": "amount.amountMicros",
                "Account.Name": "_ref.companyId",
            },
        ),
        (
            "people",
            ["First Name", "Last Name", "Email", "Phone Number", "Job Title", "Company Name",
             "LinkedIn Bio"],
            {
                "First Name": "name.firstName",
                "Last Name": "name.lastName",
                "Email": "emails.primaryEmail",
                "Phone Number": "phones.primaryPhoneNumber",
                "Job Title": "jobTitle",
                "Company Name": "_ref.companyId",
                "LinkedIn Bio": "linkedinLink.primaryLinkUrl",
            },
        ),
        (
            "companies",
            ["Company Name", "Company Domain Name", "Number of Employees"],
            {
                "Company Name": "name",
                "Company Domain Name": "domainName.primaryLinkUrl",
                "Number of Employees": "employees",
            },
        ),
        (
            "opportunities",
            ["Deal Name", "Deal Stage", "Close Date", "Amount"],
            {
                "Deal Name": "name",
                "Deal Stage": "stage",
                "Close Date": "closeDate",
                "Amount": "amount.amountMicros",
            },
        ),
        (
            "people",
            ["Name", "Email - Work", "Phone - Work", "Organization"],
            {
                "Name": "name",
                "Email - Work": "emails.primaryEmail",
                "Phone - Work": "phones.primaryPhoneNumber",
                "Organization": "_ref.companyId",
            },
        ),
        (
            "opportunities",
            ["Deal - Title", "Deal - Value", "Deal - Currency", "Deal - Stage",
             "Deal - Expected close date", "Organization - Name"],
            {
                "Deal - Title": "name",
                "Deal - Value": "amount.amountMicros",
                "Deal - Currency": "amount.currencyCode",
                "Deal - Stage": "stage",
                "Deal - Expected close date": "closeDate",
                "Organization - Name": "_ref.companyId",
            },
        ),
        (
            "tasks",
            ["Subject", "Body", "Due Date", "Status"],
            {"Subject": "title", "Body": "bodyV2.markdown", "Due Date": "dueAt",
             "Status": "status"},
        ),
        ("notes", ["Subject", "Description"],
         {"Subject": "title", "Description": "bodyV2.markdown"}),
        (
            "people",
            ["Full Name", "Mobile", "Company Name"],
            {"Full Name": "name", "Mobile": "phones.primaryPhoneNumber",
             "Company Name": "_ref.companyId"},
        ),
    ],
)  # fmt: skip
def test_suggest_mapping_knows_common_crm_headers(schema, object_name, headers, expected):
    df = pd.DataFrame({header: ["x", "y"] for header in headers})
    fmap = suggest_mapping(df, schema.object(object_name))
    assert fmap.mapping == expected


def test_suggest_mapping_reads_values_when_headers_say_nothing(schema):
    df = pd.DataFrame(
        {
            "Col A": ["jane@x.com", "Bob@Y.org", "c@z.io", "d@w.net"],
            "Col B": ["linkedin.com/in/jane", "https://www.linkedin.com/in/bob", "x", "y"],
            "Col C": ["+1 415 555 2671", "(212) 555-0158", "020 7946 0958", "+33 1 99 00 52 50"],
            "Col D": ["lorem", "ipsum", "dolor", "sit"],
        }
    )
    fmap = suggest_mapping(df, schema.object("people"))
    assert fmap.mapping == {"Col A": "emails.primaryEmail", "Col C": "phones.primaryPhoneNumber"}
    companies = suggest_mapping(
        pd.DataFrame({"Col": ["acme.com", "https://www.globex.com/", "initech.io"]}),
        schema.object("companies"),
    )
    assert companies.mapping == {"Col": "domainName.primaryLinkUrl"}
    opportunities = suggest_mapping(df[["Col A"]], schema.object("opportunities"))
    assert opportunities.mapping == {"Col A": "_ref.pointOfContactId"}


def test_suggest_mapping_notes_unknown_select_labels(schema):
    fmap = suggest_mapping(read_sample("opportunities.csv"), schema.object("opportunities"))
    assert fmap.mapping["Stage"] == "stage"
    note = next(n for n in fmap.notes if n.startswith("'Stage' -> stage"))
    assert "'Closed - Won'" in note and "'Proposal Sent'" in note


# --------------------------------------------------------------------------- editing, files
def test_field_map_edits_and_round_trips_through_json(tmp_path, people):
    fmap = FieldMap("people", {"Email": "emails.primaryEmail", "Phone": "phones"})
    edited = (
        fmap.with_column("Mobile", "phones.additionalPhones")
        .without("Phone")
        .with_transform("phones", {"region": "GB"})
    )
    assert fmap.sources == ["Email", "Phone"]
    assert edited.mapping == {"Email": "emails.primaryEmail", "Mobile": "phones.additionalPhones"}
    path = edited.save(tmp_path / "maps" / "people.json")
    saved = json.loads(path.read_text())
    assert saved["format"] == "twenty_migrate.mapping" and saved["object"] == "people"
    assert FieldMap.load(path) == edited
    assert "Mobile" in repr(edited) and "->" in repr(edited)
    assert edited.to_frame()["path"].tolist() == ["emails.primaryEmail", "phones.additionalPhones"]
    with pytest.raises(MappingError, match="not mapped"):
        edited.without("Nope")


def test_field_map_errors_say_what_to_do(people, tmp_path):
    df = pd.DataFrame({"_row": [1], "Email": ["a@b.com"], "Company": ["Acme"]})
    with pytest.raises(MappingError, match="reserved"):
        FieldMap("people", {"_secret": "jobTitle"})
    with pytest.raises(MappingError, match="not in the DataFrame"):
        FieldMap("people", {"Mail": "emails.primaryEmail"}).apply(df, people)
    with pytest.raises(MappingError, match=r"Did you mean \['emails.primaryEmail'"):
        FieldMap("people", {"Email": "emial.primaryEmail"}).apply(df, people)
    with pytest.raises(MappingError, match="has the parts"):
        FieldMap("people", {"Email": "emails.primaryEmial"}).apply(df, people)
    with pytest.raises(MappingError, match="_ref.companyId"):
        FieldMap("people", {"Company": "company"}).apply(df, people)
    with pytest.raises(MappingError, match="both map to"):
        FieldMap("people", {"Email": "emails", "Company": "emails.primaryEmail"}).apply(df, people)
    with pytest.raises(MappingError, match="no relation"):
        FieldMap("people", {"Company": "_ref.ownerId"}).apply(df, people)
    with pytest.raises(MappingError, match="unknown settings"):
        FieldMap("people", {"Email": "emails"}, {"emails": {"regoin": "US"}}).apply(df, people)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MappingError, match="cannot read"):
        FieldMap.load(bad)


# --------------------------------------------------------------------------- selects
def test_select_labels_are_forgiving_but_never_guessed(schema):
    opportunities = schema.object("opportunities")
    labels = ["proposal", "Proposal", " PROPOSAL ", "Proposal Sent", "closed won", "New", ""]
    df = pd.DataFrame({"_row": range(1, 8), "Stage": labels})
    mapped = FieldMap("opportunities", {"Stage": "stage"}).apply(df, opportunities)
    assert mapped.data["stage"].tolist()[:3] == ["PROPOSAL"] * 3
    assert mapped.data["stage"][5] == "NEW"
    unknown = problems_for(mapped, "unknown_option")
    assert unknown["_row"].tolist() == [4, 5]
    assert unknown["value"].tolist() == ["Proposal Sent", "closed won"]
    assert "transforms['stage']" in unknown["message"].iloc[0]
    explicit = FieldMap(
        "opportunities",
        {"Stage": "stage"},
        {"stage": {"Closed Won": "CUSTOMER", "Proposal Sent": "PROPOSAL"}},
    ).apply(df, opportunities)
    assert explicit.data["stage"].tolist()[3:5] == ["PROPOSAL", "CUSTOMER"]
    assert explicit.problems.empty
    with pytest.raises(MappingError, match="not options"):
        FieldMap("opportunities", {"Stage": "stage"}, {"stage": {"Won": "WON"}}).apply(
            df, opportunities
        )


def test_every_sample_stage_label_maps_or_is_reported(schema):
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    label_map = manifest["label_maps"]["opportunities.csv:Stage"]
    raw = read_sample("opportunities.csv")
    opportunities = schema.object("opportunities")
    fmap = suggest_mapping(raw, opportunities)
    mapped = fmap.apply(raw, opportunities)
    reported = set(problems_for(mapped, "unknown_option")["_row"])
    for row, label, value in zip(
        mapped.data["_row"], raw["Stage"], mapped.data["stage"], strict=True
    ):
        if label.strip():
            assert (isinstance(value, str) and value) or row in reported, (row, label)
    explicit = {k: v for k, v in label_map.items() if k.strip()}
    fixed = fmap.with_transform("stage", explicit).apply(raw, opportunities)
    assert problems_for(fixed, "unknown_option").empty
    for label, value in zip(raw["Stage"], fixed.data["stage"], strict=True):
        expected = label_map.get(label)
        assert (value if isinstance(value, str) else None) == expected, label


def test_multi_select_rating_and_arrays(deals):
    mapped = apply(
        deals,
        {"Tags": "tags", "Stars": "rating", "Aliases": "aliases"},
        Tags=["crm; Analytics;", '["API", "crm"]', "CRM | Bogus", ""],
        Stars=["3", "★★★★★", "RATING_2", "6"],
        Aliases=["a, b", '["x", "y"]', "solo", None],
    )
    assert mapped.data["tags"].tolist()[:3] == [["CRM", "ANALYTICS"], ["API", "CRM"], ["CRM"]]
    assert mapped.data["rating"].tolist()[:3] == ["RATING_3", "RATING_5", "RATING_2"]
    assert mapped.data["aliases"].tolist()[:3] == [["a", "b"], ["x", "y"], ["solo"]]
    errors = mapped.errors.set_index("field")
    assert "Bogus" in errors.loc["tags", "message"]
    assert errors.loc["rating", "value"] == "6"


# --------------------------------------------------------------------------- scalars
def test_booleans_numbers_json_and_uuids(deals):
    some_id = str(uuid.uuid4())
    mapped = apply(
        deals,
        {
            "Active": "active",
            "Seats": "seats",
            "Score": "score",
            "Meta": "meta",
            "Ext": "externalId",
        },
        Active=["Yes", "n", "x", "maybe"],
        Seats=["1,200", "12k", "~50", "50-200"],
        Score=["1.200,5", "0.25", "(3)", "abc"],
        Meta=['{"a": 1}', "[1, 2]", "3", "{bad"],
        Ext=[some_id.upper(), some_id, None, "123"],
    )
    data = mapped.data
    assert data["active"].tolist()[:3] == [True, False, True]
    assert data["seats"].tolist()[:3] == [1200, 12000, 50]
    assert data["score"].tolist()[:3] == [1200.5, 0.25, -3]
    assert data["meta"].tolist()[:2] == [{"a": 1}, [1, 2]]
    assert data["externalId"].tolist()[:2] == [some_id, some_id]
    rules = set(zip(mapped.problems["field"], mapped.problems["rule"], strict=True))
    assert rules == {
        ("active", "invalid_boolean"),
        ("seats", "approximate_number"),
        ("seats", "invalid_number"),
        ("score", "invalid_number"),
        ("meta", "invalid_json"),
        ("externalId", "invalid_uuid"),
    }
    assert mapped.problems.set_index("rule").loc["approximate_number", "severity"] == "warning"


def test_dates_infer_day_order_per_column_and_read_excel_serials(deals):
    mapped = apply(
        deals,
        {"Signed": "signedOn", "Renew": "renewAt"},
        Signed=["25/01/2024", "03/02/2024", "45306", "31/02/2024"],
        Renew=["2024-01-15T14:30:00+02:00", "1/15/2024 2:30 PM", "January 15, 2024", "soon"],
    )
    assert mapped.data["signedOn"].tolist()[:3] == ["2024-01-25", "2024-02-03", "2024-01-15"]
    assert mapped.data["renewAt"].tolist()[:3] == [
        "2024-01-15T12:30:00Z",
        "2024-01-15T14:30:00Z",
        "2024-01-15T00:00:00Z",
    ]
    assert problems_for(mapped, "invalid_date")["_row"].tolist() == [4, 4]
    us = apply(deals, {"Signed": "signedOn"}, Signed=["03/02/2024", "04/05/2024"])
    assert us.data["signedOn"].tolist() == ["2024-03-02", "2024-04-05"]
    assert any("read month-first" in note for note in us.notes)
    fr = apply(deals, {"Signed": "signedOn"}, Signed=["03/02/2024"], default_region="FR")
    assert fr.data["signedOn"].tolist() == ["2024-02-03"]
    forced = apply(
        deals, {"Signed": "signedOn"}, {"signedOn": {"format": "%d.%m.%y"}}, Signed=["03.02.24"]
    )
    assert forced.data["signedOn"].tolist() == ["2024-02-03"]


def test_mixed_day_orders_are_read_by_majority_and_flagged(deals):
    mapped = apply(
        deals,
        {"Signed": "signedOn"},
        Signed=["01/25/2024", "02/26/2024", "13/01/2024", "03/04/2024"],
    )
    assert mapped.data["signedOn"].tolist() == [
        "2024-01-25",
        "2024-02-26",
        "2024-01-13",
        "2024-03-04",
    ]
    ambiguous = problems_for(mapped, "ambiguous_date")
    assert ambiguous["_row"].tolist() == [4]
    assert (ambiguous["severity"] == "warning").all()


# --------------------------------------------------------------------------- composites
def test_money_strings_become_micros_and_currency_codes(deals):
    mapped = apply(
        deals,
        {"Amount": "price"},
        Amount=["$1,200.50", "1.200,50 €", "12k", "CHF 15,000", "(660,584,000.00)", "TBD"],
        currency="GBP",
    )
    assert mapped.data["price.amountMicros"].tolist()[:5] == [
        1_200_500_000,
        1_200_500_000,
        12_000_000_000,
        15_000_000_000,
        -660_584_000_000_000,
    ]
    assert mapped.data["price.currencyCode"].tolist()[:5] == ["USD", "EUR", "GBP", "CHF", "GBP"]
    assert pd.isna(mapped.data["price.currencyCode"][5])
    assert problems_for(mapped, "invalid_amount")["value"].tolist() == ["TBD"]
    with_column = apply(
        deals,
        {"Amount": "price.amountMicros", "Currency": "price.currencyCode"},
        Amount=["€100", "100", "$5"],
        Currency=["usd", "Euro", "C$"],
    )
    assert with_column.data["price.currencyCode"].tolist() == ["USD", "EUR", "CAD"]
    conflict = problems_for(with_column, "currency_conflict")
    assert conflict["_row"].tolist() == [1]


def test_phones_split_into_twentys_three_parts(deals):
    mapped = apply(
        deals,
        {"Phone": "phone", "Country": "phone.primaryPhoneCountryCode"},
        Phone=["(415) 555-2671", "031 895 57 42", "+44 20 7946 0958 x12",
               "+33 1 99 00 85 96 / +33 1 99 00 85 03", "call me", "4.15555E+09"],
        Country=["USA", "Sverige", "", "France", "US", "US"],
    )  # fmt: skip
    data = mapped.data
    assert data["phone.primaryPhoneNumber"].tolist()[:4] == [
        "4155552671",
        "318955742",
        "2079460958",
        "199008596",
    ]
    assert data["phone.primaryPhoneCountryCode"].tolist()[:4] == ["US", "SE", "GB", "FR"]
    assert data["phone.primaryPhoneCallingCode"].tolist()[:4] == ["+1", "+46", "+44", "+33"]
    assert data["phone.additionalPhones"][3] == [
        {"number": "199008503", "countryCode": "FR", "callingCode": "+33"}
    ]
    by_rule = mapped.problems.groupby("rule")["_row"].apply(list).to_dict()
    assert by_rule["phone_extension_dropped"] == [3]
    assert by_rule["extra_value_moved"] == [4]
    assert by_rule["invalid_phone"] == [5, 6]
    assert data["phone.primaryPhoneNumber"][4:].isna().all()


def test_phones_take_the_fast_path_with_the_same_answers(deals):
    numbers = [
        "(212) 555-0158",
        "212.555.0158",
        "+1 416 555 0199",
        "1-868-625-1234",
        "(555) 555-5555",
    ]
    mapped = apply(deals, {"Phone": "phone"}, Phone=numbers)
    assert mapped.data["phone.primaryPhoneCountryCode"].tolist() == ["US", "US", "CA", "TT", "US"]
    # (555) 555-5555 is no valid number, but Twenty stores it (libphonenumber-js checks
    # only the length): it is kept, read in the default region
    assert problems_for(mapped, "invalid_phone").empty
    from twenty_migrate.values.phones import parse_phone

    got_numbers = mapped.data["phone.primaryPhoneNumber"].tolist()
    for number, got in zip(numbers, got_numbers, strict=True):
        assert parse_phone(number, "US").number == got
    strict = apply(deals, {"Phone": "phone"}, Phone=numbers, transforms={"phone": {"strict": True}})
    assert problems_for(strict, "invalid_phone")["_row"].tolist() == [5]


def test_emails_are_normalised_like_twenty_and_extras_moved(deals):
    raw = ["Jane.Doe@Bücher.DE ", "a@x.com; b@x.com", "bob at x.com", "", "Bob <BOB@Y.ORG>"]
    mapped = apply(
        deals,
        {"Email": "contact", "Email 2": "contact.additionalEmails"},
        Email=raw,
        **{"Email 2": ["jane@other.com", None, "c@x.com", "d@x.com, e@x.com", "bob@y.org"]},
    )
    data = mapped.data
    assert data["contact.primaryEmail"][0] == normalize_email(raw[0], "contact.primaryEmail")
    assert data["contact.primaryEmail"].tolist()[1:] == [
        "a@x.com",
        "c@x.com",
        "d@x.com",
        "bob@y.org",
    ]
    assert data["contact.additionalEmails"].tolist() == [
        ["jane@other.com"],
        ["b@x.com"],
        None,
        ["e@x.com"],
        None,
    ]
    assert problems_for(mapped, "invalid_email")["value"].tolist() == ["bob at x.com"]
    assert problems_for(mapped, "extra_value_moved")["_row"].tolist() == [2]


def test_links_full_names_rich_text_and_addresses(deals):
    mapped = apply(
        deals,
        {"Web": "website", "Owner": "owner", "Notes": "notes", "City": "address.addressCity",
         "Lat": "address.addressLat"},
        {"website": {"handle_prefix": "https://www.linkedin.com/in/"}},
        Web=["HTTPS://WWW.Acme.COM/", "jane-doe", "NO WEBSITE", "info@acme.com"],
        Owner=["Doe, Jane", "Dr. John Smith Jr.", "Sanne van 't Hof", "王伟"],
        Notes=["**Hi**\r\nthere", "a<br>b &amp; c", "  ", "=SUM(A1)"],
        City=[" Paris ", "Berlin", None, "=1+1"],
        Lat=["48.85", "x", None, None],
    )  # fmt: skip
    data = mapped.data
    assert data["website.primaryLinkUrl"].tolist()[:2] == [
        "https://www.acme.com",
        "https://www.linkedin.com/in/jane-doe",
    ]
    assert problems_for(mapped, "invalid_link")["_row"].tolist() == [3, 4]
    assert data["owner.firstName"].tolist() == ["Jane", "John", "Sanne", "伟"]
    assert data["owner.lastName"].tolist() == ["Doe", "Smith Jr.", "van 't Hof", "王"]
    assert problems_for(mapped, "name_part_dropped")["_row"].tolist() == [2]
    assert data["notes.markdown"].tolist()[:2] == ["**Hi**\nthere", "a\nb & c"]
    assert data["notes.markdown"][3] == "=SUM(A1)"
    assert data["address.addressCity"].tolist()[:2] == ["Paris", "Berlin"]
    assert data["address.addressCity"][3] == "=1+1"
    assert data["address.addressLat"][0] == 48.85


def test_first_and_last_name_columns_win_over_the_full_name(people):
    df = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "First": ["Ada", None, "  "],
            "Last": ["Lovelace", None, None],
            "Full": ["Someone Else", "Grace Hopper", "Hopper, Grace"],
        }
    )
    fmap = FieldMap("people", {"First": "name.firstName", "Last": "name.lastName", "Full": "name"})
    data = fmap.apply(df, people).data
    assert data["name.firstName"].tolist() == ["Ada", "Grace", "Grace"]
    assert data["name.lastName"].tolist() == ["Lovelace", "Hopper", "Hopper"]


def test_relations_stay_natural_keys_for_the_resolver(schema):
    opportunities = schema.object("opportunities")
    some_id = str(uuid.uuid4())
    df = pd.DataFrame(
        {
            "_row": [1, 2],
            "Company": ["  Acme   Corp ", None],
            "Contact Email": ["Jane@Acme.COM ", "not an email @"],
            "Company Id": [some_id, "acme"],
        }
    )
    fmap = FieldMap(
        "opportunities",
        {
            "Company": "_ref.companyId",
            "Contact Email": "_ref.pointOfContactId",
            "Company Id": "companyId",
        },
    )
    mapped = fmap.apply(df, opportunities)
    assert mapped.data["_ref.companyId"].tolist()[0] == "Acme Corp"
    assert mapped.data["_ref.pointOfContactId"].tolist() == ["jane@acme.com", "not an email @"]
    assert mapped.data["companyId"].tolist()[0] == some_id
    assert problems_for(mapped, "invalid_uuid")["_row"].tolist() == [2]
    assert list(mapped.data.columns) == [
        "_row",
        "_ref.companyId",
        "_ref.pointOfContactId",
        "companyId",
    ]


# --------------------------------------------------------------------------- sample files
SAMPLES = [
    ("companies.csv", "companies"),
    ("people.csv", "people"),
    ("opportunities.csv", "opportunities"),
    ("tasks.csv", "tasks"),
    ("notes.csv", "notes"),
]


def _field_columns(data: pd.DataFrame, path: str) -> list[str]:
    if path.startswith("_ref.") or "." not in path and path in data.columns:
        return [path]
    name = path.split(".")[0]
    return [c for c in data.columns if c == name or c.startswith(name + ".")]


@pytest.mark.parametrize(("file_name", "object_name"), SAMPLES)
@pytest.mark.parametrize("cleaned", [False, True])
def test_nothing_is_silently_dropped(schema, file_name, object_name, cleaned):
    raw = read_sample(file_name)
    df = clean_frame(raw) if cleaned else raw
    obj = schema.object(object_name)
    fmap = suggest_mapping(df, obj)
    mapped = fmap.apply(df, obj)
    assert len(mapped.data) == len(df)
    assert mapped.data["_row"].tolist() == list(range(1, len(df) + 1))
    reported = set(zip(mapped.errors["_row"], mapped.errors["column"], strict=True))
    for source, path in fmap.mapping.items():
        columns = _field_columns(mapped.data, path)
        empty = mapped.data[columns].isna().all(axis=1)
        has_value = df[source].map(lambda v: isinstance(v, str) and bool(v.strip()))
        for row in mapped.data.loc[empty & has_value.to_numpy(), "_row"]:
            assert (row, source) in reported, (file_name, source, row)


def test_the_excel_sample_maps_with_its_spreadsheet_types(people):
    raw = pd.read_excel(SAMPLE / "people.xlsx", sheet_name="Leads")
    fmap = suggest_mapping(raw, people)
    assert fmap.mapping["Name"] == "name"
    assert fmap.mapping["Tel."] == "phones.primaryPhoneNumber"
    mapped = fmap.apply(clean_frame(raw), people)
    numbers = mapped.data["phones.primaryPhoneNumber"].dropna()
    assert len(numbers) > 200 and numbers.str.fullmatch(r"\d+").all()
    firsts = mapped.data["name.firstName"].dropna()
    assert firsts.map(lambda v: v.isupper()).any()  # case is kept unless normalize_case is used
    assert mapped.data["name.lastName"].notna().mean() > 0.9
    scanned = FieldMap("people", {"Scanned At": "name.lastName"}).apply(raw, people)
    assert scanned.data["name.lastName"].notna().sum() > 0


def test_mapped_people_are_accepted_by_the_emulator(schema, registry):
    raw = clean_frame(read_sample("people.csv"))
    people = schema.object("people")
    fmap = suggest_mapping(raw, people)
    mapped = fmap.apply(raw, people)
    person_meta = registry.by_plural("people")
    columns = [c for c in mapped.data.columns if not c.startswith("_")]  # fields, not keys
    accepted = 0
    for record in mapped.data[columns].head(400).to_dict("records"):
        payload: dict[str, Any] = {}
        for path, value in record.items():
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            field, _, sub = path.partition(".")
            if sub:
                payload.setdefault(field, {})[sub] = value
            else:
                payload[field] = value
        process_data(person_meta, payload)
        accepted += 1
    assert accepted == 400


def test_mapped_frame_explains_itself(people):
    df = pd.DataFrame({"Email": ["a@b.com", "nope"]})
    mapped = FieldMap("people", {"Email": "emails.primaryEmail"}).apply(df, people)
    data, problems = mapped
    assert data["_row"].tolist() == [1, 2]
    assert problems["_row"].tolist() == [2]
    assert list(problems.columns) == [
        "_row",
        "column",
        "field",
        "rule",
        "value",
        "message",
        "severity",
    ]
    assert mapped.has_problems and len(mapped) == 2
    assert mapped.summary()["rows"].tolist() == [1]
    assert "1 values not converted" in str(mapped)
    assert "<table" in mapped._repr_html_()


def test_apply_converts_every_row_of_a_larger_frame(people):
    # Speed on 200k rows: benchmarks/components.py.
    n = 3_000
    rng = np.random.default_rng(3)
    area = rng.choice([212, 415, 617, 312, 206, 512], n)
    exchange, line = rng.integers(200, 999, n), rng.integers(0, 9999, n)
    phones = [f"({a}) {e}-{x:04d}" for a, e, x in zip(area, exchange, line, strict=True)]
    names = rng.choice(["Ada Lovelace", "Grace Hopper", "Doe, Jane"], n)
    df = pd.DataFrame(
        {
            "_row": np.arange(1, n + 1),
            "Name": pd.Series(names, dtype="str"),
            "Email": pd.Series([f"user{i}@Example.com" for i in range(n)], dtype="str"),
            "Phone": pd.Series(phones, dtype="str"),
            "Title": pd.Series(rng.choice(["CEO", " CTO ", "VP Sales"], n), dtype="str"),
        }
    )
    fmap = FieldMap(
        "people",
        {"Name": "name", "Email": "emails", "Phone": "phones", "Title": "jobTitle"},
    )
    mapped = fmap.apply(df, people)
    assert len(mapped.data) == n
    assert mapped.problems.empty
    assert mapped.data["emails.primaryEmail"].tolist() == [f"user{i}@example.com" for i in range(n)]
    assert mapped.data["name.lastName"].isin(["Lovelace", "Hopper", "Doe"]).all()
    assert mapped.data["phones.primaryPhoneNumber"].str.fullmatch(r"\d{10}").all()
    assert mapped.data["jobTitle"].isin(["CEO", "CTO", "VP Sales"]).all()
