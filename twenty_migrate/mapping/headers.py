"""What a column's header and values say: header synonyms, value kinds, duplicate headers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from twenty_migrate.values.parsing import (
    canonical_email,
    domain_key,
    is_valid_email,
    option_key,
    words,
)

_MOBILE_HEADERS = (
    "mobile|mobile phone|cell|cell phone|phone mobile|mobile number|handy|other phone|"
    "home phone|phone 2|phone home"
)


_SYNONYM_TABLE: list[tuple[tuple[str, ...], str]] = [
    (("name.firstName",), "first name|firstname|first|given name|forename|prenom|vorname|"
     "contact first name"),
    (("name.lastName",), "last name|lastname|last|surname|family name|nom|nachname|"
     "contact last name"),
    (("name", "title"), "name|full name|fullname|person|lead name|display name|person name"),
    (("@person", "name"), "contact|contact name|contact person|deal contact person|"
     "point of contact|primary contact|contact full name"),
    (("emails.primaryEmail", "emails.additionalEmails", "@person"),
     "email|e mail|email address|email work|work email|business email|primary email|mail|"
     "emailaddress"),
    (("@person", "emails.primaryEmail"), "contact email|point of contact email|"
     "contact person email|deal contact email|person email"),
    (("emails.additionalEmails",), "email 2|other email|secondary email|email home|"
     "email other|personal email|alternate email"),
    (("phones.primaryPhoneNumber", "phones.additionalPhones"),
     "phone|phone number|phone work|work phone|business phone|telephone|tel|office phone|"
     "direct phone|phone 1|main phone"),
    (("phones.primaryPhoneNumber", "phones.additionalPhones"), _MOBILE_HEADERS),
    (("jobTitle", "title"), "job title|title|position|role|designation|job|jobtitle"),
    (("@company", "name"), "company|company name|account|account name|organization|"
     "organisation|organization name|organisation name|employer|deal organization|"
     "account name name|company account"),
    (("domainName.primaryLinkUrl", "@company"), "company domain name|company domain|"
     "company website|company url|domain|domain name"),
    (("domainName.primaryLinkUrl",), "website|url|web|homepage|site|web site|website url"),
    (("linkedinLink.primaryLinkUrl",), "linkedin|linkedin url|linkedin profile|linkedin bio|"
     "linkedin company page|linkedin page|linkedin profile url"),
    (("xLink.primaryLinkUrl",), "twitter|x|twitter url|twitter handle|x twitter"),
    (("address.addressStreet1",), "street|billing street|address|street address|address 1|"
     "address line 1|mailing street"),
    (("address.addressStreet2",), "address 2|address line 2|street 2"),
    (("address.addressCity", "city"), "city|billing city|mailing city|town"),
    (("address.addressState",), "state|state province|billing state|province|region|"
     "billing state province"),
    (("address.addressPostcode",), "postal code|zip|zip code|postcode|billing postal code|"
     "mailing postal code"),
    (("address.addressCountry",), "country|billing country|mailing country"),
    (("employees",), "employees|number of employees|numberofemployees|employee count|"
     "headcount|company size"),
    (("annualRecurringRevenue.amountMicros",), "annual revenue|annualrevenue|revenue|arr|"
     "annual recurring revenue"),
    (("idealCustomerProfile",), "ideal customer profile|icp|ideal customer"),
    (("@workspaceMember",), "owner|account owner|deal owner|contact owner|opportunity owner|"
     "assigned to|assignee|owner name|lead owner|record owner|task owner"),
    (("name",), "deal name|opportunity name|deal title|deal|opportunity"),
    (("amount.amountMicros",), "amount|deal value|value|deal amount|opportunity amount"),
    (("amount.currencyCode", "annualRecurringRevenue.currencyCode"),
     "currency|currency iso code|currencyisocode|deal currency|currency code"),
    (("stage",), "stage|stage name|stagename|deal stage|pipeline stage|opportunity stage"),
    (("status", "stage"), "status|task status"),
    (("closeDate",), "close date|closedate|expected close date|deal expected close date|"
     "closing date|expected close"),
    (("title",), "subject|task subject|task|note title|heading|activity subject"),
    (("bodyV2.markdown",), "body|description|notes|note|comments|comment|content|details|"
     "text|note body|task description"),
    (("dueAt",), "due date|due|due at|activity date|deadline|due date time"),
]  # fmt: skip


#: Folded header -> candidate paths, best first. ``@company`` means "the relation to a
#: company" (``_ref.companyId`` on people), whatever its join column is called.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    option_key(header): targets
    for targets, headers in _SYNONYM_TABLE
    for header in headers.split("|")
}


#: Headers matched after the others, so a "Mobile" column only takes the primary phone
#: when no "Phone" column does.
_LATE_HEADERS = frozenset(option_key(header) for header in _MOBILE_HEADERS.split("|"))


_NOT_FIELDS = frozenset(
    words(
        "id recordid createddate createdat createdon datecreated dateadded createdby "
        "lastmodifieddate lastmodifiedby modifieddate modifiedon updatedat lastactivitydate "
        "systemmodstamp"
    )
)


_COUNTRY_HEADERS = {"country", "mailingcountry", "billingcountry", "countrycode", "land", "pays"}


_PHONE_LIKE = re.compile(r"^\s*(?:\+|00)?[\d\s().\-/]{7,}(?:\s*(?:x|ext\.?|#)\s*\d+)?\s*$", re.I)


# The legacy RICH_TEXT body is not writable, so is_writable already leaves it out.
_SKIP_TYPES = frozenset({"ACTOR", "POSITION", "UUID", "TS_VECTOR", "FILES"})


_HANDLE_PREFIX = {
    ("person", "linkedinLink"): "https://www.linkedin.com/in/",
    ("company", "linkedinLink"): "https://www.linkedin.com/company/",
    ("person", "xLink"): "https://x.com/",
    ("company", "xLink"): "https://x.com/",
}


SAMPLE_SIZE = 200


MAX_LABELS_SHOWN = 40


VALUE_SHARE = 0.8


#: How sure each kind of decision is (0 to 1); ``FieldMap.review()`` sorts on it.
CONFIDENCE = {
    "vendor": 0.95,  # a vendor's documented export header
    "field": 0.9,  # the header is the field's own name or label
    "no_place": 0.9,  # a vendor header Twenty has no place for
    "bookkeeping": 0.85,  # source ids and export timestamps
    "synonym": 0.8,  # a common name for the field
    "custom": 0.8,  # a Salesforce custom field the object already has
    "late": 0.7,  # a mobile number taking the main phone, no other phone being there
    "create": 0.6,  # a Salesforce custom field to create
    "values": 0.5,  # judged by its values, the header saying nothing
    "taken": 0.5,  # its target is fed by another column
    "duplicate": 0.4,  # a second column under the same header
    "kinds": 0.4,  # the header and the values disagree
    "unknown": 0.3,  # nothing matched
}


_MEANINGLESS = re.compile(
    r"(?:column|col|field|unnamed|untitled|header|data|value|var|x)?\d*[a-z]?|[a-z]{1,2}\d*"
)


_DUPLICATE = re.compile(r"^(?P<base>.+) \((?P<n>\d+)\)$")


_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?\S*)?$")


_NUMERIC_DATE = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?:[ T]\d{1,2}:\d{2}.*)?$")


_WORD_DATE = re.compile(
    r"^(?:\d{1,2}\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}"
    r"(?:st|nd|rd|th)?,?\s+\d{4}$|^\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|"
    r"dec)[a-z]*\.?,?\s+\d{4}$",
    re.I,
)


_NUMBER = re.compile(r"^[-+]?(?:\d[\d,. '\u00a0]*)(?:[.,]\d+)?$")


_FORMATTED_PHONE = re.compile(r"^\s*(?:\+|00|\()|\d[\s().\-/]\d")


#: Value kinds a target field expects; a column of another distinctive kind is refused.
_EXPECTED_KIND = {
    "EMAILS": "email",
    "PHONES": "phone",
    "LINKS": "url",
    "DATE": "date",
    "DATE_TIME": "date",
    "NUMBER": "number",
    "NUMERIC": "number",
    "CURRENCY": "number",
    "TEXT": "text",
    "FULL_NAME": "text",
}


_DISTINCTIVE = frozenset({"email", "date", "phone", "url"})


_KIND_WORDS = {
    "email": "emails",
    "date": "dates",
    "phone": "phone numbers",
    "url": "web addresses",
    "number": "numbers",
    "text": "text",
}


def _id_like(header: str) -> bool:
    """Source ids (``Account ID``, ``AccountId``) and export bookkeeping (``Created Date``)."""
    if option_key(header) in _NOT_FIELDS:
        return True
    return re.search(r"(?:^|[\s_.\-])id$|[a-z]Id$", header.strip(), re.I) is not None


def _says_nothing(header: str) -> bool:
    """Headers that name no content: blank, ``Column 7``, ``column_7``, ``Field1``, ``B``."""
    return _MEANINGLESS.fullmatch(option_key(header)) is not None


def value_kind(value: str) -> str:
    """``email``, ``date``, ``url``, ``phone``, ``number`` or ``text``, in that order.

    A date is never a phone number (``2024-05-01``), digits alone are a number
    (``132471000``) unless written as a phone number (``+1 415 555 2671``).
    """
    text = value.strip()
    if "@" in text and is_valid_email(canonical_email(text)):
        return "email"
    if _ISO_DATE.match(text) or _NUMERIC_DATE.match(text) or _WORD_DATE.match(text):
        return "date"
    lowered = text.lower()
    if "://" in lowered or lowered.startswith("www.") or "linkedin." in lowered:
        return "url"
    digits = sum(ch.isdigit() for ch in text)
    if _PHONE_LIKE.match(text) and digits >= 7 and _FORMATTED_PHONE.search(text):
        return "phone"
    if _NUMBER.match(text):
        return "number"
    if " " not in text and domain_key(text) is not None and not text[-1:].isdigit():
        return "url"
    return "text"


@dataclass(frozen=True)
class _Kinds:
    kind: str | None  # the kind of most values, or None (too few, or mixed)
    share: float
    sampled: int


def _column_kinds(values: pd.Series[Any]) -> _Kinds:
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(SAMPLE_SIZE)
    if len(sample) < 3:
        return _Kinds(None, 0.0, len(sample))
    counts = sample.map(value_kind).value_counts()
    kind, count = str(counts.index[0]), int(counts.iloc[0])
    share = count / len(sample)
    return _Kinds(kind if share >= VALUE_SHARE else None, share, len(sample))


def _duplicate_of(column: str, columns: Sequence[str], declared: dict[str, str]) -> str | None:
    """The header a column repeats (``Email (2)`` -> ``Email``), from the loader or its name."""
    if column in declared:
        return declared[column]
    match = _DUPLICATE.match(column)
    if match and match["base"] in columns:
        return match["base"]
    return None
