"""How well the mapping suggestion alone does on each vendor's real export headers.

For every header list below (as Salesforce, HubSpot and Pipedrive export them), the
suggestion runs on a few plausible rows, and each column is compared with where a person
who knows both systems would put it:

* right: the suggestion names that target (a path, the source id, "leave it out", or a
  custom field to create);
* wrong: it names another target (or maps a column that should stay out);
* missed: it leaves out a column that has a place.

A target the field map cannot apply yet (a reference by the source system's id,
``_sourceref.*``, or activity targets) counts as right when the suggestion names it, and
is also counted under ``pending`` (named, not in the map).

Run from the repository root: ``python benchmarks/vendor_mapping.py``. One line per
header list, then ``total right=R wrong=W missed=M pending=P of N``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import twenty_migrate as tm
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile

OWN, OUT = "(source id)", "(out)"

# What a person would map: path, OWN, OUT (no place in Twenty), or "create:<field>".
TRUTH: list[tuple[str, str, dict[str, str]]] = [
    ("Salesforce Account (Data Loader)", "companies", {
        "Id": OWN, "Name": "name", "Type": OUT, "ParentId": OUT, "BillingStreet":
        "address.addressStreet1", "BillingCity": "address.addressCity", "BillingState":
        "address.addressState", "BillingPostalCode": "address.addressPostcode",
        "BillingCountry": "address.addressCountry", "Phone": OUT, "Fax": OUT,
        "Website": "domainName.primaryLinkUrl", "Industry": OUT,
        "AnnualRevenue": "annualRecurringRevenue.amountMicros",
        "NumberOfEmployees": "employees", "OwnerId": "_ref.accountOwnerId",
        "CreatedDate": OUT, "LastModifiedDate": OUT, "Region__c": "create:region",
        "Customer_Tier__c": "create:customerTier",
    }),
    ("Salesforce Contact (report)", "people", {
        "Contact ID": OWN, "Account ID": "_sourceref.companyId", "First Name":
        "name.firstName", "Last Name": "name.lastName", "Account Name": "_ref.companyId",
        "Title": "jobTitle", "Email": "emails.primaryEmail", "Phone":
        "phones.primaryPhoneNumber", "Mobile": "phones.additionalPhones",
        "Mailing Street": OUT, "Mailing City": "city", "Mailing Country": OUT,
        "Contact Owner": OUT, "Lead Source": OUT, "Created Date": OUT,
    }),
    ("Salesforce Lead (Data Loader)", "people", {
        "Id": OWN, "FirstName": "name.firstName", "LastName": "name.lastName",
        "Company": "_ref.companyId", "Title": "jobTitle", "Email": "emails.primaryEmail",
        "Phone": "phones.primaryPhoneNumber", "MobilePhone": "phones.additionalPhones",
        "City": "city", "Status": OUT, "LeadSource": OUT, "OwnerId": OUT,
    }),
    ("Salesforce Opportunity (Data Loader)", "opportunities", {
        "Id": OWN, "AccountId": "_sourceref.companyId", "Name": "name",
        "StageName": "stage", "Amount": "amount.amountMicros", "CloseDate": "closeDate",
        "Probability": OUT, "Type": OUT, "LeadSource": OUT, "OwnerId": "_ref.ownerId",
        "CurrencyIsoCode": "amount.currencyCode", "CreatedDate": OUT,
    }),
    ("Salesforce Task (Data Loader)", "tasks", {
        "Id": OWN, "WhoId": "_sourceref.targets", "WhatId": "_sourceref.targets",
        "Subject": "title", "ActivityDate": "dueAt", "Status": "status",
        "Priority": OUT, "OwnerId": "_ref.assigneeId", "Description": "bodyV2.markdown",
    }),
    ("Salesforce Event (Data Loader)", "tasks", {
        "Id": OWN, "Subject": "title", "StartDateTime": "dueAt", "EndDateTime": OUT,
        "Location": OUT, "Description": "bodyV2.markdown", "OwnerId": "_ref.assigneeId",
        "WhatId": "_sourceref.targets",
    }),
    ("Salesforce Note (Data Loader)", "notes", {
        "Id": OWN, "ParentId": "_sourceref.targets", "Title": "title",
        "Body": "bodyV2.markdown", "OwnerId": OUT,
    }),
    ("HubSpot contacts", "people", {
        "Record ID": OWN, "First Name": "name.firstName", "Last Name": "name.lastName",
        "Email": "emails.primaryEmail", "Phone Number": "phones.primaryPhoneNumber",
        "Mobile Phone Number": "phones.additionalPhones", "Job Title": "jobTitle",
        "Company Name": "_ref.companyId", "Associated Company ID": "_sourceref.companyId",
        "Contact Owner": OUT, "City": "city", "State/Region": OUT, "Country/Region": OUT,
        "Lifecycle Stage": OUT, "Lead Status": OUT, "Create Date": OUT,
        "Last Activity Date": OUT, "Marketing contact status": OUT,
    }),
    ("HubSpot companies", "companies", {
        "Record ID": OWN, "Company Name": "name", "Company Domain Name":
        "domainName.primaryLinkUrl", "Website URL": "domainName.secondaryLinks",
        "Phone Number": OUT, "Street Address": "address.addressStreet1", "City":
        "address.addressCity", "State/Region": "address.addressState", "Postal Code":
        "address.addressPostcode", "Country/Region": "address.addressCountry",
        "Industry": OUT, "Number of Employees": "employees", "Annual Revenue":
        "annualRecurringRevenue.amountMicros", "LinkedIn Company Page":
        "linkedinLink.primaryLinkUrl", "Company Owner": "_ref.accountOwnerId",
        "Create Date": OUT,
    }),
    ("HubSpot deals", "opportunities", {
        "Record ID": OWN, "Deal Name": "name", "Deal Stage": "stage", "Pipeline": OUT,
        "Amount": "amount.amountMicros", "Close Date": "closeDate",
        "Deal Owner": "_ref.ownerId", "Associated Company Domain": "_ref.companyId",
        "Associated Company": OUT, "Associated Contact Email": "_ref.pointOfContactId",
        "Deal Type": OUT, "Create Date": OUT,
    }),
    ("HubSpot activities", "tasks", {
        "Record ID": OWN, "Activity Type": OUT, "Task Title": "title",
        "Call Title": "title", "Meeting Title": "title", "Task Due Date": "dueAt",
        "Notes/Description": "bodyV2.markdown", "Task Status": "status",
        "Activity Owner": "_ref.assigneeId", "Associated Contact Email": "_ref.targets",
        "Associated Company ID": "_sourceref.targets",
    }),
    ("HubSpot notes", "notes", {
        "Record ID": OWN, "Notes/Description": "bodyV2.markdown", "Activity Owner": OUT,
        "Associated Contact ID": "_sourceref.targets", "Create Date": OUT,
    }),
    ("Pipedrive organizations", "companies", {
        "Organization - ID": OWN, "Organization - Name": "name",
        "Organization - Owner": "_ref.accountOwnerId",
        "Organization - Address - Street/road name": "address.addressStreet1",
        "Organization - Address - City/town": "address.addressCity",
        "Organization - Address - Country": "address.addressCountry",
        "Organization - Label": OUT, "Organization - People": OUT,
        "Organization - Organization created": OUT,
    }),
    ("Pipedrive persons", "people", {
        "Person - ID": OWN, "Person - Name": "name", "Person - First name":
        "name.firstName", "Person - Last name": "name.lastName",
        "Person - Email - Work": "emails.primaryEmail",
        "Person - Email - Home": "emails.additionalEmails",
        "Person - Phone - Work": "phones.primaryPhoneNumber",
        "Person - Phone - Mobile": "phones.additionalPhones",
        "Person - Organization": "_ref.companyId", "Organization - ID":
        "_sourceref.companyId", "Person - Owner": OUT, "Person - Label": OUT,
        "Person - Job title": "jobTitle",
    }),
    ("Pipedrive deals", "opportunities", {
        "Deal - ID": OWN, "Deal - Title": "name", "Deal - Value": "amount.amountMicros",
        "Deal - Currency": "amount.currencyCode", "Deal - Stage": "stage",
        "Deal - Expected close date": "closeDate", "Deal - Owner": "_ref.ownerId",
        "Deal - Status": OUT, "Deal - Pipeline": OUT, "Organization - Name":
        "_ref.companyId", "Organization - ID": "_sourceref.companyId",
        "Person - Name": OUT, "Person - Email": "_ref.pointOfContactId",
        "Person - ID": "_sourceref.pointOfContactId", "Deal - Deal created": OUT,
    }),
    ("Pipedrive activities", "tasks", {
        "Activity - ID": OWN, "Activity - Subject": "title", "Activity - Type": OUT,
        "Activity - Due date": "dueAt", "Activity - Note": "bodyV2.markdown",
        "Activity - Assigned to user": "_ref.assigneeId", "Activity - Done": OUT,
        "Deal - ID": "_sourceref.targets",
    }),
]  # fmt: skip


def _value(header: str, i: int) -> str:
    key = header.lower()
    if "email" in key:
        return f"person{i}@example.com"
    if "phone" in key:
        return f"+1 415 555 01{i:02d}"
    if any(w in key for w in ("date", "start", "created", "time")):
        return f"2024-05-{i + 1:02d}"
    if key in ("id", "ownerid") or key.endswith("id"):
        return f"0015g00000Abc{i:02d}XYZ"
    if any(w in key for w in ("amount", "value", "revenue", "employees", "probability")):
        return str(1000 * (i + 1))
    if any(w in key for w in ("website", "domain")):
        return f"acme{i}.com"
    return f"text {i}"


def _named(suggestion: Any) -> str:
    if suggestion.status == "source_id":
        return OWN
    if suggestion.status == "create":
        return f"create:{suggestion.path.split('.')[0]}"
    if suggestion.status == "mapped" or (
        suggestion.path and suggestion.path.startswith(("_sourceref.", "_ref.targets"))
    ):
        return str(suggestion.path)
    return OUT


def main() -> None:
    registry = standard_registry(sandbox_profile("2.4x"))
    schema = tm.WorkspaceSchema.from_metadata([obj.to_api() for obj in registry.objects()])
    totals = {"right": 0, "wrong": 0, "missed": 0, "pending": 0, "columns": 0}
    for name, object_name, truth in TRUTH:
        df = pd.DataFrame({h: [_value(h, i) for i in range(4)] for h in truth})
        fmap = tm.suggest_mapping(df, schema.object(object_name))
        named = {s.column: s for s in fmap.suggestions}
        counts = dict.fromkeys(totals, 0)
        misses = []
        for column, target in truth.items():
            got = _named(named[column])
            counts["columns"] += 1
            if got == target:
                counts["right"] += 1
                if column not in fmap.mapping and target.startswith(("_sourceref.", "_ref.t")):
                    counts["pending"] += 1
            elif got == OUT:
                counts["missed"] += 1
                misses.append(f"{column!r} missed ({target})")
            else:
                counts["wrong"] += 1
                misses.append(f"{column!r} -> {got}, not {target}")
        for key, value in counts.items():
            totals[key] += value
        print(
            f"{name}: right={counts['right']} wrong={counts['wrong']} "
            f"missed={counts['missed']} pending={counts['pending']} of {counts['columns']}"
            + (f"  [{'; '.join(misses)}]" if misses else "")
        )
    print(
        f"total right={totals['right']} wrong={totals['wrong']} missed={totals['missed']} "
        f"pending={totals['pending']} of {totals['columns']}"
    )


if __name__ == "__main__":
    main()
