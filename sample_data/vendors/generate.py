"""Small exports shaped as Salesforce, HubSpot and Pipedrive write them, and their answer key.

The files use each vendor's real export headers (Salesforce API names as Data Loader and the
weekly Data Export write them, HubSpot's property labels, Pipedrive's ``Entity - Field``
labels) and the mess real exports carry: 15-character Salesforce ids in some references,
``555`` phone numbers, blank optional cells, a few bad emails in optional columns, and a few
references to records that were not exported. Everything is invented.

``truth.json`` is written with the data: for each file its Twenty object, the right target of
every column (see README.md), the expected number of records, relations and owners, and the
references broken on purpose. ``users.csv`` maps the source systems' users to the members of
the Twenty workspace.

Deterministic (fixed seed, no clock, no ``set`` iteration), standard library only::

    python sample_data/vendors/generate.py              # writes next to this script
    python sample_data/vendors/generate.py --out /tmp/x # writes somewhere else
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SEED = 20240301
HERE = Path(__file__).resolve().parent

# The Twenty workspace's members, and the source systems' users who are not members.
MEMBERS = [
    ("Jane", "Cooper"),
    ("Marcus", "Lee"),
    ("Priya", "Raman"),
    ("Tom", "Becker"),
    ("Sofia", "Rossi"),
]
FORMER_USERS = [("Derek", "Olsen"), ("Integration", "User")]
MEMBER_DOMAIN = "fernhill.io"

FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Chloé", "Mateo",
    "Zoë", "Jonas", "Aisha", "Kenji", "Ingrid", "Rahul", "Fatima", "Pierre", "Søren", "Lena",
    "Diego", "Hannah", "Omar", "Grace", "Felix", "Nadia", "Oscar", "Yuki", "Elena", "Samuel",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "García", "Müller", "Nguyen", "O'Brien", "Kowalski", "Rossi", "Dubois", "Tanaka",
    "Johnson", "Silva", "Andersen", "Patel", "Schmidt", "Brown", "Moreau", "Novak", "Larsen",
    "Fischer", "Walker", "Khan", "Lopez", "Berg", "Martin", "Hughes", "Costa", "Weber", "Ito",
]  # fmt: skip
COMPANY_WORDS = [
    "Acme", "Bluefin", "Cobalt", "Driftwood", "Evergreen", "Foxglove", "Granite", "Harbor",
    "Ironwood", "Juniper", "Keystone", "Lumen", "Meridian", "Northwind", "Orchid", "Polaris",
    "Quarry", "Redwood", "Sable", "Tidewater", "Umber", "Vantage", "Willow", "Zephyr",
    "Aster", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Glacier", "Helix",
]  # fmt: skip
COMPANY_KINDS = ["Software", "Logistics", "Health", "Retail", "Analytics", "Robotics", "Labs"]
SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "S.A.", ""]
# City, state, postal code, country, phone calling code (555 numbers are fictional in NANP).
PLACES = [
    ("San Francisco", "CA", "94105", "United States", "+1"),
    ("Boston", "MA", "02110", "United States", "+1"),
    ("Austin", "TX", "78701", "United States", "+1"),
    ("New York", "NY", "10013", "United States", "+1"),
    ("Toronto", "ON", "M5V 2T6", "Canada", "+1"),
    ("London", "", "EC2A 4NE", "United Kingdom", "+44"),
    ("Berlin", "", "10115", "Germany", "+49"),
    ("Paris", "", "75002", "France", "+33"),
]
STREETS = ["Market St", "Main St", "Harbor Way", "King St W", "Old Street", "Friedrichstraße"]
JOB_TITLES = [
    "VP Sales", "Head of Operations", "CFO", "Account Manager", "CTO", "Office Manager",
    "Procurement Lead", "Marketing Director", "", "Engineer",
]  # fmt: skip
OPPORTUNITY_KINDS = ["Renewal", "Expansion", "New Business", "Pilot"]
DEAL_KINDS = ["Annual plan", "Upsell", "Pilot"]
BAD_EMAILS = ["n/a", "{local}@{domain_root}", "{local} @{domain}", "{local}@@{domain}"]

# --------------------------------------------------------------------------------------------
# Salesforce ids
# --------------------------------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_18(id15: str) -> str:
    """The 18-character form: each 5-character chunk adds one letter encoding which of its
    characters are upper case, so the id survives case-insensitive systems."""
    if len(id15) != 15:
        raise ValueError(f"a 15-character Salesforce id is needed, not {id15!r}")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def salesforce_ids(rng: random.Random, prefix: str, count: int) -> list[str]:
    """``count`` distinct 18-character ids with the object's key prefix (``001`` Account...)."""
    ids: list[str] = []
    seen: dict[str, None] = {}
    while len(ids) < count:
        body = "".join(rng.choice(_BASE62) for _ in range(7))
        id15 = f"{prefix}5g000{body}"
        if id15.lower() in seen:  # keep ids distinct even case-insensitively
            continue
        seen[id15.lower()] = None
        ids.append(salesforce_18(id15))
    return ids


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def ascii_slug(text: str) -> str:
    table = str.maketrans("éöüøçñçë'’", "eouocnce  ")
    return "".join(ch for ch in text.lower().translate(table) if ch.isalnum())


def phone_555(rng: random.Random, calling_code: str) -> str:
    """A fictional number in one of the shapes exports hold: NANP ``555-01xx``, or the
    ranges the UK, Germany and France set aside for drama."""
    line = f"{rng.randrange(100):02d}"
    if calling_code == "+1":
        area = rng.choice(["415", "617", "512", "212", "416"])
        return rng.choice(
            [f"({area}) 555-01{line}", f"+1 {area} 555 01{line}", f"{area}-555-01{line}",
             f"+1{area}55501{line}", f"{area}.555.01{line} x{rng.randrange(10, 99)}"]
        )  # fmt: skip
    national = {
        "+44": f"20 7946 09{line}",
        "+49": f"30 23125 4{line}",
        "+33": f"1 99 00 12 {line}",
    }[calling_code]
    return rng.choice(
        [f"{calling_code} {national}", f"0{national}", f"{calling_code} (0){national}"]
    )


def person_email(first: str, last: str, domain: str) -> str:
    return f"{ascii_slug(first)}.{ascii_slug(last)}@{domain}"


def spoil_email(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    pattern = rng.choice(BAD_EMAILS)
    return pattern.format(local=local, domain=domain, domain_root=domain.rsplit(".", 1)[0])


class World:
    """The companies and people all three vendors' exports are drawn from."""

    def __init__(self, rng: random.Random, companies: int, people: int) -> None:
        names: list[str] = []
        while len(names) < companies:
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            if name not in names:
                names.append(name)
        self.companies: list[dict[str, str]] = []
        for name in names:
            suffix = rng.choice(SUFFIXES)
            city, state, postcode, country, code = rng.choice(PLACES)
            self.companies.append(
                {
                    "name": f"{name} {suffix}".strip(),
                    "domain": f"{ascii_slug(name)}.com",
                    "city": city,
                    "state": state,
                    "postcode": postcode,
                    "country": country,
                    "calling_code": code,
                    "street": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
                    "employees": str(rng.choice([12, 45, 80, 150, 320, 1200, 5400])),
                    "revenue": str(rng.choice([250_000, 1_200_000, 4_500_000, 18_000_000])),
                }
            )
        self.people: list[dict[str, Any]] = []
        pairs: list[tuple[str, str]] = []
        while len(pairs) < people:
            pair = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            if pair not in pairs:
                pairs.append(pair)
        for first, last in pairs:
            company = rng.randrange(companies)
            self.people.append(
                {
                    "first": first,
                    "last": last,
                    "company": company,
                    "email": person_email(first, last, self.companies[company]["domain"]),
                    "title": rng.choice(JOB_TITLES),
                }
            )


def datetime_text(rng: random.Random, *, year: int = 2023) -> tuple[str, str, str]:
    """One moment as (ISO date, ``YYYY-MM-DD HH:MM`` and Salesforce ``...T..:..:...000Z``)."""
    month, day = rng.randrange(1, 13), rng.randrange(1, 29)
    hour, minute = rng.randrange(7, 19), rng.randrange(60)
    date = f"{year}-{month:02d}-{day:02d}"
    return date, f"{date} {hour:02d}:{minute:02d}", f"{date}T{hour:02d}:{minute:02d}:00.000Z"


def owner_index(rng: random.Random) -> int:
    """An owner: a member most of the time, now and then a former user (index >= 5)."""
    if rng.random() < 0.12:
        return rng.choice([5, 6])
    return rng.randrange(len(MEMBERS))


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


class Export:
    """One file being written: its rows, plus the counts the answer key needs."""

    def __init__(self, name: str, columns: Sequence[str], *, quote_all: bool = False) -> None:
        self.name = name
        self.columns = list(columns)
        self.rows: list[dict[str, str]] = []
        self.quote_all = quote_all
        self.relations = 0
        self.owners = 0
        self.broken: dict[str, int] = {}

    def add(self, row: dict[str, str]) -> None:
        missing = [c for c in self.columns if c not in row] + [
            c for c in row if c not in self.columns
        ]
        if missing:
            raise ValueError(f"{self.name}: columns {missing} do not match the layout")
        self.rows.append(row)

    def broke(self, column: str) -> None:
        self.broken[column] = self.broken.get(column, 0) + 1

    def text(self) -> str:
        out = io.StringIO()
        quoting = csv.QUOTE_ALL if self.quote_all else csv.QUOTE_MINIMAL
        writer = csv.DictWriter(out, self.columns, quoting=quoting, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()


def short_id(rng: random.Random, id18: str, share: float) -> str:
    """Some references hold the 15-character id (reports and formula fields write them)."""
    return id18[:15] if rng.random() < share else id18


def salesforce(rng: random.Random, world: World) -> list[Export]:
    users = Export("salesforce/User.csv", ["Id", "Email", "FirstName", "LastName"], quote_all=True)
    user_ids = salesforce_ids(rng, "005", len(MEMBERS) + len(FORMER_USERS))
    for uid, (first, last) in zip(user_ids, [*MEMBERS, *FORMER_USERS], strict=True):
        domain = MEMBER_DOMAIN if first != "Integration" else "fernhill.io.invalid"
        users.add(
            {
                "Id": uid,
                "Email": person_email(first, last, domain),
                "FirstName": first,
                "LastName": last,
            }
        )

    def owner(export: Export | None) -> str:
        index = owner_index(rng)
        if index < len(MEMBERS) and export is not None:
            export.owners += 1
        return short_id(rng, user_ids[index], 0.1)

    accounts = Export(
        "salesforce/Account.csv",
        [
            "Id", "Name", "Type", "Industry", "BillingStreet", "BillingCity", "BillingState",
            "BillingPostalCode", "BillingCountry", "Phone", "Website", "NumberOfEmployees",
            "AnnualRevenue", "OwnerId", "CreatedDate", "Region__c",
        ],
        quote_all=True,
    )  # fmt: skip
    n_accounts = 30
    account_ids = salesforce_ids(rng, "001", n_accounts + 2)  # two deleted before the export
    deleted_accounts = account_ids[n_accounts:]
    for i in range(n_accounts):
        c = world.companies[i]
        street = (
            c["street"]
            if rng.random() < 0.85
            else f"{c['street']}\nSuite {rng.randrange(100, 900)}"
        )
        website = rng.choice(
            [f"www.{c['domain']}", f"https://{c['domain']}", f"http://www.{c['domain']}/", ""]
        )
        accounts.add(
            {
                "Id": account_ids[i],
                "Name": c["name"],
                "Type": rng.choice(
                    ["Customer - Direct", "Customer - Channel", "Prospect", "Partner", ""]
                ),
                "Industry": rng.choice(
                    ["Technology", "Healthcare", "Retail", "Manufacturing", "Banking", ""]
                ),
                "BillingStreet": street,
                "BillingCity": c["city"],
                "BillingState": c["state"],
                "BillingPostalCode": c["postcode"],
                "BillingCountry": c["country"],
                "Phone": phone_555(rng, c["calling_code"]) if rng.random() < 0.8 else "",
                "Website": website,
                "NumberOfEmployees": c["employees"] if rng.random() < 0.8 else "",
                "AnnualRevenue": c["revenue"] if rng.random() < 0.7 else "",
                "OwnerId": owner(accounts),
                "CreatedDate": datetime_text(rng, year=2022)[2],
                "Region__c": rng.choice(["EMEA", "NA", "APAC", ""]),
            }
        )

    contacts = Export(
        "salesforce/Contact.csv",
        [
            "Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title",
            "MailingCity", "MailingCountry", "OwnerId",
        ],
        quote_all=True,
    )  # fmt: skip
    n_contacts = 60
    contact_ids = salesforce_ids(rng, "003", n_contacts)
    people = [p for p in world.people if p["company"] < n_accounts][:n_contacts]
    for i, (cid, p) in enumerate(zip(contact_ids, people, strict=True)):
        c = world.companies[p["company"]]
        if i in (7, 33):  # the account was deleted before the export
            account = deleted_accounts[i % 2]
            contacts.broke("AccountId")
        elif i in (12, 41, 55):  # a private contact, with no account
            account = ""
        else:
            account = short_id(rng, account_ids[p["company"]], 0.2)
            contacts.relations += 1
        email = p["email"] if i not in (5, 28, 49) else spoil_email(rng, p["email"])
        contacts.add(
            {
                "Id": cid,
                "AccountId": account,
                "FirstName": p["first"],
                "LastName": p["last"],
                "Email": email if rng.random() < 0.95 else "",
                "Phone": phone_555(rng, c["calling_code"]) if rng.random() < 0.7 else "",
                "MobilePhone": phone_555(rng, c["calling_code"]) if rng.random() < 0.3 else "",
                "Title": p["title"],
                "MailingCity": c["city"] if rng.random() < 0.8 else "",
                "MailingCountry": c["country"] if rng.random() < 0.8 else "",
                "OwnerId": owner(None),  # people have no owner in Twenty
            }
        )

    opportunities = Export(
        "salesforce/Opportunity.csv",
        ["Id", "AccountId", "Name", "StageName", "Amount", "CloseDate", "Probability", "OwnerId"],
        quote_all=True,
    )
    stages = [
        ("Prospecting", "10"), ("Qualification", "10"), ("Needs Analysis", "20"),
        ("Value Proposition", "50"), ("Proposal/Price Quote", "75"), ("Negotiation/Review", "90"),
        ("Closed Won", "100"), ("Closed Lost", "0"),
    ]  # fmt: skip
    n_opportunities = 40
    opportunity_ids = salesforce_ids(rng, "006", n_opportunities)
    for i, oid in enumerate(opportunity_ids):
        company = rng.randrange(n_accounts)
        if i == 17:
            account = deleted_accounts[0]
            opportunities.broke("AccountId")
        else:
            account = short_id(rng, account_ids[company], 0.15)
            opportunities.relations += 1
        stage, probability = rng.choice(stages)
        opportunities.add(
            {
                "Id": oid,
                "AccountId": account,
                "Name": f"{world.companies[company]['name']} - {rng.choice(OPPORTUNITY_KINDS)}",
                "StageName": stage,
                "Amount": str(rng.choice([5000, 12500, 48000, 120000, 250000]))
                if rng.random() < 0.9
                else "",
                "CloseDate": datetime_text(rng, year=2024)[0],
                "Probability": probability,
                "OwnerId": owner(opportunities),
            }
        )

    tasks = Export(
        "salesforce/Task.csv",
        [
            "Id", "WhoId", "WhatId", "Subject", "ActivityDate", "Status", "Priority",
            "Description", "OwnerId", "TaskSubtype",
        ],
        quote_all=True,
    )  # fmt: skip
    lead_ids = salesforce_ids(rng, "00Q", 1)  # a lead: leads were not exported
    task_ids = salesforce_ids(rng, "00T", 50)
    deleted_opportunity = salesforce_ids(rng, "006", n_opportunities + 1)[-1]
    for i, tid in enumerate(task_ids):
        who = what = ""
        if i == 9:
            who = lead_ids[0]
            tasks.broke("WhoId")
        elif rng.random() < 0.7:
            who = short_id(rng, rng.choice(contact_ids), 0.2)
            tasks.relations += 1
        if i == 21:
            what = deleted_opportunity
            tasks.broke("WhatId")
        elif rng.random() < 0.75:
            pool = account_ids[:n_accounts] if rng.random() < 0.5 else opportunity_ids
            what = short_id(rng, rng.choice(pool), 0.2)
            tasks.relations += 1
        subtype, subject = rng.choice(
            [("Call", "Call"), ("Email", "Email: pricing follow-up"), ("Task", "Send quote"),
             ("Task", "Prepare renewal deck"), ("Call", "Discovery call"), ("Task", "")]
        )  # fmt: skip
        description = rng.choice(
            [
                "",
                "Left a voicemail.",
                "Discussed pricing.\nThey want a 3-year deal.",
                "Agenda:\n- demo\n- next steps",
            ]
        )
        status = rng.choice(
            [
                "Not Started",
                "In Progress",
                "Completed",
                "Completed",
                "Waiting on someone else",
                "Deferred",
            ]
        )
        tasks.add(
            {
                "Id": tid,
                "WhoId": who,
                "WhatId": what,
                "Subject": subject,
                "ActivityDate": datetime_text(rng, year=2024)[0] if rng.random() < 0.8 else "",
                "Status": status,
                "Priority": rng.choice(["High", "Normal", "Normal", "Low"]),
                "Description": description,
                "OwnerId": owner(tasks),
                "TaskSubtype": subtype,
            }
        )
    return [accounts, contacts, opportunities, tasks, users]


def hubspot_ids(rng: random.Random, count: int, digits: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        value = str(rng.randrange(10 ** (digits - 1), 10**digits))
        if value not in ids:
            ids.append(value)
    return ids


def member_name(index: int) -> str:
    first, last = [*MEMBERS, *FORMER_USERS][index]
    return f"{first} {last}"


def hubspot(rng: random.Random, world: World) -> list[Export]:
    def owner(export: Export | None) -> str:
        if rng.random() < 0.1:
            return ""
        index = owner_index(rng)
        if index < len(MEMBERS) and export is not None:
            export.owners += 1
        return member_name(index)

    member_names = [member_name(i) for i in range(len(MEMBERS))]
    companies = Export(
        "hubspot/hubspot-companies.csv",
        [
            "Record ID", "Company name", "Company Domain Name", "Phone Number", "City",
            "State/Region", "Country/Region", "Industry", "Number of Employees",
            "Annual Revenue", "Company owner", "Create Date",
        ],
    )  # fmt: skip
    first, n_companies = 30, 25  # a client's HubSpot holds a different slice of the world
    company_ids = hubspot_ids(rng, n_companies + 1, 10)
    missing_company = company_ids[n_companies]
    for i in range(n_companies):
        c = world.companies[first + i]
        companies.add(
            {
                "Record ID": company_ids[i],
                "Company name": c["name"],
                "Company Domain Name": c["domain"] if rng.random() < 0.9 else "",
                "Phone Number": phone_555(rng, c["calling_code"]) if rng.random() < 0.7 else "",
                "City": c["city"],
                "State/Region": c["state"],
                "Country/Region": c["country"],
                "Industry": rng.choice(
                    [
                        "Computer Software",
                        "Hospital & Health Care",
                        "Retail",
                        "Logistics and Supply Chain",
                        "",
                    ]
                ),
                "Number of Employees": c["employees"] if rng.random() < 0.8 else "",
                "Annual Revenue": c["revenue"] if rng.random() < 0.6 else "",
                "Company owner": owner(companies),
                "Create Date": datetime_text(rng, year=2022)[1],
            }
        )

    contacts = Export(
        "hubspot/hubspot-contacts.csv",
        [
            "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Job Title", "City",
            "State/Region", "Contact owner", "Create Date", "Associated Company IDs",
            "Associated Company",
        ],
    )  # fmt: skip
    people = [p for p in world.people if first <= p["company"] < first + n_companies][:50]
    contact_ids = hubspot_ids(rng, len(people), 11)
    contact_emails: list[str] = []
    for i, (cid, p) in enumerate(zip(contact_ids, people, strict=True)):
        c = world.companies[p["company"]]
        index = p["company"] - first
        if i == 19:  # the company was deleted in HubSpot after the association
            company_id, company_name = missing_company, ""
            contacts.broke("Associated Company IDs")
        elif i in (4, 37):
            company_id = company_name = ""
        else:
            company_id, company_name = company_ids[index], c["name"]
            contacts.relations += 1
        email = p["email"] if i not in (11, 30) else spoil_email(rng, p["email"])
        contact_emails.append(email)
        contacts.add(
            {
                "Record ID": cid,
                "First Name": p["first"],
                "Last Name": p["last"],
                "Email": email,
                "Phone Number": phone_555(rng, c["calling_code"]) if rng.random() < 0.6 else "",
                "Job Title": p["title"],
                "City": c["city"] if rng.random() < 0.7 else "",
                "State/Region": c["state"],
                "Contact owner": owner(None),
                "Create Date": datetime_text(rng, year=2023)[1],
                "Associated Company IDs": company_id,
                "Associated Company": company_name,
            }
        )

    deals = Export(
        "hubspot/hubspot-deals.csv",
        [
            "Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Pipeline",
            "Deal owner", "Associated Company IDs", "Associated Contact IDs",
        ],
    )  # fmt: skip
    deal_stages = [
        "Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled",
        "Decision Maker Bought-In", "Contract Sent", "Closed Won", "Closed Lost",
    ]  # fmt: skip
    for i, did in enumerate(hubspot_ids(rng, 30, 11)):
        index = rng.randrange(n_companies)
        if i == 8:
            company_id = missing_company
            deals.broke("Associated Company IDs")
        else:
            company_id = company_ids[index]
            deals.relations += 1
        contact = ""
        if rng.random() < 0.7:
            contact = rng.choice(contact_ids)
            deals.relations += 1
        deals.add(
            {
                "Record ID": did,
                "Deal Name": f"{world.companies[first + index]['name']} - {rng.choice(DEAL_KINDS)}",
                "Deal Stage": rng.choice(deal_stages),
                "Amount": str(rng.choice([1500, 9900, 24000, 60000]))
                if rng.random() < 0.85
                else "",
                "Close Date": datetime_text(rng, year=2024)[1],
                "Pipeline": "Sales Pipeline",
                "Deal owner": owner(deals),
                "Associated Company IDs": company_id,
                "Associated Contact IDs": contact,
            }
        )

    activities = Export(
        "hubspot/hubspot-activities.csv",
        [
            "Activity Type", "Call Title", "Meeting Title", "Task Title", "Activity Body",
            "Activity Date", "Task Due Date", "Activity Owner", "Associated Contact Email",
            "Associated Company",
        ],
    )  # fmt: skip
    by_type = {"tasks": 0, "notes": 0}
    owners_by_type = {"tasks": 0, "notes": 0}
    relations_by_type = {"tasks": 0, "notes": 0}
    for i in range(60):
        kind = rng.choice(["Call", "Meeting", "Task", "Task", "Note"])
        obj = "tasks" if kind == "Task" else "notes"
        by_type[obj] += 1
        contact_email = company_name = ""
        if rng.random() < 0.7:
            j = rng.randrange(len(people))
            if contact_emails[j] == people[j]["email"]:
                contact_email = contact_emails[j]
                relations_by_type[obj] += 1
        if i == 44:
            company_name = "Nimbus Freight Ltd"  # never exported
            activities.broke("Associated Company")
        elif rng.random() < 0.5:
            company_name = world.companies[first + rng.randrange(n_companies)]["name"]
            relations_by_type[obj] += 1
        activity_owner = owner(None)
        if kind == "Task" and activity_owner in member_names:
            owners_by_type["tasks"] += 1
        date = datetime_text(rng, year=2024)
        activity = {
            "Activity Type": kind,
            "Call Title": rng.choice(["Intro call", "Pricing call", ""]) if kind == "Call" else "",
            "Meeting Title": rng.choice(["Quarterly review", "Onsite demo"])
            if kind == "Meeting"
            else "",
            "Task Title": rng.choice(["Send contract", "Follow up", "Book demo"])
            if kind == "Task"
            else "",
            "Activity Body": rng.choice(
                [
                    "",
                    "Spoke with the buyer.",
                    "<p>Agreed next steps:</p><ul><li>trial</li></ul>",
                ]
            ),
            "Activity Date": date[1],
            "Task Due Date": date[0] if kind == "Task" and rng.random() < 0.8 else "",
            "Activity Owner": activity_owner,
            "Associated Contact Email": contact_email,
            "Associated Company": company_name,
        }
        titles = ("Call Title", "Meeting Title", "Task Title", "Activity Body")
        if not any(activity[c] for c in titles):  # an empty engagement is no record to keep
            activity["Activity Body"] = (
                "No answer, left a voicemail." if kind == "Call" else "See the thread."
            )
        activities.add(activity)
    activities.relations = sum(relations_by_type.values())
    activities.owners = owners_by_type["tasks"]
    activities.split_counts = {  # type: ignore[attr-defined]
        "records": by_type,
        "relations": relations_by_type,
        "owners": owners_by_type,
    }
    return [companies, contacts, deals, activities]


def pipedrive(rng: random.Random, world: World) -> list[Export]:
    def owner(export: Export | None) -> str:
        index = owner_index(rng)
        if index < len(MEMBERS) and export is not None:
            export.owners += 1
        return member_name(index)

    organizations = Export(
        "pipedrive/pipedrive-organizations.csv",
        [
            "Organization - ID", "Organization - Name", "Organization - Owner",
            "Organization - Address", "Organization - Address - Street/road name",
            "Organization - Address - City/town/village/locality",
            "Organization - Address - ZIP/Postal code", "Organization - Address - Country",
            "Organization - Website", "Organization - Label", "Organization - Add time",
        ],
    )  # fmt: skip
    first, n_orgs = 55, 25
    n_orgs = min(n_orgs, len(world.companies) - first)
    org_ids = [str(100 + 3 * i) for i in range(n_orgs + 1)]
    for i in range(n_orgs):
        c = world.companies[first + i]
        full = f"{c['street']}, {c['postcode']} {c['city']}, {c['country']}"
        organizations.add(
            {
                "Organization - ID": org_ids[i],
                "Organization - Name": c["name"],
                "Organization - Owner": owner(organizations),
                "Organization - Address": full if rng.random() < 0.85 else "",
                "Organization - Address - Street/road name": c["street"],
                "Organization - Address - City/town/village/locality": c["city"],
                "Organization - Address - ZIP/Postal code": c["postcode"],
                "Organization - Address - Country": c["country"],
                "Organization - Website": f"https://www.{c['domain']}"
                if rng.random() < 0.6
                else "",
                "Organization - Label": rng.choice(["Customer", "Hot lead", "Warm lead", ""]),
                "Organization - Add time": datetime_text(rng, year=2023)[1] + ":00",
            }
        )

    people_file = Export(
        "pipedrive/pipedrive-people.csv",
        [
            "Person - ID", "Person - Name", "Person - Email - Work", "Person - Phone - Work",
            "Person - Phone - Mobile", "Person - Organization", "Organization - ID",
            "Person - Owner", "Person - Add time",
        ],
    )  # fmt: skip
    people = [p for p in world.people if first <= p["company"] < first + n_orgs][:50]
    person_ids = [str(1000 + 7 * i) for i in range(len(people))]
    for i, (pid, p) in enumerate(zip(person_ids, people, strict=True)):
        c = world.companies[p["company"]]
        if i == 26:  # the organization was deleted, its id stays on the person
            org_id, org_name = org_ids[n_orgs], ""
            people_file.broke("Organization - ID")
        elif i in (3, 40):
            org_id = org_name = ""
        else:
            org_id, org_name = org_ids[p["company"] - first], c["name"]
            people_file.relations += 1
        email = p["email"] if i not in (14,) else spoil_email(rng, p["email"])
        people_file.add(
            {
                "Person - ID": pid,
                "Person - Name": f"{p['first']} {p['last']}",
                "Person - Email - Work": email if rng.random() < 0.9 else "",
                "Person - Phone - Work": phone_555(rng, c["calling_code"])
                if rng.random() < 0.6
                else "",
                "Person - Phone - Mobile": phone_555(rng, c["calling_code"])
                if rng.random() < 0.25
                else "",
                "Person - Organization": org_name,
                "Organization - ID": org_id,
                "Person - Owner": owner(None),
                "Person - Add time": datetime_text(rng, year=2023)[1] + ":00",
            }
        )

    deals = Export(
        "pipedrive/pipedrive-deals.csv",
        [
            "Deal - ID", "Deal - Title", "Deal - Value", "Deal - Currency", "Deal - Stage",
            "Deal - Status", "Deal - Expected close date", "Deal - Owner", "Deal - Organization",
            "Deal - Contact person", "Organization - ID", "Person - ID",
        ],
    )  # fmt: skip
    for i in range(35):
        index = rng.randrange(n_orgs)
        c = world.companies[first + index]
        contact_index = rng.randrange(len(people)) if rng.random() < 0.75 else None
        deals.relations += 1 + (contact_index is not None)
        deals.add(
            {
                "Deal - ID": str(i + 1),
                "Deal - Title": f"{c['name']} deal",
                "Deal - Value": str(rng.choice([800, 4200, 15000, 37500])),
                "Deal - Currency": rng.choice(["USD", "EUR", "GBP"]),
                "Deal - Stage": rng.choice(
                    [
                        "Lead In",
                        "Contact Made",
                        "Demo Scheduled",
                        "Proposal Made",
                        "Negotiations Started",
                    ]
                ),
                "Deal - Status": rng.choice(["open", "open", "won", "lost"]),
                "Deal - Expected close date": datetime_text(rng, year=2024)[0]
                if rng.random() < 0.85
                else "",
                "Deal - Owner": owner(deals),
                "Deal - Organization": c["name"],
                "Deal - Contact person": (
                    f"{people[contact_index]['first']} {people[contact_index]['last']}"
                    if contact_index is not None
                    else ""
                ),
                "Organization - ID": org_ids[index],
                "Person - ID": person_ids[contact_index] if contact_index is not None else "",
            }
        )
    return [organizations, people_file, deals]


# --------------------------------------------------------------------------------------------
# The answer key
# --------------------------------------------------------------------------------------------

SF_ID = {"kind": "salesforce_id"}
# file -> (Twenty object, column -> right target; None = not mappable).
TARGETS: dict[str, tuple[str, dict[str, str | None]]] = {
    "salesforce/Account.csv": (
        "companies",
        {
            "Id": "source_id",
            "Name": "name",
            "Type": None,
            "Industry": None,
            "BillingStreet": "address.addressStreet1",
            "BillingCity": "address.addressCity",
            "BillingState": "address.addressState",
            "BillingPostalCode": "address.addressPostcode",
            "BillingCountry": "address.addressCountry",
            "Phone": None,
            "Website": "domainName.primaryLinkUrl",
            "NumberOfEmployees": "employees",
            "AnnualRevenue": "annualRecurringRevenue.amountMicros",
            "OwnerId": "_ref.accountOwnerId",
            "CreatedDate": None,
            "Region__c": None,
        },
    ),
    "salesforce/Contact.csv": (
        "people",
        {
            "Id": "source_id",
            "AccountId": "_sourceref.companyId",
            "FirstName": "name.firstName",
            "LastName": "name.lastName",
            "Email": "emails.primaryEmail",
            "Phone": "phones.primaryPhoneNumber",
            "MobilePhone": "phones.additionalPhones",
            "Title": "jobTitle",
            "MailingCity": "city",
            "MailingCountry": None,
            "OwnerId": None,
        },
    ),
    "salesforce/Opportunity.csv": (
        "opportunities",
        {
            "Id": "source_id",
            "AccountId": "_sourceref.companyId",
            "Name": "name",
            "StageName": "stage",
            "Amount": "amount.amountMicros",
            "CloseDate": "closeDate",
            "Probability": None,
            "OwnerId": "_ref.ownerId",
        },
    ),
    "salesforce/Task.csv": (
        "tasks",
        {
            "Id": "source_id",
            "WhoId": "_sourceref.targets",
            "WhatId": "_sourceref.targets",
            "Subject": "title",
            "ActivityDate": "dueAt",
            "Status": "status",
            "Priority": None,
            "Description": "bodyV2.markdown",
            "OwnerId": "_ref.assigneeId",
            "TaskSubtype": None,
        },
    ),
    "salesforce/User.csv": (
        "workspaceMembers",
        {
            "Id": "source_id",
            "Email": "userEmail",
            "FirstName": "name.firstName",
            "LastName": "name.lastName",
        },
    ),
    "hubspot/hubspot-companies.csv": (
        "companies",
        {
            "Record ID": "source_id",
            "Company name": "name",
            "Company Domain Name": "domainName.primaryLinkUrl",
            "Phone Number": None,
            "City": "address.addressCity",
            "State/Region": "address.addressState",
            "Country/Region": "address.addressCountry",
            "Industry": None,
            "Number of Employees": "employees",
            "Annual Revenue": "annualRecurringRevenue.amountMicros",
            "Company owner": "_ref.accountOwnerId",
            "Create Date": None,
        },
    ),
    "hubspot/hubspot-contacts.csv": (
        "people",
        {
            "Record ID": "source_id",
            "First Name": "name.firstName",
            "Last Name": "name.lastName",
            "Email": "emails.primaryEmail",
            "Phone Number": "phones.primaryPhoneNumber",
            "Job Title": "jobTitle",
            "City": "city",
            "State/Region": None,
            "Contact owner": None,
            "Create Date": None,
            "Associated Company IDs": "_sourceref.companyId",
            "Associated Company": None,
        },
    ),
    "hubspot/hubspot-deals.csv": (
        "opportunities",
        {
            "Record ID": "source_id",
            "Deal Name": "name",
            "Deal Stage": "stage",
            "Amount": "amount.amountMicros",
            "Close Date": "closeDate",
            "Pipeline": None,
            "Deal owner": "_ref.ownerId",
            "Associated Company IDs": "_sourceref.companyId",
            "Associated Contact IDs": "_sourceref.pointOfContactId",
        },
    ),
    "hubspot/hubspot-activities.csv": (
        "tasks",
        {
            "Activity Type": None,
            "Call Title": None,
            "Meeting Title": None,
            "Task Title": "title",
            "Activity Body": "bodyV2.markdown",
            "Activity Date": None,
            "Task Due Date": "dueAt",
            "Activity Owner": "_ref.assigneeId",
            "Associated Contact Email": "_ref.targets",
            "Associated Company": "_ref.targets",
        },
    ),
    "pipedrive/pipedrive-organizations.csv": (
        "companies",
        {
            "Organization - ID": "source_id",
            "Organization - Name": "name",
            "Organization - Owner": "_ref.accountOwnerId",
            "Organization - Address": None,
            "Organization - Address - Street/road name": "address.addressStreet1",
            "Organization - Address - City/town/village/locality": "address.addressCity",
            "Organization - Address - ZIP/Postal code": "address.addressPostcode",
            "Organization - Address - Country": "address.addressCountry",
            "Organization - Website": "domainName.primaryLinkUrl",
            "Organization - Label": None,
            "Organization - Add time": None,
        },
    ),
    "pipedrive/pipedrive-people.csv": (
        "people",
        {
            "Person - ID": "source_id",
            "Person - Name": "name",
            "Person - Email - Work": "emails.primaryEmail",
            "Person - Phone - Work": "phones.primaryPhoneNumber",
            "Person - Phone - Mobile": "phones.additionalPhones",
            "Person - Organization": None,
            "Organization - ID": "_sourceref.companyId",
            "Person - Owner": None,
            "Person - Add time": None,
        },
    ),
    "pipedrive/pipedrive-deals.csv": (
        "opportunities",
        {
            "Deal - ID": "source_id",
            "Deal - Title": "name",
            "Deal - Value": "amount.amountMicros",
            "Deal - Currency": "amount.currencyCode",
            "Deal - Stage": "stage",
            "Deal - Status": None,
            "Deal - Expected close date": "closeDate",
            "Deal - Owner": "_ref.ownerId",
            "Deal - Organization": None,
            "Deal - Contact person": None,
            "Organization - ID": "_sourceref.companyId",
            "Person - ID": "_sourceref.pointOfContactId",
        },
    ),
}

# The HubSpot activities export mixes tasks and engagements Twenty keeps as notes.
ACTIVITY_SPLIT = {
    "column": "Activity Type",
    "objects": {"Task": "tasks", "Call": "notes", "Meeting": "notes", "Note": "notes"},
    "columns": {
        "notes": {
            "Activity Type": None,
            "Call Title": "title",
            "Meeting Title": "title",
            "Task Title": None,
            "Activity Body": "bodyV2.markdown",
            "Activity Date": None,
            "Task Due Date": None,
            "Activity Owner": None,
            "Associated Contact Email": "_ref.targets",
            "Associated Company": "_ref.targets",
        }
    },
}

# Where each reference column points: the files and their key column, or a natural key.
REFERENCES: dict[str, dict[str, dict[str, Any]]] = {
    "salesforce/Contact.csv": {
        "AccountId": {"files": ["salesforce/Account.csv"], "key": "Id", **SF_ID}
    },
    "salesforce/Opportunity.csv": {
        "AccountId": {"files": ["salesforce/Account.csv"], "key": "Id", **SF_ID}
    },
    "salesforce/Task.csv": {
        "WhoId": {"files": ["salesforce/Contact.csv"], "key": "Id", **SF_ID},
        "WhatId": {
            "files": ["salesforce/Account.csv", "salesforce/Opportunity.csv"],
            "key": "Id",
            **SF_ID,
        },
    },
    "hubspot/hubspot-contacts.csv": {
        "Associated Company IDs": {
            "files": ["hubspot/hubspot-companies.csv"],
            "key": "Record ID",
            "kind": "id",
        },
    },
    "hubspot/hubspot-deals.csv": {
        "Associated Company IDs": {
            "files": ["hubspot/hubspot-companies.csv"],
            "key": "Record ID",
            "kind": "id",
        },
        "Associated Contact IDs": {
            "files": ["hubspot/hubspot-contacts.csv"],
            "key": "Record ID",
            "kind": "id",
        },
    },
    "hubspot/hubspot-activities.csv": {
        "Associated Contact Email": {
            "files": ["hubspot/hubspot-contacts.csv"],
            "key": "Email",
            "kind": "email",
        },
        "Associated Company": {
            "files": ["hubspot/hubspot-companies.csv"],
            "key": "Company name",
            "kind": "name",
        },
    },
    "pipedrive/pipedrive-people.csv": {
        "Organization - ID": {
            "files": ["pipedrive/pipedrive-organizations.csv"],
            "key": "Organization - ID",
            "kind": "id",
        },
    },
    "pipedrive/pipedrive-deals.csv": {
        "Organization - ID": {
            "files": ["pipedrive/pipedrive-organizations.csv"],
            "key": "Organization - ID",
            "kind": "id",
        },
        "Person - ID": {
            "files": ["pipedrive/pipedrive-people.csv"],
            "key": "Person - ID",
            "kind": "id",
        },
    },
}


def truth(exports: Sequence[Export]) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for export in exports:
        obj, columns = TARGETS[export.name]
        vendor = export.name.split("/", 1)[0]
        entry: dict[str, Any] = {
            "vendor": vendor,
            "object": obj,
            "import": obj != "workspaceMembers",
            "rows": len(export.rows),
            "columns": {c: columns[c] for c in export.columns},
            "expected": {
                "records": len(export.rows) if obj != "workspaceMembers" else 0,
                "relations": export.relations,
                "owners": export.owners,
            },
            "references": REFERENCES.get(export.name, {}),
            "broken_references": dict(export.broken),
        }
        if obj == "workspaceMembers":
            entry["note"] = "Users are not imported: they are the source of users.csv."
        split = getattr(export, "split_counts", None)
        if split is not None:
            entry["split"] = {**ACTIVITY_SPLIT, "expected": split}
        files[export.name] = entry
    return {
        "format": "twenty_migrate.vendor_truth",
        "version": 1,
        "seed": SEED,
        "members": [
            {
                "firstName": first,
                "lastName": last,
                "email": person_email(first, last, MEMBER_DOMAIN),
            }
            for first, last in MEMBERS
        ],
        "user_map": "users.csv",
        "files": files,
    }


def users_csv(exports: Sequence[Export]) -> str:
    """Source user (Salesforce user id, HubSpot or Pipedrive owner name) -> member email."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["vendor", "source", "member_email"])
    sf_users = next(e for e in exports if e.name == "salesforce/User.csv")
    members = {person_email(first, last, MEMBER_DOMAIN) for first, last in MEMBERS}
    for row in sf_users.rows:
        if row["Email"] in members:
            writer.writerow(["salesforce", row["Id"], row["Email"]])
    for vendor in ("hubspot", "pipedrive"):
        for first, last in MEMBERS:
            writer.writerow([vendor, f"{first} {last}", person_email(first, last, MEMBER_DOMAIN)])
    return out.getvalue()


def generate(out: Path) -> list[Path]:
    """Write every file under ``out``; returns the paths written."""
    world = World(random.Random(SEED), companies=80, people=400)
    builders: list[Callable[[random.Random, World], list[Export]]] = [
        salesforce,
        hubspot,
        pipedrive,
    ]
    exports = [
        e for n, build in enumerate(builders) for e in build(random.Random(SEED + n + 1), world)
    ]
    written: list[Path] = []
    for export in exports:
        path = out / export.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(export.text().encode("utf-8"))
        written.append(path)
    key = json.dumps(truth(exports), indent=1, ensure_ascii=False) + "\n"
    (out / "truth.json").write_bytes(key.encode("utf-8"))
    (out / "users.csv").write_bytes(users_csv(exports).encode("utf-8"))
    return [*written, out / "truth.json", out / "users.csv"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: here)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)


if __name__ == "__main__":
    main()
