"""Vendor export headers: exact targets, no guesses across kinds, reasons and confidence."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from twenty_migrate.mapping.field_map import FieldMap, _resolve
from twenty_migrate.mapping.headers import CONFIDENCE, value_kind
from twenty_migrate.mapping.suggest import suggest_mapping
from twenty_migrate.mapping.suggestion import Suggestion
from twenty_migrate.mapping.vendors import (
    DEFAULT_STAGES,
    SOURCE_ID,
    custom_field_name,
    detect_vendor,
    stage_options,
    vendor_field,
    vendor_fields,
)
from twenty_migrate.pipeline.migration import preflight
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import PROFILES, sandbox_profile
from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.twenty.schema import ObjectSchema, WorkspaceSchema, fetch_schema
from twenty_migrate.values.payloads import SOURCE_REF_PREFIX

OWN = "source id"
NONE = None


def _schema(profile: str) -> WorkspaceSchema:
    registry = standard_registry(sandbox_profile(profile))
    return WorkspaceSchema.from_metadata([obj.to_api() for obj in registry.objects()])


@pytest.fixture(scope="module", params=[p.name for p in PROFILES], ids=lambda n: f"twenty-{n}")
def schema(request: pytest.FixtureRequest) -> WorkspaceSchema:
    return _schema(str(request.param))


def _value(header: str, i: int) -> str:
    """A plausible cell for a header, so the kind checks see real-looking values."""
    key = header.lower()
    if "email" in key:
        return f"person{i}@example.com"
    if "phone" in key:
        return f"+1 415 555 01{i:02d}"
    if any(w in key for w in ("date", "start", "created", "time")):
        return f"2024-05-{i + 1:02d}"
    if key in ("id", "ownerid") or key.endswith((" id", "id")):
        return f"0015g00000Abc{i:02d}XYZ"
    if any(w in key for w in ("amount", "value", "revenue", "employees", "probability")):
        return str(1000 * (i + 1))
    if any(w in key for w in ("website", "domain")):
        return f"acme{i}.com"
    return f"text {i}"


def frame(headers: list[str], rows: int = 4, **columns: list[str]) -> pd.DataFrame:
    data = {h: [_value(h, i) for i in range(rows)] for h in headers}
    data.update(columns)
    return pd.DataFrame(data)


# Each case: a header list in the vendor's real export format, and where each column goes:
# a path (mapped), OWN (the source id), NONE (left unmapped), or ("create", path).
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("salesforce Account API", "companies", {
        "Id": OWN, "Name": "name", "Type": NONE, "ParentId": NONE,
        "BillingStreet": "address.addressStreet1", "BillingCity": "address.addressCity",
        "BillingState": "address.addressState", "BillingPostalCode": "address.addressPostcode",
        "BillingCountry": "address.addressCountry", "Phone": NONE,
        "Website": "domainName.primaryLinkUrl", "Industry": NONE,
        "AnnualRevenue": "annualRecurringRevenue.amountMicros",
        "NumberOfEmployees": "employees", "OwnerId": "_ref.accountOwnerId",
        "CreatedDate": NONE, "Region__c": ("create", "region"),
    }),
    ("salesforce Account report", "companies", {
        "Account ID": OWN, "Account Name": "name", "Billing City": "address.addressCity",
        "Billing State/Province": "address.addressState",
        "Billing Country": "address.addressCountry", "Website": "domainName.primaryLinkUrl",
        "Industry": NONE, "Employees": "employees",
        "Annual Revenue": "annualRecurringRevenue.amountMicros",
        "Account Owner": "_ref.accountOwnerId",
    }),
    ("salesforce Contact API", "people", {
        "Id": OWN, "AccountId": "_sourceref.companyId", "FirstName": "name.firstName",
        "LastName": "name.lastName", "Email": "emails.primaryEmail",
        "Phone": "phones.primaryPhoneNumber", "MobilePhone": "phones.additionalPhones",
        "Title": "jobTitle", "MailingCity": "city", "OwnerId": NONE, "LeadSource": NONE,
    }),
    ("salesforce Lead API", "people", {
        "Id": OWN, "FirstName": "name.firstName", "LastName": "name.lastName",
        "Company": "_ref.companyId", "Email": "emails.primaryEmail",
        "Phone": "phones.primaryPhoneNumber", "Status": NONE, "LeadSource": NONE,
        "City": "city",
    }),
    ("salesforce Opportunity API", "opportunities", {
        "Id": OWN, "AccountId": "_sourceref.companyId", "Name": "name", "StageName": "stage",
        "Amount": "amount.amountMicros", "CloseDate": "closeDate", "OwnerId": "_ref.ownerId",
        "Probability": NONE, "CurrencyIsoCode": "amount.currencyCode",
    }),
    ("salesforce Task API", "tasks", {
        "Id": OWN, "WhoId": "_sourceref.targets", "WhatId": "_sourceref.targets",
        "Subject": "title", "ActivityDate": "dueAt", "Status": "status", "Priority": NONE,
        "OwnerId": "_ref.assigneeId", "Description": "bodyV2.markdown",
    }),
    ("salesforce Event API", "tasks", {
        "Id": OWN, "Subject": "title", "StartDateTime": "dueAt", "EndDateTime": NONE,
        "Location": NONE, "Description": "bodyV2.markdown", "OwnerId": "_ref.assigneeId",
    }),
    ("salesforce Note API", "notes", {
        "Id": OWN, "ParentId": "_sourceref.targets", "Title": "title",
        "Body": "bodyV2.markdown", "OwnerId": NONE,
    }),
    ("hubspot contacts", "people", {
        "Record ID": OWN, "First Name": "name.firstName", "Last Name": "name.lastName",
        "Email": "emails.primaryEmail", "Phone Number": "phones.primaryPhoneNumber",
        "Mobile Phone Number": "phones.additionalPhones", "Job Title": "jobTitle",
        "Company Name": "_ref.companyId", "Contact Owner": NONE, "City": "city",
        "State/Region": NONE, "Lifecycle Stage": NONE, "Create Date": NONE,
    }),
    ("hubspot companies", "companies", {
        "Record ID": OWN, "Company Name": "name",
        "Company Domain Name": "domainName.primaryLinkUrl",
        "Website URL": "domainName.secondaryLinks", "Phone Number": NONE,
        "City": "address.addressCity", "State/Region": "address.addressState",
        "Country/Region": "address.addressCountry", "Industry": NONE,
        "Number of Employees": "employees",
        "Annual Revenue": "annualRecurringRevenue.amountMicros",
        "Company Owner": "_ref.accountOwnerId", "Create Date": NONE,
    }),
    ("hubspot deals", "opportunities", {
        "Record ID": OWN, "Deal Name": "name", "Deal Stage": "stage",
        "Amount": "amount.amountMicros", "Close Date": "closeDate", "Pipeline": NONE,
        "Deal Owner": "_ref.ownerId", "Associated Company": NONE,
        "Associated Company Domain": "_ref.companyId",
        "Associated Contact Email": "_ref.pointOfContactId",
    }),
    ("hubspot activities", "tasks", {
        "Record ID": OWN, "Activity Type": NONE, "Task Title": "title",
        "Task Due Date": "dueAt", "Notes/Description": "bodyV2.markdown",
        "Task Status": "status", "Activity Owner": "_ref.assigneeId",
        "Associated Contact Email": "_ref.targets",
    }),
    ("hubspot notes", "notes", {
        "Record ID": OWN, "Notes/Description": "bodyV2.markdown", "Activity Owner": NONE,
        "Associated Company ID": "_sourceref.targets",
    }),
    ("pipedrive organizations", "companies", {
        "Organization - ID": OWN, "Organization - Name": "name",
        "Organization - Owner": "_ref.accountOwnerId",
        "Organization - Address - City/town": "address.addressCity",
        "Organization - Label": NONE,
    }),
    ("pipedrive persons", "people", {
        "Person - ID": OWN, "Person - Name": "name", "Person - Email": "emails.primaryEmail",
        "Person - Phone": "phones.primaryPhoneNumber",
        "Person - Organization": NONE,  # linked by its id instead
        "Organization - ID": "_sourceref.companyId", "Person - Owner": NONE,
    }),
    ("pipedrive deals", "opportunities", {
        "Deal - ID": OWN, "Deal - Title": "name", "Deal - Value": "amount.amountMicros",
        "Deal - Currency": "amount.currencyCode", "Deal - Stage": "stage",
        "Deal - Expected close date": "closeDate", "Deal - Owner": "_ref.ownerId",
        "Deal - Status": NONE, "Organization - Name": NONE,  # linked by its id instead
        "Organization - ID": "_sourceref.companyId", "Person - Email": NONE,
        "Person - ID": "_sourceref.pointOfContactId",
    }),
    ("pipedrive activities", "tasks", {
        "Activity - ID": OWN, "Activity - Subject": "title", "Activity - Type": NONE,
        "Activity - Due date": "dueAt", "Activity - Note": "bodyV2.markdown",
        "Activity - Assigned to user": "_ref.assigneeId", "Deal - ID": "_sourceref.targets",
    }),
]  # fmt: skip


def _applies(column: str, path: str, obj: ObjectSchema) -> bool:
    try:
        _resolve(column, path, obj)
    except MappingError:
        return False
    return True


@pytest.mark.parametrize(("case", "object_name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_vendor_headers_map_to_exact_targets(schema, case, object_name, expected):
    obj = schema.object(object_name)
    fmap = suggest_mapping(frame(list(expected)), obj)
    decided = {s.column: s for s in fmap.suggestions}
    assert set(decided) == set(expected)
    for column, target in expected.items():
        suggestion = decided[column]
        assert suggestion.reason and 0 < suggestion.confidence <= 1, column
        if target == OWN:
            assert suggestion.status == "source_id" and fmap.source_id == column
        elif target is NONE:
            assert suggestion.status == "unmapped" and column not in fmap.mapping, column
            assert suggestion.path is None or not _applies(column, suggestion.path, obj)
        elif isinstance(target, tuple):
            assert (suggestion.status, suggestion.path) == target, column
        elif _applies(column, target, obj):
            assert fmap.mapping.get(column) == target, (column, suggestion)
        else:  # a reference kind this field map cannot apply: named, kept out of the map
            assert (suggestion.status, suggestion.path) == ("unmapped", target), column
            assert target.startswith((SOURCE_REF_PREFIX, "_ref.targets"))
    if any(t == OWN for t in expected.values()):
        assert fmap.source_id is not None
    vendor = case.split()[0]
    assert detect_vendor(expected) == vendor
    fmap.resolve(obj)  # what is mapped applies as is


def test_every_dictionary_path_exists_in_the_standard_schema(schema):
    for entry in vendor_fields():
        obj = schema.object(entry.object)
        for path in entry.paths:
            if path == SOURCE_ID:
                continue
            if path.startswith((SOURCE_REF_PREFIX, "_ref.")):
                join = path.split(".", 1)[1]
                assert join == "targets" or join in obj.relations, (entry, path)
                if join == "targets":
                    assert entry.object in ("tasks", "notes"), entry
                continue
            assert _applies(entry.header, path, obj), (entry.vendor, entry.header, path)
        assert entry.reason.startswith(("Salesforce", "HubSpot", "Pipedrive"))


def test_owner_columns_never_become_the_records_own_email(schema):
    people = schema.object("people")
    owners = ["jane@acme.io", "bob@acme.io", "jane@acme.io", "li@acme.io"]
    for header in ("Contact Owner", "Owner", "Assigned To", "Record Owner"):
        fmap = suggest_mapping(frame(["Email"], **{header: owners}), people)
        assert fmap.mapping == {"Email": "emails.primaryEmail"}, header
        decision = next(s for s in fmap.suggestions if s.column == header)
        assert decision.status == "unmapped" and "owner" in decision.reason, header
    companies = suggest_mapping(
        frame(["Company Name"], **{"Company Owner": owners}), schema.object("companies")
    )
    assert companies.mapping["Company Owner"] == "_ref.accountOwnerId"


def test_values_are_read_only_for_headers_that_say_nothing(schema):
    people = schema.object("people")
    dates = ["2024-05-01", "2024-05-02", "2023-12-31", "2024-01-15"]
    emails = ["a@x.com", "b@y.org", "c@z.io", "d@w.net"]
    phones = ["+44 20 7946 0958", "(212) 555-0158", "+1 415 555 2671", "020 7946 0958"]
    df = pd.DataFrame(
        {
            "Column 7": dates,  # an ISO date is not a phone number
            "Field1": emails,
            "": phones,
            "column_4": ["132471000", "4241176000", "987654321", "123456789"],
            "Lead Source": emails,  # a header that says something: values not read
        }
    )
    fmap = suggest_mapping(df, people)
    assert fmap.mapping == {"Field1": "emails.primaryEmail", "": "phones.primaryPhoneNumber"}
    decided = {s.column: s for s in fmap.suggestions}
    assert "dates" in decided["Column 7"].reason
    assert decided["Field1"].confidence == CONFIDENCE["values"]
    assert "emails" in decided["Field1"].reason
    assert decided["Lead Source"].status == "unmapped"


def test_a_header_is_refused_when_its_values_are_another_kind(schema):
    people = schema.object("people")
    dates = ["2024-05-01", "2024-05-02", "2023-12-31", "2024-01-15"]
    fmap = suggest_mapping(pd.DataFrame({"Phone": dates, "Email": dates}), people)
    assert fmap.mapping == {}
    for suggestion in fmap.suggestions:
        assert suggestion.status == "unmapped" and "dates" in suggestion.reason
    revenue = pd.DataFrame({"AnnualRevenue": ["132471000", "4241176000", "98765", "1200"]})
    companies = suggest_mapping(revenue, schema.object("companies"))
    assert companies.mapping == {"AnnualRevenue": "annualRecurringRevenue.amountMicros"}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("2024-05-01", "date"),
        ("2024-05-01T10:30:00Z", "date"),
        ("05/01/2024", "date"),
        ("December 17, 2023", "date"),
        ("+1 415 555 2671", "phone"),
        ("(212) 555-0158", "phone"),
        ("132471000", "number"),
        ("4,241,176,000.00", "number"),
        ("jane@x.com", "email"),
        ("https://acme.com", "url"),
        ("acme.com", "url"),
        ("Acme Inc.", "text"),
    ],
)
def test_value_kinds_do_not_overlap(value, kind):
    assert value_kind(value) == kind


def test_review_lists_the_least_sure_first(schema):
    df = frame(
        ["Record ID", "First Name", "Email", "Shoe Size"],
        **{"Column 9": ["a@x.com", "b@y.org", "c@z.io", "d@w.net"]},
    )
    fmap = suggest_mapping(df, schema.object("people"))
    review = fmap.review()
    assert list(review.columns) == ["column", "status", "path", "confidence", "reason"]
    assert review["confidence"].is_monotonic_increasing
    assert review["column"].iloc[0] == "Shoe Size"  # nothing matched: look first
    assert review["column"].iloc[1] == "Column 9"  # judged by its values alone
    assert review.loc[review["column"] == "Column 9", "path"].item() == ("emails.additionalEmails")
    assert review["column"].iloc[-1] in ("Record ID", "First Name", "Email")
    assert review.loc[review["column"] == "Record ID", "status"].item() == "source_id"


def test_field_map_json_keeps_reasons_and_reads_old_files(tmp_path, schema):
    fmap = suggest_mapping(
        frame(["Id", "Name", "StageName", "Region__c"]), schema.object("opportunities")
    )
    path = fmap.save(tmp_path / "opps.json")
    loaded = FieldMap.load(path)
    assert loaded == fmap and loaded.source_id == "Id"
    assert {s.column for s in loaded.suggestions} == {"Id", "Name", "StageName", "Region__c"}
    old = {
        "format": "twenty_migrate.mapping",
        "version": 1,
        "object": "opportunities",
        "mapping": {"Name": "name"},
        "transforms": {},
        "notes": [],
    }
    old_path = tmp_path / "old.json"
    old_path.write_text(json.dumps(old))
    read = FieldMap.load(old_path)
    assert read.source_id is None and read.suggestions == () and read.mapping == {"Name": "name"}
    edited = loaded.with_column("Region__c", "name").without("Name")
    by_column = {s.column: s for s in edited.suggestions}
    assert by_column["Region__c"] == Suggestion("Region__c", "name", "set by hand", 1.0)
    assert by_column["Name"].status == "unmapped"
    assert edited.with_source_id(None).source_id is None
    with pytest.raises(MappingError, match="source id column"):
        FieldMap("people", {"Id": "jobTitle"}, source_id="Id")


def test_duplicate_headers_stay_unmapped_with_a_reason(schema):
    df = pd.DataFrame(
        {
            "Email": ["a@x.com", "b@y.org", "c@z.io"],
            "Email (2)": ["a2@x.com", "b2@y.org", "c2@z.io"],
            "Phone": ["+1 415 555 2671", "+1 415 555 2672", "+1 415 555 2673"],
        }
    )
    df.attrs["duplicate_headers"] = {"Email (2)": "Email"}
    fmap = suggest_mapping(df, schema.object("people"))
    assert fmap.mapping == {"Email": "emails.primaryEmail", "Phone": "phones.primaryPhoneNumber"}
    copy = next(s for s in fmap.suggestions if s.column == "Email (2)")
    assert copy.status == "unmapped" and "second column headed 'Email'" in copy.reason
    undeclared = suggest_mapping(
        df.rename(columns={"Email (2)": "Phone (2)"}).drop(columns="Email"), schema.object("people")
    )
    assert "Phone (2)" not in undeclared.mapping


def test_custom_field_names():
    assert custom_field_name("Region__c") == ("region", "Region")
    assert custom_field_name("Customer_Tier__c") == ("customerTier", "Customer Tier")
    assert custom_field_name("NPS_Score__c") == ("npsScore", "NPS Score")
    assert custom_field_name("2024_Budget__c") == ("field2024Budget", "2024 Budget")


def test_stage_options_per_vendor():
    vendor, labels = stage_options(
        ["Prospecting", "Closed Won", "closed won", "Negotiation/Review"]
    )
    assert vendor == "salesforce"
    assert labels["Proposal/Price Quote"] == "PROPOSAL_PRICE_QUOTE"
    assert labels["Id. Decision Makers"] == "ID_DECISION_MAKERS"
    assert len(set(labels.values())) == len(DEFAULT_STAGES["salesforce"])
    vendor, labels = stage_options(["appointmentscheduled", "closedwon", "contractsent"])
    assert vendor == "hubspot"
    assert labels["appointmentscheduled"] == labels["Appointment scheduled"]
    assert labels["decisionmakerboughtin"] == "DECISION_MAKER_BOUGHT_IN"
    vendor, labels = stage_options(["Lead In", "Demo Scheduled", "Proposal Made"])
    assert vendor == "pipedrive" and labels["Negotiations Started"] == "NEGOTIATIONS_STARTED"
    assert stage_options(["Hot", "Cold", "Closed Won"]) == (None, {})


def test_vendor_lookup_prefers_the_detected_vendor():
    assert vendor_field("Account Name", "people").paths == ("_ref.companyId",)  # type: ignore[union-attr]
    assert vendor_field("Account Name", "companies").paths == ("name",)  # type: ignore[union-attr]
    assert vendor_field("Company Name", "companies", "hubspot").vendor == "hubspot"  # type: ignore[union-attr]
    assert vendor_field("Shoe Size", "people") is None
    assert detect_vendor(["Name", "Email"]) is None


def test_stages_and_custom_fields_go_through_preflight(client, twenty_version):
    schema = fetch_schema(client)
    opportunities = schema.object("opportunities")
    df = pd.DataFrame(
        {
            "Id": ["0065g00000AAA01", "0065g00000AAA02", "0065g00000AAA03"],
            "Name": ["Big deal", "Small deal", "Lost deal"],
            "StageName": ["Prospecting", "Closed Won", "Closed Lost"],
            "Region__c": ["EMEA", "APAC", "EMEA"],
        }
    )
    fmap = suggest_mapping(df, opportunities)
    assert fmap.mapping == {"Name": "name", "StageName": "stage"}
    stage = next(s for s in fmap.suggestions if s.column == "StageName")
    assert stage.options["Closed Won"] == "CLOSED_WON" and "Salesforce" in stage.reason
    report = preflight(schema, [fmap])
    missing = {(i.kind, i.field, i.detail) for i in report.items}
    assert ("field", "region", "TEXT") in missing
    assert ("option", "stage", "PROSPECTING") in missing
    assert ("option", "stage", "NEGOTIATION_REVIEW") in missing  # the whole pipeline
    schema = report.apply(client)
    opportunities = schema.object("opportunities")
    again = suggest_mapping(df, opportunities)
    assert again.mapping == {"Name": "name", "StageName": "stage", "Region__c": "region"}
    assert again.transforms["stage"]["Closed Won"] == "CLOSED_WON"
    assert preflight(schema, [again]).ok
    mapped = again.apply(df, opportunities)
    assert mapped.data["stage"].tolist() == ["PROSPECTING", "CLOSED_WON", "CLOSED_LOST"]
    assert mapped.data["region"].tolist() == ["EMEA", "APAC", "EMEA"]
    assert mapped.problems.empty
