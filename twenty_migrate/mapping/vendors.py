"""The export headers of Salesforce, HubSpot and Pipedrive, and where each goes in Twenty.

:func:`vendor_field` looks a header up for a Twenty object; :func:`detect_vendor` tells
which CRM a file's headers come from; :data:`DEFAULT_STAGES` holds each vendor's default
pipeline stages as select options. :func:`twenty_migrate.mapping.suggest.suggest` uses them::

    entry = vendor_field("BillingCity", "companies")
    entry.paths, entry.reason          # ('address.addressCity',), 'Salesforce API name ...'

Salesforce headers come as API names (Data Loader, Data Export: ``BillingCity``) or as
the labels of reports and list views (``Billing City``); both are listed. HubSpot exports
use property labels (``Company Domain Name``); Pipedrive prefixes the object
(``Deal - Title``).

Targets follow the mapping's conventions (:mod:`twenty_migrate.mapping.field_map`): a Twenty path;
:data:`SOURCE_ID` for the record's own id in the source system (``FieldMap.source_id``);
``_sourceref.<joinColumn>`` for a reference by the source system's id (``AccountId``),
``_sourceref.targets`` for a polymorphic one (``WhatId``); ``_ref.<joinColumn>`` for a
reference by a natural key (a company name or domain, a contact's email) and for owners
(matched to workspace members by email or name); ``_ref.targets`` for task and note
targets named by natural keys. An entry without paths says why nothing fits (people have
no owner in Twenty, companies no phone).

Twenty's standard fields: ``packages/twenty-server/src/engine/workspace-manager/
twenty-standard-application/utils/field-metadata/compute-{object}-standard-flat-field-
metadata.util.ts`` (people have no owner relation; companies ``accountOwner``,
opportunities ``owner``, tasks ``assignee``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from twenty_migrate.values.parsing import option_key
from twenty_migrate.values.payloads import SOURCE_REF_PREFIX

__all__ = [
    "DEFAULT_STAGES",
    "SOURCE_ID",
    "SOURCE_REF_PREFIX",
    "VENDORS",
    "VendorField",
    "custom_field_name",
    "detect_vendor",
    "stage_options",
    "vendor_field",
    "vendor_fields",
]

#: Target of a column holding the record's own id in the source system.
SOURCE_ID = "@source_id"
#: Prefix of references by the source system's ids (``_sourceref.companyId``).
VENDORS = {"salesforce": "Salesforce", "hubspot": "HubSpot", "pipedrive": "Pipedrive"}


@dataclass(frozen=True)
class VendorField:
    """One export header of a vendor and where it goes in Twenty.

    Attributes:
        vendor: ``salesforce``, ``hubspot`` or ``pipedrive``.
        source_object: The vendor's object (``Account``, ``deals``, ``Deal``).
        header: The header as exported.
        api_name: Salesforce's API name of the field (``BillingCity``), else the header.
        object: The Twenty object (plural).
        paths: Candidate targets, best first (the first free one is taken); empty when
            Twenty has no place for it.
        note: Why it goes there, or why nowhere.
    """

    vendor: str
    source_object: str
    header: str
    api_name: str
    object: str
    paths: tuple[str, ...]
    note: str = ""

    @property
    def reason(self) -> str:
        """Why the header was recognised, for the mapping review."""
        vendor = VENDORS[self.vendor]
        if self.vendor == "salesforce":
            if self.header == self.api_name:
                text = f"{vendor} API name {self.source_object}.{self.api_name}"
            else:
                text = f"{vendor} label {self.header!r} ({self.source_object}.{self.api_name})"
        else:
            text = f"{vendor} {self.source_object} export column {self.header!r}"
        return f"{text}: {self.note}" if self.note else text


_OWN = SOURCE_ID
_NO_ADDRESS = "people have no address in Twenty (only city)"
_NO_OWNER = "people have no owner in Twenty; keep it in a custom relation if needed"
_BOOKKEEPING = "export bookkeeping, not a Twenty field"
_TARGETS = "links the activity to its records (task and note targets)"

# (source object, Twenty object): [(headers "API name|label|...", targets "a|b", note)]
# A target of "" means Twenty has no place for it; the note says why.
_Table = dict[tuple[str, str], list[tuple[str, str, str]]]

_SALESFORCE: _Table = {
    ("Account", "companies"): [
        ("Id|Account ID", _OWN, ""),
        ("Name|Account Name", "name", ""),
        ("Website", "domainName.primaryLinkUrl", ""),
        ("BillingStreet|Billing Street", "address.addressStreet1", ""),
        ("BillingCity|Billing City", "address.addressCity", ""),
        ("BillingState|Billing State/Province", "address.addressState", ""),
        ("BillingPostalCode|Billing Zip/Postal Code", "address.addressPostcode", ""),
        ("BillingCountry|Billing Country", "address.addressCountry", ""),
        ("NumberOfEmployees|Employees", "employees", ""),
        ("AnnualRevenue|Annual Revenue", "annualRecurringRevenue.amountMicros", ""),
        ("CurrencyIsoCode|Account Currency", "annualRecurringRevenue.currencyCode", ""),
        ("OwnerId|Account Owner ID", "_ref.accountOwnerId", "the owner's user id"),
        ("Owner.Name|Account Owner", "_ref.accountOwnerId", "the owner"),
        ("Phone|Account Phone", "", "companies have no phone field in Twenty"),
        ("Industry", "", "companies have no industry field in Twenty"),
        ("Type|Account Type", "", "companies have no type field in Twenty"),
        ("Description|Account Description", "", "companies have no description in Twenty"),
        ("ParentId|Parent Account ID", "", "companies have no parent company in Twenty"),
        ("CreatedDate|Created Date", "", _BOOKKEEPING),
        ("LastModifiedDate|Last Modified Date", "", _BOOKKEEPING),
    ],
    ("Contact", "people"): [
        ("Id|Contact ID", _OWN, ""),
        ("FirstName|First Name", "name.firstName", ""),
        ("LastName|Last Name", "name.lastName", ""),
        ("Name|Full Name", "name", ""),
        ("Email", "emails.primaryEmail", ""),
        ("Phone|Business Phone", "phones.primaryPhoneNumber|phones.additionalPhones", ""),
        ("MobilePhone|Mobile", "phones.primaryPhoneNumber|phones.additionalPhones", ""),
        ("HomePhone|Home Phone", "phones.additionalPhones", ""),
        ("OtherPhone|Other Phone", "phones.additionalPhones", ""),
        ("Title", "jobTitle", ""),
        ("AccountId|Account ID", "_sourceref.companyId", "the account's Salesforce id"),
        ("Account.Name|Account Name", "_ref.companyId", "the account's name"),
        ("MailingCity|Mailing City", "city", ""),
        ("MailingStreet|Mailing Street", "", _NO_ADDRESS),
        ("MailingState|Mailing State/Province", "", _NO_ADDRESS),
        ("MailingPostalCode|Mailing Zip/Postal Code", "", _NO_ADDRESS),
        ("MailingCountry|Mailing Country", "", _NO_ADDRESS),
        ("OwnerId|Contact Owner ID", "", _NO_OWNER),
        ("Owner.Name|Contact Owner", "", _NO_OWNER),
        ("LeadSource|Lead Source", "", "people have no lead source in Twenty"),
        ("Department", "", "people have no department in Twenty"),
        ("Description", "", "people have no description in Twenty"),
        ("CreatedDate|Created Date", "", _BOOKKEEPING),
    ],
    ("Lead", "people"): [
        ("Id|Lead ID", _OWN, ""),
        ("Company", "_ref.companyId", "the lead's company, by name"),
        ("City", "city", ""),
        ("Status|Lead Status", "", "people have no lead status in Twenty"),
        ("OwnerId|Lead Owner ID", "", _NO_OWNER),
        ("Owner.Name|Lead Owner", "", _NO_OWNER),
        ("Website", "", "people have no website in Twenty (companies do)"),
        ("Industry", "", "people have no industry in Twenty"),
    ],
    ("Opportunity", "opportunities"): [
        ("Id|Opportunity ID", _OWN, ""),
        ("Name|Opportunity Name", "name", ""),
        ("StageName|Stage", "stage", ""),
        ("Amount", "amount.amountMicros", ""),
        ("CurrencyIsoCode|Opportunity Currency", "amount.currencyCode", ""),
        ("CloseDate|Close Date", "closeDate", ""),
        ("AccountId|Account ID", "_sourceref.companyId", "the account's Salesforce id"),
        ("Account.Name|Account Name", "_ref.companyId", "the account's name"),
        ("ContactId|Contact ID", "_sourceref.pointOfContactId", "the contact's Salesforce id"),
        ("OwnerId|Opportunity Owner ID", "_ref.ownerId", "the owner's user id"),
        ("Owner.Name|Opportunity Owner", "_ref.ownerId", "the owner"),
        ("Probability|Probability (%)", "", "opportunities have no probability in Twenty"),
        ("Type", "", "opportunities have no type in Twenty"),
        ("LeadSource|Lead Source", "", "opportunities have no lead source in Twenty"),
        ("NextStep|Next Step", "", "opportunities have no next step in Twenty"),
        ("Description", "", "opportunities have no description in Twenty"),
        ("CreatedDate|Created Date", "", _BOOKKEEPING),
    ],
    ("Task", "tasks"): [
        ("Id|Activity ID", _OWN, ""),
        ("Subject", "title", ""),
        ("ActivityDate|Due Date", "dueAt", ""),
        ("Description|Comments", "bodyV2.markdown", ""),
        ("Status", "status", ""),
        ("OwnerId|Assigned To ID", "_ref.assigneeId", "the assignee's user id"),
        ("Owner.Name|Assigned To|Assigned", "_ref.assigneeId", "the assignee"),
        ("WhatId|Related To ID", "_sourceref.targets", _TARGETS),
        ("WhoId|Name ID", "_sourceref.targets", _TARGETS),
        ("Priority", "", "tasks have no priority in Twenty"),
        ("TaskSubtype|Task Subtype", "", "tasks have no type in Twenty"),
        ("CreatedDate|Created Date", "", _BOOKKEEPING),
    ],
    ("Event", "tasks"): [
        ("Id|Event ID", _OWN, "a meeting becomes a task (Twenty's events come from calendars)"),
        ("ActivityDateTime|StartDateTime|Start", "dueAt", "the meeting's start"),
        ("EndDateTime|End", "", "tasks have one date (the start is kept)"),
        ("Location", "", "tasks have no location in Twenty"),
    ],
    ("Note", "notes"): [
        ("Id|Note ID", _OWN, ""),
        ("Title", "title", ""),
        ("Body", "bodyV2.markdown", ""),
        ("ParentId|Parent ID", "_sourceref.targets", "the record the note is on"),
        ("OwnerId|Owner ID", "", "notes have no owner in Twenty"),
        ("CreatedDate|Created Date", "", _BOOKKEEPING),
    ],
}

_HUBSPOT_ASSOCIATIONS = [
    ("Associated Company ID|Associated Company IDs", "_sourceref.targets", _TARGETS),
    ("Associated Contact ID|Associated Contact IDs", "_sourceref.targets", _TARGETS),
    ("Associated Deal ID|Associated Deal IDs", "_sourceref.targets", _TARGETS),
    ("Associated Contact Email", "_ref.targets", _TARGETS),
    ("Associated Company Domain", "_ref.targets", _TARGETS),
    ("Associated Company", "_ref.targets", _TARGETS),
    ("Associated Contact", "_ref.targets", _TARGETS),
    ("Associated Deal", "_ref.targets", _TARGETS),
]
_HUBSPOT: _Table = {
    ("contacts", "people"): [
        ("Record ID|Contact ID", _OWN, ""),
        ("First Name", "name.firstName", ""),
        ("Last Name", "name.lastName", ""),
        ("Email", "emails.primaryEmail", ""),
        ("Additional email addresses", "emails.additionalEmails", ""),
        ("Phone Number", "phones.primaryPhoneNumber|phones.additionalPhones", ""),
        ("Mobile Phone Number", "phones.primaryPhoneNumber|phones.additionalPhones", ""),
        ("Job Title", "jobTitle", ""),
        ("Company Name", "_ref.companyId", "the company, by name"),
        ("Associated Company ID|Associated Company IDs", "_sourceref.companyId",
         "the company's HubSpot id"),
        ("Associated Company Domain", "_ref.companyId", "the company, by domain"),
        ("Associated Company", "_ref.companyId", "the company, by name"),
        ("City", "city", ""),
        ("LinkedIn URL", "linkedinLink.primaryLinkUrl", ""),
        ("Twitter Username", "xLink.primaryLinkUrl", ""),
        ("Contact Owner", "", _NO_OWNER),
        ("State/Region", "", _NO_ADDRESS),
        ("Country/Region", "", _NO_ADDRESS),
        ("Street Address", "", _NO_ADDRESS),
        ("Postal Code", "", _NO_ADDRESS),
        ("Lifecycle Stage", "", "people have no lifecycle stage in Twenty"),
        ("Lead Status", "", "people have no lead status in Twenty"),
        ("Create Date|Last Activity Date|Last Modified Date", "", _BOOKKEEPING),
    ],
    ("companies", "companies"): [
        ("Record ID|Company ID", _OWN, ""),
        ("Company Name|Name", "name", ""),
        ("Company Domain Name", "domainName.primaryLinkUrl", ""),
        ("Website URL", "domainName.primaryLinkUrl|domainName.secondaryLinks", ""),
        ("Number of Employees", "employees", ""),
        ("Annual Revenue", "annualRecurringRevenue.amountMicros", ""),
        ("Street Address", "address.addressStreet1", ""),
        ("Street Address 2", "address.addressStreet2", ""),
        ("City", "address.addressCity", ""),
        ("State/Region", "address.addressState", ""),
        ("Postal Code", "address.addressPostcode", ""),
        ("Country/Region", "address.addressCountry", ""),
        ("LinkedIn Company Page", "linkedinLink.primaryLinkUrl", ""),
        ("Twitter Handle", "xLink.primaryLinkUrl", ""),
        ("Company Owner", "_ref.accountOwnerId", "the owner"),
        ("Phone Number", "", "companies have no phone field in Twenty"),
        ("Industry", "", "companies have no industry field in Twenty"),
        ("Type", "", "companies have no type field in Twenty"),
        ("Create Date|Last Activity Date|Last Modified Date", "", _BOOKKEEPING),
    ],
    ("deals", "opportunities"): [
        ("Record ID|Deal ID", _OWN, ""),
        ("Deal Name", "name", ""),
        ("Deal Stage", "stage", ""),
        ("Amount", "amount.amountMicros", ""),
        ("Currency", "amount.currencyCode", ""),
        ("Close Date", "closeDate", ""),
        ("Deal Owner", "_ref.ownerId", "the owner"),
        ("Associated Company ID|Associated Company IDs", "_sourceref.companyId",
         "the company's HubSpot id"),
        ("Associated Company Domain", "_ref.companyId", "the company, by domain"),
        ("Associated Company", "_ref.companyId", "the company, by name"),
        ("Associated Contact ID|Associated Contact IDs", "_sourceref.pointOfContactId",
         "the contact's HubSpot id"),
        ("Associated Contact Email", "_ref.pointOfContactId", "the contact, by email"),
        ("Pipeline", "", "Twenty has one pipeline per object; the stages carry over"),
        ("Deal Type", "", "opportunities have no type in Twenty"),
        ("Create Date|Last Activity Date|Last Modified Date", "", _BOOKKEEPING),
    ],
    ("activities", "tasks"): [
        ("Record ID|Activity ID|Task ID", _OWN, ""),
        ("Task Title|Subject", "title", ""),
        ("Call Title|Meeting Title|Email Subject", "",
         "the title of calls, meetings or emails: split a mixed activity file with "
         "tm.split_activities first, which titles each row from the column of its type"),
        ("Task Due Date|Due Date", "dueAt", ""),
        ("Activity Date|Meeting Start Time", "",
         "when the activity happened, not a due date (tm.split_activities reads it)"),
        ("Notes/Description|Activity Body|Task Notes|Call Notes|Meeting Description|Body",
         "bodyV2.markdown", ""),
        ("Task Status|Status", "status", ""),
        ("Activity Owner|Task Owner|Assigned To", "_ref.assigneeId", "the assignee"),
        ("Activity Type|Task Type", "", "tasks have no type in Twenty; calls and meetings "
         "become tasks"),
        ("Task Priority|Priority", "", "tasks have no priority in Twenty"),
        *_HUBSPOT_ASSOCIATIONS,
        ("Create Date|Last Modified Date", "", _BOOKKEEPING),
    ],
    ("notes", "notes"): [
        ("Record ID|Note ID", _OWN, ""),
        ("Note Title|Title", "title", ""),
        ("Notes/Description|Note Body|Body", "bodyV2.markdown", ""),
        ("Activity Owner", "", "notes have no owner in Twenty"),
        *_HUBSPOT_ASSOCIATIONS,
        ("Create Date|Last Modified Date", "", _BOOKKEEPING),
    ],
}  # fmt: skip

_PD_ADDRESS = "Organization - Address - "
_PIPEDRIVE: _Table = {
    ("Organization", "companies"): [
        ("Organization - ID", _OWN, ""),
        ("Organization - Name", "name", ""),
        ("Organization - Website", "domainName.primaryLinkUrl", ""),
        ("Organization - Owner", "_ref.accountOwnerId", "the owner"),
        ("Organization - Number of employees", "employees", ""),
        ("Organization - Address", "",
         "the whole address on one line: its parts (Organization - Address - ...) map to "
         "the address fields"),
        (f"{_PD_ADDRESS}Street/road name", "address.addressStreet1", ""),
        (f"{_PD_ADDRESS}City/town|{_PD_ADDRESS}City/town/village/locality",
         "address.addressCity", ""),
        (f"{_PD_ADDRESS}State/county", "address.addressState", ""),
        (f"{_PD_ADDRESS}ZIP/Postal code", "address.addressPostcode", ""),
        (f"{_PD_ADDRESS}Country", "address.addressCountry", ""),
        ("Organization - LinkedIn profile", "linkedinLink.primaryLinkUrl", ""),
        ("Organization - Label|Organization - Labels", "", "companies have no labels in Twenty"),
        ("Organization - Organization created|Organization - Update time", "", _BOOKKEEPING),
    ],
    ("Person", "people"): [
        ("Person - ID", _OWN, ""),
        ("Person - Name", "name", ""),
        ("Person - First name", "name.firstName", ""),
        ("Person - Last name", "name.lastName", ""),
        ("Person - Email|Person - Email - Work", "emails.primaryEmail", ""),
        ("Person - Email - Home|Person - Email - Other", "emails.additionalEmails", ""),
        ("Person - Phone|Person - Phone - Work|Person - Phone - Mobile",
         "phones.primaryPhoneNumber|phones.additionalPhones", ""),
        ("Person - Phone - Home|Person - Phone - Other", "phones.additionalPhones", ""),
        ("Person - Job title", "jobTitle", ""),
        ("Person - Organization|Organization - Name", "_ref.companyId", "the company, by name"),
        ("Organization - ID", "_sourceref.companyId", "the company's Pipedrive id"),
        ("Person - Owner", "", _NO_OWNER),
        ("Person - Label|Person - Labels", "", "people have no labels in Twenty"),
        ("Person - Person created|Person - Update time", "", _BOOKKEEPING),
    ],
    ("Deal", "opportunities"): [
        ("Deal - ID", _OWN, ""),
        ("Deal - Title", "name", ""),
        ("Deal - Value", "amount.amountMicros", ""),
        ("Deal - Currency|Deal - Currency of Value", "amount.currencyCode", ""),
        ("Deal - Stage", "stage", ""),
        ("Deal - Expected close date", "closeDate", ""),
        ("Deal - Owner", "_ref.ownerId", "the owner"),
        ("Organization - Name|Deal - Organization", "_ref.companyId", "the company, by name"),
        ("Organization - ID", "_sourceref.companyId", "the company's Pipedrive id"),
        ("Person - Email", "_ref.pointOfContactId", "the contact, by email"),
        ("Person - Name|Deal - Contact person", "_ref.pointOfContactId", "the contact, by name"),
        ("Person - ID", "_sourceref.pointOfContactId", "the contact's Pipedrive id"),
        ("Deal - Status", "", "won/lost/open: opportunities have no status in Twenty (the "
         "stage says it)"),
        ("Deal - Pipeline", "", "Twenty has one pipeline per object; the stages carry over"),
        ("Deal - Probability", "", "opportunities have no probability in Twenty"),
        ("Deal - Deal created|Deal - Update time", "", _BOOKKEEPING),
    ],
    ("Activity", "tasks"): [
        ("Activity - ID", _OWN, ""),
        ("Activity - Subject", "title", ""),
        ("Activity - Due date", "dueAt", ""),
        ("Activity - Note", "bodyV2.markdown", ""),
        ("Activity - Assigned to user|Activity - Owner", "_ref.assigneeId", "the assignee"),
        ("Activity - Type", "", "tasks have no type in Twenty"),
        ("Activity - Done", "", "done or not: map it to status with a label map if needed"),
        ("Deal - ID|Person - ID|Organization - ID", "_sourceref.targets", _TARGETS),
        ("Person - Email", "_ref.targets", _TARGETS),
    ],
    ("Note", "notes"): [
        ("Note - ID", _OWN, ""),
        ("Note - Content", "bodyV2.markdown", ""),
        ("Deal - ID|Person - ID|Organization - ID", "_sourceref.targets", _TARGETS),
    ],
}  # fmt: skip

#: Each vendor's default pipeline stages: (stored value as exported, label), in order.
DEFAULT_STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "salesforce": tuple(
        (s, s)
        for s in (
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Perception Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost",
        )
    ),
    "hubspot": (
        ("appointmentscheduled", "Appointment scheduled"),
        ("qualifiedtobuy", "Qualified to buy"),
        ("presentationscheduled", "Presentation scheduled"),
        ("decisionmakerboughtin", "Decision maker bought-in"),
        ("contractsent", "Contract sent"),
        ("closedwon", "Closed won"),
        ("closedlost", "Closed lost"),
    ),
    "pipedrive": tuple(
        (s, s)
        for s in (
            "Lead In",
            "Contact Made",
            "Demo Scheduled",
            "Proposal Made",
            "Negotiations Started",
        )
    ),
}


def _build() -> dict[tuple[str, str, str], VendorField]:
    index: dict[tuple[str, str, str], VendorField] = {}
    tables = {"salesforce": _SALESFORCE, "hubspot": _HUBSPOT, "pipedrive": _PIPEDRIVE}
    for vendor, table in tables.items():
        for (source_object, twenty_object), rows in table.items():
            for headers, targets, note in rows:
                names = headers.split("|")
                paths = tuple(t for t in targets.split("|") if t)
                for header in names:
                    entry = VendorField(
                        vendor, source_object, header, names[0], twenty_object, paths, note
                    )
                    index.setdefault((vendor, twenty_object, option_key(header)), entry)
    return index


_INDEX = _build()


def vendor_fields(vendor: str | None = None) -> list[VendorField]:
    """Every dictionary entry (of one vendor), in table order."""
    return [e for e in _INDEX.values() if vendor is None or e.vendor == vendor]


def vendor_field(header: str, object_name: str, vendor: str | None = None) -> VendorField | None:
    """The entry for ``header`` on the Twenty object ``object_name`` (plural), or None.

    Args:
        header: The column header as exported.
        object_name: The Twenty object the file is imported into.
        vendor: Look in this vendor's dictionary first (see :func:`detect_vendor`).
    """
    key = option_key(header)
    order = [v for v in (vendor, *VENDORS) if v in VENDORS]
    for name in dict.fromkeys(order):
        entry = _INDEX.get((name, object_name, key))
        if entry is not None:
            return entry
    return None


_PIPEDRIVE_HEADER = re.compile(r"^(Organization|Person|Deal|Activity|Note|Lead|Product) - \S")


def detect_vendor(headers: Iterable[str]) -> str | None:
    """The vendor whose export these headers look like, or None when nothing stands out.

    Salesforce: ``__c`` custom fields, API names (``AccountId``, ``StageName``); HubSpot:
    ``Record ID`` and its property labels; Pipedrive: ``Object - Field`` headers.
    """
    names = [str(h) for h in headers]
    scores = dict.fromkeys(VENDORS, 0.0)
    for header in names:
        key = option_key(header)
        if header.endswith("__c"):
            scores["salesforce"] += 2
        if _PIPEDRIVE_HEADER.match(header):
            scores["pipedrive"] += 2
        if key == "recordid":
            scores["hubspot"] += 2
        for vendor in VENDORS:
            if any((vendor, obj, key) in _INDEX for obj in _OBJECTS):
                scores[vendor] += 1
    best = max(scores, key=lambda v: scores[v])
    ranked = sorted(scores.values(), reverse=True)
    return best if ranked[0] >= 2 and ranked[0] > ranked[1] else None


_OBJECTS = ("companies", "people", "opportunities", "tasks", "notes")


def custom_field_name(header: str) -> tuple[str, str]:
    """The Twenty field name and label for a Salesforce custom field (``Region__c``).

    ``Customer_Tier__c`` -> ``("customerTier", "Customer Tier")``.
    """
    base = re.sub(r"__c$", "", header.strip())
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", base) if p]
    if not parts:
        parts = ["custom"]
    words = [w for p in parts for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", p) or [p]]
    name = words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])
    if name[0].isdigit():
        name = "field" + name[:1].upper() + name[1:]
    label = " ".join(w[:1].upper() + w[1:] for w in words)
    return name, label


def stage_options(values: Iterable[str]) -> tuple[str | None, dict[str, str]]:
    """Which vendor's default stages ``values`` use, and their label -> option value map.

    The map covers every default stage of that vendor (as exported and as labelled), so
    the pipeline arrives whole; option values are Twenty's UPPER_SNAKE_CASE
    (``"Proposal/Price Quote"`` -> ``PROPOSAL_PRICE_QUOTE``). ``(None, {})`` when fewer than
    half of the distinct values are one vendor's stages.
    """
    seen = {option_key(v) for v in values if str(v).strip()}
    if not seen:
        return None, {}
    for vendor, stages in DEFAULT_STAGES.items():
        keys = {option_key(k) for pair in stages for k in pair}
        if len(seen & keys) * 2 >= len(seen):
            labels: dict[str, str] = {}
            for stored, label in stages:
                value = _option_value(label)
                labels.setdefault(label, value)
                labels.setdefault(stored, value)
            return vendor, labels
    return None, {}


def _option_value(label: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_")


def known_headers(object_name: str) -> Mapping[str, VendorField]:
    """Folded header -> entry for one Twenty object, over every vendor (first wins)."""
    out: dict[str, VendorField] = {}
    for (_, obj, key), entry in _INDEX.items():
        if obj == object_name:
            out.setdefault(key, entry)
    return out
