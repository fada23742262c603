"""Suggest a :class:`~twenty_migrate.FieldMap` from headers and sample values.

Headers are compared after folding case, accents, spaces and punctuation, against the
object's own field names and labels (custom fields included), then against the column
names that Salesforce, HubSpot, Pipedrive and hand-made exports use. Columns still
unmatched are judged by their values: mostly emails, phone numbers, LinkedIn or other
URLs. Columns naming a related record become ``_ref.<joinColumn>`` (see
:mod:`twenty_migrate.mapping.field_map`). Every decision worth a second look is written to
``FieldMap.notes``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from twenty_migrate.mapping.field_map import DEFAULT_SUBFIELD, REF_PREFIX, FieldMap
from twenty_migrate.twenty.schema import ObjectSchema
from twenty_migrate.values.parsing import (
    canonical_email,
    domain_key,
    is_valid_email,
    option_key,
    split_list,
    words,
)

__all__ = ["HEADER_SYNONYMS", "suggest", "suggest_mapping"]

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


def _id_like(header: str) -> bool:
    """Source ids (``Account ID``, ``AccountId``) and export bookkeeping (``Created Date``)."""
    if option_key(header) in _NOT_FIELDS:
        return True
    return re.search(r"(?:^|[\s_.\-])id$|[a-z]Id$", header.strip(), re.I) is not None


class _Suggester:
    def __init__(self, df: pd.DataFrame, obj: ObjectSchema) -> None:
        self.df = df
        self.obj = obj
        self.writable = set(obj.writable_paths())
        self.mapping: dict[str, str] = {}
        self.taken: set[str] = set()
        self.notes: list[str] = []
        self.schema_keys = self._schema_keys()

    def _schema_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for candidate in self.obj.fields.values():
            if not candidate.is_writable or candidate.is_system or candidate.type in _SKIP_TYPES:
                continue
            if candidate.join_column:
                path = REF_PREFIX + candidate.join_column
            elif candidate.type == "ADDRESS":
                continue
            elif DEFAULT_SUBFIELD.get(candidate.type):
                path = f"{candidate.name}.{DEFAULT_SUBFIELD[candidate.type]}"
            else:
                path = candidate.name
            for text in (candidate.name, candidate.label):
                keys.setdefault(option_key(text), path)
        return keys

    def resolve(self, target: str) -> str | None:
        """A concrete free path for a candidate, or None."""
        if target.startswith(REF_PREFIX):
            return None if target in self.taken else target
        if target.startswith("@"):
            wanted = target[1:]
            for join, related in self.obj.relations.items():
                path = REF_PREFIX + join
                if related == wanted and path not in self.taken:
                    return path
            return None
        name = target.split(".")[0]
        field = self.obj.fields.get(name)
        if field is None or not field.is_writable:
            return None
        if "." in target and target not in self.writable:
            return None
        if target.endswith(("additionalEmails", "additionalPhones", "secondaryLinks")):
            return target
        if field.type == "FULL_NAME" and "." not in target:
            busy = {"name.*", f"{name}.firstName", f"{name}.lastName"} & self.taken
            return None if f"{name}.*" in busy else target
        if field.type == "FULL_NAME" and f"{name}.*" in self.taken:
            return None
        return None if target in self.taken else target

    def take(self, column: str, path: str, why: str | None = None) -> None:
        self.mapping[column] = path
        field = self.obj.fields.get(path.split(".")[0])
        if field is not None and field.type == "FULL_NAME" and "." not in path:
            self.taken.add(f"{path}.*")
        else:
            self.taken.add(path)
        if why:
            self.notes.append(f"{column!r} -> {path}: {why}")

    def by_header(self, column: str) -> bool:
        key = option_key(column)
        direct = self.schema_keys.get(key)
        candidates: Sequence[str] = (direct,) if direct else HEADER_SYNONYMS.get(key, ())
        for candidate in candidates:
            path = self.resolve(candidate)
            if path is not None:
                why = None
                if path.startswith(REF_PREFIX):
                    related = self.obj.relations[path[len(REF_PREFIX) :]]
                    why = f"natural keys of the related {related}, resolved to ids later"
                self.take(column, path, why)
                return True
        return False

    def by_values(self, column: str) -> bool:
        sample = self.df[column].dropna().astype(str).str.strip()
        sample = sample[sample != ""].head(SAMPLE_SIZE)
        if len(sample) < 3:
            return False

        def share(test: Any) -> float:
            return float(sample.map(test).mean())

        kinds: list[tuple[float, tuple[str, ...], str]] = [
            (share(lambda v: is_valid_email(canonical_email(v))),
             ("emails.primaryEmail", "emails.additionalEmails", "@person"), "emails"),
            (share(lambda v: "linkedin." in v.lower()), ("linkedinLink.primaryLinkUrl",),
             "LinkedIn URLs"),
            (share(lambda v: bool(re.search(r"(twitter|x)\.com/", v.lower()))),
             ("xLink.primaryLinkUrl",), "X/Twitter URLs"),
            (share(lambda v: " " not in v and "@" not in v and domain_key(v) is not None),
             ("domainName.primaryLinkUrl",), "web addresses"),
            (share(lambda v: bool(_PHONE_LIKE.match(v))),
             ("phones.primaryPhoneNumber", "phones.additionalPhones"), "phone numbers"),
        ]  # fmt: skip
        for fraction, candidates, label in kinds:
            if fraction < VALUE_SHARE:
                continue
            for candidate in candidates:
                path = self.resolve(candidate)
                if path is not None:
                    self.take(column, path, f"the values look like {label}")
                    return True
            return False
        return False

    def add_transforms(self) -> dict[str, Any]:
        transforms: dict[str, Any] = {}
        paths = set(self.mapping.values())
        country = next(
            (str(c) for c in self.df.columns if option_key(str(c)) in _COUNTRY_HEADERS), None
        )
        if country and any(p.startswith("phones.") for p in paths):
            transforms["phones"] = {"region_column": country}
            self.notes.append(f"phones: numbers without a country code are read in {country!r}")
        for (object_name, field_name), prefix in _HANDLE_PREFIX.items():
            if object_name == self.obj.name_singular and f"{field_name}.primaryLinkUrl" in paths:
                transforms[field_name] = {"handle_prefix": prefix}
        for column, path in self.mapping.items():
            field = self.obj.fields.get(path.split(".")[0])
            if field is not None and field.type in ("SELECT", "MULTI_SELECT", "RATING"):
                self._note_labels(column, path, field.type == "MULTI_SELECT")
        return transforms

    def _note_labels(self, column: str, path: str, multi: bool) -> None:
        field = self.obj.fields[path.split(".")[0]]
        known = {option_key(str(o["value"])) for o in field.options}
        known |= {option_key(str(o.get("label") or "")) for o in field.options}
        values = self.df[column].dropna().astype(str).str.strip()
        labels = sorted(
            {item for v in values.unique() for item in (split_list(v) if multi else [v]) if item}
        )
        unknown: dict[str, str] = {}
        for label in labels:
            if option_key(label) not in known:
                unknown.setdefault(option_key(label), label)  # one spelling per label
        if unknown:
            shown = ", ".join(repr(u) for u in list(unknown.values())[:MAX_LABELS_SHOWN])
            extra = len(unknown) - MAX_LABELS_SHOWN
            more = f" and {extra} more" if extra > 0 else ""
            self.notes.append(
                f"{column!r} -> {path}: {len(unknown)} labels are not options "
                f"({', '.join(field.option_values)}): {shown}{more}. Map them with "
                f".with_transform({path!r}, {{label: option value or None}})"
            )


def suggest(df: pd.DataFrame, object_schema: ObjectSchema) -> FieldMap:
    """A first field map for ``df`` onto ``object_schema``; review it before applying.

    Example:
        fmap = suggest(pd.read_csv("sample_data/people.csv", dtype=str), people)
    """
    work = _Suggester(df, object_schema)
    leftovers: list[str] = []
    columns = [str(c) for c in df.columns if not str(c).startswith("_")]
    late = [c for c in columns if option_key(c) in _LATE_HEADERS]
    for column in [c for c in columns if c not in late] + late:
        if _id_like(column) and option_key(column) not in work.schema_keys:
            work.notes.append(
                f"{column!r} not mapped: source ids and export timestamps are not Twenty "
                "fields (keep ids in a custom field if you need them later)"
            )
            continue
        if not work.by_header(column):
            leftovers.append(column)
    for column in leftovers:
        if work.by_values(column):
            continue
        if "related" in option_key(column) or "regarding" in option_key(column):
            work.notes.append(
                f"{column!r} not mapped: links to other records (task and note targets) are "
                "separate records, created after this import"
            )
            continue
        work.notes.append(
            f"{column!r} not mapped: no matching field on {object_schema.name_plural}; "
            "create a custom field in Twenty or map it with .with_column(...)"
        )
    transforms = work.add_transforms()
    ordered = {str(c): work.mapping[str(c)] for c in df.columns if str(c) in work.mapping}
    return FieldMap(object_schema.name_plural, ordered, transforms, tuple(work.notes))


def suggest_mapping(df: pd.DataFrame, object_schema: ObjectSchema) -> FieldMap:
    """A first field map from the headers and a sample of values (header names, then values).

    Example:
        fmap = suggest_mapping(pd.read_csv("sample_data/people.csv", dtype=str), people)
        print(fmap)          # review, then edit with .with_column / .without
    """
    return suggest(df, object_schema)
